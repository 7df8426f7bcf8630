package tuning

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// Recommendation is the tuner's answer for one job.
type Recommendation struct {
	Time  time.Time `json:"time"`
	JobID string    `json:"jobId"`
	// Apply is job.autoscaler.memory.tuning.enabled: hand worthwhile changes to the realizer.
	Apply bool `json:"apply"`
	// Overrides and Removals are the configuration changes: keys Flink accepts, which derive
	// (on the job's original configuration) to Proposed. Empty when nothing can be proposed.
	Overrides map[string]string `json:"overrides"`
	Removals  []string          `json:"removals"`
	// Original is the TaskManager of the job's first-seen configuration (the limits), Current
	// the one running (original + applied changes), Proposed the recommendation.
	Original *memory.TaskManager `json:"-"`
	Current  *memory.TaskManager `json:"-"`
	Proposed *memory.TaskManager `json:"-"`
	// Pools compares the pools: limit (original), current and proposed, with the basis.
	Pools      []PoolChange              `json:"pools"`
	JobManager *JobManagerRecommendation `json:"jobManager,omitempty"`
	// SlotsPerTaskManager is the recommended taskmanager.numberOfTaskSlots (advice only: it is
	// not among the overrides); Slots explains it.
	SlotsPerTaskManager int          `json:"slotsPerTaskManager"`
	Slots               SlotsAdvice  `json:"slots"`
	Network             *NetworkPlan `json:"network,omitempty"`
	// Target is the parallelism the recommendation is for.
	Target   map[string]int `json:"target"`
	Observed Observations   `json:"observed"`
	Evidence []Evidence     `json:"evidence"`
	// Worthwhile says applying the TaskManager change is worth a restart: it saves at least
	// min-saving of the running process memory, or it is a safety increase (Safety).
	Worthwhile bool `json:"worthwhile"`
	// Safety: a pool must grow (out-of-memory bump, rollback, GC pressure, missing network
	// buffers, metaspace near its limit, or the heap a rescale to Target needs).
	Safety bool   `json:"safety"`
	Reason string `json:"reason"`
	// Fits is false when the pools the job needs at Target exceed the initial limit.
	Fits bool `json:"fits"`
	// Diagnosis are the memory failures of the job's recent exception history, by class.
	Diagnosis []Diagnosis `json:"diagnosis,omitempty"`
}

// PoolChange is one pool in the comparison.
type PoolChange struct {
	Pool     string `json:"pool"`
	Limit    int64  `json:"limit"`
	Current  int64  `json:"current"`
	Proposed int64  `json:"proposed"`
	Basis    string `json:"basis"`
}

// Evidence is one fact behind the recommendation.
type Evidence struct {
	Pool string `json:"pool"`
	Text string `json:"text"`
}

// Observations summarize what the tuner saw.
type Observations struct {
	Span             time.Duration  `json:"span"`
	Percentile       float64        `json:"percentile"` // the percentile option
	HeapSamples      int            `json:"heapSamples"`
	HeapPeak         float64        `json:"heapPeak"`       // largest peak at the observed layout
	HeapPercentile   float64        `json:"heapPercentile"` // bucket end of the percentile
	HeapLive         float64        `json:"heapLiveSet"`    // percentile of the lowest use per interval
	HeapMax          float64        `json:"heapMax"`        // the running JVM's max heap
	LayoutFactor     float64        `json:"layoutFactor"`
	MetaspacePeak    float64        `json:"metaspacePeak"`
	ManagedPeak      float64        `json:"managedPeak"`
	NetworkUsedPeak  float64        `json:"networkUsedSegmentsPeak"`
	GCFraction       float64        `json:"gcFraction"`
	GCPressure       bool           `json:"gcPressure"`
	JMHeapPeak       float64        `json:"jobManagerHeapPeak"`
	JMHeapPercentile float64        `json:"jobManagerHeapPercentile"`
	JMMetaspacePeak  float64        `json:"jobManagerMetaspacePeak"`
	Events           []MemoryEvent  `json:"events,omitempty"`
	ObservedLayout   map[string]int `json:"observedLayout,omitempty"`
}

// minTaskHeap is the least task heap the tuner proposes.
const minTaskHeap = 32 << 20

