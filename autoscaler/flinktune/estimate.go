// Package flinktune is flinktune's own scaling policy. Like DS2 it sizes every vertex from
// its true processing rate (records per busy second, from Flink's cumulative counters), and it
// differs from the operator's autoscaler where the operator is known to be weak:
//
//   - Rates come from counter deltas between snapshots timed by the JobManager's clock;
//     a metric refresh that did not move, or a snapshot missing a metric it had before, is
//     skipped instead of being read as a zero rate or zero lag.
//   - No vertex holds up the job: one busy too little for a rate measurement (a sink after a
//     1% window) is certainly far from saturated and gets a lower bound of its capacity, one
//     without busy time the most it was seen to process (which is no evidence of saturation);
//     a metric missing for longer than the metrics window is taken as gone, not waited for.
//   - A source without a lag metric (pendingRecords) catches up after every restart at the
//     job's full capacity: the backlog the restart explains (its demand before the restart
//     over the downtime, and the replay) is paid off at that demand, so the catch-up is not
//     read as demand (each scale-up would raise the rate read and call for the next), and a
//     saturated job's scale-up sheds nothing, its demand being only a lower bound.
//   - Demand is a level plus a trend: the longest recent span of per-minute levels a line
//     fits and whose recent minutes are not flatter than it (minutes for a ramp, hours for a
//     daily curve), extrapolated up to twice as long as it has lasted (at most
//     flinktune.forecast.horizon); a step change is waited out until the recent samples
//     agree, and a trend that just stopped is recognised from them and from the minutes since.
//   - Scale-ups are driven by the lag objective (flinktune.lag.max), not by a utilization
//     threshold: the job may run hot until its sources would fall behind the limit before a
//     rescale could help. That shows more of the trend, so one rescale sized for where the
//     demand is going replaces a staircase. Lag that drains slowly triggers a rescale only if
//     it beats waiting, counting the lag the restart itself adds.
//   - Capacity at a candidate parallelism accounts for the split of key groups (HASH) and
//     partitions (sources), pointwise (FORWARD/RESCALE) imbalance against the planned
//     upstream parallelism, key skew growing with parallelism and learned scaling efficiency;
//     the smallest parallelism meeting the need is taken, which splits work evenly and never
//     gives a source more subtasks than partitions.
//   - A rescale is sized to drain, within job.autoscaler.catch-up.duration, the lag present
//     and the input that accrues while the job restarts; the downtime is learned per job.
//   - A scale-up restarts the job once: the realizer holds every vertex's lower bound at its
//     target until all the new slots are there (flinktune.rescale.slot-wait, SlotWait), where
//     lower bounds of 1 let Flink's adaptive scheduler restart at a partial layout and again
//     when the TaskManagers it asked for have started, paying the downtime and the replay twice.
//   - Recurring load: each source's demand is kept per five-minute slot for eight days. When
//     the last two hours repeat the same hours a week or a day before (up to a common factor,
//     in level and in direction), a rise that period showed is scaled for ahead of time, as
//     soon as it is due within the learned restart time; the rescale is sized for the hour
//     after, and no scale-down happens just before a rise. A day that does not repeat the
//     period falls back to reactive scaling.
//   - Scale-downs wait until the demand has been low (below utilization.min) for
//     job.autoscaler.scale-down.interval and at least flinktune.settle (a level that held
//     for less is as likely to end within settle as not), are sized for the window's peak,
//     take along the vertices halfway there (one restart, not one per vertex) and, up, those
//     that could not drain the restart's lag, happen only if the job then holds fewer slots,
//     and never reverse a change within flinktune.settle. The surplus of a scale-up sized to
//     drain a backlog is shed once the lag is gone (halfway is enough). A scale-down is
//     reversed within settle only if the capacity left does not keep up: lag that drains
//     after a restart longer than learned so far is waited out. No oscillation.
package flinktune

