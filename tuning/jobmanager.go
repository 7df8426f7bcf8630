package tuning

import (
	"fmt"
	"math"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// minJMHeap is Flink's recommended minimum JobManager heap (JobManagerOptions.MIN_JVM_HEAP_SIZE).
const minJMHeap = 128 << 20

// JobManagerRecommendation sizes the JobManager's heap and metaspace from its gauges.
type JobManagerRecommendation struct {
	Original *memory.JobManager `json:"-"`
	Current  *memory.JobManager `json:"-"`
	Proposed *memory.JobManager `json:"-"`
	Pools    []PoolChange       `json:"pools"`
	// Overrides and Removals are the jobmanager.memory.* changes (also merged into the
	// TaskManager recommendation's when Changed).
	Overrides map[string]string `json:"overrides,omitempty"`
	Removals  []string          `json:"removals,omitempty"`
	Changed   bool              `json:"changed"`
	// Worthwhile: saves at least min-saving of the JobManager process memory or must grow.
	Worthwhile bool       `json:"worthwhile"`
	Reason     string     `json:"reason"`
	Evidence   []Evidence `json:"evidence,omitempty"`
}

var jmRemovable = []string{flinkconf.JMFlinkSize.Key, flinkconf.JMLegacyHeapSize.Key, flinkconf.JMLegacyHeapMB.Key}

// recommendJobManager sizes the JobManager from its gauges in named steps: the limits
// (original and running JobManager), the sizes the evidence asks for, a cap at the initial
// limit, then the proposal and its verdict. Each step that finds nothing to propose says why
// in the reason and the evidence and ends the recommendation.
func (t *Tuner) recommendJobManager(snap *autoscaler.Snapshot, origCfg, curCfg *flinkconf.Config, p memory.Profile) *JobManagerRecommendation {
	j, ok := t.newJMRecommendation(origCfg, curCfg, p)
	if !ok {
		return j.jr
	}
	// The pools are listed however the recommendation ends, once the limits are known.
	defer j.listPools()
	heap, meta, ok := j.sizes()
	if !ok {
		return j.jr
	}
	heap, process, ok := j.capToLimit(heap, meta)
	if !ok {
		return j.jr
	}
	j.propose(heap, meta, process)
	return j.jr
}

// jmRecommendation is one recommendJobManager call's working state, shared by its steps: the
// job's JobManager limits (orig, from origCfg) and the running JobManager (cur). The tuner's
// state is only read.
type jmRecommendation struct {
	t         *Tuner
	jr        *JobManagerRecommendation
	origCfg   *flinkconf.Config
	p         memory.Profile
	orig, cur *memory.JobManager
	margin    float64
}

// newJMRecommendation derives the original and the running JobManager. Without the original
// there is no limit to stay within, so nothing is proposed; a running configuration that
// does not derive counts as the original.
func (t *Tuner) newJMRecommendation(origCfg, curCfg *flinkconf.Config, p memory.Profile) (*jmRecommendation, bool) {
	j := &jmRecommendation{t: t, jr: &JobManagerRecommendation{}, origCfg: origCfg, p: p, margin: 1 + t.o.Margin}
	orig, err := memory.DeriveJobManager(origCfg, nil, p)
	if err != nil {
		return j, j.fail("the job's JobManager memory configuration does not derive: " + err.Error())
	}
	cur, err := memory.DeriveJobManager(curCfg, nil, p)
	if err != nil {
		cur = orig
	}
	j.orig, j.cur = orig, cur
	j.jr.Original, j.jr.Current, j.jr.Proposed = orig, cur, cur
	return j, true
}

// ev appends one fact to the JobManager's evidence.
func (j *jmRecommendation) ev(format string, a ...any) {
	j.jr.Evidence = append(j.jr.Evidence, Evidence{Pool: "jobmanager", Text: fmt.Sprintf(format, a...)})
}

// fail ends the recommendation with nothing proposed: the reason is also its last evidence.
// It returns false, for the step to return.
func (j *jmRecommendation) fail(reason string) bool {
	j.jr.Reason = reason
	j.ev("%s", reason)
	return false
}

// jmPools are the pools a JobManager recommendation changes and lists, in listing order.
func jmPools(j *memory.JobManager) [3]int64 {
	return [3]int64{j.JVMHeap, j.JVMMetaspace, j.TotalProcess}
}

// listPools lists heap, metaspace and process as limit, running and proposed.
func (j *jmRecommendation) listPools() {
	o, c, pr := jmPools(j.orig), jmPools(j.cur), jmPools(j.jr.Proposed)
	for i, name := range []string{PoolJMHeap, PoolJMMetaspace, "jobmanager-process"} {
		j.jr.Pools = append(j.jr.Pools, PoolChange{Pool: name, Limit: o[i], Current: c[i], Proposed: pr[i]})
	}
}

// sizes is what the evidence asks for: the heap at the percentile of its interval peaks
// with the margin (at least Flink's minimum), the metaspace at its peak with the margin
// (kept when no peak was seen). The heap shrinks only after min-observation of evidence.
func (j *jmRecommendation) sizes() (heap, meta int64, ok bool) {
	t := j.t
	span := t.st.JMHeap.span()
	pct, ok := t.st.JMHeap.Hist.percentile(t.o.Percentile)
	if !ok {
		return 0, 0, j.fail("no JobManager heap gauge observed")
	}
	if span < t.o.MinObservation {
		return 0, 0, j.fail(fmt.Sprintf("JobManager observed for %s, less than min-observation %s", span.Round(time.Second), t.o.MinObservation))
	}
	heap = roundUpMiB(max(int64(math.Ceil(pct*j.margin)), minJMHeap))
	j.ev("JobManager heap: P%s of interval peaks %s (largest %s) × %.2f = %s (at least %s)",
		pctText(t.o.Percentile), hb(int64(pct)), hb(int64(t.st.JMHeap.Max)), j.margin, hb(heap), hb(minJMHeap))
	meta = j.cur.JVMMetaspace
	if t.st.JMMetaspacePeak > 0 {
		meta = roundUpMiB(int64(math.Ceil(t.st.JMMetaspacePeak * j.margin)))
		j.ev("JobManager metaspace: peak %s × %.2f = %s", hb(int64(t.st.JMMetaspacePeak)), j.margin, hb(meta))
	}
	return heap, meta, true
}

// build derives the JobManager the overrides give: heap and metaspace set (and the process
// size when known), the options that would override them removed from the original
// configuration. It returns the JobManager, the overrides and the removals.
func (j *jmRecommendation) build(heap, meta, process int64) (*memory.JobManager, map[string]string, []string, error) {
	ov := map[string]string{
		flinkconf.JMHeapSize.Key:  flinkconf.FormatMemorySize(heap),
		flinkconf.JMMetaspace.Key: flinkconf.FormatMemorySize(meta),
	}
	var rm []string
	for _, k := range jmRemovable {
		if j.origCfg.Has(k) {
			rm = append(rm, k)
		}
	}
	cfg := j.origCfg.Clone()
	for _, k := range rm {
		cfg.Delete(k)
	}
	cfg.Delete(flinkconf.JMProcessSize.Key)
	if process > 0 {
		ov[flinkconf.JMProcessSize.Key] = flinkconf.FormatMemorySize(process)
	}
	for k, v := range ov {
		cfg.Set(k, v)
	}
	jm, err := memory.DeriveJobManager(cfg, nil, j.p)
	return jm, ov, rm, err
}

// capToLimit keeps the JobManager within its initial process size: the heap gives up what
// the sizes exceed it by (down to Flink's minimum), since the limit is what the platform
// granted. It returns the heap and the process size it derives to; when even the minimum
// does not fit, nothing is proposed.
func (j *jmRecommendation) capToLimit(heap, meta int64) (int64, int64, bool) {
	jm, _, _, err := j.build(heap, meta, 0)
	if err != nil {
		return 0, 0, j.fail("the tuned JobManager configuration does not derive: " + err.Error())
	}
	if over := jm.TotalProcess - j.orig.TotalProcess; over > 0 {
		heap = max(minJMHeap, heap-roundUpMiB(over))
		if jm, _, _, err = j.build(heap, meta, 0); err != nil || jm.TotalProcess > j.orig.TotalProcess {
			return 0, 0, j.fail(fmt.Sprintf("the JobManager needs more than its initial limit %s: nothing proposed", hb(j.orig.TotalProcess)))
		}
		j.ev("JobManager heap capped at %s by the initial limit %s", hb(heap), hb(j.orig.TotalProcess))
	}
	return heap, jm.TotalProcess, true
}

// propose pins the process size in the overrides, so that the JobManager derives the same
// wherever they are applied, checks that it does, and judges the change.
func (j *jmRecommendation) propose(heap, meta, process int64) {
	final, ov, rm, err := j.build(heap, meta, process)
	if err != nil || final.TotalProcess != process {
		j.fail(fmt.Sprintf("internal error: the JobManager overrides do not derive consistently: %v", err))
		return
	}
	jr := j.jr
	jr.Proposed, jr.Overrides, jr.Removals = final, ov, rm
	jr.Changed = jmPools(final) != jmPools(j.cur)
	j.judge(final)
}

// judge decides whether the change is worth a restart: always when heap or metaspace must
// grow (the gauges ask for it), otherwise when it saves at least min-saving of the running
// process memory.
func (j *jmRecommendation) judge(final *memory.JobManager) {
	jr, cur := j.jr, j.cur
	saving := float64(cur.TotalProcess-final.TotalProcess) / float64(cur.TotalProcess)
	switch {
	case !jr.Changed:
		jr.Reason = "the running JobManager configuration is already what the tuner recommends"
	case final.JVMHeap > cur.JVMHeap || final.JVMMetaspace > cur.JVMMetaspace:
		jr.Worthwhile = true
		jr.Reason = "the JobManager heap or metaspace must grow"
	case saving >= j.t.o.MinSaving:
		jr.Worthwhile = true
		jr.Reason = fmt.Sprintf("saves %.1f%% of the JobManager process memory (%s → %s)", saving*100, hb(cur.TotalProcess), hb(final.TotalProcess))
	default:
		jr.Reason = fmt.Sprintf("saves only %.1f%% of the JobManager process memory", saving*100)
	}
}
