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
//
// It runs as composable steps, the shape of the Kubernetes VPA recommender: the limits and
// layouts the job runs within (newRecommendation, observe), each pool's estimate from its
// evidence (network, heap, metaspace, managed memory, off-heap), the initial limit's clamps
// (fitLimit), then the final configuration and the verdict (propose, explain). The steps run
// in this order because each appends its evidence, and the evidence reads in that order.
func (t *Tuner) Recommend(snap *autoscaler.Snapshot, target map[string]int) (*Recommendation, error) {
	r, err := t.newRecommendation(snap, target)
	if err != nil {
		return nil, err
	}
	r.observe()
	network, networkSafety := r.planNetwork()
	hp := r.planHeap()
	meta, metaBasis, metaSafety := r.planMetaspace()
	mp, err := r.planManaged(&hp)
	if err != nil {
		return nil, err
	}
	taskOff, overheadMin := r.planOffHeap()
	pl := plannedPools{heap: hp.bytes, taskOff: taskOff, network: network, managed: mp.managed, meta: meta, overheadMin: overheadMin}
	fit, err := r.fitLimit(pl, &mp)
	if err != nil {
		return nil, err
	}
	if fit.over() > 0 {
		return r.nothingFits(fit), nil
	}
	final, err := r.propose(fit)
	if err != nil {
		return nil, err
	}
	bases := map[string]string{PoolHeap: hp.basis, PoolMetaspace: metaBasis, PoolManaged: mp.basis,
		PoolNetwork: "worst TaskManager's buffers", PoolTaskOffHeap: "kept", PoolOverhead: "Flink's rule"}
	r.explain(final, bases, verdictInput{heapSafety: hp.safety, metaSafety: metaSafety, networkSafety: networkSafety})
	return r.rec, nil
}

// recommendation is one Recommend call's working state, shared by its steps: the job's
// limits (orig), what runs (cur, running, nc) and what is planned for (tgt, n). It lives for
// one call; the tuner's state is only read.
type recommendation struct {
	t       *Tuner
	snap    *autoscaler.Snapshot
	rec     *Recommendation
	obs     *Observations
	profile memory.Profile
	// origMap is the first-seen configuration (the limits), curMap the running one.
	origMap, curMap map[string]string
	origCfg         *flinkconf.Config
	orig, cur       *memory.TaskManager
	curP            Pools
	np              NetworkParams
	plan            *NetworkPlan
	// running and tgt are the running and the target parallelism; nc and n the running and
	// the planned slots per TaskManager.
	running, tgt      map[string]int
	nc, n             int
	rescale, relayout bool
	margin            float64
	span              time.Duration
	b                 *builder
}

// newRecommendation gathers the limits and layouts: the original and the running TaskManager
// (the original when the expected configuration does not derive), the target parallelism
// (missing vertices as running) and the slots per TaskManager it is planned for. Its errors
// mean there is nothing to tune within.
func (t *Tuner) newRecommendation(snap *autoscaler.Snapshot, target map[string]int) (*recommendation, error) {
	if snap == nil {
		return nil, errors.New("no snapshot")
	}
	r := &recommendation{t: t, snap: snap, origMap: t.st.Original}
	if r.origMap == nil {
		r.origMap = snap.Config
	}
	if len(r.origMap) == 0 {
		return nil, errors.New("the job's configuration is unknown (GET /jobs/{id}/jobmanager/config returned nothing): no limits to tune within")
	}
	r.profile = profileFor(snap.FlinkVersion)
	r.origCfg = flinkconf.FromMap(r.origMap)
	orig, err := memory.DeriveTaskManager(r.origCfg, nil, r.profile)
	if err != nil {
		return nil, fmt.Errorf("the job's TaskManager memory configuration does not derive, nothing to tune: %w", err)
	}
	r.orig, r.cur, r.curMap = orig, orig, r.origMap
	if t.st.Original != nil {
		if tm, err := memory.DeriveTaskManager(flinkconf.FromMap(t.expected()), nil, r.profile); err == nil {
			r.cur, r.curMap = tm, t.expected()
		}
	}
	if r.np, err = networkParams(r.origCfg); err != nil {
		return nil, fmt.Errorf("network options: %w", err)
	}
	r.running = parallelismOf(snap)
	if len(r.running) == 0 {
		r.running = maps.Clone(t.st.Layout)
	}
	r.tgt = maps.Clone(r.running)
	for id, p := range target {
		if _, ok := r.tgt[id]; ok && p > 0 {
			r.tgt[id] = p
		}
	}
	r.rescale = !maps.Equal(r.tgt, r.running)
	// Slots per TaskManager: the running count (nc), and the target's (n), spread evenly over
	// the TaskManagers the configured count needs; the pools are planned for n.
	r.nc = max(1, r.cur.NumSlots)
	r.n = r.nc
	if t.o.BalanceSlots {
		r.n = balancedSlots(jobSlots(snap.Vertices, r.tgt), orig.NumSlots, r.nc)
	}
	r.relayout = r.rescale || r.n != r.nc
	r.rec = &Recommendation{Time: snap.Time, JobID: snap.JobID, Apply: t.o.Apply, Overrides: map[string]string{},
		Removals: []string{}, Original: orig, Current: r.cur, Target: r.tgt}
	r.obs = &r.rec.Observed
	r.curP = PoolsOf(r.cur)
	r.margin = 1 + t.o.Margin
	r.span = t.observedSpan()
	r.b = &builder{orig: r.origCfg, origTM: orig, profile: r.profile}
	return r, nil
}