// Recommend computes the recommendation for the job of snap at parallelism target (vertex id
// → parallelism; nil or missing vertices: as running). It does not change the tuner's state.
func (t *Tuner) Recommend(snap *autoscaler.Snapshot, target map[string]int) (*Recommendation, error) {
	if snap == nil {
		return nil, errors.New("no snapshot")
	}
	origMap := t.st.Original
	if origMap == nil {
		origMap = snap.Config
	}
	if len(origMap) == 0 {
		return nil, errors.New("the job's configuration is unknown (GET /jobs/{id}/jobmanager/config returned nothing): no limits to tune within")
	}
	profile := profileFor(snap.FlinkVersion)
	origCfg := flinkconf.FromMap(origMap)
	orig, err := memory.DeriveTaskManager(origCfg, nil, profile)
	if err != nil {
		return nil, fmt.Errorf("the job's TaskManager memory configuration does not derive, nothing to tune: %w", err)
	}
	cur := orig
	curMap := origMap
	if t.st.Original != nil {
		if tm, err := memory.DeriveTaskManager(flinkconf.FromMap(t.expected()), nil, profile); err == nil {
			cur, curMap = tm, t.expected()
		}
	}
	np, err := networkParams(origCfg)
	if err != nil {
		return nil, fmt.Errorf("network options: %w", err)
	}
	running := parallelismOf(snap)
	if len(running) == 0 {
		running = maps.Clone(t.st.Layout)
	}
	tgt := maps.Clone(running)
	for id, p := range target {
		if _, ok := tgt[id]; ok && p > 0 {
			tgt[id] = p
		}
	}
	rescale := !maps.Equal(tgt, running)
	// Slots per TaskManager: the running count (nc), and the target's (n), spread evenly over
	// the TaskManagers the configured count needs; the pools below are planned for n.
	nc := max(1, cur.NumSlots)
	n := nc
	if t.o.BalanceSlots {
		n = balancedSlots(jobSlots(snap.Vertices, tgt), orig.NumSlots, nc)
	}
	relayout := rescale || n != nc

	rec := &Recommendation{Time: snap.Time, JobID: snap.JobID, Apply: t.o.Apply, Overrides: map[string]string{},
		Removals: []string{}, Original: orig, Current: cur, Target: tgt}
	ev := func(pool, format string, a ...any) {
		rec.Evidence = append(rec.Evidence, Evidence{Pool: pool, Text: fmt.Sprintf(format, a...)})
	}
	floorOf := func(pool string) (floor, bool) {
		f, ok := t.st.Floors[pool]
		if !ok || snap.Time.After(f.Until) {
			return floor{}, false
		}
		return f, true
	}
	curP := PoolsOf(cur)
	margin := 1 + t.o.Margin
	span := t.observedSpan()
	obs := &rec.Observed
	obs.Span, obs.HeapMax, obs.Percentile = span, t.st.HeapMax, t.o.Percentile
	obs.MetaspacePeak, obs.ManagedPeak, obs.NetworkUsedPeak = t.st.MetaspacePeak, t.st.ManagedPeak, t.st.NetworkUsedPeak
	obs.GCFraction, obs.GCPressure = t.st.GCFraction, t.st.GCPressure
	obs.JMHeapPeak, obs.JMMetaspacePeak = t.st.JMHeap.Max, t.st.JMMetaspacePeak
	obs.Events = slices.Clone(t.st.Events)
	obs.ObservedLayout = maps.Clone(t.st.Layout)

	ev("limits", "initial limits: TaskManager process %s, Flink memory %s (%d slots); running: process %s",
		hb(orig.TotalProcess), hb(orig.TotalFlink), orig.NumSlots, hb(cur.TotalProcess))

	// Network: exact buffers of the worst TaskManager at the target parallelism.
	plan := planNetwork(snap.Vertices, tgt, np, n)
	ev(PoolNetwork, "worst TaskManager (%d slots) needs %d buffers (Flink's minimum, %s) and at most %d with floating buffers + %d overdraft = %s; the operator's formula gives %s",
		n, plan.Required, hb(plan.RequiredOnly), plan.Max, plan.Overdraft, hb(plan.Bytes), hb(plan.OperatorBytes))
	plan.withHeadroom(snap.Vertices, tgt, t.o.NetworkHeadroom)
	if plan.HeadroomBytes > 0 {
		ev(PoolNetwork, "with headroom for a rescale up to %.3g× the target parallelism: %s", t.o.NetworkHeadroom, hb(plan.HeadroomBytes))
	}
	rec.Network = plan
	network := plan.Bytes
	if t.st.NetworkUsedPeak > 0 {
		ev(PoolNetwork, "observed peak: %.0f segments in use", t.st.NetworkUsedPeak)
	}
	networkSafety := cur.Network < plan.RequiredOnly
	if networkSafety {
		ev(PoolNetwork, "the running %s is below Flink's minimum %s for this layout: tasks would fail with \"Insufficient number of network buffers\"", hb(cur.Network), hb(plan.RequiredOnly))
	}
	if f, ok := floorOf(PoolNetwork); ok && f.Bytes > network {
		network = roundUpMiB(f.Bytes)
		ev(PoolNetwork, "held at %s: %s", hb(network), f.Reason)
	}

	// Heap: the percentile of per-interval peaks at the layout the job will run, plus margin.
	// A layout without its own evidence is extrapolated from one with, by the layout factor,
	// but extrapolation alone never asks for more than the larger of the initial and the
	// running heap: only evidence (peaks, GC pressure, failures) goes beyond.
	minHeap := orig.FrameworkHeap + minTaskHeap
	heapCap := max(orig.JVMHeap(), curP.Heap)
	heap := curP.Heap
	heapBasis := "kept"
	q := t.o.Percentile
	pt := pctText(q)
	runningHeap := t.heapOf(running, nc)
	targetHeap := t.heapOf(tgt, n)
	if runningHeap != nil {
		obs.HeapSamples, obs.HeapPeak = runningHeap.Peaks.Samples, runningHeap.Peaks.Max
	}
	// needAt is the heap a layout's history asks for: the peak percentile plus margin, at most
	// live-factor times the live-set percentile.
	needAt := func(h *layoutHeap) (int64, bool) {
		pPeak, ok := h.Peaks.evidence(q, t.o.MinObservation)
		if !ok {
			return 0, false
		}
		need := int64(math.Ceil(pPeak * margin))
		text := fmt.Sprintf("P%s of %d samples' interval peaks (largest TaskManager) = %s (bucket end), largest %s, over %s at layout %s: × %.2f = %s",
			pt, h.Peaks.Samples, hb(int64(pPeak)), hb(int64(h.Peaks.Max)), h.Peaks.span().Round(time.Second), layoutText(h.Layout), margin, hb(need))
		obs.HeapPercentile = pPeak
		pLow, okLow := h.Low.percentile(q)
		if okLow && t.o.LiveFactor > 0 {
			obs.HeapLive = pLow
			live := int64(math.Ceil(pLow * t.o.LiveFactor))
			text += fmt.Sprintf("; live set (lowest use per interval) P%s = %s × %.2f = %s", pt, hb(int64(pLow)), t.o.LiveFactor, hb(live))
			need = min(need, live)
		}
		// Garbage fills whatever heap there is: peaks taken under a larger heap than the
		// running one can show that less is enough, never that more is needed. The live set
		// does not depend on the heap size: the running heap must still hold it plus margin
		// (a scale-in back to a layout seen under a larger heap concentrates the state again).
		if h.HeapMax > 1.05*float64(curP.Heap) && need > curP.Heap {
			floorLive := int64(0)
			if okLow {
				floorLive = min(need, int64(math.Ceil(pLow*margin)))
			}
			need = max(curP.Heap, floorLive)
			text += fmt.Sprintf("; taken under a %s heap, it asks for no more than the running %s or the live set × %.2f (%s)", hb(int64(h.HeapMax)), hb(curP.Heap), margin, hb(floorLive))
		}
		ev(PoolHeap, "%s", text)
		return need, true
	}
	extrapolated := false
	keyed := keyedVertices(snap)
	extrapolate := func(from *layoutHeap, need int64) int64 {
		f := layoutFactor(from.Layout, slotsOr(from.Slots, nc), tgt, n, keyed)
		obs.LayoutFactor = f
		if f > 1 {
			extrapolated = true
			bound := min(int64(math.Ceil(float64(need)*f)), heapCap)
			ev(PoolHeap, "the target layout can put up to %.2f× the heap on the busiest TaskManager (more subtasks per TaskManager, or keyed state over fewer subtasks): %s, capped at %s until observed",
				f, hb(int64(math.Ceil(float64(need)*f))), hb(heapCap))
			if split, ok := t.splitHeap(keyed, nc, q); ok && t.o.LiveFactor > 0 {
				if live, ok := split.predict(tgt, n, keyed); ok {
					if b := int64(math.Ceil(live * t.o.LiveFactor)); b < bound {
						bound = b
						ev(PoolHeap, "split of the live sets of %d layouts: %s per hosted subtask + %s of keyed state spread over its subtasks (× %.2f, the worst miss); the target's busiest TaskManager (%d slots) holds %s live × %.2f = %s",
							split.Layouts, hb(int64(split.PerSubtask)), hb(int64(split.State)), split.Worst, n, hb(int64(live)), t.o.LiveFactor, hb(b))
					}
				}
			}
			need = max(need, bound)
		}
		return need
	}
	var needRun int64
	okRun := false
	if runningHeap != nil {
		needRun, okRun = needAt(runningHeap)
	}
	switch {
	case relayout && targetHeap != nil && hasEvidence(targetHeap, q, t.o.MinObservation):
		ev(PoolHeap, "the target layout ran before:")
		heap, _ = needAt(targetHeap)
		heapBasis = "seen at the target layout"
	case okRun:
		heap = extrapolate(runningHeap, needRun)
		heapBasis = fmt.Sprintf("P%s of peaks", pt)
		if obs.HeapLive > 0 && heap == int64(math.Ceil(obs.HeapLive*t.o.LiveFactor)) {
			heapBasis = fmt.Sprintf("P%s of the live set × %.2f", pt, t.o.LiveFactor)
		}
	default:
		span := time.Duration(0)
		if runningHeap != nil {
			span = runningHeap.Peaks.span()
		}
		ev(PoolHeap, "%s of heap peaks at this layout, less than min-observation %s: the heap does not shrink (%s)",
			span.Round(time.Second), t.o.MinObservation, hb(curP.Heap))
		// Another layout's evidence only matters where the target may need more than it did.
		if prev := t.latestEvidence(running, nc, q); prev != nil && layoutFactor(prev.Layout, slotsOr(prev.Slots, nc), tgt, n, keyed) > 1 {
			if need, ok := needAt(prev); ok {
				heap = max(heap, extrapolate(prev, need))
				heapBasis = "kept (new layout)"
			}
		}
	}
	if t.st.GCPressure {
		heap = max(heap, curP.Heap)
		ev(PoolHeap, "GC pressure: %.1f%% of the time in GC (threshold %.1f%%): the heap does not shrink", t.st.GCFraction*100, t.o.GCThreshold*100)
	} else if !math.IsNaN(t.st.GCFraction) && len(t.st.GC) > 0 {
		ev("gc", "GC time %.1f%% (threshold %.1f%%)", t.st.GCFraction*100, t.o.GCThreshold*100)
	}
	heapSafety := false
	if f, ok := floorOf(PoolHeap); ok && f.Bytes > heap {
		heap = f.Bytes
		heapBasis = "floor: " + f.Reason
		ev(PoolHeap, "held at %s: %s", hb(f.Bytes), f.Reason)
	}
	if f, ok := floorOf(PoolHeap); ok && f.Bytes > curP.Heap {
		heapSafety = true
	}
	if heap != curP.Heap {
		heap = roundUpMiB(max(heap, minHeap))
	}
	// A rescale that the bound says may need more heap must bring it; evidence that the target
	// layout peaks a little higher (within 5 %, the garbage in the peaks) is no emergency.
	if relayout && (extrapolated && heap > curP.Heap || heap > curP.Heap+curP.Heap/20) {
		heapSafety = true
	}

	// Metaspace: never below the observed peak plus margin.
	meta, metaBasis, metaSafety := t.planMetaspace(curP, span, snap.Time, ev)
	if f, ok := floorOf(PoolMetaspace); ok && f.Bytes > meta {
		meta = roundUpMiB(f.Bytes)
		metaBasis = "floor: " + f.Reason
		metaSafety = metaSafety || meta > curP.Metaspace
		ev(PoolMetaspace, "held at %s: %s", hb(meta), f.Reason)
	}

	// Managed memory by state backend; a heap that failed takes what managed memory frees.
	mp, err := t.planManaged(origCfg, n, orig, span, ev)
	if err != nil {
		return nil, err
	}
	managed, managedInUse, managedBasis, rocksFloor := mp.managed, mp.inUse, mp.basis, mp.rocksFloor
	if h, basis, ok := t.resplitHeap(mp, curP, heap, snap.Time, ev); ok {
		heap, heapBasis, heapSafety = h, basis, true
		managed, managedInUse, managedBasis = 0, false, "re-split to the heap"
	}

	// Task off-heap and JVM overhead: as configured unless a failure bumped them.
	taskOff := orig.TaskOffHeap
	if f, ok := floorOf(PoolTaskOffHeap); ok && f.Bytes > taskOff {
		taskOff = roundUpMiB(f.Bytes)
		ev(PoolTaskOffHeap, "held at %s: %s", hb(taskOff), f.Reason)
	}
	overheadMin := int64(0)
	if f, ok := floorOf(PoolOverhead); ok {
		overheadMin = roundUpMiB(f.Bytes)
		ev(PoolOverhead, "at least %s: %s", hb(overheadMin), f.Reason)
	}

	b := &builder{orig: origCfg, origTM: orig, profile: profile}
	pl := plannedPools{heap: heap, taskOff: taskOff, network: network, managed: managed, meta: meta, overheadMin: overheadMin}
	tm, err := b.derive(pl)
	if err != nil {
		return nil, err
	}
	limit := orig.TotalProcess
	flinkLimit := int64(math.MaxInt64)
	if origCfg.IsConfigured(flinkconf.TMFlinkSize) && !origCfg.IsConfigured(flinkconf.TMProcessSize) {
		flinkLimit = orig.TotalFlink
	}
	over := func(tm *memory.TaskManager) int64 {
		return max(tm.TotalProcess-limit, tm.TotalFlink-flinkLimit, 0)
	}
	process := int64(0) // 0: Flink's rule decides the process size from the pools
	if t.o.MaximizeManaged && managedInUse && over(tm) == 0 {
		// Everything the other pools no longer need goes to managed memory: with the process
		// size stated, the JVM overhead stays what Flink's rule gave and managed memory takes
		// the rest of the limit.
		spare := min(limit-tm.TotalProcess, flinkLimit-tm.TotalFlink)
		if spare > 0 {
			pl.managed += spare
			process = tm.TotalProcess + spare
		}
		managedBasis = "maximized"
		ev(PoolManaged, "maximize-managed-memory: managed memory takes the rest of the initial limit: %s", hb(pl.managed))
	}
	capped := false
	// Over the limit: managed memory gives way first (down to RocksDB's fixed need), then heap,
	// metaspace (never below the peak), and network (never below Flink's minimum).
	for pass := 0; pass < 8 && over(tm) > 0; pass++ {
		o := over(tm)
		capped = true
		switch {
		case pl.managed > rocksFloor:
			pl.managed = max(rocksFloor, pl.managed-o)
		case pl.heap > minHeap:
			pl.heap = max(minHeap, pl.heap-roundUpMiB(o))
		case pl.meta > roundUpMiB(int64(t.st.MetaspacePeak)):
			pl.meta = max(roundUpMiB(int64(t.st.MetaspacePeak)), pl.meta-roundUpMiB(o))
		case pl.network > roundUpMiB(plan.RequiredOnly):
			pl.network = max(roundUpMiB(plan.RequiredOnly), pl.network-roundUpMiB(o))
		default:
			pass = 8
			continue
		}
		if tm, err = b.derive(pl); err != nil {
			return nil, err
		}
	}
	if o := over(tm); o > 0 {
		rec.Proposed = cur
		rec.Reason = fmt.Sprintf("the pools this job needs at the target parallelism exceed the initial limit (%s) by %s: nothing proposed", hb(limit), hb(o))
		ev("limits", "%s", rec.Reason)
		rec.Pools = poolChanges(orig, cur, cur, nil)
		t.adviseSlots(rec, snap, tgt, orig, PoolsOf(cur), nc, nc)
		rec.Diagnosis = t.Diagnose(snap.Time.Add(-t.o.BumpHold))
		return rec, nil
	}
	rec.Fits = true
	if capped {
		ev("limits", "capped by the initial limit %s: heap %s, managed %s", hb(limit), hb(pl.heap), hb(pl.managed))
	}

	// The final configuration states the process size too, and must derive to the planned pools.
	if process == 0 {
		process = tm.TotalProcess
	}
	final, overrides, removals, err := b.final(pl, process)
	if err != nil {
		return nil, err
	}
	// A whole number of MiB reads better ("1390 mb", not "1457520640 bytes") and gives the
	// JVM overhead the few extra bytes, when that stays within its range and the limit.
	if r := roundUpMiB(process); r != process && r <= limit {
		if f2, ov2, rm2, err := b.final(pl, r); err == nil && f2.TotalFlink == final.TotalFlink && f2.TotalFlink <= flinkLimit {
			final, overrides, removals, process = f2, ov2, rm2, r
		}
	}
	if fp := PoolsOf(final); fp.Heap != pl.heap || fp.Managed != pl.managed || fp.Network != pl.network || fp.Metaspace != pl.meta ||
		fp.TaskOffHeap != pl.taskOff || fp.Process != process {
		return nil, fmt.Errorf("internal error: the overrides derive to %+v, planned %+v (process %d)", fp, pl, process)
	}
	if final.TotalProcess > limit || final.TotalFlink > flinkLimit {
		return nil, fmt.Errorf("internal error: proposal %s above the limit %s", hb(final.TotalProcess), hb(limit))
	}
	rec.Proposed = final
	rec.Overrides, rec.Removals = overrides, removals
	// The applied overrides replace the previous ones: the slot count is stated whenever it
	// is not the configured one.
	if n != orig.NumSlots || nc != orig.NumSlots {
		rec.Overrides[flinkconf.TMNumberOfTaskSlots.Key] = strconv.Itoa(n)
	}
	if n != nc {
		ev("slots", "the job's %d slots over the TaskManagers %d slots each need: %d slots per TaskManager (running %d), so that no TaskManager holds more of the job than an even share (%s)",
			jobSlots(snap.Vertices, tgt), orig.NumSlots, n, nc, OptBalanceSlots.Key)
	}
	if rec.Removals == nil {
		rec.Removals = []string{}
	}
	propP := PoolsOf(final)
	ev(PoolOverhead, "JVM overhead %s: Flink's rule (%s) on the new process size",
		hb(propP.Overhead), overheadRule(origCfg))

	bases := map[string]string{PoolHeap: heapBasis, PoolMetaspace: metaBasis, PoolManaged: managedBasis,
		PoolNetwork: "worst TaskManager's buffers", PoolTaskOffHeap: "kept", PoolOverhead: "Flink's rule"}
	rec.Pools = poolChanges(orig, cur, final, bases)

	// JobManager.
	if t.o.JobManager {
		if jr := t.recommendJobManager(snap, flinkconf.FromMap(origMap), flinkconf.FromMap(curMap), profile); jr != nil {
			rec.JobManager = jr
			rec.Evidence = append(rec.Evidence, jr.Evidence...)
			if jr.Changed {
				maps.Copy(rec.Overrides, jr.Overrides)
				for _, k := range jr.Removals {
					if !slices.Contains(rec.Removals, k) {
						rec.Removals = append(rec.Removals, k)
					}
				}
			}
		}
	}
	t.adviseSlots(rec, snap, tgt, orig, propP, nc, n)
	if n != nc {
		rec.SlotsPerTaskManager = n
	}
	rec.Diagnosis = t.Diagnose(snap.Time.Add(-t.o.BumpHold))

	t.judge(rec, verdictInput{cur: cur, final: final, curP: curP, propP: propP, rescale: rescale, slots: [2]int{nc, n}, span: span, now: snap.Time,
		heapSafety: heapSafety, metaSafety: metaSafety, networkSafety: networkSafety})
	return rec, nil
}

