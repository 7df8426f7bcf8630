package collect

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

// Every number read from Flink is checked here, at the edge, before any policy or tuner sees
// it: a non-finite, negative, overflowing or absurd value makes the whole collection of the
// job fail with a *BadDataError for this cycle (no decision on bad data). NaN stays allowed
// in metric aggregates: Flink reports it for metrics it cannot measure yet (a task's
// busyTimeMsPerSecond right after a start) and the policies read it as "not reported".
const (
	// MaxParallelism is Flink's upper bound of a vertex's (max) parallelism: 2^15 key groups
	// (KeyGroupRangeAssignment.UPPER_BOUND_MAX_PARALLELISM).
	MaxParallelism = 1 << 15
	// MaxVertices bounds the job vertices of one job. Flink chains operators into vertices,
	// so even large SQL jobs have tens to a few hundred; thousands mean a broken answer.
	MaxVertices = 1000
	// maxValue bounds counters, rates and sizes (8 PiB, or 9·10^15 records): 2^53, where a
	// float64 stops holding integers exactly and where sizes start to overflow arithmetic.
	maxValue = 1 << 53
	// maxMsPerSecond bounds the time-per-second metrics (busy, idle, back-pressured, GC):
	// physically at most 1000; a measurement quirk may exceed it slightly, 10x may not.
	maxMsPerSecond = 10_000
	// maxSlots bounds the slot gauges of a cluster.
	maxSlots = 1 << 20
	// maxEpochMillis is the last millisecond of year 9999: later times cannot even be
	// written as JSON (time.Time.MarshalJSON), so persisting them would fail every cycle.
	maxEpochMillis = 253402300799999
)

// ErrBadData is matched (errors.Is) by every error that reports implausible data from Flink.
var ErrBadData = errors.New("implausible data from Flink")

// BadDataError is a value from Flink that cannot be true: the job's collection fails for
// this cycle and no policy decides on it.
type BadDataError struct {
	JobID    string
	VertexID string // empty for job- and cluster-level values
	Field    string // e.g. "parallelism", "taskmanagers/metrics Status.JVM.Memory.Heap.Used max"
	Value    string // as received (or as decoded)
	Want     string // what a plausible value is, e.g. "1..32768"
}

func (e *BadDataError) Error() string {
	where := "job " + e.JobID
	if e.VertexID != "" {
		where += " vertex " + e.VertexID
	}
	return fmt.Sprintf("%s: implausible data from Flink: %s = %s (want %s)", where, e.Field, e.Value, e.Want)
}

// Is makes errors.Is(err, ErrBadData) true.
func (e *BadDataError) Is(target error) bool { return target == ErrBadData }

// IsBadData reports whether err comes from data Flink should never send: an implausible
// value (*BadDataError) or a response that is not the JSON its endpoint defines (malformed,
// numbers overflowing their type, larger than the endpoint's bound).
func IsBadData(err error) bool {
	return errors.Is(err, ErrBadData) || flinkrest.IsBadResponse(err)
}

// checker collects the first implausible value of one job's collection.
type checker struct {
	job string
	err *BadDataError
}

func (c *checker) fail(vertex, field, value, want string) {
	if c.err == nil {
		c.err = &BadDataError{JobID: c.job, VertexID: vertex, Field: field, Value: value, Want: want}
	}
}

func (c *checker) intRange(vertex, field string, v, lo, hi int64) {
	if v < lo || v > hi {
		c.fail(vertex, field, strconv.FormatInt(v, 10), fmt.Sprintf("%d..%d", lo, hi))
	}
}

func (c *checker) epochMillis(vertex, field string, ms int64) {
	// 0 and -1 are Flink's "never" (timestamps of states not entered, end-time while running).
	c.intRange(vertex, field, ms, -1, maxEpochMillis)
}

// err returns the first failure as an error (nil when all values were plausible).
func (c *checker) result() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// checkDetails validates the numbers of GET /jobs/{jobid}.
func (c *checker) checkDetails(d *flinkrest.JobDetailsInfo) {
	c.epochMillis("", "now", d.Now)
	c.epochMillis("", "start-time", d.StartTime)
	for state, ts := range d.Timestamps {
		c.epochMillis("", "timestamps."+state, ts)
	}
	if n := len(d.Vertices); n > MaxVertices {
		c.fail("", "number of vertices", strconv.Itoa(n), fmt.Sprintf("at most %d", MaxVertices))
		return
	}
	for _, v := range d.Vertices {
		c.intRange(v.ID, "parallelism", int64(v.Parallelism), 1, MaxParallelism)
		c.intRange(v.ID, "maxParallelism", int64(v.MaxParallelism), 0, MaxParallelism) // 0: not sent
		if v.MaxParallelism > 0 && v.Parallelism > v.MaxParallelism {
			c.fail(v.ID, "parallelism", strconv.Itoa(v.Parallelism), fmt.Sprintf("at most maxParallelism %d", v.MaxParallelism))
		}
		for state, n := range v.Tasks {
			c.intRange(v.ID, "tasks."+state, int64(n), 0, MaxParallelism)
		}
		m := v.Metrics
		c.intRange(v.ID, "read-records", m.ReadRecords, 0, maxValue)
		c.intRange(v.ID, "write-records", m.WriteRecords, 0, maxValue)
		c.intRange(v.ID, "read-bytes", m.ReadBytes, 0, maxValue)
		c.intRange(v.ID, "write-bytes", m.WriteBytes, 0, maxValue)
		c.value(v.ID, "accumulated-busy-time", m.AccumulatedBusyTime.Float(), maxValue)
	}
}