// ev appends one fact to the recommendation's evidence.
func (r *recommendation) ev(pool, format string, a ...any) {
	r.rec.Evidence = append(r.rec.Evidence, Evidence{Pool: pool, Text: fmt.Sprintf(format, a...)})
}

// floorOf is the pool's floor (a failure's bump or a rollback) while it holds at the
// snapshot's time.
func (r *recommendation) floorOf(pool string) (floor, bool) {
	return r.t.floorAt(pool, r.snap.Time)
}

// observe copies what the tuner saw into the recommendation and states the limits first, so
// that every later fact reads against them.
func (r *recommendation) observe() {
	st, obs := &r.t.st, r.obs
	obs.Span, obs.HeapMax, obs.Percentile = r.span, st.HeapMax, r.t.o.Percentile
	obs.MetaspacePeak, obs.ManagedPeak, obs.NetworkUsedPeak = st.MetaspacePeak, st.ManagedPeak, st.NetworkUsedPeak
	obs.GCFraction, obs.GCPressure = st.GCFraction, st.GCPressure
	obs.JMHeapPeak, obs.JMMetaspacePeak = st.JMHeap.Max, st.JMMetaspacePeak
	obs.Events = slices.Clone(st.Events)
	obs.ObservedLayout = maps.Clone(st.Layout)
	r.ev("limits", "initial limits: TaskManager process %s, Flink memory %s (%d slots); running: process %s",
		hb(r.orig.TotalProcess), hb(r.orig.TotalFlink), r.orig.NumSlots, hb(r.cur.TotalProcess))
}

// planNetwork sizes the network memory: the exact buffers of the worst TaskManager at the
// target parallelism, with headroom, held at a failure's floor. Safety: the running network
// is below Flink's minimum, so the target layout's tasks would not start.
func (r *recommendation) planNetwork() (int64, bool) {
	t, cur := r.t, r.cur
	plan := planNetwork(r.snap.Vertices, r.tgt, r.np, r.n)
	r.ev(PoolNetwork, "worst TaskManager (%d slots) needs %d buffers (Flink's minimum, %s) and at most %d with floating buffers + %d overdraft = %s; the operator's formula gives %s",
		r.n, plan.Required, hb(plan.RequiredOnly), plan.Max, plan.Overdraft, hb(plan.Bytes), hb(plan.OperatorBytes))
	plan.withHeadroom(r.snap.Vertices, r.tgt, t.o.NetworkHeadroom)
	if plan.HeadroomBytes > 0 {
		r.ev(PoolNetwork, "with headroom for a rescale up to %.3g× the target parallelism: %s", t.o.NetworkHeadroom, hb(plan.HeadroomBytes))
	}
	r.rec.Network, r.plan = plan, plan
	network := plan.Bytes
	if t.st.NetworkUsedPeak > 0 {
		r.ev(PoolNetwork, "observed peak: %.0f segments in use", t.st.NetworkUsedPeak)
	}
	safety := cur.Network < plan.RequiredOnly
	if safety {
		r.ev(PoolNetwork, "the running %s is below Flink's minimum %s for this layout: tasks would fail with \"Insufficient number of network buffers\"", hb(cur.Network), hb(plan.RequiredOnly))
	}
	if f, ok := r.floorOf(PoolNetwork); ok && f.Bytes > network {
		network = roundUpMiB(f.Bytes)
		r.ev(PoolNetwork, "held at %s: %s", hb(network), f.Reason)
	}
	return network, safety
}