// verdictInput is what the verdict weighs.
type verdictInput struct {
	cur, final                            *memory.TaskManager
	curP, propP                           Pools
	rescale                               bool
	slots                                 [2]int // running and proposed slots per TaskManager
	span                                  time.Duration
	now                                   time.Time
	heapSafety, metaSafety, networkSafety bool
}

// judge decides whether the proposal is worth a restart: a safety increase always (a pool
// grows beyond rounding because evidence or a failure asks for it), a saving when it reaches
// min-saving (min-saving.with-rescale when it rides along with a rescale) after
// min-observation and settle. Settle spaces the restarts tuning causes, so it counts from the
// last change that restarted the job on its own: one that rode along with a rescale cost no
// restart, and its heap, extrapolated to a layout not yet observed, may shrink as soon as
// the new layout has min-observation of evidence.
func (t *Tuner) judge(rec *Recommendation, in verdictInput) {
	curP, propP := in.curP, in.propP
	// A safety change grows a pool by more than rounding (1 MiB or 1 %).
	grows := func(pool string) bool {
		c, p := curP.get(pool), propP.get(pool)
		return p > c+max(mib, c/100)
	}
	rec.Safety = (in.heapSafety && grows(PoolHeap)) || (in.metaSafety && grows(PoolMetaspace)) ||
		(in.networkSafety && propP.Network > curP.Network)
	for _, pool := range []string{PoolHeap, PoolMetaspace, PoolNetwork, PoolTaskOffHeap, PoolOverhead} {
		if f, ok := t.st.Floors[pool]; ok && !in.now.After(f.Until) && grows(pool) {
			rec.Safety = true // a failure asked for it
		}
	}
	// A change that rides along with a rescale costs no extra restart: a smaller saving is
	// worth it then. Alone it must wait for the observation to cover heap and metaspace, so
	// that one restart brings all of the saving.
	saving := float64(curP.Process-propP.Process) / float64(curP.Process)
	threshold, thresholdKey := t.o.MinSaving, "min-saving"
	if in.rescale {
		threshold, thresholdKey = t.o.MinSavingRescale, "min-saving.with-rescale"
	}
	reslot := in.slots[0] != in.slots[1]
	switch {
	case sameTM(in.cur, in.final) && !reslot:
		rec.Reason = "the running configuration is already what the tuner recommends"
	case rec.Safety:
		rec.Worthwhile = true
		rec.Reason = "safety: " + strings.Join(safetyPools(curP, propP), ", ") + " must grow"
	case !in.rescale && in.span < t.o.MinObservation:
		rec.Reason = fmt.Sprintf("observed for %s, less than min-observation %s", in.span.Round(time.Second), t.o.MinObservation)
	case !in.rescale && !t.st.RestartedAt.IsZero() && in.now.Sub(t.st.RestartedAt) < t.o.Settle:
		rec.Reason = fmt.Sprintf("saves %.1f%%, but the last change that restarted the job on its own was applied %s ago (settle %s)", saving*100,
			in.now.Sub(t.st.RestartedAt).Round(time.Second), t.o.Settle)
	case reslot && in.rescale:
		// The rescale restarts the job anyway, and the TaskManagers it needs are replaced.
		rec.Worthwhile = true
		rec.Reason = fmt.Sprintf("spreads the job's slots evenly with the rescale: %d slots per TaskManager (now %d); saves %.1f%% of the TaskManager process memory (%s → %s)",
			in.slots[1], in.slots[0], saving*100, hb(curP.Process), hb(propP.Process))
	case saving >= threshold:
		rec.Worthwhile = true
		rec.Reason = fmt.Sprintf("saves %.1f%% of the TaskManager process memory (%s → %s)", saving*100, hb(curP.Process), hb(propP.Process))
		if in.rescale {
			rec.Reason += " with the rescale"
		}
	default:
		rec.Reason = fmt.Sprintf("saves only %.1f%% (%s → %s), below %s %.0f%%", saving*100, hb(curP.Process), hb(propP.Process), thresholdKey, threshold*100)
	}
	t.waitForStable(rec, in)
}

