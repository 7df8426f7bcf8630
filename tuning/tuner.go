// Package tuning is flinktune's memory tuner: it sizes a job's TaskManager pools (heap,
// metaspace, network, managed memory, JVM overhead), its JobManager heap and metaspace, and
// recommends the slots per TaskManager, from what the job really uses.
//
// Where the Kubernetes operator's tuner (autoscaler.md §13) sizes from window averages, this
// one follows the Kubernetes VPA recommender (prior-art.md §4): per-interval peaks go into a
// decaying histogram, a high percentile (bucket end) plus a margin is the need, an
// out-of-memory failure bumps the pool (max(+100 MiB, ×1.2)) and rolls back a change that
// caused it, and sustained GC pressure forbids shrinking the heap. Network memory is computed
// exactly from the topology and Flink's buffer rules; managed memory is zero for heap state
// and kept (or maximized) for RocksDB; metaspace never goes below its observed peak; and the
// total never exceeds the job's initial limits.
//
// The Tuner is a deterministic core: time comes from the snapshots only and its state
// round-trips through MarshalState/RestoreState.
package tuning

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// StateVersion is the version of the persisted state.
const StateVersion = 1

// Metric names the tuner reads from a snapshot.
const (
	MetricHeapUsed         = "Status.JVM.Memory.Heap.Used"
	MetricHeapMax          = "Status.JVM.Memory.Heap.Max"
	MetricHeapCommitted    = "Status.JVM.Memory.Heap.Committed"
	MetricMetaspaceUsed    = "Status.JVM.Memory.Metaspace.Used"
	MetricMetaspaceMax     = "Status.JVM.Memory.Metaspace.Max"
	MetricManagedUsed      = "Status.Flink.Memory.Managed.Used"
	MetricManagedTotal     = "Status.Flink.Memory.Managed.Total"
	MetricGCTimePerSecond  = "Status.JVM.GarbageCollector.All.TimeMsPerSecond"
	MetricNetworkUsedSegs  = "Status.Shuffle.Netty.UsedMemorySegments"
	MetricNetworkTotalSegs = "Status.Shuffle.Netty.TotalMemorySegments"
)

// Pool names used in evidence, floors and changes.
const (
	PoolHeap        = "heap"
	PoolMetaspace   = "metaspace"
	PoolManaged     = "managed"
	PoolNetwork     = "network"
	PoolOverhead    = "jvm-overhead"
	PoolTaskOffHeap = "task-off-heap"
	PoolJMHeap      = "jobmanager-heap"
	PoolJMMetaspace = "jobmanager-metaspace"
)

// VPA's out-of-memory bump (prior-art.md §4).
const (
	oomBumpRatio = 1.2
	oomMinBump   = 100 << 20
)

// Tuner tunes the memory of one job.
type Tuner struct {
	o  Options
	st state
}

// New returns a tuner with the given options.
func New(o Options) *Tuner { return &Tuner{o: o, st: newState()} }

// Options returns the tuner's options.
func (t *Tuner) Options() Options { return t.o }

func newState() state {
	return state{Version: StateVersion, Floors: map[string]floor{}}
}

