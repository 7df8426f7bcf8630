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

func (t *Tuner) recommendJobManager(snap *autoscaler.Snapshot, origCfg, curCfg *flinkconf.Config, p memory.Profile) *JobManagerRecommendation {
	jr := &JobManagerRecommendation{}
	ev := func(format string, a ...any) {
		jr.Evidence = append(jr.Evidence, Evidence{Pool: "jobmanager", Text: fmt.Sprintf(format, a...)})
	}
	orig, err := memory.DeriveJobManager(origCfg, nil, p)
	if err != nil {
		jr.Reason = "the job's JobManager memory configuration does not derive: " + err.Error()
		ev("%s", jr.Reason)
		return jr
	}
	cur, err := memory.DeriveJobManager(curCfg, nil, p)
	if err != nil {
		cur = orig
	}
	jr.Original, jr.Current, jr.Proposed = orig, cur, cur
	jmPools := func(j *memory.JobManager) [3]int64 { return [3]int64{j.JVMHeap, j.JVMMetaspace, j.TotalProcess} }
	defer func() {
		o, c, pr := jmPools(orig), jmPools(cur), jmPools(jr.Proposed)
		for i, name := range []string{PoolJMHeap, PoolJMMetaspace, "jobmanager-process"} {
			jr.Pools = append(jr.Pools, PoolChange{Pool: name, Limit: o[i], Current: c[i], Proposed: pr[i]})
		}
	}()
	span := t.st.JMHeap.span()
	pct, ok := t.st.JMHeap.Hist.percentile(t.o.Percentile)
	if !ok {
		jr.Reason = "no JobManager heap gauge observed"
		ev("%s", jr.Reason)
		return jr
	}
	if span < t.o.MinObservation {
		jr.Reason = fmt.Sprintf("JobManager observed for %s, less than min-observation %s", span.Round(time.Second), t.o.MinObservation)
		ev("%s", jr.Reason)
		return jr
	}
	margin := 1 + t.o.Margin
	heap := roundUpMiB(max(int64(math.Ceil(pct*margin)), minJMHeap))
	ev("JobManager heap: P%s of interval peaks %s (largest %s) × %.2f = %s (at least %s)",
		pctText(t.o.Percentile), hb(int64(pct)), hb(int64(t.st.JMHeap.Max)), margin, hb(heap), hb(minJMHeap))
	meta := cur.JVMMetaspace
	if t.st.JMMetaspacePeak > 0 {
		meta = roundUpMiB(int64(math.Ceil(t.st.JMMetaspacePeak * margin)))
		ev("JobManager metaspace: peak %s × %.2f = %s", hb(int64(t.st.JMMetaspacePeak)), margin, hb(meta))
	}
	build := func(heap, meta, process int64) (*memory.JobManager, map[string]string, []string, error) {
		ov := map[string]string{
			flinkconf.JMHeapSize.Key:  flinkconf.FormatMemorySize(heap),
			flinkconf.JMMetaspace.Key: flinkconf.FormatMemorySize(meta),
		}
		var rm []string
		for _, k := range jmRemovable {
			if origCfg.Has(k) {
				rm = append(rm, k)
			}
		}
		cfg := origCfg.Clone()
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
		jm, err := memory.DeriveJobManager(cfg, nil, p)
		return jm, ov, rm, err
	}
	jm, _, _, err := build(heap, meta, 0)
	if err != nil {
		jr.Reason = "the tuned JobManager configuration does not derive: " + err.Error()
		ev("%s", jr.Reason)
		return jr
	}
	if over := jm.TotalProcess - orig.TotalProcess; over > 0 {
		heap = max(minJMHeap, heap-roundUpMiB(over))
		if jm, _, _, err = build(heap, meta, 0); err != nil || jm.TotalProcess > orig.TotalProcess {
			jr.Reason = fmt.Sprintf("the JobManager needs more than its initial limit %s: nothing proposed", hb(orig.TotalProcess))
			ev("%s", jr.Reason)
			return jr
		}
		ev("JobManager heap capped at %s by the initial limit %s", hb(heap), hb(orig.TotalProcess))
	}
	final, ov, rm, err := build(heap, meta, jm.TotalProcess)
	if err != nil || final.TotalProcess != jm.TotalProcess {
		jr.Reason = fmt.Sprintf("internal error: the JobManager overrides do not derive consistently: %v", err)
		ev("%s", jr.Reason)
		return jr
	}
	jr.Proposed, jr.Overrides, jr.Removals = final, ov, rm
	jr.Changed = jmPools(final) != jmPools(cur)
	saving := float64(cur.TotalProcess-final.TotalProcess) / float64(cur.TotalProcess)
	switch {
	case !jr.Changed:
		jr.Reason = "the running JobManager configuration is already what the tuner recommends"
	case final.JVMHeap > cur.JVMHeap || final.JVMMetaspace > cur.JVMMetaspace:
		jr.Worthwhile = true
		jr.Reason = "the JobManager heap or metaspace must grow"
	case saving >= t.o.MinSaving:
		jr.Worthwhile = true
		jr.Reason = fmt.Sprintf("saves %.1f%% of the JobManager process memory (%s → %s)", saving*100, hb(cur.TotalProcess), hb(final.TotalProcess))
	default:
		jr.Reason = fmt.Sprintf("saves only %.1f%% of the JobManager process memory", saving*100)
	}
	return jr
}
