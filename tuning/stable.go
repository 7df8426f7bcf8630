package tuning

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// A memory change that only saves memory restarts the job on its own only while the job is
// stable: its sources have no backlog and their load has no trend. During a ramp the scaling
// policy is about to rescale anyway (the change then rides along with it for free), and a
// restart of its own adds downtime to a job that is already behind: on wordcount-ramp a heap
// shrink 11 minutes after a scale-out, mid-ramp, cost a second scale-out and 8 minutes more
// lag-violation.

// loadSample is one cycle's view of the job's sources.
type loadSample struct {
	T time.Time `json:"t"`
	// Since is the job's RunningSince: the cumulative counters restart with it.
	Since time.Time `json:"since"`
	// In is the records the sources have consumed (cumulative), Pending their backlog
	// (pendingRecords summed; -1 when no source reports it).
	In      float64 `json:"in"`
	Pending float64 `json:"pending"`
}

// observeLoad keeps the source samples of the last stable.window.
func (t *Tuner) observeLoad(snap *autoscaler.Snapshot) {
	in, pending, known := 0.0, 0.0, false
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		if !v.IsSource() || v.Finished {
			continue
		}
		in += v.SourceRecordsIn()
		for name, a := range v.Metrics {
			if strings.HasSuffix(name, ".pendingRecords") && !math.IsNaN(a.Sum) && a.Sum >= 0 {
				pending += a.Sum
				known = true
			}
		}
	}
	if !known {
		pending = -1
	}
	t.st.Busy = -1
	for i := range snap.Vertices {
		if a, ok := snap.Vertices[i].Metrics["busyTimeMsPerSecond"]; ok && !math.IsNaN(a.Max) && a.Max >= 0 {
			t.st.Busy = max(t.st.Busy, min(a.Max/1000, 1))
		}
	}
	t.st.Load = append(t.st.Load, loadSample{T: snap.Time, Since: snap.RunningSince, In: in, Pending: pending})
	cut := 0
	for cut < len(t.st.Load)-1 && snap.Time.Sub(t.st.Load[cut].T) > t.o.StableWindow {
		cut++
	}
	t.st.Load = t.st.Load[cut:]
}

// arrival is the records per second arriving at the sources between two samples of one run
// (consumed plus the growth of the backlog), false when they cannot be compared.
func arrival(a, b loadSample) (float64, bool) {
	dt := b.T.Sub(a.T).Seconds()
	if dt <= 0 || !a.Since.Equal(b.Since) || b.In < a.In {
		return 0, false
	}
	n := b.In - a.In
	if a.Pending >= 0 && b.Pending >= 0 {
		n += b.Pending - a.Pending
	}
	return max(0, n) / dt, true
}

// stable reports whether the job may restart for a saving now: over the last stable.window
// of one run, the arrival rate in its second half is within stable.max-trend of the first
// half's, and the backlog is at most stable.max-backlog of input. The reason says why not.
func (t *Tuner) stable() (bool, string) {
	s := t.st.Load
	if len(s) < 3 {
		return false, "no load history yet"
	}
	last := s[len(s)-1]
	first := 0
	for first < len(s)-1 && !s[first].Since.Equal(last.Since) {
		first++
	}
	run := s[first:]
	if len(run) < 3 || last.T.Sub(run[0].T) < t.o.StableWindow/2 {
		return false, fmt.Sprintf("running for %s since the last restart, less than half of stable.window %s", last.T.Sub(run[0].T).Round(time.Second), t.o.StableWindow)
	}
	mid := len(run) / 2
	r1, ok1 := arrival(run[0], run[mid])
	r2, ok2 := arrival(run[mid], last)
	if !ok1 || !ok2 {
		return false, "source counters restarted"
	}
	if base := max(r1, r2); base > 0 && math.Abs(r2-r1) > t.o.StableTrend*base {
		return false, fmt.Sprintf("the load moves: %.0f/s → %.0f/s over the last %s (stable.max-trend %.0f%%)", r1, r2, last.T.Sub(run[0].T).Round(time.Second), t.o.StableTrend*100)
	}
	if last.Pending > 0 && (r2 <= 0 || last.Pending/r2 > t.o.StableBacklog.Seconds()) {
		if r2 <= 0 {
			return false, fmt.Sprintf("the sources have a backlog of %.0f records and no input moves", last.Pending)
		}
		return false, fmt.Sprintf("the sources have a backlog of %s of input (stable.max-backlog %s)", (time.Duration(last.Pending/r2) * time.Second).Round(time.Second), t.o.StableBacklog)
	}
	if d, ok := t.drain(); ok && d > t.o.StableDrain {
		return false, fmt.Sprintf("at %.0f%% busy, the input of a %s restart would take %s to catch up (stable.max-drain %s)",
			t.st.Busy*100, t.downtime().Round(time.Second), d.Round(time.Second), t.o.StableDrain)
	}
	return true, ""
}

// optRestartTime is the scaling policies' expected downtime of a restart (flinktune's default;
// the job's own setting wins). The tuner reads it, the policies document it.
var optRestartTime = asOpt("restart.time", flinkconf.TypeDuration, "1 min", "Expected downtime of a restart.")

// downtime is what a restart is expected to cost in input: the job's restart.time, or the
// last restart's measured downtime when longer. The measured one alone undercounts: the job
// shows RUNNING before its tasks restored their state and process again.
func (t *Tuner) downtime() time.Duration {
	d := time.Minute
	if t.st.Original != nil {
		if v, _, err := flinkconf.FromMap(t.st.Original).Duration(optRestartTime); err == nil && v > 0 {
			d = v
		}
	}
	return max(d, t.st.Downtime)
}

// drain is how long the job would take to catch up with the input of a restart's downtime:
// its busiest subtask, busy a fraction u of the time, has 1-u spare, so a backlog of D
// seconds of input drains in D × u/(1-u). False when the busy time is unknown.
func (t *Tuner) drain() (time.Duration, bool) {
	u := t.st.Busy
	if u < 0 {
		return 0, false
	}
	if u >= 0.999 {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(float64(t.downtime()) * u / (1 - u)), true
}