// waitForStable holds back, in automatic mode, a worthwhile change that only saves memory and
// would restart the job on its own while the job is not stable (see stable), for at most
// stable.max-wait: it rides along with the rescale that is likely to come, or goes once the
// load settles.
func (t *Tuner) waitForStable(rec *Recommendation, in verdictInput) {
	if !rec.Worthwhile || rec.Safety || in.rescale || !t.o.Apply || t.o.StableMaxWait <= 0 {
		t.st.DeferredSince = time.Time{}
		return
	}
	ok, why := t.stable()
	if ok {
		t.st.DeferredSince = time.Time{}
		return
	}
	if t.st.DeferredSince.IsZero() {
		t.st.DeferredSince = in.now
	}
	waited := in.now.Sub(t.st.DeferredSince)
	if waited >= t.o.StableMaxWait {
		rec.Reason += fmt.Sprintf("; the job is not stable (%s), but the change waited %s (stable.max-wait %s)", why, waited.Round(time.Second), t.o.StableMaxWait)
		return
	}
	rec.Worthwhile = false
	rec.Reason += fmt.Sprintf("; waits for a stable job: %s (waited %s of stable.max-wait %s)", why, waited.Round(time.Second), t.o.StableMaxWait)
}

// observedSpan is how long the job has been seen running.
func (t *Tuner) observedSpan() time.Duration {
	if t.st.FirstRunning.IsZero() {
		return 0
	}
	return t.st.LastRunning.Sub(t.st.FirstRunning)
}

