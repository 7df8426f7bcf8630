package flinktune

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Name is the policy's name.
const Name = "flinktune"

const stateVersion = 1

// minBusySeconds is the busy time a vertex must accumulate in the window before its
// per-subtask rate is trusted.
const minBusySeconds = 2.0

// Policy is the flinktune policy for one job.
type Policy struct {
	o  Options
	st state
}

type state struct {
	Version      int                  `json:"version"`
	RunningSince time.Time            `json:"runningSince"`
	Base         *base                `json:"base,omitempty"`
	Samples      []sample             `json:"samples,omitempty"`
	Levels       map[string][]level   `json:"levels,omitempty"`
	Shifts       map[string]time.Time `json:"shifts,omitempty"`
	// Sources is derived from each snapshot, not persisted.
	Sources      map[string]bool    `json:"-"`
	Target       map[string]int     `json:"target,omitempty"`
	LastChange   time.Time          `json:"lastChange"`
	LastDir      int                `json:"lastDir"`
	LowSince     time.Time          `json:"lowSince"`
	AppliedAt    time.Time          `json:"appliedAt"`
	Downtimes    []float64          `json:"downtimes,omitempty"`
	Efficiency   map[string][]obsPt `json:"efficiency,omitempty"`
	LastDecision string             `json:"lastDecision,omitempty"`
	// BusyKnown records vertices that report busyTimeMsPerSecond.
	BusyKnown map[string]bool `json:"busyKnown,omitempty"`
	// Incomplete names what the last snapshot lacked, IncompleteSince since when.
	Incomplete      string    `json:"incomplete,omitempty"`
	IncompleteSince time.Time `json:"incompleteSince"`
	// Resuming is set from our own rescale until records flow again.
	Resuming bool `json:"resuming,omitempty"`
	// LagKnown records sources that expose pendingRecords.
	LagKnown map[string]bool `json:"lagKnown,omitempty"`
	// Profiles are the sources' demand per five-minute slot (recurring load).
	Profiles map[string]*profile `json:"profiles,omitempty"`
	// Checkpoint evidence for the restart cost (restartcost.go).
	CheckpointIntervalSec float64   `json:"checkpointIntervalSec,omitempty"`
	CheckpointSecs        []float64 `json:"checkpointSecs,omitempty"`
	RestoreSecs           []float64 `json:"restoreSecs,omitempty"` // restoresize.go
	RescaleOnCheckpoint   bool      `json:"rescaleOnCheckpoint,omitempty"`
	// Completed is the last numberOfCompletedCheckpoints seen, CompletedAt when it last
	// stepped up (ckptalign.go).
	Completed   int64     `json:"completed,omitempty"`
	CompletedAt time.Time `json:"completedAt"`
	// DownHeldAt is since when a scale-down that met its wait waits for a checkpoint.
	DownHeldAt time.Time `json:"downHeldAt"`
	// CatchUpSized records that the last scale-up was sized by the lag it was to drain: its
	// surplus is temporary and is shed once the lag is gone.
	CatchUpSized bool `json:"catchUpSized,omitempty"`
	// CatchUpDemand is the total source demand that scale-up was sized for (drainSurplus).
	CatchUpDemand float64 `json:"catchUpDemand,omitempty"`
	// SurplusWaiting: the wait since LowSince is a drain surplus's; SurplusIdle is the time
	// that surplus already waited before an interruption (surpluswait.go).
	SurplusWaiting bool          `json:"surplusWaiting,omitempty"`
	SurplusIdle    time.Duration `json:"surplusIdle,omitempty"`
	// LowAtLevel: LowSince is the end of a spike, the demand back at a level it held before.
	LowAtLevel bool `json:"lowAtLevel,omitempty"`
	// SlotCeiling is the slots the job could hold when a scale-up's target was not reached
	// for want of slots, SlotCeilingTotal the cluster's slots then (ceiling.go).
	SlotCeiling      int `json:"slotCeiling,omitempty"`
	SlotCeilingTotal int `json:"slotCeilingTotal,omitempty"`
	// SlotsTotal is the cluster's slot count last seen, SlotsGrewAt when it last grew: a
	// cluster still adding TaskManagers is on its way to a decided target (slotBound).
	SlotsTotal  int       `json:"slotsTotal,omitempty"`
	SlotsGrewAt time.Time `json:"slotsGrewAt,omitempty"`
	// RescaledRun is set while the job runs from the restart of our own current target (not a
	// failure's, nor an earlier rescale's: a new target clears it).
	RescaledRun bool `json:"rescaledRun,omitempty"`
	// HalfSince is since when vertices halfway down could free enough for a scale-down (halfway.go).
	HalfSince time.Time `json:"halfSince"`
	// Unseen is the backlog a restart left at sources without a lag metric (unseenlag.go).
	Unseen map[string]*unseenLag `json:"unseen,omitempty"`
}

// obsPt is a (parallelism, per-subtask rate) observation for learning scaling efficiency.
type obsPt struct {
	P    int     `json:"p"`
	Rate float64 `json:"rate"`
}

// New returns a policy with the given options.
func New(o Options) *Policy { return &Policy{o: o, st: state{Version: stateVersion}} }

// NewFromConfig parses the job's options and returns a policy.
func NewFromConfig(cfg *flinkconf.Config) (*Policy, error) {
	o, err := ParseOptions(cfg)
	if err != nil {
		return nil, err
	}
	return New(o), nil
}

var _ autoscaler.Policy = (*Policy)(nil)

// Name implements autoscaler.Policy.
func (p *Policy) Name() string { return Name }

// SlotWait implements autoscaler.SlotWaiter: a scale-up is applied in one restart.
func (p *Policy) SlotWait() time.Duration { return p.o.SlotWait }

// MarshalState implements autoscaler.Policy. The window's samples are encoded once each
// (their cache) and spliced in, not encoded and re-validated by encoding/json on every
// cycle (they are half the state).
func (p *Policy) MarshalState() ([]byte, error) {
	if len(p.st.Samples) == 0 {
		return json.Marshal(p.st)
	}
	parts, comma := make([][]byte, 0, 2*len(p.st.Samples)+1), []byte(",")
	for i := range p.st.Samples {
		if err := p.st.Samples[i].encode(); err != nil {
			return nil, err
		}
		parts = append(parts, comma, p.st.Samples[i].enc)
	}
	parts[0] = []byte(`"samples":[`) // in place of the first comma
	parts = append(parts, []byte("]"))
	rest := p.st
	rest.Samples = []sample{{enc: []byte("0")}} // a placeholder where the window goes
	head, err := json.Marshal(rest)
	if err != nil {
		return nil, err
	}
	// The first match is the placeholder: only version, runningSince and base come before
	// it, and they hold no array.
	out, err := autoscaler.SpliceState(head, `"samples":[0]`, parts...)
	if err != nil {
		return nil, fmt.Errorf("flinktune policy state: %w", err)
	}
	return out, nil
}

// RestoreState implements autoscaler.Policy.
func (p *Policy) RestoreState(data []byte) error {
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	if st.Version != stateVersion {
		return fmt.Errorf("flinktune policy state version %d, want %d", st.Version, stateVersion)
	}
	p.st = st
	return nil
}

// Applied implements autoscaler.Policy: it starts the clock that measures this rescale's downtime.
func (p *Policy) Applied(t time.Time, _ map[string]int) { p.st.AppliedAt = t }