type state struct {
	Version int `json:"version"`
	// Original is the job's configuration as first seen: the initial limits. It moves only
	// when the user redeploys with different memory settings, so tuning never ratchets.
	Original   map[string]string `json:"original,omitempty"`
	OriginalAt time.Time         `json:"originalAt"`
	// Applied are the overrides and removals believed to be running (see Applied).
	Applied         map[string]string `json:"applied,omitempty"`
	AppliedRemovals []string          `json:"appliedRemovals,omitempty"`
	AppliedAt       time.Time         `json:"appliedAt"`
	// RestartedAt is when the last change that restarted the job on its own was applied
	// (not one that rode along with a rescale): settle counts from it.
	RestartedAt time.Time `json:"restartedAt"`
	// Pending is a change reported by Applied whose heap the TaskManagers do not show yet;
	// if they never do, the change did not land and the previous one is restored.
	Pending    *pending `json:"pending,omitempty"`
	LastChange *change  `json:"lastChange,omitempty"`
	// Written are the values the tuner ever applied per key (absentValue for a removal), so
	// that a platform still reporting an earlier tuned value is not taken for a redeploy.
	Written map[string][]string `json:"written,omitempty"`

	// Layout is the running parallelism; Heaps holds a heap-peak histogram per parallelism
	// layout seen (the most recent maxLayouts), since a rescale changes what the busiest
	// TaskManager hosts and a layout seen before brings its history back.
	Layout map[string]int `json:"layout,omitempty"`
	Heaps  []*layoutHeap  `json:"heaps,omitempty"`
	JMHeap peakTracker    `json:"jmHeap"`

	MetaspacePeak float64 `json:"metaspacePeak"`
	// MetaspaceGrewAt is when the metaspace peak last grew by more than 1 % over
	// MetaspaceMark (the peak at the previous growth).
	MetaspaceGrewAt time.Time `json:"metaspaceGrewAt"`
	MetaspaceMark   float64   `json:"metaspaceMark"`
	// MetaspaceMarks are the marks of the last growth window (metaspace.go): whether the
	// growth slows down (classes loading after a start) or keeps its pace (a leak, a ramp).
	MetaspaceMarks  []metaMark `json:"metaspaceMarks,omitempty"`
	JMMetaspacePeak float64    `json:"jmMetaspacePeak"`
	ManagedPeak     float64    `json:"managedPeak"`
	ManagedSeen     bool       `json:"managedSeen"`
	NetworkUsedPeak float64    `json:"networkUsedSegmentsPeak"`
	HeapMax         float64    `json:"heapMax"` // latest Heap.Max of the largest TaskManager

	GC            []gcSample `json:"gc,omitempty"`
	GCPressure    bool       `json:"gcPressure"`
	GCFraction    float64    `json:"gcFraction"`
	FirstRunning  time.Time  `json:"firstRunning"`
	LastRunning   time.Time  `json:"lastRunning"`
	LastException time.Time  `json:"lastException"`

	Floors map[string]floor `json:"floors"`
	Events []MemoryEvent    `json:"events,omitempty"`

	// Load holds the sources' samples of the last stable.window (see stable).
	Load []loadSample `json:"load,omitempty"`
	// DeferredSince is when a worthwhile saving first waited for a stable job (zero: none
	// waits); after stable.max-wait it goes anyway.
	DeferredSince time.Time `json:"deferredSince"`
	// Downtime is how long the job's last restart kept it from running (0: none seen).
	Downtime time.Duration `json:"downtime"`
	// Busy is the busiest subtask's busy fraction at the latest sample (NaN: unknown).
	Busy float64 `json:"busy"`
}

// peakTracker feeds one peak per interval into a decaying histogram; a higher sample in the
// same interval replaces the interval's peak (VPA's container memory aggregation).
type peakTracker struct {
	Hist        histogram `json:"hist"`
	IntervalEnd time.Time `json:"intervalEnd"`
	Peak        float64   `json:"peak"`
	Samples     int       `json:"samples"`
	Max         float64   `json:"max"`
	Since       time.Time `json:"since"`
	Last        time.Time `json:"last"`
}

func (p *peakTracker) observe(t time.Time, v float64, o Options) {
	if !(v > 0) || math.IsInf(v, 0) {
		return
	}
	if p.Since.IsZero() {
		p.Since = t
	}
	p.Last = t
	p.Samples++
	p.Max = max(p.Max, v)
	if p.IntervalEnd.IsZero() || !t.Before(p.IntervalEnd) {
		p.IntervalEnd = t.Truncate(o.PeakInterval).Add(o.PeakInterval)
		p.Peak = v
		p.Hist.add(v, 1, p.IntervalEnd, o.HalfLife)
		return
	}
	if v > p.Peak {
		p.Hist.subtract(p.Peak, 1, p.IntervalEnd, o.HalfLife)
		p.Hist.add(v, 1, p.IntervalEnd, o.HalfLife)
		p.Peak = v
	}
}

// span is how long the tracker's samples cover.
func (p *peakTracker) span() time.Duration {
	if p.Since.IsZero() {
		return 0
	}
	return p.Last.Sub(p.Since)
}

// evidence returns the percentile when the tracker covers at least min.
func (p *peakTracker) evidence(q float64, min time.Duration) (float64, bool) {
	if p.span() < min {
		return 0, false
	}
	return p.Hist.percentile(q)
}