func safetyPools(cur, prop Pools) []string {
	var out []string
	add := func(name string, c, p int64) {
		if p > c {
			out = append(out, fmt.Sprintf("%s %s → %s", name, hb(c), hb(p)))
		}
	}
	add(PoolHeap, cur.Heap, prop.Heap)
	add(PoolMetaspace, cur.Metaspace, prop.Metaspace)
	add(PoolNetwork, cur.Network, prop.Network)
	add(PoolTaskOffHeap, cur.TaskOffHeap, prop.TaskOffHeap)
	add(PoolOverhead, cur.Overhead, prop.Overhead)
	return out
}

func sameTM(a, b *memory.TaskManager) bool {
	return PoolsOf(a) == PoolsOf(b) && a.FrameworkHeap == b.FrameworkHeap && a.FrameworkOffHeap == b.FrameworkOffHeap &&
		a.TotalFlink == b.TotalFlink
}

func poolChanges(orig, cur, prop *memory.TaskManager, bases map[string]string) []PoolChange {
	o, c, p := PoolsOf(orig), PoolsOf(cur), PoolsOf(prop)
	var out []PoolChange
	for _, name := range []string{PoolHeap, PoolManaged, PoolNetwork, PoolMetaspace, PoolTaskOffHeap, PoolOverhead} {
		out = append(out, PoolChange{Pool: name, Limit: o.get(name), Current: c.get(name), Proposed: p.get(name), Basis: bases[name]})
	}
	out = append(out, PoolChange{Pool: "process", Limit: o.Process, Current: c.Process, Proposed: p.Process, Basis: "sum"})
	return out
}