// Cycle implements autoscaler.Policy.
func (p *Policy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	d := autoscaler.Decision{Parallelism: p.st.Target}
	if snap.Status != "RUNNING" {
		p.st.Base = nil
		d.Reason = "job is " + snap.Status
		return d, nil
	}
	infos := topology(snap)
	if len(infos) != len(snap.Vertices) {
		return d, fmt.Errorf("job graph of %d vertices has a cycle or dangling input", len(snap.Vertices))
	}
	p.dropStaleTarget(snap)
	p.st.Sources = map[string]bool{}
	for _, vi := range infos {
		if vi.Source {
			p.st.Sources[vi.ID] = true
		}
	}
	if !snap.RunningSince.Equal(p.st.RunningSince) {
		p.restarted(snap)
	}
	d.Parallelism = p.st.Target
	p.noteLagMetrics(snap)
	p.noteCheckpoints(snap)
	p.noteSlots(snap)
	if p.inFlight(snap) {
		d.Reason = "waiting for the last rescale to take effect"
		return d, nil
	}
	p.noteSlotCeiling(snap, infos)
	if !p.accept(snap) {
		d.Reason = "waiting for fresh metrics"
		if p.st.Incomplete != "" {
			d.Reason = "incomplete metrics (" + p.st.Incomplete + " missing); no decision"
		}
		return d, nil
	}
	if snap.Time.Sub(snap.RunningSince) < p.o.Stabilization {
		d.Reason = "stabilizing after (re)start"
		return d, nil
	}
	window := p.windowSamples(snap.Time)
	if len(window) < 3 || window[len(window)-1].T.Sub(window[0].T) < minWindowSpan(p.o.Window) {
		d.Reason = "collecting metrics"
		return d, nil
	}
	ev := p.evaluate(snap, infos, window)
	d.Evaluated = ev.metrics()
	if !ev.ok {
		d.Reason = ev.why
		return d, nil
	}
	d.Ready = true
	target, dir, reason := p.decide(snap, ev)
	d.Reason = reason
	if dir == 0 {
		return d, nil
	}
	p.commit(snap, target, dir, reason)
	return p.decision(d, snap, target, reason, ev), nil
}

// commit makes target the job's new target: the state from here on waits for its restart.
func (p *Policy) commit(snap *autoscaler.Snapshot, target map[string]int, dir int, reason string) {
	if p.st.Target == nil {
		p.st.Target = map[string]int{}
	}
	for id, n := range target {
		p.st.Target[id] = n
	}
	p.st.LastChange, p.st.LastDir, p.st.LowSince = snap.Time, dir, time.Time{}
	// The run so far is not this target's restart: until that comes, a vertex below the new
	// target says nothing of the slots the cluster can give (noteSlotCeiling).
	p.st.RescaledRun = false
	p.st.DownHeldAt = time.Time{}
	p.clearSurplusWait()
	p.st.LastDecision = reason
}

// decision is the scaling decision for a committed target, with its ScalingReport event.
func (p *Policy) decision(d autoscaler.Decision, snap *autoscaler.Snapshot, target map[string]int, reason string, ev *evaluation) autoscaler.Decision {
	d.Parallelism = p.st.Target
	d.Scaled = true
	d.Events = []autoscaler.Event{{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventNormal,
		Reason: "ScalingReport", Message: reason + ": " + describe(snap, target, ev) + p.describeRestart()}}
	if !p.o.ScalingEnabled {
		d.Events[0].Message = "Scaling disabled by config, recommendation only: " + d.Events[0].Message
	}
	for id, n := range target {
		d.Evaluated[id]["RECOMMENDED_PARALLELISM"] = float64(n)
	}
	return d
}

// minWindowSpan is how much time the samples of a window must span before the policy decides:
// a minute, or half the window when it is shorter (a compressed scenario's window; samples in a
// window of 60 s or less never span a whole minute, so such a window would never decide).
func minWindowSpan(window time.Duration) time.Duration { return min(time.Minute, window/2) }

// restarted resets what a (re)start invalidates and learns the downtime of a rescale.
func (p *Policy) restarted(snap *autoscaler.Snapshot) {
	// The downtime of our own rescale is measured when records flow again (appendSample):
	// RUNNING comes before state is restored. It counts from the PUT, so for a scale-up held
	// for its slots (flinktune.rescale.slot-wait) it includes the TaskManagers' start: the
	// time a decision waits before the rescale helps. Counted from the restart instead, the
	// scale-ups fired later and the corpus lost the lag the hold had saved (lag-violation
	// 84,960 s -> 89,817 s, dominates 157 -> 155).
	p.st.Resuming = p.ownRestart(snap.RunningSince)
	p.st.RescaledRun = p.st.Resuming
	p.st.RunningSince = snap.RunningSince
	p.noteUnseenLag(snap.RunningSince)
	p.st.Base = nil
	p.st.Samples = nil
}

// pendingTimeout bounds how long a decided rescale may take to show; after it the target is
// taken as unreachable for now (e.g. too few slots) and the policy decides from what runs.
const pendingTimeout = 5 * time.Minute

// inFlight reports whether the last decided parallelism is not running yet.
func (p *Policy) inFlight(snap *autoscaler.Snapshot) bool {
	if snap.Time.Sub(p.st.LastChange) > pendingTimeout {
		return false
	}
	for id, n := range p.st.Target {
		if v := snap.Vertex(id); v != nil && v.Parallelism != n {
			return !p.slotBound(snap)
		}
	}
	return false
}

// slotBound reports whether the decided parallelism waits for slots that are not there (a
// real-Flink finding: a target above a standalone cluster's free slots held every decision
// for pendingTimeout): no slot is free and the job has run at what it got, since the decision,
// its restart after it or the cluster's last new slots, for as long as a rescale is expected
// to settle. Waiting longer only delays the next decision; the scheduler takes more slots by
// itself when they come. A cluster still adding TaskManagers is not slot-bound: deciding
// again then (a minute after a scale-up whose TaskManagers took 42 s to start and the
// scheduler's restart came later) sent a second target that took one more TaskManager, and
// the job restarted twice (gen-168: 7 -> 18, then 7 -> 19 before the first had run).
func (p *Policy) slotBound(snap *autoscaler.Snapshot) bool {
	if snap.SlotsAvailable != 0 || snap.Status != "RUNNING" {
		return false // free slots (or unknown): the rescale is on its way
	}
	settled := maxTime(maxTime(p.st.LastChange, snap.RunningSince), p.st.SlotsGrewAt)
	return snap.Time.Sub(settled) >= max(p.o.Stabilization, p.o.RestartTime)
}

// noteSlots keeps the cluster's slot count and when it last grew.
func (p *Policy) noteSlots(snap *autoscaler.Snapshot) {
	if snap.SlotsTotal <= 0 {
		return // unknown
	}
	if p.st.SlotsTotal > 0 && snap.SlotsTotal > p.st.SlotsTotal {
		p.st.SlotsGrewAt = snap.Time
	}
	p.st.SlotsTotal = snap.SlotsTotal
}