// heapPlan is the heap's estimate: its size, the basis the comparison shows, and whether it
// is a safety increase (a failure's floor, or a rescale that needs more).
type heapPlan struct {
	bytes  int64
	basis  string
	safety bool
}

// heapEstimate is the state of the heap's estimate while its evidence is weighed: the
// percentile, and whether the estimate was extrapolated from another layout.
type heapEstimate struct {
	r            *recommendation
	q            float64
	pt           string
	keyed        map[string]bool
	heapCap      int64
	extrapolated bool
}

// planHeap sizes the heap: the percentile of per-interval peaks at the layout the job will
// run, plus margin. A layout without its own evidence is extrapolated from one with, by the
// layout factor, but extrapolation alone never asks for more than the larger of the initial
// and the running heap: only evidence (peaks, GC pressure, failures) goes beyond.
func (r *recommendation) planHeap() heapPlan {
	t := r.t
	e := &heapEstimate{r: r, q: t.o.Percentile, pt: pctText(t.o.Percentile), keyed: keyedVertices(r.snap),
		heapCap: max(r.orig.JVMHeap(), r.curP.Heap)}
	hp := e.estimate()
	if t.st.GCPressure {
		hp.bytes = max(hp.bytes, r.curP.Heap)
		r.ev(PoolHeap, "GC pressure: %.1f%% of the time in GC (threshold %.1f%%): the heap does not shrink", t.st.GCFraction*100, t.o.GCThreshold*100)
	} else if !math.IsNaN(t.st.GCFraction) && len(t.st.GC) > 0 {
		r.ev("gc", "GC time %.1f%% (threshold %.1f%%)", t.st.GCFraction*100, t.o.GCThreshold*100)
	}
	if f, ok := r.floorOf(PoolHeap); ok {
		if f.Bytes > hp.bytes {
			hp.bytes = f.Bytes
			hp.basis = "floor: " + f.Reason
			r.ev(PoolHeap, "held at %s: %s", hb(f.Bytes), f.Reason)
		}
		if f.Bytes > r.curP.Heap {
			hp.safety = true
		}
	}
	if hp.bytes != r.curP.Heap {
		hp.bytes = roundUpMiB(max(hp.bytes, r.orig.FrameworkHeap+minTaskHeap))
	}
	// A rescale that the bound says may need more heap must bring it; evidence that the target
	// layout peaks a little higher (within 5 %, the garbage in the peaks) is no emergency.
	if r.relayout && (e.extrapolated && hp.bytes > r.curP.Heap || hp.bytes > r.curP.Heap+r.curP.Heap/20) {
		hp.safety = true
	}
	return hp
}