// stateBackend reads the job's state backend: whether its state takes managed memory (RocksDB
// with state.backend.rocksdb.memory.managed, or a fixed per-slot or per-TaskManager size) and
// the least managed memory it must keep.
func stateBackend(cfg *flinkconf.Config, slots int) (backend string, managed bool, floorBytes int64, err error) {
	backend, _ = cfg.String(flinkconf.StateBackend)
	backend = strings.ToLower(strings.TrimSpace(backend))
	if backend != "rocksdb" && backend != "forst" {
		return backend, false, 0, nil
	}
	m, _, e := cfg.Bool(flinkconf.RocksDBMemoryManaged)
	if e != nil {
		return "", false, 0, e
	}
	perSlot, okSlot, e := cfg.MemorySize(flinkconf.RocksDBFixedPerSlot)
	if e != nil {
		return "", false, 0, e
	}
	perTM, okTM, e := cfg.MemorySize(flinkconf.RocksDBFixedPerTM)
	if e != nil {
		return "", false, 0, e
	}
	switch {
	case okSlot:
		return backend, true, perSlot * int64(slots), nil
	case okTM:
		return backend, true, perTM, nil
	}
	return backend, m, 0, nil
}

func overheadRule(cfg *flinkconf.Config) string {
	f, _, _ := cfg.Float(flinkconf.TMOverheadFraction)
	lo, _, _ := cfg.MemorySize(flinkconf.TMOverheadMin)
	hi, _, _ := cfg.MemorySize(flinkconf.TMOverheadMax)
	return fmt.Sprintf("%.3g of the process within [%s, %s]", f, hb(lo), hb(hi))
}