// incomplete names a vertex and a metric it reported before and lacks now (a metric reporter
// hiccup, a REST fault): such a snapshot would read as zero lag or unknown load, so it is not
// used at all.
func (p *Policy) incomplete(snap *autoscaler.Snapshot) (id, metric string) {
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		if p.st.LagKnown[v.ID] && math.IsNaN(sumSuffixOrNaN(v.Metrics, ".pendingRecords")) {
			return v.ID, "pendingRecords"
		}
		if a, ok := v.Metrics["busyTimeMsPerSecond"]; !ok || math.IsNaN(a.Max) {
			if p.st.BusyKnown[v.ID] {
				return v.ID, "busyTimeMsPerSecond"
			}
		} else {
			if p.st.BusyKnown == nil {
				p.st.BusyKnown = map[string]bool{}
			}
			p.st.BusyKnown[v.ID] = true
		}
	}
	return "", ""
}

// holdIncomplete reports whether the snapshot lacks a metric it must have. A metric missing
// for longer than the metrics window is taken as gone (a changed job, a reporter that no
// longer exposes it), not as a hiccup: the policy forgets the vertex had it and goes on with
// what there is, from a fresh base, rather than wait for it forever.
func (p *Policy) holdIncomplete(snap *autoscaler.Snapshot) bool {
	for {
		id, metric := p.incomplete(snap)
		if id == "" {
			p.st.Incomplete, p.st.IncompleteSince = "", time.Time{}
			return false
		}
		if p.st.IncompleteSince.IsZero() {
			p.st.IncompleteSince = snap.Time
		}
		if snap.Time.Sub(p.st.IncompleteSince) <= p.o.Window {
			p.st.Incomplete = short(id) + " " + metric
			return true
		}
		if metric == "pendingRecords" {
			delete(p.st.LagKnown, id)
			p.seedUnseen(id, snap.Time, false)
		} else {
			delete(p.st.BusyKnown, id)
		}
		p.st.Base, p.st.Samples = nil, nil
	}
}

// sumSuffixOrNaN sums the aggregates ending in suffix; NaN if there is none.
func sumSuffixOrNaN(m map[string]autoscaler.Aggregate, suffix string) float64 {
	found := false
	s := 0.0
	for name, a := range m {
		if strings.HasSuffix(name, suffix) && !math.IsNaN(a.Sum) {
			s += a.Sum
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return s
}

// noteLagMetrics remembers which sources expose pendingRecords.
func (p *Policy) noteLagMetrics(snap *autoscaler.Snapshot) {
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		if !v.IsSource() {
			continue
		}
		for name := range v.Metrics {
			if strings.HasSuffix(name, ".pendingRecords") {
				if p.st.LagKnown == nil {
					p.st.LagKnown = map[string]bool{}
				}
				p.st.LagKnown[v.ID] = true
			}
		}
	}
}

// dropStaleTarget forgets overrides of vertices that are gone, and targets the vertex cannot
// run (below 1 or above its max parallelism: only a corrupt or edited saved state, or a
// redeploy with a lower max parallelism, holds those; the policy never decides them).
// Targets a failure has made unreachable only through the scheduler stay as the desired state.
func (p *Policy) dropStaleTarget(snap *autoscaler.Snapshot) {
	for id, n := range p.st.Target {
		v := snap.Vertex(id)
		if v == nil || n < 1 || v.MaxParallelism > 0 && n > v.MaxParallelism {
			delete(p.st.Target, id)
		}
	}
}

// accept turns the snapshot into a sample if its counters moved since the last accepted one.
// Flink refreshes REST metrics every few seconds: an unchanged refresh is not a zero rate.
func (p *Policy) accept(snap *autoscaler.Snapshot) bool {
	if p.holdIncomplete(snap) {
		return false // keep the base: the next complete snapshot spans the gap
	}
	cur := base{T: snap.Time, V: map[string]counters{}}
	for i := range snap.Vertices {
		cur.V[snap.Vertices[i].ID] = readCounters(&snap.Vertices[i])
	}
	prev := p.st.Base
	if prev == nil || len(prev.V) != len(cur.V) {
		p.st.Base = &cur
		return false
	}
	dt := cur.T.Sub(prev.T).Seconds()
	if dt <= 0 {
		return false
	}
	moved := false
	for id, c := range cur.V {
		pc, ok := prev.V[id]
		if !ok || c.In < pc.In || c.Out < pc.Out {
			p.st.Base = &cur // counters reset: a restart the timestamps did not show yet
			return false
		}
		if c.In != pc.In || c.Out != pc.Out || c.Lag != pc.Lag {
			moved = true
		}
	}
	if !moved {
		return dt >= 120 && p.appendSample(prev, &cur, snap, dt) // a really idle job
	}
	return p.appendSample(prev, &cur, snap, dt)
}

func (p *Policy) appendSample(prev, cur *base, snap *autoscaler.Snapshot, dt float64) bool {
	s := sample{T: cur.T, Dt: dt, V: make(vsamples, 0, len(snap.Vertices))}
	for i := range snap.Vertices {
		v := &snap.Vertices[i]
		c, pc := cur.V[v.ID], prev.V[v.ID]
		vs := vsample{P: v.Parallelism, InRate: (c.In - pc.In) / dt, OutRate: (c.Out - pc.Out) / dt, Lag: c.Lag, Hot: hotFactor(v)}
		if !math.IsNaN(c.Busy) && !math.IsNaN(pc.Busy) && c.Busy >= pc.Busy {
			vs.BusySec = (c.Busy - pc.Busy) / 1000
		} else if a, ok := v.Metrics["busyTimeMsPerSecond"]; ok && !math.IsNaN(a.Avg) {
			vs.BusySec = a.Avg / 1000 * float64(v.Parallelism) * dt
		} else {
			vs.BusySec = math.NaN()
		}
		if v.IsSource() {
			vs.Ingest = math.Max(0, vs.InRate+(c.Lag-pc.Lag)/dt)
			if !p.st.LagKnown[v.ID] {
				vs.Ingest = p.unseenIngest(v.ID, cur.T, vs.InRate, dt, c.In)
			}
		}
		s.V = append(s.V, vertexSample{ID: v.ID, vsample: vs})
	}
	p.st.Base = cur
	p.st.Samples = append(p.st.Samples, s)
	p.recordLevels(s)
	if p.st.Resuming {
		for _, v := range s.V {
			if p.st.Sources[v.ID] && v.InRate > 0 {
				// Records flow since some time within this sample's interval: count it whole.
				p.st.Downtimes = append(p.st.Downtimes, s.T.Sub(p.st.AppliedAt).Seconds()-dt/2)
				if len(p.st.Downtimes) > 5 {
					p.st.Downtimes = p.st.Downtimes[len(p.st.Downtimes)-5:]
				}
				p.st.Resuming, p.st.AppliedAt = false, time.Time{}
				break
			}
		}
	}
	return true
}

// windowSamples drops samples older than the window and returns the rest.
func (p *Policy) windowSamples(now time.Time) []sample {
	cut := 0
	for cut < len(p.st.Samples) && now.Sub(p.st.Samples[cut].T) > p.o.Window {
		cut++
	}
	p.st.Samples = p.st.Samples[cut:]
	return p.st.Samples
}

// evaluation is the policy's view of the job at one cycle.
type evaluation struct {
	ok       bool
	why      string
	order    []vertexInfo
	models   map[string]*vertexModel
	demand   map[string]float64 // records/s arriving at each vertex now
	forecast map[string]float64 // ... at the forecast horizon
	peak     map[string]float64 // highest demand seen in the window (for conservative scale-down)
	catchUp  map[string]float64 // extra records/s to drain the current lag within catch-up
	lag      float64            // total source lag in records
	// lagSec is the lag of the source furthest behind, in seconds of its input: one lagging
	// source of a join or union is late by that much however fast the others keep up, so
	// the lag objective is checked on it, never on the total lag over the total input.
	lagSec float64
	// lagSecOf is each source's lag in seconds of its input; feeds names the sources whose
	// records reach each vertex (a source's lag drains only as fast as its own branch allows).
	lagSecOf map[string]float64
	feeds    map[string]map[string]bool
	lagKnown bool    // some source reports pendingRecords
	ingest   float64 // total source ingest now
	horizon  time.Duration
	slope    float64 // total source demand trend, records/s per second
	// expected is the total source demand a recurring pattern expects before a rescale
	// decided now could take effect (NaN without a pattern), pattern names it.
	expected float64
	pattern  string
	lagEv    map[string]lagEvidence // each source's lag over the window (lagobjective.go)
	// lowFrom is since when the sources' demand has been as low as the scale-down is sized
	// for, when a spike's end says so (lowPeak); zero otherwise. lowNow: some source's
	// demand fell to a level it did not hold before, so the wait starts now.
	lowFrom time.Time
	lowNow  bool
	now     time.Time // the snapshot's time
}

func (e *evaluation) metrics() map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, vi := range e.order {
		m := e.models[vi.ID]
		mm := map[string]float64{
			"PARALLELISM":          float64(vi.P),
			"TARGET_DATA_RATE":     e.demand[vi.ID],
			"FORECAST_DATA_RATE":   e.forecast[vi.ID],
			"CATCH_UP_DATA_RATE":   e.catchUp[vi.ID],
			"TRUE_PROCESSING_RATE": m.capacity(vi.P),
			"MAX_PARALLELISM":      float64(vi.MaxP),
		}
		if c := m.capacity(vi.P); c > 0 {
			mm["LOAD"] = e.demand[vi.ID] / c
		}
		if vi.Source {
			mm["NUM_SOURCE_PARTITIONS"] = float64(vi.Partitions)
			mm["LAG"] = e.lag
			mm["FORECAST_HORIZON_SECONDS"] = e.horizon.Seconds()
		}
		out[vi.ID] = mm
	}
	return out
}