// estimate picks the heap's evidence: the target layout's own when a relayout goes back to a
// layout that ran long enough, else the running layout's extrapolated to the target, else
// (too little at the running layout) the running heap, raised only by another layout's
// evidence extrapolated to a target that may need more.
func (e *heapEstimate) estimate() heapPlan {
	r, t := e.r, e.r.t
	hp := heapPlan{bytes: r.curP.Heap, basis: "kept"}
	runningHeap := t.heapOf(r.running, r.nc)
	targetHeap := t.heapOf(r.tgt, r.n)
	if runningHeap != nil {
		r.obs.HeapSamples, r.obs.HeapPeak = runningHeap.Peaks.Samples, runningHeap.Peaks.Max
	}
	var needRun int64
	okRun := false
	if runningHeap != nil {
		needRun, okRun = e.needAt(runningHeap)
	}
	switch {
	case r.relayout && targetHeap != nil && hasEvidence(targetHeap, e.q, t.o.MinObservation):
		r.ev(PoolHeap, "the target layout ran before:")
		hp.bytes, _ = e.needAt(targetHeap)
		hp.basis = "seen at the target layout"
	case okRun:
		hp.bytes = e.extrapolate(runningHeap, needRun)
		hp.basis = fmt.Sprintf("P%s of peaks", e.pt)
		if r.obs.HeapLive > 0 && hp.bytes == int64(math.Ceil(r.obs.HeapLive*t.o.LiveFactor)) {
			hp.basis = fmt.Sprintf("P%s of the live set × %.2f", e.pt, t.o.LiveFactor)
		}
	default:
		span := time.Duration(0)
		if runningHeap != nil {
			span = runningHeap.Peaks.span()
		}
		r.ev(PoolHeap, "%s of heap peaks at this layout, less than min-observation %s: the heap does not shrink (%s)",
			span.Round(time.Second), t.o.MinObservation, hb(r.curP.Heap))
		// Another layout's evidence only matters where the target may need more than it did.
		if prev := t.latestEvidence(r.running, r.nc, e.q); prev != nil && layoutFactor(prev.Layout, slotsOr(prev.Slots, r.nc), r.tgt, r.n, e.keyed) > 1 {
			if need, ok := e.needAt(prev); ok {
				hp.bytes = max(hp.bytes, e.extrapolate(prev, need))
				hp.basis = "kept (new layout)"
			}
		}
	}
	return hp
}

// needAt is the heap a layout's history asks for: the peak percentile plus margin, at most
// live-factor times the live-set percentile.
func (e *heapEstimate) needAt(h *layoutHeap) (int64, bool) {
	r, t, curHeap := e.r, e.r.t, e.r.curP.Heap
	pPeak, ok := h.Peaks.evidence(e.q, t.o.MinObservation)
	if !ok {
		return 0, false
	}
	need := int64(math.Ceil(pPeak * r.margin))
	text := fmt.Sprintf("P%s of %d samples' interval peaks (largest TaskManager) = %s (bucket end), largest %s, over %s at layout %s: × %.2f = %s",
		e.pt, h.Peaks.Samples, hb(int64(pPeak)), hb(int64(h.Peaks.Max)), h.Peaks.span().Round(time.Second), layoutText(h.Layout), r.margin, hb(need))
	r.obs.HeapPercentile = pPeak
	pLow, okLow := h.Low.percentile(e.q)
	if okLow && t.o.LiveFactor > 0 {
		r.obs.HeapLive = pLow
		live := int64(math.Ceil(pLow * t.o.LiveFactor))
		text += fmt.Sprintf("; live set (lowest use per interval) P%s = %s × %.2f = %s", e.pt, hb(int64(pLow)), t.o.LiveFactor, hb(live))
		need = min(need, live)
	}
	// Garbage fills whatever heap there is: peaks taken under a larger heap than the
	// running one can show that less is enough, never that more is needed. The live set
	// does not depend on the heap size: the running heap must still hold it plus margin
	// (a scale-in back to a layout seen under a larger heap concentrates the state again).
	if h.HeapMax > 1.05*float64(curHeap) && need > curHeap {
		floorLive := int64(0)
		if okLow {
			floorLive = min(need, int64(math.Ceil(pLow*r.margin)))
		}
		need = max(curHeap, floorLive)
		text += fmt.Sprintf("; taken under a %s heap, it asks for no more than the running %s or the live set × %.2f (%s)", hb(int64(h.HeapMax)), hb(curHeap), r.margin, hb(floorLive))
	}
	r.ev(PoolHeap, "%s", text)
	return need, true
}

// extrapolate scales a layout's need to the target layout by the layout factor, capped at
// the larger of the initial and the running heap (or less, by the split of the live sets)
// until the target layout is observed.
func (e *heapEstimate) extrapolate(from *layoutHeap, need int64) int64 {
	r, t := e.r, e.r.t
	f := layoutFactor(from.Layout, slotsOr(from.Slots, r.nc), r.tgt, r.n, e.keyed)
	r.obs.LayoutFactor = f
	if f <= 1 {
		return need
	}
	e.extrapolated = true
	bound := min(int64(math.Ceil(float64(need)*f)), e.heapCap)
	r.ev(PoolHeap, "the target layout can put up to %.2f× the heap on the busiest TaskManager (more subtasks per TaskManager, or keyed state over fewer subtasks): %s, capped at %s until observed",
		f, hb(int64(math.Ceil(float64(need)*f))), hb(e.heapCap))
	if split, ok := t.splitHeap(e.keyed, r.nc, e.q); ok && t.o.LiveFactor > 0 {
		if live, ok := split.predict(r.tgt, r.n, e.keyed); ok {
			if b := int64(math.Ceil(live * t.o.LiveFactor)); b < bound {
				bound = b
				r.ev(PoolHeap, "split of the live sets of %d layouts: %s per hosted subtask + %s of keyed state spread over its subtasks (× %.2f, the worst miss); the target's busiest TaskManager (%d slots) holds %s live × %.2f = %s",
					split.Layouts, hb(int64(split.PerSubtask)), hb(int64(split.State)), split.Worst, r.n, hb(int64(live)), t.o.LiveFactor, hb(b))
			}
		}
	}
	return max(need, bound)
}