func pctText(q float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", q*100), "0"), ".")
}

// hb renders bytes for humans: "1.50 GiB", "120 MiB". It never recurses: -MinInt64 is
// MinInt64 again, which once turned an overflowed gauge (1e308) into a stack overflow.
func hb(n int64) string {
	if n < 0 {
		if n == math.MinInt64 {
			return fmt.Sprintf("%d B", n)
		}
		return "-" + hbAbs(-n)
	}
	return hbAbs(n)
}

func hbAbs(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		v := float64(n) / (1 << 20)
		if v == math.Trunc(v) {
			return fmt.Sprintf("%.0f MiB", v)
		}
		return fmt.Sprintf("%.1f MiB", v)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// plannedPools are the sizes the builder turns into configuration.
type plannedPools struct {
	heap, taskOff, network, managed, meta int64
	overheadMin                           int64 // 0: Flink's rule from the original options
}

// builder turns planned pools into overrides on the original configuration.
type builder struct {
	orig    *flinkconf.Config
	origTM  *memory.TaskManager
	profile memory.Profile
}

// removable are the keys a tuned configuration drops when the original has them: the total
// Flink size (the tuned pools fix it), the legacy heap keys and deprecated pool keys.
var removable = []string{flinkconf.TMFlinkSize.Key, flinkconf.TMLegacyHeapSize.Key, flinkconf.TMLegacyHeapMB.Key,
	"taskmanager.memory.size", "taskmanager.network.memory.min", "taskmanager.network.memory.max",
	"taskmanager.network.memory.fraction", "taskmanager.network.numberOfBuffers"}

func (b *builder) overrides(pl plannedPools) (map[string]string, []string) {
	ov := map[string]string{
		flinkconf.TMTaskHeap.Key:    flinkconf.FormatMemorySize(pl.heap - b.origTM.FrameworkHeap),
		flinkconf.TMManagedSize.Key: flinkconf.FormatMemorySize(pl.managed),
		flinkconf.TMNetworkMin.Key:  flinkconf.FormatMemorySize(pl.network),
		flinkconf.TMNetworkMax.Key:  flinkconf.FormatMemorySize(pl.network),
		flinkconf.TMMetaspace.Key:   flinkconf.FormatMemorySize(pl.meta),
	}
	if pl.taskOff != b.origTM.TaskOffHeap {
		ov[flinkconf.TMTaskOffHeap.Key] = flinkconf.FormatMemorySize(pl.taskOff)
	}
	if pl.overheadMin > 0 {
		ov[flinkconf.TMOverheadMin.Key] = flinkconf.FormatMemorySize(pl.overheadMin)
		hi, _, _ := b.orig.MemorySize(flinkconf.TMOverheadMax)
		ov[flinkconf.TMOverheadMax.Key] = flinkconf.FormatMemorySize(max(hi, pl.overheadMin))
	}
	var rm []string
	for _, k := range removable {
		if b.orig.Has(k) {
			rm = append(rm, k)
		}
	}
	return ov, rm
}

func (b *builder) apply(ov map[string]string, rm []string) *flinkconf.Config {
	cfg := b.orig.Clone()
	for _, k := range rm {
		cfg.Delete(k)
	}
	for _, k := range slices.Sorted(maps.Keys(ov)) {
		cfg.Set(k, ov[k])
	}
	return cfg
}

// derive derives the TaskManager of the planned pools with Flink's rule for the JVM overhead
// (no process size given), which yields the process size.
func (b *builder) derive(pl plannedPools) (*memory.TaskManager, error) {
	ov, rm := b.overrides(pl)
	cfg := b.apply(ov, rm)
	cfg.Delete(flinkconf.TMProcessSize.Key)
	tm, err := memory.DeriveTaskManager(cfg, nil, b.profile)
	if err != nil {
		return nil, fmt.Errorf("the tuned TaskManager configuration does not derive (heap %s, managed %s, network %s, metaspace %s): %w",
			hb(pl.heap), hb(pl.managed), hb(pl.network), hb(pl.meta), err)
	}
	return tm, nil
}

// final adds the process size and derives the final configuration.
func (b *builder) final(pl plannedPools, process int64) (*memory.TaskManager, map[string]string, []string, error) {
	ov, rm := b.overrides(pl)
	ov[flinkconf.TMProcessSize.Key] = flinkconf.FormatMemorySize(process)
	tm, err := memory.DeriveTaskManager(b.apply(ov, rm), nil, b.profile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("internal error: the tuned TaskManager configuration does not derive: %w", err)
	}
	return tm, ov, rm, nil
}

func evidenceOf(h *layoutHeap, q float64, min time.Duration) (float64, bool) {
	if h == nil {
		return 0, false
	}
	return h.Peaks.evidence(q, min)
}

func hasEvidence(h *layoutHeap, q float64, min time.Duration) bool {
	_, ok := evidenceOf(h, q, min)
	return ok
}

// latestEvidence is the most recently seen layout other than except with enough evidence.
func (t *Tuner) latestEvidence(except map[string]int, slots int, q float64) *layoutHeap {
	var best *layoutHeap
	for _, h := range t.st.Heaps {
		if maps.Equal(h.Layout, except) && slotsOr(h.Slots, slots) == slots || !hasEvidence(h, q, t.o.MinObservation) {
			continue
		}
		if best == nil || h.LastSeen.After(best.LastSeen) {
			best = h
		}
	}
	return best
}

// layoutText renders a parallelism layout compactly: "a8f3…=4 b9c1…=8".
func layoutText(l map[string]int) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(l)) {
		short := id
		if len(short) > 6 {
			short = short[:6]
		}
		parts = append(parts, fmt.Sprintf("%s=%d", short, l[id]))
	}
	return strings.Join(parts, " ")
}