// evaluate estimates demand and capacity for every vertex from the window.
func (p *Policy) evaluate(snap *autoscaler.Snapshot, order []vertexInfo, window []sample) *evaluation {
	e := &evaluation{order: order, models: map[string]*vertexModel{}, demand: map[string]float64{},
		forecast: map[string]float64{}, peak: map[string]float64{}, catchUp: map[string]float64{}, ok: true,
		lagSecOf: map[string]float64{}, feeds: map[string]map[string]bool{}, now: snap.Time}
	for _, vi := range order {
		f := map[string]bool{}
		if vi.Source {
			f[vi.ID] = true
		}
		for _, in := range vi.Inputs {
			for src := range e.feeds[in] {
				f[src] = true
			}
		}
		e.feeds[vi.ID] = f
	}
	last := window[len(window)-1]

	sel := map[string]float64{}
	for _, vi := range order {
		m, f := p.measure(snap, vi, window)
		e.models[vi.ID], sel[vi.ID] = m, f
	}

	e.expected = math.NaN()
	for _, vi := range order {
		if vi.Source {
			est := p.estimateDemand(vi.ID, window, snap.Time)
			if !est.Reliable {
				e.ok, e.why = false, "demand of source "+short(vi.ID)+" is changing abruptly; waiting for a stable estimate"
			}
			e.demand[vi.ID] = est.Level
			e.forecast[vi.ID] = est.forecast()
			p.applyPattern(e, vi.ID, snap.Time)
			lp, from := p.lowPeak(vi.ID, snap.Time, max(est.Peak, est.Level), est.Slope)
			e.peak[vi.ID] = max(est.Peak, est.Level, lp)
			e.noteLowFrom(from, snap.Time)
			e.horizon = max(e.horizon, est.Horizon)
			lv, _ := last.V.get(vi.ID)
			lag := lv.Lag
			e.lag += lag
			if est.Level > 0 {
				e.lagSecOf[vi.ID] = lag / est.Level
				e.lagSec = math.Max(e.lagSec, lag/est.Level)
			}
			if p.st.LagKnown[vi.ID] {
				e.lagKnown = true
			}
			e.ingest += est.Level
			e.slope += est.Slope
			e.catchUp[vi.ID] = lag / p.o.CatchUp.Seconds()
			continue
		}
		for _, in := range vi.Inputs {
			f := sel[in]
			e.demand[vi.ID] += e.demand[in] * f
			e.forecast[vi.ID] += e.forecast[in] * f
			e.peak[vi.ID] += e.peak[in] * f
			e.catchUp[vi.ID] += e.catchUp[in] * f
		}
	}
	for _, vi := range order {
		if !e.models[vi.ID].known && e.demand[vi.ID] > 0 {
			e.ok, e.why = false, "no busy-time measurement yet for vertex "+short(vi.ID)
		}
	}
	if e.ok {
		p.observeLag(e, window)
		capByObservedRate(e, window)
	}
	return e
}

// applyPattern adds what a recurring pattern of the source expects: the highest demand within
// the lookahead raises the forecast, and the demand before a rescale could take effect is
// added to the job's expected demand.
func (p *Policy) applyPattern(e *evaluation, id string, now time.Time) {
	level := e.demand[id]
	rec, ok := p.st.Profiles[id].recurring(now)
	if !ok {
		if !math.IsNaN(e.expected) {
			e.expected += level
		}
		return
	}
	if hi := rec.expected(patternLookahead); hi > e.forecast[id] {
		e.forecast[id] = hi
	}
	ahead := time.Duration(p.restartDowntime()*float64(time.Second)) + reactionTime + slotLen
	soon := math.Max(level, rec.expected(ahead))
	if math.IsNaN(soon) {
		soon = level
	}
	if math.IsNaN(e.expected) {
		e.expected = 0
		for _, vi := range e.order { // sources before this one had no pattern
			if vi.ID == id {
				break
			}
			if vi.Source {
				e.expected += e.demand[vi.ID]
			}
		}
	}
	e.expected += soon
	e.pattern = map[time.Duration]string{24 * time.Hour: "daily", 7 * 24 * time.Hour: "weekly"}[rec.Period]
}