// planMetaspace sizes the metaspace: never below the observed peak plus margin, held at a
// failure's floor.
func (r *recommendation) planMetaspace() (int64, string, bool) {
	meta, basis, safety := r.t.planMetaspace(r.curP, r.span, r.snap.Time, r.ev)
	if f, ok := r.floorOf(PoolMetaspace); ok && f.Bytes > meta {
		meta = roundUpMiB(f.Bytes)
		basis = "floor: " + f.Reason
		safety = safety || meta > r.curP.Metaspace
		r.ev(PoolMetaspace, "held at %s: %s", hb(meta), f.Reason)
	}
	return meta, basis, safety
}

// planManaged sizes managed memory by state backend; a heap that failed takes what managed
// memory frees (hp changes then).
func (r *recommendation) planManaged(hp *heapPlan) (managedPlan, error) {
	mp, err := r.t.planManaged(r.origCfg, r.n, r.orig, r.span, r.ev)
	if err != nil {
		return managedPlan{}, err
	}
	if h, basis, ok := r.t.resplitHeap(mp, r.curP, hp.bytes, r.snap.Time, r.ev); ok {
		hp.bytes, hp.basis, hp.safety = h, basis, true
		mp.managed, mp.inUse, mp.basis = 0, false, "re-split to the heap"
	}
	return mp, nil
}

// planOffHeap keeps task off-heap and JVM overhead as configured unless a failure bumped
// them: there is no evidence of their use to size them by.
func (r *recommendation) planOffHeap() (taskOff, overheadMin int64) {
	taskOff = r.orig.TaskOffHeap
	if f, ok := r.floorOf(PoolTaskOffHeap); ok && f.Bytes > taskOff {
		taskOff = roundUpMiB(f.Bytes)
		r.ev(PoolTaskOffHeap, "held at %s: %s", hb(taskOff), f.Reason)
	}
	if f, ok := r.floorOf(PoolOverhead); ok {
		overheadMin = roundUpMiB(f.Bytes)
		r.ev(PoolOverhead, "at least %s: %s", hb(overheadMin), f.Reason)
	}
	return taskOff, overheadMin
}

// limitFit is the planned pools fitted into the initial limit.
type limitFit struct {
	pl plannedPools
	tm *memory.TaskManager // derived with Flink's rule for the JVM overhead
	// process is the process size to state; 0: Flink's rule decides it from the pools.
	process int64
	// limit and flinkLimit are the initial process and (when only it is configured) total
	// Flink memory limits.
	limit, flinkLimit int64
	capped            bool
}

// over is how far tm exceeds the limits.
func (f *limitFit) over() int64 {
	return max(f.tm.TotalProcess-f.limit, f.tm.TotalFlink-f.flinkLimit, 0)
}