// value checks one float: NaN passes (not reported), anything else must be in [0, hi].
func (c *checker) value(vertex, field string, f, hi float64) {
	if math.IsNaN(f) {
		return
	}
	if math.IsInf(f, 0) || f < 0 || f > hi {
		c.fail(vertex, field, strconv.FormatFloat(f, 'g', -1, 64), fmt.Sprintf("a number in [0, %g]", hi))
	}
}

// metricBound is the largest plausible value of a metric.
func metricBound(name string) float64 {
	if strings.HasSuffix(name, "MsPerSecond") {
		return maxMsPerSecond
	}
	return maxValue
}

// undefinedMax reports Java's "undefined" (-1) of a MemoryUsage max gauge (a JVM without a
// metaspace limit, for one), which means absent rather than bad.
func undefinedMax(name string, f float64) bool {
	return f == -1 && strings.HasSuffix(name, ".Max")
}

// aggregate converts and validates one aggregated metric; prefix names the endpoint.
func (c *checker) aggregate(vertex, prefix string, a flinkrest.AggregatedMetric) autoscaler.Aggregate {
	out := toAggregate(a)
	hi := metricBound(a.ID)
	for _, f := range []struct {
		name string
		v    *float64
	}{{"min", &out.Min}, {"max", &out.Max}, {"avg", &out.Avg}, {"sum", &out.Sum}} {
		if undefinedMax(a.ID, *f.v) {
			*f.v = math.NaN()
			continue
		}
		sumHi := hi
		if f.name == "sum" && hi == maxMsPerSecond {
			sumHi = maxValue // a sum over subtasks or TaskManagers adds up their ms/s
		}
		c.value(vertex, prefix+a.ID+" "+f.name, *f.v, sumHi)
	}
	// Skew (1.20+) is informative only: a non-finite skew is dropped, not fatal.
	if math.IsInf(out.Skew, 0) || out.Skew < 0 {
		out.Skew = math.NaN()
	}
	return out
}

// gauges reads the named JobManager gauges; a value that is not a plausible number is bad
// data, a -1 maximum is absent.
func (c *checker) gauges(ms []flinkrest.Metric, names []string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		if !containsName(names, m.ID) {
			continue
		}
		f, err := m.Float()
		if err != nil {
			c.fail("", "jobmanager/metrics "+m.ID, strconv.Quote(m.Value), "a number")
			continue
		}
		if math.IsNaN(f) || undefinedMax(m.ID, f) {
			continue
		}
		c.value("", "jobmanager/metrics "+m.ID, f, metricBound(m.ID))
		out[m.ID] = f
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// gaugeInt reads an integer gauge ("4", "4.0") that must lie in [0, hi]; -1 when missing.
func (c *checker) gaugeInt(ms []flinkrest.Metric, id string, hi int64) int {
	for _, m := range ms {
		if m.ID != id {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(m.Value), 10, 64); err == nil {
			c.intRange("", id, n, 0, hi)
			return int(min(max(n, 0), hi))
		}
		f, err := m.Float()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < 0 || f > float64(hi) {
			c.fail("", id, strconv.Quote(m.Value), fmt.Sprintf("an integer in [0, %d]", hi))
			return -1
		}
		return int(f)
	}
	return -1
}

// requirements validates GET /jobs/{jobid}/resource-requirements: bounds are -1 (lower: 1,
// upper: the max parallelism) or within Flink's range, lower at most upper.
func (c *checker) requirements(req flinkrest.JobResourceRequirements) {
	for id, r := range req {
		lo, hi := r.Parallelism.LowerBound, r.Parallelism.UpperBound
		for _, b := range []struct {
			name string
			v    int
		}{{"lowerBound", lo}, {"upperBound", hi}} {
			if b.v != -1 && (b.v < 1 || b.v > MaxParallelism) {
				c.fail(id, "resource-requirements "+b.name, strconv.Itoa(b.v), fmt.Sprintf("-1 or 1..%d", MaxParallelism))
			}
		}
		if lo > 0 && hi > 0 && lo > hi {
			c.fail(id, "resource-requirements lowerBound", strconv.Itoa(lo), fmt.Sprintf("at most upperBound %d", hi))
		}
	}
}

func containsName(names []string, id string) bool {
	for _, n := range names {
		if n == id {
			return true
		}
	}
	return false
}