// measure reads one vertex's evidence from the window (samples at its current parallelism):
// its capacity model and its selectivity (records out per record in; 1 if it read nothing).
//
// A vertex busy for less than minBusySeconds in the window processes too few records for a
// precise rate, but it is then certainly far from saturated: its per-subtask rate is at
// least records/minBusySeconds. A vertex that reports no busy time processes at least the
// most it was seen to. Those lower bounds are used (they may size a vertex larger than it
// needs, never smaller), so no vertex, such as a 1% window's sink, holds up the job.
func (p *Policy) measure(snap *autoscaler.Snapshot, vi vertexInfo, window []sample) (*vertexModel, float64) {
	var sumIn, sumOut, busy, peakIn float64
	busyN := 0
	hots := []float64{}
	for _, s := range window {
		vs, ok := s.V.get(vi.ID)
		if !ok || vs.P != vi.P {
			continue
		}
		sumIn += vs.InRate * s.Dt
		sumOut += vs.OutRate * s.Dt
		peakIn = math.Max(peakIn, vs.InRate)
		if !math.IsNaN(vs.BusySec) {
			busy += vs.BusySec
			busyN++
		}
		hots = append(hots, vs.Hot)
	}
	m := &vertexModel{info: vi, hot: median(hots), alpha: p.alpha(vi.ID), upCur: map[string]int{}}
	if pts := p.st.Efficiency[vi.ID]; len(pts) > 0 {
		m.minSeen = pts[0].P // sorted by parallelism
	}
	for _, id := range vi.Pointwise {
		if u := snap.Vertex(id); u != nil {
			m.upCur[id] = u.Parallelism
		}
	}
	if m.hot < 1 || math.IsNaN(m.hot) {
		m.hot = 1
	}
	switch {
	case sumIn <= 0:
	case busyN == 0:
		// No busy time at all: the vertex processed at least what it read, so its rate per
		// subtask is at least the highest it showed. A saturated bottleneck shows exactly
		// its capacity; a vertex with room is sized a little larger than needed.
		m.perSubtask, m.known, m.bound, m.rateOnly = peakIn/float64(vi.P), true, true, true
	case busy >= minBusySeconds:
		m.perSubtask, m.known = sumIn/busy, true
		p.observeEfficiency(vi.ID, vi.P, m.perSubtask)
	default:
		m.perSubtask, m.known, m.bound = sumIn/minBusySeconds, true, true
	}
	f := 1.0
	if sumIn > 0 {
		f = sumOut / sumIn
	}
	return m, f
}

func (p *Policy) restartDowntime() float64 {
	if len(p.st.Downtimes) == 0 {
		return math.Max(p.o.RestartTime.Seconds(), p.restoreFloor())
	}
	return slices.Max(p.st.Downtimes)
}

// jobSubtasks is the job's number of subtasks with the given parallelism (current where target
// has no entry).
func jobSubtasks(e *evaluation, target map[string]int) int {
	n := 0
	for _, vi := range e.order {
		p, ok := target[vi.ID]
		if !ok {
			p = vi.P
		}
		n += p
	}
	return n
}

// catchUpUtilization is the utilization the temporary catch-up of lag is sized for.
const catchUpUtilization = 0.95

// srcCapacity is the source rate the job sustains with the given parallelism (current where
// target has no entry).
func srcCapacity(e *evaluation, target map[string]int) float64 {
	return branchCapacity(e, "", target)
}

// branchCapacity is srcCapacity over the vertices the source src feeds (all if src is "").
// Each vertex is taken with its pointwise inputs at their target parallelism too: a RESCALE
// or FORWARD input left at its current parallelism splits unevenly over the new subtasks, and
// the vertex raised with it (2 -> 3 behind a 2 -> 3 input) read as having less capacity than
// before (gen-98: 8,162/s at 3 against 8,499/s at 2), so a scale-up gained nothing and 97 s of
// lag, above flinktune.lag.max, sat for 21 minutes waiting to drain at 170 records/s.
func branchCapacity(e *evaluation, src string, target map[string]int) float64 {
	c := math.Inf(1)
	for _, vi := range e.order {
		if src != "" && !e.feeds[vi.ID][src] {
			continue
		}
		if r, ok := saturatingRate(e, vi, target); ok {
			c = math.Min(c, r)
		}
	}
	return c
}

// saturatingRate is the job's total source rate at which vertex vi, at its target parallelism
// (current where target has no entry), is saturated, its demand growing with the sources'; ok
// is false for a vertex without demand or a job without input.
func saturatingRate(e *evaluation, vi vertexInfo, target map[string]int) (float64, bool) {
	p, ok := target[vi.ID]
	if !ok {
		p = vi.P
	}
	d := e.demand[vi.ID]
	if d <= 0 || e.ingest <= 0 {
		return 0, false
	}
	return e.models[vi.ID].planned(target).capacity(p) * e.ingest / d, true
}

// branchBottleneck is the vertex of source src's branch (src included) that saturates first at
// the current parallelism (the one branchCapacity is the capacity of), or "" if none has a
// capacity and a demand.
func branchBottleneck(e *evaluation, src string) string {
	best, least := "", math.Inf(1)
	for _, vi := range e.order {
		if !e.feeds[vi.ID][src] {
			continue
		}
		if r, ok := saturatingRate(e, vi, nil); ok && r > 0 && r < least {
			best, least = vi.ID, r
		}
	}
	return best
}

// reactionTime is how long a scale-up takes to help, beyond the restart itself: a control
// cycle, the PUT, and the adaptive scheduler waiting for its rescale trigger.
const reactionTime = 40 * time.Second

// decide returns the new target (only changed vertices), its direction and a reason.
//
// Scale-ups are driven by the lag objective, not by a utilization threshold: the job may run
// hot as long as its sources will not fall more than flinktune.lag.max behind before a
// rescale could help. Waiting until then costs nothing the user cares about and shows more of
// the trend, so the one rescale that follows is sized for where the demand is going. Only a
// job whose sources report no lag falls back to utilization.max. A rise the recurring pattern
// expects within the restart time is scaled for ahead of time.
func (p *Policy) decide(snap *autoscaler.Snapshot, e *evaluation) (map[string]int, int, string) {
	srcCap := srcCapacity(e, nil) // the job's sustainable source rate at current parallelism
	sz := p.size(e, srcCap)
	if why := p.upReason(e, sz, srcCap); why != "" {
		t := changed(e, sz.up)
		if !raises(e, t) {
			return nil, 0, "lag above the limit but every vertex is at its maximum parallelism"
		}
		if p.settling(snap.Time, -1) && !p.emergency(e) {
			return nil, 0, "scale-up held: within settle time of the last scale-down"
		}
		if wait := p.upAwaitsCheckpoint(snap.Time, e, t); wait != "" {
			return nil, 0, "scale-up held: " + wait + "; due: " + why
		}
		p.st.CatchUpSized, p.st.CatchUpDemand = drainSized(t, sz), e.ingest
		return t, +1, "scale up: " + why
	}
	return p.scaleDown(snap, e, sz)
}

// settling reports whether now is within settle of our last change and that change went in
// direction dir (+1 up, -1 down): the time in which a change the other way would oscillate.
func (p *Policy) settling(now time.Time, dir int) bool {
	return p.st.LastDir == dir && now.Sub(p.st.LastChange) < p.o.Settle
}

// sizing is what decide derives from the evaluation before choosing a direction.
type sizing struct {
	up, down map[string]int // per vertex: the size for a scale-up and for a scale-down
	must     map[string]int // the scale-down of the vertices below utilization.min only
	// short are the vertices that would not drain, within catch-up, the lag a restart adds.
	short map[string]bool
	// drained are the vertices whose scale-up size is set by the lag to drain, not the demand.
	drained map[string]bool
	// forDemand and drainRate are each vertex's size for its lasting demand and the rate of
	// records it must take to drain the lag (boundDrain resizes the drain).
	forDemand map[string]int
	drainRate map[string]float64
	low       int    // vertices that could do with fewer subtasks
	hottest   string // the vertex with the highest utilization
	hotUtil   float64
	down0     float64 // restart downtime, seconds
	restart   float64 // records a restart leaves behind (replay and downtime backlog)
}