// fitLimit derives the planned pools and fits them into the initial limit: with
// maximize-managed-memory managed memory takes what is spare, and over the limit the pools
// give way (capToLimit). mp's basis changes when managed memory is maximized.
func (r *recommendation) fitLimit(pl plannedPools, mp *managedPlan) (*limitFit, error) {
	tm, err := r.b.derive(pl)
	if err != nil {
		return nil, err
	}
	fit := &limitFit{pl: pl, tm: tm, limit: r.orig.TotalProcess, flinkLimit: int64(math.MaxInt64)}
	if r.origCfg.IsConfigured(flinkconf.TMFlinkSize) && !r.origCfg.IsConfigured(flinkconf.TMProcessSize) {
		fit.flinkLimit = r.orig.TotalFlink
	}
	if r.t.o.MaximizeManaged && mp.inUse && fit.over() == 0 {
		// Everything the other pools no longer need goes to managed memory: with the process
		// size stated, the JVM overhead stays what Flink's rule gave and managed memory takes
		// the rest of the limit.
		spare := min(fit.limit-tm.TotalProcess, fit.flinkLimit-tm.TotalFlink)
		if spare > 0 {
			fit.pl.managed += spare
			fit.process = tm.TotalProcess + spare
		}
		mp.basis = "maximized"
		r.ev(PoolManaged, "maximize-managed-memory: managed memory takes the rest of the initial limit: %s", hb(fit.pl.managed))
	}
	if err := r.capToLimit(fit, mp.rocksFloor); err != nil {
		return nil, err
	}
	return fit, nil
}

// capToLimit shrinks the pools while they are over the limit: managed memory gives way first
// (down to RocksDB's fixed need), then heap, metaspace (never below the peak), and network
// (never below Flink's minimum). It stops when nothing can give way more.
func (r *recommendation) capToLimit(fit *limitFit, rocksFloor int64) error {
	pl := &fit.pl
	minHeap := r.orig.FrameworkHeap + minTaskHeap
	metaPeak := roundUpMiB(int64(r.t.st.MetaspacePeak))
	netMin := roundUpMiB(r.plan.RequiredOnly)
	for pass := 0; pass < 8 && fit.over() > 0; pass++ {
		o := fit.over()
		fit.capped = true
		switch {
		case pl.managed > rocksFloor:
			pl.managed = max(rocksFloor, pl.managed-o)
		case pl.heap > minHeap:
			pl.heap = max(minHeap, pl.heap-roundUpMiB(o))
		case pl.meta > metaPeak:
			pl.meta = max(metaPeak, pl.meta-roundUpMiB(o))
		case pl.network > netMin:
			pl.network = max(netMin, pl.network-roundUpMiB(o))
		default:
			return nil
		}
		tm, err := r.b.derive(*pl)
		if err != nil {
			return err
		}
		fit.tm = tm
	}
	return nil
}

// nothingFits is the answer when the pools the job needs at the target exceed the initial
// limit even given way: nothing proposed, the running TaskManager stays.
func (r *recommendation) nothingFits(fit *limitFit) *Recommendation {
	rec, cur := r.rec, r.cur
	rec.Proposed = cur
	rec.Reason = fmt.Sprintf("the pools this job needs at the target parallelism exceed the initial limit (%s) by %s: nothing proposed", hb(fit.limit), hb(fit.over()))
	r.ev("limits", "%s", rec.Reason)
	rec.Pools = poolChanges(r.orig, cur, cur, nil)
	r.t.adviseSlots(rec, r.snap, r.tgt, r.orig, PoolsOf(cur), r.nc, r.nc)
	rec.Diagnosis = r.t.Diagnose(r.snap.Time.Add(-r.t.o.BumpHold))
	return rec
}

// propose turns the fitted pools into the final configuration, which states the process size
// too and must derive to the planned pools (else it is an internal error, not a proposal).
func (r *recommendation) propose(fit *limitFit) (*memory.TaskManager, error) {
	rec, pl := r.rec, fit.pl
	rec.Fits = true
	if fit.capped {
		r.ev("limits", "capped by the initial limit %s: heap %s, managed %s", hb(fit.limit), hb(pl.heap), hb(pl.managed))
	}
	process := fit.process
	if process == 0 {
		process = fit.tm.TotalProcess
	}
	final, overrides, removals, err := r.b.final(pl, process)
	if err != nil {
		return nil, err
	}
	// A whole number of MiB reads better ("1390 mb", not "1457520640 bytes") and gives the
	// JVM overhead the few extra bytes, when that stays within its range and the limit.
	if p := roundUpMiB(process); p != process && p <= fit.limit {
		if f2, ov2, rm2, err := r.b.final(pl, p); err == nil && f2.TotalFlink == final.TotalFlink && f2.TotalFlink <= fit.flinkLimit {
			final, overrides, removals, process = f2, ov2, rm2, p
		}
	}
	if fp := PoolsOf(final); fp.Heap != pl.heap || fp.Managed != pl.managed || fp.Network != pl.network || fp.Metaspace != pl.meta ||
		fp.TaskOffHeap != pl.taskOff || fp.Process != process {
		return nil, fmt.Errorf("internal error: the overrides derive to %+v, planned %+v (process %d)", fp, pl, process)
	}
	if final.TotalProcess > fit.limit || final.TotalFlink > fit.flinkLimit {
		return nil, fmt.Errorf("internal error: proposal %s above the limit %s", hb(final.TotalProcess), hb(fit.limit))
	}
	rec.Proposed = final
	rec.Overrides, rec.Removals = overrides, removals
	// The applied overrides replace the previous ones: the slot count is stated whenever it
	// is not the configured one.
	if r.n != r.orig.NumSlots || r.nc != r.orig.NumSlots {
		rec.Overrides[flinkconf.TMNumberOfTaskSlots.Key] = strconv.Itoa(r.n)
	}
	if r.n != r.nc {
		r.ev("slots", "the job's %d slots over the TaskManagers %d slots each need: %d slots per TaskManager (running %d), so that no TaskManager holds more of the job than an even share (%s)",
			jobSlots(r.snap.Vertices, r.tgt), r.orig.NumSlots, r.n, r.nc, OptBalanceSlots.Key)
	}
	if rec.Removals == nil {
		rec.Removals = []string{}
	}
	return final, nil
}