// managedPlan is managed memory's size and why.
type managedPlan struct {
	managed, rocksFloor int64
	inUse               bool
	basis, backend      string
	rocks               bool
}

// planManaged sizes managed memory by state backend: RocksDB keeps it (at least its fixed
// need), heap state with no managed use observed needs none.
func (t *Tuner) planManaged(origCfg *flinkconf.Config, n int, orig *memory.TaskManager, span time.Duration, ev func(pool, format string, a ...any)) (managedPlan, error) {
	backend, rocksManaged, rocksFloor, err := stateBackend(origCfg, n)
	if err != nil {
		return managedPlan{}, err
	}
	mp := managedPlan{managed: orig.Managed, inUse: true, rocksFloor: rocksFloor, backend: backend, rocks: rocksManaged}
	switch {
	case rocksManaged:
		mp.basis = "kept for RocksDB"
		ev(PoolManaged, "state backend %s takes its memory from managed memory, whose use cannot be measured: kept at the configured %s", backend, hb(orig.Managed))
		mp.managed = max(mp.managed, rocksFloor)
	case t.st.ManagedSeen && t.st.ManagedPeak == 0:
		// With heap state nothing in a streaming job takes managed memory but Python workers
		// and batch operators, which reserve it when they open: unused from the start is unused.
		mp.managed, mp.inUse, mp.basis = 0, false, "unused"
		ev(PoolManaged, "state backend %s and no managed memory used in %s: 0", backend, span.Round(time.Second))
	case t.st.ManagedPeak > 0:
		mp.basis = "in use"
		ev(PoolManaged, "%s of managed memory in use (batch operators or Python): kept at %s", hb(int64(t.st.ManagedPeak)), hb(orig.Managed))
	default:
		mp.basis = "kept"
		ev(PoolManaged, "managed memory use not observed yet: kept at %s", hb(orig.Managed))
	}
	return mp, nil
}

// resplitHeap is the least disruptive remedy for a heap that failed (out of memory, GC
// overhead or pressure) on a heap state backend: the same process, with the managed memory
// the backend never uses moved to the task heap. It applies while managed memory still holds
// something that no use was observed for.
func (t *Tuner) resplitHeap(mp managedPlan, cur Pools, heap int64, now time.Time, ev func(pool, format string, a ...any)) (int64, string, bool) {
	f, failed := t.st.Floors[PoolHeap]
	failed = failed && !now.After(f.Until)
	if mp.rocks || t.st.ManagedPeak > 0 || cur.Managed == 0 || !(failed || t.st.GCPressure) {
		return 0, "", false
	}
	to := max(heap, cur.Heap+cur.Managed)
	ev(PoolHeap, "the heap failed (%s) on the %s state backend, which keeps keyed state on the heap and never uses managed memory: re-split, the heap takes the %s of managed memory (%s → %s), the process size stays",
		f.Reason, backendName(mp.backend), hb(cur.Managed), hb(cur.Heap), hb(to))
	return to, "re-split: managed → heap", true
}

func backendName(b string) string {
	if b == "" {
		return "hashmap (default)"
	}
	return b
}

// rescale reports whether the recommendation is for another parallelism than the one that
// ran: applied, it rides along with the rescale and costs no restart of its own.
func (r *Recommendation) rescale() bool {
	return len(r.Target) > 0 && len(r.Observed.ObservedLayout) > 0 && !maps.Equal(r.Target, r.Observed.ObservedLayout)
}