// size computes, for every vertex, the parallelism a scale-up and a scale-down would set.
func (p *Policy) size(e *evaluation, srcCap float64) sizing {
	u := p.o.TargetUtilization
	sz := sizing{up: map[string]int{}, down: map[string]int{}, must: map[string]int{}, short: map[string]bool{}, drained: map[string]bool{},
		forDemand: map[string]int{}, drainRate: map[string]float64{},
		down0: p.restartDowntime(), restart: p.restartLag(e, srcCap)}
	// The lag a rescale decided now must drain: what is there, what accrues until the
	// restart, and what the restart leaves behind (the replay since the last checkpoint and
	// what arrives while the job is down).
	accrues := math.Max(0, e.ingest-srcCap)*reactionTime.Seconds() + sz.restart
	sz.hottest, sz.hotUtil = hottest(e)
	// Without a lag metric a saturated job's demand is only a lower bound (the sources read
	// what the bottleneck lets through): a scale-up then sheds nothing, or it takes back
	// subtasks the next step needs again.
	shed := e.lagKnown || sz.hotUtil <= p.o.UtilizationMax
	// Within settle of our own scale-up a vertex's scale-down size comes from rates read while
	// the job caught up on that restart's lag: shedding on it reversed the last step each
	// time (gen-2038 on a 30 s objective: a source 2 -> 1 -> 2 -> 1 -> 2 and its window
	// 4 -> 7 -> 5 -> 8 in five scale-ups within 15 minutes).
	shed = shed && !p.settling(e.now, +1)
	for _, vi := range e.order {
		m := e.models[vi.ID]
		if p.o.Exclude[strings.ToLower(vi.ID)] {
			continue
		}
		gain := 0.0 // records at this vertex per source record
		if e.ingest > 0 {
			gain = e.demand[vi.ID] / e.ingest
		}
		// Draining lag is temporary, so it is sized at full utilization, the lasting demand
		// at the target utilization.
		lasting := math.Max(e.forecast[vi.ID], e.demand[vi.ID])
		// The lag already there reaches each vertex through its own sources (catchUp), so a
		// lagging source of a join sizes its branch for all of it, not for its share of the total.
		drain := e.catchUp[vi.ID] + accrues/p.o.CatchUp.Seconds()*gain
		mu := m.planned(sz.up) // vertices come in topological order: upstream is planned
		sz.drainRate[vi.ID] = drainDemand(e, vi.ID, p.o.CatchUp) + drain
		forDemand, forDrain := mu.sizeFor(lasting, u, p.o), mu.drainSize(sz.drainRate[vi.ID], p.o)
		sz.forDemand[vi.ID] = forDemand
		sz.up[vi.ID] = max(forDemand, forDrain, vi.P)
		sz.drained[vi.ID] = forDrain > max(forDemand, vi.P)
		if m.capacity(vi.P) < lasting+drain {
			sz.short[vi.ID] = true
		}
		p.sizeDown(e, &sz, vi, math.Max(e.peak[vi.ID], e.forecast[vi.ID])+drain, drain)
		// Subtasks beyond a source's partitions (or the max parallelism) idle: shedding
		// them risks nothing, so they call for a scale-down on their own.
		if hi := m.upperBound(p.o); hi < vi.P && sz.must[vi.ID] > hi {
			sz.down[vi.ID], sz.must[vi.ID] = min(sz.down[vi.ID], hi), hi
			sz.low++
		}
		if shed {
			sz.up[vi.ID] = shedInScaleUp(sz.up[vi.ID], forDemand, forDrain, sz.down[vi.ID])
		}
	}
	p.boundDrain(e, &sz, p.capAtCeiling(e, &sz))
	return sz
}

// sizeDown sets a vertex's scale-down size against conservative, the highest demand of the
// window (never below the forecast) plus drain. Vertices below utilization.min call for a
// scale-down; once the job restarts anyway, those halfway there come along (one step, not one
// per vertex crossing the line).
func (p *Policy) sizeDown(e *evaluation, sz *sizing, vi vertexInfo, conservative, drain float64) {
	m, u := e.models[vi.ID], p.o.TargetUtilization
	low, util := m.planned(sz.down).sizeFor(conservative, u, p.o), conservative/m.capacity(vi.P)
	starved := unfed(e, vi, conservative)
	if starved {
		low, util = m.lowerBound(p.o), 0
	}
	sz.down[vi.ID], sz.must[vi.ID] = vi.P, vi.P
	if util < (p.o.UtilizationMin+u)/2 && low < vi.P {
		sz.down[vi.ID] = low
		if p.lowAtLevel() && !starved {
			sz.down[vi.ID] = downSize(m.planned(sz.down), conservative-drain, drain, p.o)
		}
		if util < p.o.UtilizationMin {
			sz.must[vi.ID] = low
			sz.low++
		}
	}
	sz.down[vi.ID] = min(sz.down[vi.ID], p.levelDown(e, m.planned(sz.down), vi.P, conservative-drain, drain))
}

// unfed reports whether a vertex has nothing to serve while the job takes input: no record
// reached it over the window, nor is one forecast, because what feeds it emitted none (a filter
// or a window of low selectivity upstream). Its capacity is then unmeasured (no busy time)
// and its size for the demand undefined, which held it at its parallelism for good while the
// vertices around it went down (gen-193: a sliding window and its sink, 13 subtasks each, fed
// by a filter that passed nothing); the fewest subtasks serve it, and the records it gets
// later are measured as any vertex's. conservative (peak, forecast and drain, the lag's
// catch-up among it, none negative) is zero exactly when nothing reaches the vertex.
func unfed(e *evaluation, vi vertexInfo, conservative float64) bool {
	return !vi.Source && e.ingest > 0 && conservative <= 0
}

// hottest is the vertex with the highest utilization (demand and the lag's catch-up over its
// capacity) and that utilization. A vertex measured without busy time is left out: its
// capacity is the rate it read, so it reads ~100% at any load.
func hottest(e *evaluation) (string, float64) {
	id, hot := "", 0.0
	for _, vi := range e.order {
		m := e.models[vi.ID]
		if util := (e.demand[vi.ID] + e.catchUp[vi.ID]) / m.capacity(vi.P); util > hot && !m.rateOnly {
			id, hot = vi.ID, util
		}
	}
	return id, hot
}

// upReason says why the job must scale up now, or "" if it need not.
func (p *Policy) upReason(e *evaluation, sz sizing, srcCap float64) string {
	ahead := sz.down0 + reactionTime.Seconds()
	if !math.IsNaN(e.expected) && e.expected > srcCap {
		return fmt.Sprintf("the %s pattern expects %.0f/s within %.0fs, %.0f%% of the capacity",
			e.pattern, e.expected, ahead, 100*e.expected/srcCap)
	}
	if !e.lagKnown || e.ingest <= 0 {
		if sz.hotUtil > p.o.UtilizationMax {
			return fmt.Sprintf("vertex %s at %.0f%% utilization (sources report no lag)", short(sz.hottest), 100*sz.hotUtil)
		}
		return ""
	}
	for _, vi := range e.order {
		if vi.Source {
			if why := p.lagReason(e, sz, vi.ID, ahead); why != "" {
				return why
			}
		}
	}
	return p.persistentLagReason(e, sz)
}

