package tuning_test

import (
	"math"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/tuning"
)

const mib = 1 << 20

// peakyJob: a windowed aggregation whose live heap is 400 MiB for 50 minutes and 1.3 GiB for
// the 10 minutes a window fires, every hour; the heap in use adds up to 200 MiB of garbage.
func peakyLive(t time.Duration) float64 {
	if t%time.Hour >= 50*time.Minute {
		return 1300 * mib
	}
	return 400 * mib
}

// TestPeaksNotAverages compares the operator's tuner (window averages × 1.2) with flinktune's
// (percentile of decaying interval peaks) on the same peaky job, both asked right before a
// window fires: the operator's heap is below the live set of the next window (the job would
// fail with java.lang.OutOfMemoryError), flinktune's is not.
func TestPeaksNotAverages(t *testing.T) {
	cfg := map[string]string{"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "1"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tu := tuning.New(tuning.DefaultOptions())
	var snap *autoscaler.Snapshot
	// Three hours of samples every 10 s, ending 5 minutes before the fourth window fires.
	end := 3*time.Hour + 45*time.Minute
	var windowSum, windowN float64
	for d := time.Duration(0); d <= end; d += 10 * time.Second {
		garbage := float64(int(d/(10*time.Second))%5) * 50 * mib
		used := peakyLive(d) + garbage
		snap = &autoscaler.Snapshot{Time: start.Add(d), JobID: "j", Status: "RUNNING", FlinkVersion: "1.20.1", Config: cfg,
			Vertices: []autoscaler.Vertex{{ID: "src", Parallelism: 1}, {ID: "win", Parallelism: 1, Inputs: []autoscaler.Edge{{From: "src", Ship: "HASH"}}}},
			TaskManagerMetrics: map[string]autoscaler.Aggregate{
				tuning.MetricHeapUsed:      {Max: used},
				tuning.MetricHeapMax:       {Max: 1.5 * (1 << 30)},
				tuning.MetricMetaspaceUsed: {Max: 100 * mib},
				tuning.MetricManagedUsed:   {Max: 0},
			}}
		tu.Observe(snap)
		if d > end-15*time.Minute { // the operator's default metrics window
			windowSum += used
			windowN++
		}
	}
	ours, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The operator's tuner on the same job, from the window averages.
	o := operator.DefaultOptions()
	o.MemoryTuning = true
	conf := flinkconf.FromMap(cfg)
	spec, err := memory.DeriveTaskManager(conf, nil, memory.Flink1)
	if err != nil {
		t.Fatal(err)
	}
	global := &operator.EvaluatedSet{}
	global.Set(operator.MetricHeapMemoryUsed, operator.EvalAvg(windowSum/windowN))
	global.Set(operator.MetricMetaspaceMemoryUsed, operator.EvalAvg(100*mib))
	global.Set(operator.MetricManagedMemoryUsed, operator.EvalAvg(0))
	global.Set(operator.MetricNumTaskSlotsUsed, operator.EvalOf(1))
	vertices := map[string]*operator.EvaluatedSet{}
	for _, id := range []string{"src", "win"} {
		m := &operator.EvaluatedSet{}
		m.Set(operator.MetricParallelism, operator.EvalOf(1))
		vertices[id] = m
	}
	top, err := operator.NewTopology([]*operator.VertexInfo{
		{ID: "src", Parallelism: 1, MaxParallelism: 128},
		{ID: "win", Parallelism: 1, MaxParallelism: 128, Inputs: []operator.Input{{Vertex: "src", Ship: "HASH"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := operator.TuneTaskManagerMemory(operator.TuningInput{Options: &o, Conf: conf, Spec: spec, MaxMemory: spec.TotalProcess,
		Global: global, Vertices: vertices, Topology: top})
	if err != nil || res.Changes == nil {
		t.Fatalf("operator tuning: %v %+v", err, res)
	}
	opConf := conf.Clone()
	for _, k := range res.Changes.Removals {
		opConf.Delete(k)
	}
	for k, v := range res.Changes.Overrides {
		opConf.Set(k, v)
	}
	opTM, err := memory.DeriveTaskManager(opConf, nil, memory.Flink1)
	if err != nil {
		t.Fatal(err)
	}
	peakLive := 1300.0 * mib
	t.Logf("window average %.0f MiB; operator heap %d MiB, flinktune heap %d MiB; next window's live set %.0f MiB",
		windowSum/windowN/mib, opTM.JVMHeap()>>20, ours.Proposed.JVMHeap()>>20, peakLive/mib)
	if float64(opTM.JVMHeap()) >= peakLive {
		t.Errorf("the operator's heap %d MiB would hold the window: the scenario proves nothing", opTM.JVMHeap()>>20)
	}
	if float64(ours.Proposed.JVMHeap()) < peakLive*1.1 {
		t.Errorf("flinktune's heap %d MiB leaves less than 10 %% above the window's live set", ours.Proposed.JVMHeap()>>20)
	}
	// And it still saves: managed memory is unused, network tiny.
	if ours.Proposed.TotalProcess >= spec.TotalProcess || !ours.Worthwhile || math.IsNaN(float64(ours.Proposed.TotalProcess)) {
		t.Errorf("flinktune proposes %d of %d: %s", ours.Proposed.TotalProcess, spec.TotalProcess, ours.Reason)
	}
}