// layoutHeap is the heap history of one parallelism layout. Heap peaks include garbage
// waiting for collection, and garbage fills whatever heap there is: peaks taken under another
// JVM heap size say little about this one, so Peaks restarts when the heap size changes. The
// live-set histogram (Low) does not depend on the heap size and keeps its history.
//
// Low holds the lowest sample of each live window (heap.live-window). Every sample of the
// largest TaskManager's heap bounds its live set from above; the lowest ones are those taken
// just after a collection, but only when no other TaskManager is then higher up its own
// allocation ramp. With several TaskManagers, each collecting every few minutes on a large
// heap, a one-minute window rarely holds such a moment: its lowest sample once read 2.5× the
// live set, and the heap shrank in four steps 30 min apart instead of one.
type layoutHeap struct {
	Layout map[string]int `json:"layout"`
	// Slots is taskmanager.numberOfTaskSlots the layout ran with: the same parallelism over
	// fewer slots per TaskManager puts fewer subtasks on the busiest one. 0: recorded before
	// slots were part of the layout; taken over by the first slot count observed.
	Slots    int         `json:"slots,omitempty"`
	Peaks    peakTracker `json:"peaks"`
	Low      histogram   `json:"low"`
	LowEnd   time.Time   `json:"lowEnd"`  // end of the current live window
	LowMin   float64     `json:"lowMin"`  // its lowest sample so far
	HeapMax  float64     `json:"heapMax"` // the JVM max heap the peaks were taken under
	LastSeen time.Time   `json:"lastSeen"`
}

func (h *layoutHeap) observe(t time.Time, used, heapMax float64, o Options) {
	if heapMax > 0 && h.HeapMax > 0 && math.Abs(heapMax-h.HeapMax) > 0.01*h.HeapMax {
		h.Peaks = peakTracker{}
	}
	if heapMax > 0 {
		h.HeapMax = heapMax
	}
	h.Peaks.observe(t, used, o)
	if !(used > 0) || math.IsInf(used, 0) {
		return
	}
	if h.LowEnd.IsZero() || !t.Before(h.LowEnd) {
		if h.LowMin > 0 {
			h.Low.add(h.LowMin, 1, h.LowEnd, o.HalfLife)
		}
		h.LowEnd, h.LowMin = t.Truncate(o.LiveWindow).Add(o.LiveWindow), used
		return
	}
	h.LowMin = min(h.LowMin, used)
}

const maxLayouts = 8

// heapOf returns the heap history of a layout run with slots slots per TaskManager, or nil.
func (t *Tuner) heapOf(layout map[string]int, slots int) *layoutHeap {
	for _, h := range t.st.Heaps {
		if maps.Equal(h.Layout, layout) && (h.Slots == slots || h.Slots == 0) {
			return h
		}
	}
	return nil
}

// heapFor returns the heap history of a layout, creating it (and forgetting the least
// recently seen layout beyond maxLayouts).
func (t *Tuner) heapFor(layout map[string]int, slots int, now time.Time) *layoutHeap {
	h := t.heapOf(layout, slots)
	if h == nil {
		h = &layoutHeap{Layout: maps.Clone(layout), Slots: slots}
		t.st.Heaps = append(t.st.Heaps, h)
		if len(t.st.Heaps) > maxLayouts {
			oldest := 0
			for i, x := range t.st.Heaps {
				if x.LastSeen.Before(t.st.Heaps[oldest].LastSeen) {
					oldest = i
				}
			}
			t.st.Heaps = slices.Delete(t.st.Heaps, oldest, oldest+1)
		}
	}
	h.Slots = slots
	h.LastSeen = now
	return h
}

type gcSample struct {
	T time.Time `json:"t"`
	V float64   `json:"v"` // fraction of time in GC
}