// lagReason checks the lag objective on one source: its lag in seconds of its own input,
// which drains at the rate its branch's capacity exceeds the demand (in records of the job's
// total input, as srcCapacity counts them).
func (p *Policy) lagReason(e *evaluation, sz sizing, src string, ahead float64) string {
	lagSec := e.lagSecOf[src]
	lag := lagSec * e.ingest
	drain := branchCapacity(e, src, nil) - (e.ingest + e.slope*ahead/2) // records/s the lag shrinks by
	if drain <= 0 {
		// Lag grows: act before it would exceed the limit by the time a rescale helps.
		if projected := (lag - drain*ahead) / e.ingest; projected > p.o.MaxLag.Seconds() && p.upOutgrowsRestart(e, sz, src) {
			return fmt.Sprintf("sources fall behind: lag %.0fs of input, %.0fs projected (limit %s); vertex %s at %.0f%% utilization",
				lagSec, projected, p.o.MaxLag, short(sz.hottest), 100*sz.hotUtil)
		}
		return ""
	}
	if lagSec <= p.o.MaxLag.Seconds() {
		return ""
	}
	// Lag drains, but slowly: a rescale must beat waiting, counting the lag its own restart
	// adds (restarting a lagging job again is how lag spirals).
	wait := lag / drain
	if wait <= p.o.CatchUp.Seconds() {
		return ""
	}
	if gain := branchCapacity(e, src, sz.up) - e.ingest; gain > 0 {
		if withRescale := sz.down0 + (lag+sz.restart)/gain; withRescale < worthMargin*wait {
			return fmt.Sprintf("lag %.0fs of input drains in %.0fs, %.0fs with a rescale", lagSec, wait, withRescale)
		}
	}
	return ""
}

// upOutgrowsRestart reports whether a scale-up for a growing lag pays for its restart. When the
// planned layout still cannot serve the demand (its bottleneck at its max parallelism, its
// partitions or the slot ceiling, under a load beyond all of them) the lag grows either way,
// and the restart is worth it only if it leaves less lag than not restarting over settle, the
// least time its layout holds (no scale-down reverses it sooner). Rescaling regardless
// restarted an overloaded job every few minutes to move a vertex downstream of the capped one
// by a subtask (13 rescales against the operator's 4, the job down for 265-615 s each time).
func (p *Policy) upOutgrowsRestart(e *evaluation, sz sizing, src string) bool {
	up := branchCapacity(e, src, sz.up)
	if up >= e.ingest || p.resizesPending(e, sz) {
		return true // the lag drains after the restart, or the restart is one already pending
	}
	span := p.o.Settle.Seconds()
	without := (e.ingest - branchCapacity(e, src, nil)) * span
	with := sz.restart + (e.ingest-up)*math.Max(0, span-sz.down0)
	return with < without
}

// resizesPending reports whether the scale-up lowers a pending target (one the job has not
// reached for want of slots) to a size between what runs and it: no new restart, but the
// pending one resized to the slots there are (gen-27: a map pending at 12, running 5, set to
// 7 with the other vertices the cluster could not hold; holding that kept 11% more
// parallelism-seconds).
func (p *Policy) resizesPending(e *evaluation, sz sizing) bool {
	for _, vi := range e.order {
		t, ok := p.st.Target[vi.ID]
		if u, sized := sz.up[vi.ID]; ok && sized && vi.P < u && u < t {
			return true
		}
	}
	return false
}

// scaleDown decides a scale-down: worth a restart only if the job then holds fewer slots
// (parallelism below a slot sharing group's largest vertex frees nothing), after the demand
// has been low for scale-down.interval, never within settle of a scale-up, never with lag.
func (p *Policy) scaleDown(snap *autoscaler.Snapshot, e *evaluation, sz sizing) (map[string]int, int, string) {
	sz, target, surplus, shedsSurplus := p.downStart(snap, e, sz)
	if sz.low == 0 {
		p.pauseSurplusWait(snap.Time)
		p.st.DownHeldAt = time.Time{}
		return nil, 0, "within target utilization"
	}
	p.resumeSurplusWait(e, snap.Time, shedsSurplus)
	if why := p.downWaiting(snap, e, surplus); why != "" {
		return nil, 0, why
	}
	t := changed(e, withHotAlong(e, target, sz))
	if len(t) == 0 {
		return nil, 0, "within target utilization"
	}
	if why := addsSlots(e, t); why != "" {
		return nil, 0, "scale-down held: " + why
	}
	if why := p.restartUndrained(e, sz, t); why != "" {
		return nil, 0, "scale-down held: " + why
	}
	if why := p.notWorthRestart(e, t, snap.Time); why != "" {
		return nil, 0, "scale-down held: " + why
	}
	if src := p.raisesInExcursion(e, t, snap.Time); src != "" {
		return nil, 0, "scale-down held: it raises vertices for source " + short(src) + "'s excursion"
	}
	if why := p.awaitCheckpoint(snap.Time); why != "" {
		return nil, 0, "scale-down held: " + why
	}
	p.st.CatchUpSized = false
	return t, -1, "scale down: demand low for " + snap.Time.Sub(p.st.LowSince).Truncate(time.Second).String()
}

// downStart says what may start a scale-down: the sizing with low > 0 when something may, the
// target parallelism, whether it sheds a drain's surplus (surplus: the drain alone starts it;
// shedsSurplus: the target sheds one, whatever started it).
func (p *Policy) downStart(snap *autoscaler.Snapshot, e *evaluation, sz sizing) (sizing, map[string]int, bool, bool) {
	target, surplus := sz.down, false
	if sz.low > 0 {
		// Only vertices deep below the target (utilization.min) may start a scale-down, and
		// only if they alone free slots: counting the slots that the vertices merely halfway
		// down free as well scaled jobs down twice as often, and a load step within the
		// settle time then reversed it (5 oscillations in 22 corpus scenarios, against 1).
		// Subtasks cost besides slots (threads, network buffers, state backend instances):
		// a quarter of the job's subtasks idle deep below the target is worth a restart even
		// in slots another vertex holds, but then only those vertices go down, so the restart
		// exposes no vertex near its target to the next load step.
		switch {
		case freesSlots(e, sz.must):
		case freesSubtasks(e, sz.must):
			target = sz.must
		default:
			sz.low = 0
		}
	}
	if p.levelReturn(e, sz, snap.Time) {
		sz.low, target = max(sz.low, 1), sz.down
	}
	// A drain's surplus may also be shed by the return to a level (levelReturn): its wait counts
	// the surplus's idle time either way (surpluswait.go).
	shedsSurplus := p.drainSurplus(e) && len(changed(e, sz.down)) > 0
	if sz.low == 0 && shedsSurplus {
		// The surplus of a scale-up sized to drain a backlog outlasts the backlog: the vertices
		// halfway down start the scale-down once the lag is gone (the guards below hold).
		sz.low, target, surplus = 1, sz.down, true
	}
	if from, ok := p.halfwayLow(e, sz, snap.Time); ok && sz.low == 0 {
		// Vertices halfway down on a level for settle start the scale-down (halfway.go).
		sz.low, target = 1, sz.down
		if p.st.LowSince.IsZero() {
			p.st.LowSince, p.st.LowAtLevel = from, false
		}
	}
	return sz, target, surplus, shedsSurplus
}