// explain completes the proposal: the pools compared with their bases, the JobManager's
// recommendation, the slots advice and the failures, then the verdict. vi carries the pools'
// safety flags; the rest of it is filled here.
func (r *recommendation) explain(final *memory.TaskManager, bases map[string]string, vi verdictInput) {
	t, rec := r.t, r.rec
	propP := PoolsOf(final)
	r.ev(PoolOverhead, "JVM overhead %s: Flink's rule (%s) on the new process size",
		hb(propP.Overhead), overheadRule(r.origCfg))
	rec.Pools = poolChanges(r.orig, r.cur, final, bases)
	if t.o.JobManager {
		r.addJobManager()
	}
	t.adviseSlots(rec, r.snap, r.tgt, r.orig, propP, r.nc, r.n)
	if r.n != r.nc {
		rec.SlotsPerTaskManager = r.n
	}
	rec.Diagnosis = t.Diagnose(r.snap.Time.Add(-t.o.BumpHold))
	vi.cur, vi.final, vi.curP, vi.propP, vi.rescale = r.cur, final, r.curP, propP, r.rescale
	vi.slots, vi.span, vi.now = [2]int{r.nc, r.n}, r.span, r.snap.Time
	t.judge(rec, vi)
}

// addJobManager adds the JobManager's recommendation; its changes join the TaskManager's
// overrides, since one restart applies both.
func (r *recommendation) addJobManager() {
	rec := r.rec
	jr := r.t.recommendJobManager(r.snap, flinkconf.FromMap(r.origMap), flinkconf.FromMap(r.curMap), r.profile)
	if jr == nil {
		return
	}
	rec.JobManager = jr
	rec.Evidence = append(rec.Evidence, jr.Evidence...)
	if !jr.Changed {
		return
	}
	maps.Copy(rec.Overrides, jr.Overrides)
	for _, k := range jr.Removals {
		if !slices.Contains(rec.Removals, k) {
			rec.Removals = append(rec.Removals, k)
		}
	}
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
		if _, ok := t.floorAt(pool, in.now); ok && grows(pool) {
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
	f, failed := t.floorAt(PoolHeap, now)
	if mp.rocks || t.st.ManagedPeak > 0 || cur.Managed == 0 || !(failed || t.st.GCPressure) {
		return 0, "", false
	}
	// With no floor held, GC pressure alone is the reason (its floor renews while it lasts,
	// but a store restored after bump.hold has none): not an expired failure, not "()".
	why := f.Reason
	if !failed {
		why = fmt.Sprintf("GC pressure: %.1f%% of the time in GC", t.st.GCFraction*100)
	}
	to := max(heap, cur.Heap+cur.Managed)
	ev(PoolHeap, "the heap failed (%s) on the %s state backend, which keeps keyed state on the heap and never uses managed memory: re-split, the heap takes the %s of managed memory (%s → %s), the process size stays",
		why, backendName(mp.backend), hb(cur.Managed), hb(cur.Heap), hb(to))
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