// floor keeps a pool from going below Bytes until Until.
type floor struct {
	Bytes  int64     `json:"bytes"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// floorAt is the pool's floor if it still holds at time at (a failure's bump or a rollback
// lasts until its Until).
func (t *Tuner) floorAt(pool string, at time.Time) (floor, bool) {
	f, ok := t.st.Floors[pool]
	if !ok || at.After(f.Until) {
		return floor{}, false
	}
	return f, true
}

// Pools are a TaskManager's tunable pools in bytes.
type Pools struct {
	Heap        int64 `json:"heap"` // JVM heap: framework + task heap
	TaskOffHeap int64 `json:"taskOffHeap"`
	Network     int64 `json:"network"`
	Managed     int64 `json:"managed"`
	Metaspace   int64 `json:"metaspace"`
	Overhead    int64 `json:"jvmOverhead"`
	Process     int64 `json:"process"`
}

// PoolsOf extracts the tunable pools of a derived TaskManager.
func PoolsOf(tm *memory.TaskManager) Pools {
	if tm == nil {
		return Pools{}
	}
	return Pools{Heap: tm.JVMHeap(), TaskOffHeap: tm.TaskOffHeap, Network: tm.Network, Managed: tm.Managed,
		Metaspace: tm.JVMMetaspace, Overhead: tm.JVMOverhead, Process: tm.TotalProcess}
}

func (p Pools) get(pool string) int64 {
	switch pool {
	case PoolHeap:
		return p.Heap
	case PoolTaskOffHeap:
		return p.TaskOffHeap
	case PoolNetwork:
		return p.Network
	case PoolManaged:
		return p.Managed
	case PoolMetaspace:
		return p.Metaspace
	case PoolOverhead:
		return p.Overhead
	}
	return 0
}

// pending remembers what ran before an applied change until the change shows.
type pending struct {
	Heap       int64             `json:"heap"`
	Applied    map[string]string `json:"applied,omitempty"`
	Removals   []string          `json:"removals,omitempty"`
	AppliedAt  time.Time         `json:"appliedAt"`
	Restarted  time.Time         `json:"restartedAt"`
	LastChange *change           `json:"lastChange,omitempty"`
}

// pendingTimeout is how long a reported change may take to show on the TaskManagers (a
// redeploy with new containers) before it is taken as not applied.
const pendingTimeout = 15 * time.Minute

// within reports whether two heap sizes agree to 5 % (the JVM reports a max heap close to,
// not always equal to, -Xmx).
func within(a, b int64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return float64(d) <= 0.05*float64(max(a, b))
}

// checkPending confirms a reported change once the TaskManagers run its heap, or restores the
// previous state when they still do not after pendingTimeout.
func (t *Tuner) checkPending(now time.Time, heapMax float64) {
	p := t.st.Pending
	if p == nil || heapMax <= 0 {
		return
	}
	if within(int64(heapMax), p.Heap) {
		t.st.Pending = nil
		return
	}
	if now.Sub(t.st.AppliedAt) < pendingTimeout {
		return
	}
	t.st.Events = append(t.st.Events, MemoryEvent{Time: now, Kind: "not-applied", Pool: PoolHeap,
		Detail: fmt.Sprintf("the TaskManagers still run a %s heap %s after the change to %s was reported applied: taken as not applied",
			hb(int64(heapMax)), now.Sub(t.st.AppliedAt).Round(time.Second), hb(p.Heap))})
	if len(t.st.Events) > maxEvents {
		t.st.Events = t.st.Events[len(t.st.Events)-maxEvents:]
	}
	t.st.Applied, t.st.AppliedRemovals, t.st.AppliedAt, t.st.LastChange = p.Applied, p.Removals, p.AppliedAt, p.LastChange
	t.st.RestartedAt = p.Restarted
	t.st.Pending = nil
}

type change struct {
	Time   time.Time `json:"time"`
	Before Pools     `json:"before"`
	After  Pools     `json:"after"`
}

// MemoryEvent is an out-of-memory failure, GC pressure episode or rollback the tuner reacted to.
type MemoryEvent struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // oom-heap, gc-overhead, oom-metaspace, oom-direct, network-buffers, container-kill, gc-pressure
	Pool     string    `json:"pool"`
	Detail   string    `json:"detail"`
	Bump     int64     `json:"bump"` // the floor set for the pool
	Rollback bool      `json:"rollback,omitempty"`
	// Evidence is what the failure message says is missing (network buffers, direct bytes).
	Evidence string `json:"evidence,omitempty"`
	// Stale: the failure happened under a configuration the tuner has since replaced; it is
	// part of the diagnosis but raises no floor.
	Stale bool `json:"stale,omitempty"`
}

const maxEvents = 20

// maxWritten bounds the tuned values remembered per key; absentValue stands for a removal.
const (
	maxWritten  = 16
	absentValue = "\x00absent"
)

// MarshalState returns the tuner's state as versioned JSON.
func (t *Tuner) MarshalState() ([]byte, error) { return json.Marshal(t.st) }

// RestoreState loads state written by MarshalState. An unknown version is an error and
// leaves the tuner unchanged.
func (t *Tuner) RestoreState(data []byte) error {
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("memory tuner state: %w", err)
	}
	if st.Version != StateVersion {
		return fmt.Errorf("memory tuner state: version %d, want %d", st.Version, StateVersion)
	}
	if st.Floors == nil {
		st.Floors = map[string]floor{}
	}
	if st.RestartedAt.IsZero() {
		st.RestartedAt = st.AppliedAt // state from before RestartedAt: settle as it did
	}
	st.Heaps = slices.DeleteFunc(st.Heaps, func(h *layoutHeap) bool { return h == nil || len(h.Layout) == 0 })
	t.st = st
	return nil
}

// Applied tells the tuner that rec's overrides and removals now run (the realizer sent them
// at time at). The next out-of-memory failure or GC pressure within the rollback window rolls
// back the pools the change shrank. A change whose heap the TaskManagers never show (within
// 15 minutes) is taken as not applied, so calling Applied when handing the change over is safe.
func (t *Tuner) Applied(at time.Time, rec *Recommendation) {
	if rec == nil {
		return
	}
	if rec.Proposed != nil && rec.Current != nil && !within(rec.Proposed.JVMHeap(), rec.Current.JVMHeap()) {
		t.st.Pending = &pending{Heap: rec.Proposed.JVMHeap(), Applied: t.st.Applied, Removals: t.st.AppliedRemovals,
			AppliedAt: t.st.AppliedAt, Restarted: t.st.RestartedAt, LastChange: t.st.LastChange}
	} else {
		t.st.Pending = nil
	}
	t.st.Applied = maps.Clone(rec.Overrides)
	t.st.AppliedRemovals = slices.Clone(rec.Removals)
	t.st.AppliedAt = at
	if !rec.rescale() {
		t.st.RestartedAt = at
	}
	// GC time measured under the replaced heap says nothing about the new one.
	if rec.Proposed != nil && rec.Current != nil && rec.Proposed.JVMHeap() != rec.Current.JVMHeap() {
		t.st.GC, t.st.GCPressure = nil, false
	}
	if t.st.Written == nil {
		t.st.Written = map[string][]string{}
	}
	remember := func(k, v string) {
		vs := t.st.Written[k]
		if slices.Contains(vs, v) {
			return
		}
		vs = append(vs, v)
		if len(vs) > maxWritten {
			vs = vs[len(vs)-maxWritten:]
		}
		t.st.Written[k] = vs
	}
	for _, k := range slices.Sorted(maps.Keys(rec.Overrides)) {
		remember(k, rec.Overrides[k])
	}
	for _, k := range rec.Removals {
		remember(k, absentValue)
	}
	t.st.LastChange = &change{Time: at, Before: PoolsOf(rec.Current), After: PoolsOf(rec.Proposed)}
}

// memoryKey reports whether a configuration key is one the tuner writes or one that decides
// TaskManager or JobManager memory.
func memoryKey(k string) bool {
	return strings.HasPrefix(k, "taskmanager.memory.") || strings.HasPrefix(k, "jobmanager.memory.") ||
		strings.HasPrefix(k, "taskmanager.heap.") || strings.HasPrefix(k, "jobmanager.heap.") ||
		k == flinkconf.TMNumberOfTaskSlots.Key
}

// expected is the original configuration with the applied changes.
func (t *Tuner) expected() map[string]string {
	m := maps.Clone(t.st.Original)
	if m == nil {
		m = map[string]string{}
	}
	for _, k := range t.st.AppliedRemovals {
		delete(m, k)
	}
	maps.Copy(m, t.st.Applied)
	return m
}

// observeConfig remembers the first configuration seen and notices a redeploy with other
// memory settings: a memory key whose value is neither the original nor the tuned one.
func (t *Tuner) observeConfig(snap *autoscaler.Snapshot) {
	if len(snap.Config) == 0 {
		return
	}
	if t.st.Original == nil {
		t.st.Original = maps.Clone(snap.Config)
		t.st.OriginalAt = snap.Time
		return
	}
	exp := t.expected()
	keys := map[string]bool{}
	for k := range t.st.Original {
		keys[k] = true
	}
	for k := range t.st.Written {
		keys[k] = true
	}
	for k := range exp {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !memoryKey(k) {
			continue
		}
		got, gok := snap.Config[k]
		o, ook := t.st.Original[k]
		e, eok := exp[k]
		if (gok == ook && got == o) || (gok == eok && got == e) {
			continue
		}
		if w := t.st.Written[k]; (gok && slices.Contains(w, got)) || (!gok && slices.Contains(w, absentValue)) {
			continue // an earlier tuned value the platform still reports
		}
		// A redeploy with new memory settings: they are the new limits.
		t.st.Original = maps.Clone(snap.Config)
		t.st.OriginalAt = snap.Time
		t.st.Applied, t.st.AppliedRemovals, t.st.AppliedAt, t.st.LastChange, t.st.Written, t.st.Pending = nil, nil, time.Time{}, nil, nil, nil
		t.st.RestartedAt = time.Time{}
		return
	}
}

// profileFor picks the memory-model profile from the Flink version ("2.0.1" → Flink2).
func profileFor(version string) memory.Profile {
	if strings.HasPrefix(strings.TrimSpace(version), "2.") {
		return memory.Flink2
	}
	return memory.Flink1
}

// running derives the TaskManager that runs now (original + applied), or the original when
// the applied changes do not derive.
func (t *Tuner) running(p memory.Profile) (*memory.TaskManager, error) {
	if t.st.Original == nil {
		return nil, fmt.Errorf("no job configuration seen yet")
	}
	if tm, err := memory.DeriveTaskManager(flinkconf.FromMap(t.expected()), nil, p); err == nil {
		return tm, nil
	}
	return memory.DeriveTaskManager(flinkconf.FromMap(t.st.Original), nil, p)
}

func (t *Tuner) slotsPerTM() int {
	cfg := flinkconf.FromMap(t.expected())
	n, _, err := cfg.Int(flinkconf.TMNumberOfTaskSlots)
	if err != nil || n < 1 {
		return 1
	}
	return int(n)
}

// parallelismOf is the running parallelism of the job's unfinished vertices.
func parallelismOf(snap *autoscaler.Snapshot) map[string]int {
	out := make(map[string]int, len(snap.Vertices))
	for _, v := range snap.Vertices {
		if !v.Finished && v.Parallelism > 0 {
			out[v.ID] = v.Parallelism
		}
	}
	return out
}

// layoutFactor bounds how much the heap of the busiest TaskManager can grow when the job goes
// from parallelism from on nf slots per TaskManager to parallelism to on nt. The busiest
// TaskManager hosts min(p, n) subtasks of each vertex (slot sharing), so per vertex its share
// grows at most by g = min(p', nt)/min(p, nf). Keyed state is divided over the p subtasks by
// key group, so a keyed vertex's (keyed names the vertices with a HASH input) can grow by
// g × max(1, p/p') when it scales in: its state concentrates. Other vertices keep per
// subtask what they had (operator state is small, and the records in flight per subtask
// are bounded by what one subtask processes, which the scaling policy keeps below capacity),
// so a source or map scaled in from 48 to 5 subtasks does not count as 9.6× the heap.
func layoutFactor(from map[string]int, nf int, to map[string]int, nt int, keyed map[string]bool) float64 {
	f := 1.0
	for _, id := range slices.Sorted(maps.Keys(from)) {
		pf, pt := from[id], to[id]
		if pf <= 0 || pt <= 0 {
			continue
		}
		g := float64(min(pt, nt)) / float64(min(pf, nf))
		if keyed[id] {
			g *= max(1, float64(pf)/float64(pt))
		}
		f = max(f, g)
	}
	return f
}

// keyedVertices are the vertices with a HASH input: those that hold keyed state.
func keyedVertices(snap *autoscaler.Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, v := range snap.Vertices {
		if slices.ContainsFunc(v.Inputs, func(e autoscaler.Edge) bool { return e.Ship == autoscaler.ShipHash }) {
			out[v.ID] = true
		}
	}
	return out
}

// Observe ingests one snapshot: configuration, failures, memory gauges and GC time.
func (t *Tuner) Observe(snap *autoscaler.Snapshot) {
	if snap == nil {
		return
	}
	now := snap.Time
	t.observeConfig(snap)
	t.observeExceptions(snap)
	t.expireFloors(now)
	if snap.Status != "RUNNING" {
		return
	}
	if t.st.FirstRunning.IsZero() {
		t.st.FirstRunning = now
	}
	// A restart seen as a new RUNNING timestamp: the job was down since it was last seen running.
	if !t.st.LastRunning.IsZero() && snap.RunningSince.After(t.st.LastRunning) {
		t.st.Downtime = snap.RunningSince.Sub(t.st.LastRunning)
	}
	t.st.LastRunning = now
	t.observeLoad(snap)

	layout := parallelismOf(snap)
	t.st.Layout = layout

	tm := snap.TaskManagerMetrics
	heapMax, _ := aggMax(tm, MetricHeapMax)
	if heapMax > 0 {
		t.st.HeapMax = heapMax
	}
	t.checkPending(now, heapMax)
	if v, ok := aggMax(tm, MetricHeapUsed); ok && len(layout) > 0 {
		t.heapFor(layout, t.slotsPerTM(), now).observe(now, v, heapMax, t.o)
	}
	if v, ok := aggMax(tm, MetricMetaspaceUsed); ok {
		t.observeMetaspace(now, v)
	}
	if v, ok := aggMax(tm, MetricManagedUsed); ok {
		t.st.ManagedSeen = true
		t.st.ManagedPeak = max(t.st.ManagedPeak, v)
	}
	if v, ok := aggMax(tm, MetricNetworkUsedSegs); ok {
		t.st.NetworkUsedPeak = max(t.st.NetworkUsedPeak, v)
	}
	if v, ok := aggMax(tm, MetricGCTimePerSecond); ok {
		t.observeGC(snap, now, v/1000)
	}
	jm := snap.JobManagerMetrics
	if v, ok := gauge(jm, MetricHeapUsed); ok {
		t.st.JMHeap.observe(now, v, t.o)
	}
	if v, ok := gauge(jm, MetricMetaspaceUsed); ok {
		t.st.JMMetaspacePeak = max(t.st.JMMetaspacePeak, v)
	}
}

func aggMax(m map[string]autoscaler.Aggregate, name string) (float64, bool) {
	a, ok := m[name]
	if !ok {
		return 0, false
	}
	v := a.Max
	if math.IsNaN(v) {
		v = a.Avg
	}
	if !plausible(v) {
		return 0, false
	}
	return v, true
}

func gauge(m map[string]float64, name string) (float64, bool) {
	v, ok := m[name]
	if !ok || !plausible(v) {
		return 0, false
	}
	return v, true
}

// maxGauge bounds the memory and GC gauges the tuner believes (8 PiB; 2^53 is also where
// float64 stops holding integers exactly). Sizes derived from a larger value overflow int64
// (1e308 once did) and would mean nothing anyway.
const maxGauge = 1 << 53

// plausible reports whether a gauge is a finite, non-negative value below maxGauge.
func plausible(v float64) bool { return v >= 0 && v <= maxGauge }

// observeGC keeps the GC fractions of the window and notices sustained pressure.
func (t *Tuner) observeGC(snap *autoscaler.Snapshot, now time.Time, frac float64) {
	t.st.GC = append(t.st.GC, gcSample{T: now, V: frac})
	cut := 0
	for cut < len(t.st.GC) && now.Sub(t.st.GC[cut].T) > t.o.GCWindow {
		cut++
	}
	t.st.GC = t.st.GC[cut:]
	sum := 0.0
	for _, s := range t.st.GC {
		sum += s.V
	}
	t.st.GCFraction = sum / float64(len(t.st.GC))
	covered := now.Sub(t.st.GC[0].T) >= t.o.GCWindow/2
	pressure := covered && t.st.GCFraction >= t.o.GCThreshold
	if pressure {
		heapMax := int64(t.st.HeapMax)
		t.react(snap, now, "gc-pressure", PoolHeap,
			fmt.Sprintf("%.0f%% of the time in GC over the last %s (threshold %.0f%%)", t.st.GCFraction*100, t.o.GCWindow, t.o.GCThreshold*100),
			heapMax, !t.st.GCPressure)
	}
	t.st.GCPressure = pressure
}

// observeExceptions reacts to failures newer than the last one seen.
func (t *Tuner) observeExceptions(snap *autoscaler.Snapshot) {
	latest := t.st.LastException
	exs := slices.Clone(snap.Exceptions)
	slices.SortStableFunc(exs, func(a, b autoscaler.JobException) int { return a.Time.Compare(b.Time) })
	for _, e := range exs {
		if !e.Time.After(t.st.LastException) {
			continue
		}
		latest = maxTime(latest, e.Time)
		if t.o.BumpHold > 0 && snap.Time.Sub(e.Time) > t.o.BumpHold {
			continue // too old to say anything about the configuration running now
		}
		kind, pool, frac := failureKind(e, t.gcBoundBefore)
		gcBound := ""
		if kind == KindTaskManagerLostInGC {
			gcBound = fmt.Sprintf(" (after %.0f%% of the time in GC within %s before)", frac*100, gcEvidenceAge)
		}
		if kind == "" {
			continue
		}
		detail := e.Name
		if e.Message != "" {
			detail += ": " + autoscaler.FirstLine(e.Message, 300)
		}
		detail += gcBound
		observed := int64(0)
		if pool == PoolHeap {
			observed = int64(t.st.HeapMax)
		}
		t.reactFailure(snap, e, kind, pool, detail, observed)
	}
	t.st.LastException = latest
}

// gcBoundBefore is the largest GC time fraction the tuner saw within gcEvidenceAge before at
// (under the configuration running now: a change clears the samples), and whether it reached
// gcBoundFraction.
func (t *Tuner) gcBoundBefore(at time.Time) (float64, bool) {
	peak, seen := 0.0, false
	for _, s := range t.st.GC {
		if !s.T.After(at) && at.Sub(s.T) <= gcEvidenceAge {
			peak, seen = max(peak, s.V), true
		}
	}
	return peak, seen && peak >= gcBoundFraction
}

// reactFailure records a memory failure and raises the pool's floor: VPA's bump, or what the
// message says is missing plus the margin when it says more. A failure from before the last
// applied change happened under the configuration that change replaced: it is recorded for
// the diagnosis but says nothing about the one running now.
func (t *Tuner) reactFailure(snap *autoscaler.Snapshot, e autoscaler.JobException, kind, pool, detail string, observed int64) {
	if !t.st.AppliedAt.IsZero() && e.Time.Before(t.st.AppliedAt) {
		t.recordEvent(MemoryEvent{Time: e.Time, Kind: kind, Pool: pool, Detail: detail, Stale: true})
		return
	}
	cur, err := t.running(profileFor(snap.FlinkVersion))
	if err != nil {
		return
	}
	seg := int64(32 << 10)
	if np, err := networkParams(flinkconf.FromMap(t.expected())); err == nil {
		seg = np.SegmentSize
	}
	missing, evidence := Shortfall(e, seg)
	need := int64(0)
	if missing > 0 {
		need = PoolsOf(cur).get(pool) + int64(math.Ceil(float64(missing)*(1+t.o.Margin)))
	}
	t.react(snap, e.Time, kind, pool, detail, max(observed, 0), true)
	n := len(t.st.Events) - 1
	if n >= 0 && t.st.Events[n].Time.Equal(e.Time) && t.st.Events[n].Kind == kind {
		t.st.Events[n].Evidence = evidence
		if need > t.st.Events[n].Bump {
			t.st.Events[n].Bump = need
		}
	}
	if f := t.st.Floors[pool]; need > f.Bytes {
		f.Bytes = need
		t.st.Floors[pool] = f
	}
}

func (t *Tuner) recordEvent(ev MemoryEvent) {
	t.st.Events = append(t.st.Events, ev)
	if len(t.st.Events) > maxEvents {
		t.st.Events = t.st.Events[len(t.st.Events)-maxEvents:]
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// react bumps a pool after a memory failure: VPA's max(used + 100 MiB, used × 1.2) of the
// larger of the running size and what was observed, held for bump.hold; a failure soon after a
// change that shrank the pool also rolls the pool back to its size before the change.
func (t *Tuner) react(snap *autoscaler.Snapshot, at time.Time, kind, pool, detail string, observed int64, record bool) {
	cur, err := t.running(profileFor(snap.FlinkVersion))
	if err != nil {
		return
	}
	used := max(PoolsOf(cur).get(pool), observed)
	if pool == PoolOverhead {
		// Native memory is invisible to Flink's metrics: a kill with the overhead pinned below
		// Flink's default rule (10 % of the process in [192 MiB, 1 GiB]) starts from that rule.
		used = max(used, min(max(cur.TotalProcess/10, 192<<20), 1<<30))
	}
	bump := max(used+oomMinBump, int64(float64(used)*oomBumpRatio))
	ev := MemoryEvent{Time: at, Kind: kind, Pool: pool, Detail: detail}
	reason := kind + " at " + at.UTC().Format(time.RFC3339)
	if lc := t.st.LastChange; lc != nil && !at.Before(lc.Time) && at.Sub(lc.Time) <= t.o.RollbackWindow &&
		lc.After.get(pool) < lc.Before.get(pool) {
		bump = max(bump, lc.Before.get(pool))
		ev.Rollback = true
		reason += " within " + at.Sub(lc.Time).String() + " of the change that shrank it: rolled back"
	}
	ev.Bump = bump
	if f, ok := t.st.Floors[pool]; !ok || f.Bytes < bump || f.Until.Before(at.Add(t.o.BumpHold)) {
		nf := floor{Bytes: max(bump, f.Bytes), Until: at.Add(t.o.BumpHold), Reason: reason}
		t.st.Floors[pool] = nf
	}
	if pool == PoolHeap && record && len(t.st.Layout) > 0 {
		// Like VPA, the bump is also a peak of the histogram (of the layout that ran).
		t.heapFor(t.st.Layout, t.slotsPerTM(), at).Peaks.Hist.add(float64(bump), 1, at, t.o.HalfLife)
	}
	if record {
		t.recordEvent(ev)
	}
}

func (t *Tuner) expireFloors(now time.Time) {
	for k, f := range t.st.Floors {
		if now.After(f.Until) {
			delete(t.st.Floors, k)
		}
	}
}