import (
	"encoding/json"
	"math"
	"sort"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// counters are one vertex's cumulative values at one snapshot.
type counters struct {
	In   float64 `json:"in"`
	Out  float64 `json:"out"`
	Busy float64 `json:"busy"` // accumulated busy ms summed over subtasks; NaN if unknown
	Lag  float64 `json:"lag"`
}

type base struct {
	T time.Time           `json:"t"`
	V map[string]counters `json:"v"`
}

// vsample is one vertex's rates over the interval between two accepted snapshots.
type vsample struct {
	P       int     `json:"p"`
	InRate  float64 `json:"in"`
	OutRate float64 `json:"out"`
	// BusySec is the busy time summed over subtasks during the interval, in seconds.
	BusySec float64 `json:"busySec"`
	// Hot is the hottest subtask's busy time over the average (skew), >= 1.
	Hot float64 `json:"hot"`
	Lag float64 `json:"lag"`
	// Ingest is records arriving at a source per second: read rate plus lag growth.
	Ingest float64 `json:"ingest"`
}

type sample struct {
	T  time.Time `json:"t"`
	Dt float64   `json:"dt"`
	V  vsamples  `json:"v"`

	// enc caches the sample's JSON: a sample never changes once taken, and the whole window
	// is saved after every cycle (re-encoding it made the policy state's encoding a third of
	// a benchmark's CPU).
	enc []byte
}

// plainSample is sample without its MarshalJSON (same fields and tags).
type plainSample sample

// MarshalJSON returns the cached encoding (encode), or encodes the sample.
func (s sample) MarshalJSON() ([]byte, error) {
	if s.enc != nil {
		return s.enc, nil
	}
	return json.Marshal(plainSample(s))
}

// encode fills the sample's cache.
func (s *sample) encode() error {
	if s.enc != nil {
		return nil
	}
	enc, err := json.Marshal(plainSample(*s))
	if err != nil {
		return err
	}
	s.enc = enc
	return nil
}

// vsamples are one sample's vertices, in the snapshot's order. A slice, not a map: a job's
// window holds tens of samples of a few vertices each, and a map per sample cost about 1 KiB
// (a third of `run`'s live heap with 200 jobs); a lookup by ID scans a few entries.
type vsamples []vertexSample

type vertexSample struct {
	ID string
	vsample
}

// get is the vertex's sample, if the sample has it.
func (vs vsamples) get(id string) (vsample, bool) {
	for i := range vs {
		if vs[i].ID == id {
			return vs[i].vsample, true
		}
	}
	return vsample{}, false
}

// JSON has no NaN, and encoding/json refuses to encode one: a counter or busy time that is
// NaN by design (unknown) would fail the whole state's MarshalState, and with it the cycle
// (one cycle of TestAutoscaleScenario on real Flink 2.2.1 failed so, around its rescale).
// Both are stored without the field and read back as NaN; states stored before always
// have it.

// storedCounters and storedVsample are the stored forms, fields in the structs' order: the
// stored JSON stays as it was for known values (TestVsamplesJSON compares it byte for byte).
type storedCounters struct {
	In   float64  `json:"in"`
	Out  float64  `json:"out"`
	Busy *float64 `json:"busy,omitempty"`
	Lag  float64  `json:"lag"`
}

type storedVsample struct {
	P       int      `json:"p"`
	InRate  float64  `json:"in"`
	OutRate float64  `json:"out"`
	BusySec *float64 `json:"busySec,omitempty"`
	Hot     float64  `json:"hot"`
	Lag     float64  `json:"lag"`
	Ingest  float64  `json:"ingest"`
}

// MarshalJSON writes Busy only when it is known.
func (c counters) MarshalJSON() ([]byte, error) {
	return json.Marshal(storedCounters{c.In, c.Out, finiteOrNil(c.Busy), c.Lag})
}

// UnmarshalJSON reads a missing Busy as unknown (NaN).
func (c *counters) UnmarshalJSON(data []byte) error {
	var v storedCounters
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*c = counters{v.In, v.Out, valueOrNaN(v.Busy), v.Lag}
	return nil
}

// MarshalJSON writes BusySec only when it is known.
func (s vsample) MarshalJSON() ([]byte, error) {
	return json.Marshal(storedVsample{s.P, s.InRate, s.OutRate, finiteOrNil(s.BusySec), s.Hot, s.Lag, s.Ingest})
}

// UnmarshalJSON reads a missing BusySec as unknown (NaN).
func (s *vsample) UnmarshalJSON(data []byte) error {
	var v storedVsample
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = vsample{v.P, v.InRate, v.OutRate, valueOrNaN(v.BusySec), v.Hot, v.Lag, v.Ingest}
	return nil
}

func finiteOrNil(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func valueOrNaN(x *float64) float64 {
	if x == nil {
		return math.NaN()
	}
	return *x
}

// MarshalJSON keeps the stored form a map by vertex ID (the state persisted before).
func (vs vsamples) MarshalJSON() ([]byte, error) {
	m := make(map[string]vsample, len(vs))
	for _, v := range vs {
		m[v.ID] = v.vsample
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the map form, ordered by vertex ID (a map has no order).
func (vs *vsamples) UnmarshalJSON(data []byte) error {
	var m map[string]vsample
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*vs = make(vsamples, 0, len(m))
	for id, v := range m {
		*vs = append(*vs, vertexSample{ID: id, vsample: v})
	}
	sort.Slice(*vs, func(i, j int) bool { return (*vs)[i].ID < (*vs)[j].ID })
	return nil
}

// vertexInfo is the static part of a vertex the policy needs.
type vertexInfo struct {
	ID         string
	P          int
	MaxP       int
	Partitions int // sources: distinct Kafka/Pulsar partitions, 0 if unknown
	Source     bool
	HashInput  bool
	Inputs     []string
	// Pointwise are inputs connected FORWARD or RESCALE: each subtask reads a subset of the
	// upstream subtasks, so differing parallelisms split the load unevenly.
	Pointwise   []string
	Outputs     []string
	SlotSharing string
}

// readCounters extracts the cumulative counters of a vertex from a snapshot. Sources read
// their records from the source operator's numRecordsIn (a source task's own read-records is 0).
func readCounters(v *autoscaler.Vertex) counters {
	c := counters{In: float64(v.ReadRecords), Out: float64(v.WriteRecords), Busy: v.AccumulatedBusyTime}
	if v.IsSource() {
		c.In = v.SourceRecordsIn()
	}
	// A source without pendingRecords has no known lag: 0, as the operator reads it.
	if c.Lag = sumSuffixOrNaN(v.Metrics, ".pendingRecords"); math.IsNaN(c.Lag) {
		c.Lag = 0
	}
	return c
}

// hotFactor is max/avg of busyTimeMsPerSecond across subtasks: how much busier the hottest
// subtask is than the average one.
func hotFactor(v *autoscaler.Vertex) float64 {
	a, ok := v.Metrics["busyTimeMsPerSecond"]
	if !ok || math.IsNaN(a.Max) || math.IsNaN(a.Avg) || a.Avg <= 0 {
		return 1
	}
	return math.Max(1, a.Max/a.Avg)
}

// topology extracts the static vertex information from a snapshot, in topological order.
func topology(snap *autoscaler.Snapshot) []vertexInfo {
	out := map[string][]string{}
	for _, v := range snap.Vertices {
		for _, e := range v.Inputs {
			out[e.From] = append(out[e.From], v.ID)
		}
	}
	infos := make(map[string]vertexInfo, len(snap.Vertices))
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		vi := vertexInfo{ID: v.ID, P: v.Parallelism, MaxP: v.MaxParallelism, Source: v.IsSource(),
			Outputs: out[v.ID], SlotSharing: v.SlotSharingGroup}
		for _, e := range v.Inputs {
			vi.Inputs = append(vi.Inputs, e.From)
			if e.Ship == autoscaler.ShipForward || e.Ship == autoscaler.ShipRescale {
				vi.Pointwise = append(vi.Pointwise, e.From)
			}
			if e.Ship == autoscaler.ShipHash {
				vi.HashInput = true
			}
		}
		if vi.Source {
			vi.Partitions = countPartitions(v.MetricNames)
		}
		infos[v.ID] = vi
	}
	// Kahn's algorithm with sorted ties, so the order is deterministic.
	indeg := map[string]int{}
	for id, vi := range infos {
		indeg[id] = len(vi.Inputs)
	}
	var ready []string
	for id, d := range indeg {
		if d == 0 {
			ready = append(ready, id)
		}
	}
	sort.Strings(ready)
	var order []vertexInfo
	for len(ready) > 0 {
		id := ready[0]
		ready = ready[1:]
		order = append(order, infos[id])
		next := append([]string(nil), infos[id].Outputs...)
		sort.Strings(next)
		for _, o := range next {
			indeg[o]--
			if indeg[o] == 0 {
				ready = append(ready, o)
				sort.Strings(ready)
			}
		}
	}
	return order
}