// downWaiting says why a scale-down that may start waits (the demand not low for long enough,
// a source not settled at its level) or is held (settle, lag, a rising demand), or "".
func (p *Policy) downWaiting(snap *autoscaler.Snapshot, e *evaluation, surplus bool) string {
	met := p.waitMet(snap.Time) // held for a checkpoint after its wait (ckptalign.go)
	if waited := p.lowWaited(snap.Time); waited < p.downWait(e, surplus) && !met {
		return "scale-down pending: demand low for " + waited.Truncate(time.Second).String()
	}
	if src, since := p.riseWait(e, snap.Time, surplus); src != "" && !met {
		return "scale-down pending: demand of source " + short(src) + " at its level for " +
			snap.Time.Sub(since).Truncate(time.Second).String()
	}
	if p.settling(snap.Time, +1) {
		return "scale-down held: within settle time of the last scale-up"
	}
	if e.ingest > 0 && e.lagSec > p.o.MaxLag.Seconds()/2 {
		return "scale-down held: lag not drained"
	}
	if src := rising(e); src != "" {
		// The forecast keeps the scale-down above the trend's end, but a rising demand is
		// how the next load change begins: a restart now is likely reversed within settle.
		return "scale-down held: demand of source " + short(src) + " rising"
	}
	return ""
}

// drainSized reports whether a scale-up's size was set by the lag to drain for some vertex it
// changes.
func drainSized(t map[string]int, sz sizing) bool {
	for id := range t {
		if sz.drained[id] {
			return true
		}
	}
	return false
}

// addsSlots says why scale-down t takes more slots than the job holds now, or "". A scale-down
// pays for its restart with what it frees; one whose raises (withHotAlong) outgrow a slot
// sharing group frees nothing the cluster is billed for and asks for another TaskManager:
// gen-2008's lowered nine idle vertices 4 -> 1 and raised its keyed vertex 4 -> 7, waited for
// a second TaskManager, and restarted a job whose 15.6 GB state took 4.5 minutes to restore.
func addsSlots(e *evaluation, t map[string]int) string {
	if now, after := slotsOf(e.order, nil), slotsOf(e.order, t); after > now {
		return fmt.Sprintf("its raises need %d slots, the job holds %d", after, now)
	}
	return ""
}

// withHotAlong adds to a scale-down the vertices that stay at their parallelism but could not
// drain the lag its restart adds (a vertex running near its capacity, which the lag objective
// lets run hot as long as nothing accrues): the restart is due anyway, and without them it
// left a lag that only a scale-up right after could drain, an oscillation.
func withHotAlong(e *evaluation, target map[string]int, sz sizing) map[string]int {
	out := maps.Clone(target)
	for _, vi := range e.order {
		if n, ok := out[vi.ID]; (!ok || n == vi.P) && sz.short[vi.ID] && sz.up[vi.ID] > vi.P {
			out[vi.ID] = sz.up[vi.ID]
		}
	}
	return out
}

// lowFor is the shortest time the demand must have been low before a scale-down:
// scale-down.interval. downWait (scaledown.go) waits settle instead on a flat or rising demand.
func (p *Policy) lowFor() time.Duration { return p.o.ScaleDownInterval }

// rising returns a source whose forecast demand is more than 10% above its demand now, or "".
func rising(e *evaluation) string {
	for _, vi := range e.order {
		if vi.Source && e.forecast[vi.ID] > 1.1*e.demand[vi.ID] {
			return vi.ID
		}
	}
	return ""
}

// emergency justifies reversing a recent scale-down: the capacity left no longer keeps up
// with the input and the lag exceeds the limit by the time a rescale helps (overrunsBeforeHelp:
// not only once it has crossed it, by then the restart comes on top). Lag that drains, however slowly (the
// scale-down's own restart took longer than learned so far), is waited out: reversing it
// would restart the job again and add more lag than it saves.
func (p *Policy) emergency(e *evaluation) bool {
	if e.ingest <= 0 {
		return false
	}
	for src, lagSec := range e.lagSecOf {
		if capacity := branchCapacity(e, src, nil); capacity <= e.ingest && p.overrunsBeforeHelp(e, capacity, lagSec) {
			return true
		}
	}
	return false
}

func changed(e *evaluation, target map[string]int) map[string]int {
	out := map[string]int{}
	for _, vi := range e.order {
		if n, ok := target[vi.ID]; ok && n != vi.P {
			out[vi.ID] = n
		}
	}
	return out
}

// alphaPrior is the scaling-efficiency exponent assumed before a vertex has been seen at
// two parallelisms: about 7% less per subtask for every doubling, between linear jobs and
// the ~10% that Nexmark-like jobs lose (prior-art.md, ContTune's measurements).
const alphaPrior = 0.1

// alpha fits per-subtask rate ∝ p^-alpha over the parallelisms observed for a vertex.
func (p *Policy) alpha(id string) float64 {
	pts := p.st.Efficiency[id]
	if len(pts) < 2 {
		return alphaPrior
	}
	var xs, ys []float64
	for _, o := range pts {
		if o.Rate > 0 && o.P > 0 {
			xs = append(xs, math.Log(float64(o.P)))
			ys = append(ys, math.Log(o.Rate))
		}
	}
	_, slope := fitLine(xs, ys)
	if math.IsNaN(slope) {
		return 0
	}
	return math.Min(math.Max(-slope, 0), 0.5)
}

// observeEfficiency keeps the latest per-subtask rate for each parallelism seen.
func (p *Policy) observeEfficiency(id string, par int, rate float64) {
	if p.st.Efficiency == nil {
		p.st.Efficiency = map[string][]obsPt{}
	}
	pts := p.st.Efficiency[id]
	for i := range pts {
		if pts[i].P == par {
			pts[i].Rate = rate
			return
		}
	}
	pts = append(pts, obsPt{P: par, Rate: rate})
	sort.Slice(pts, func(i, j int) bool { return pts[i].P < pts[j].P })
	if len(pts) > 8 {
		pts = pts[len(pts)-8:]
	}
	p.st.Efficiency[id] = pts
}

func describe(snap *autoscaler.Snapshot, target map[string]int, e *evaluation) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(target)) {
		v := snap.Vertex(id)
		name := short(id)
		if v != nil && v.Name != "" {
			name = v.Name
		}
		m := e.models[id]
		parts = append(parts, fmt.Sprintf("{%s | parallelism %d -> %d | demand %.0f/s (forecast %.0f/s) | capacity %.0f/s -> %.0f/s}",
			name, v.Parallelism, target[id], e.demand[id], e.forecast[id], m.capacity(v.Parallelism), m.planned(target).capacity(target[id])))
	}
	return strings.Join(parts, " ")
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func sign(x float64) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// fitLine returns the least-squares line through (xs, ys) as its value at x = 0 and slope.
func fitLine(xs, ys []float64) (intercept, slope float64) {
	n := float64(len(xs))
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	den := n*sxx - sx*sx
	if n < 2 || den == 0 {
		return sy / n, 0
	}
	slope = (n*sxy - sx*sy) / den
	return (sy - slope*sx) / n, slope
}
