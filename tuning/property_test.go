package tuning

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// randomJob draws a configuration and a topology.
func randomJob(r *rand.Rand) (map[string]string, []autoscaler.Vertex, map[string]int) {
	cfg := map[string]string{}
	size := fmt.Sprintf("%dm", 768+64*r.IntN(250))
	switch r.IntN(5) {
	case 0:
		cfg["taskmanager.memory.flink.size"] = size
	case 1:
		cfg["taskmanager.memory.process.size"] = size
		cfg["taskmanager.memory.flink.size"] = fmt.Sprintf("%dm", 400+r.IntN(300)) // both: process is the larger
	default:
		cfg["taskmanager.memory.process.size"] = size
	}
	cfg["taskmanager.numberOfTaskSlots"] = fmt.Sprint(1 + r.IntN(8))
	if r.IntN(3) == 0 {
		cfg["state.backend.type"] = "rocksdb"
	}
	if r.IntN(4) == 0 {
		cfg["taskmanager.memory.managed.fraction"] = fmt.Sprintf("0.%d", 1+r.IntN(6))
	}
	if r.IntN(4) == 0 {
		cfg["taskmanager.memory.jvm-metaspace.size"] = fmt.Sprintf("%dm", 96+r.IntN(300))
	}
	if r.IntN(4) == 0 {
		cfg["taskmanager.memory.jvm-overhead.fraction"] = fmt.Sprintf("0.%02d", 5+r.IntN(20))
	}
	if r.IntN(5) == 0 {
		cfg["taskmanager.memory.task.off-heap.size"] = fmt.Sprintf("%dm", r.IntN(200))
	}
	if r.IntN(5) == 0 {
		cfg["taskmanager.network.memory.buffers-per-channel"] = fmt.Sprint(1 + r.IntN(4))
	}
	if r.IntN(2) == 0 {
		cfg["jobmanager.memory.process.size"] = fmt.Sprintf("%dm", 900+r.IntN(3000))
	}
	n := 1 + r.IntN(5)
	ships := []string{autoscaler.ShipForward, autoscaler.ShipHash, autoscaler.ShipRebalance, autoscaler.ShipRescale, autoscaler.ShipBroadcast, autoscaler.ShipUnknown}
	var vs []autoscaler.Vertex
	p := map[string]int{}
	for i := range n {
		v := autoscaler.Vertex{ID: fmt.Sprintf("v%d", i), MaxParallelism: 128, SlotSharingGroup: "default",
			Metrics: map[string]autoscaler.Aggregate{busyMetric: {Avg: float64(r.IntN(1000))}}}
		if r.IntN(4) == 0 {
			v.SlotSharingGroup = "other"
		}
		if i > 0 {
			v.Inputs = []autoscaler.Edge{{From: fmt.Sprintf("v%d", r.IntN(i)), Ship: ships[r.IntN(len(ships))]}}
		}
		p[v.ID] = 1 + r.IntN(48)
		vs = append(vs, v)
	}
	return cfg, vs, p
}

// TestPropertyNeverAboveLimits feeds the tuner random jobs, usage, failures and applications
// and checks every recommendation: it derives through the memory model on the job's original
// configuration, never above the initial limits, keeps Flink's minimum network buffers and
// the observed metaspace peak, and its JobManager part stays within the JobManager's limit.
func TestPropertyNeverAboveLimits(t *testing.T) {
	iterations := 400
	if testing.Short() {
		iterations = 80
	}
	kinds := []autoscaler.JobException{
		{Name: "java.lang.OutOfMemoryError", Message: "Java heap space"},
		{Name: "java.lang.OutOfMemoryError", Message: "Metaspace"},
		{Name: "java.lang.OutOfMemoryError", Message: "Direct buffer memory"},
		{Name: "java.io.IOException", Message: "Insufficient number of network buffers"},
		{Name: "x", Message: "container exited with code 137: memory limit exceeded"},
	}
	checked, proposals := 0, 0
	for it := range iterations {
		r := rand.New(rand.NewPCG(uint64(it), 42))
		cfg, vs, p := randomJob(r)
		profile := memory.Flink1
		version := "1.20.1"
		if r.IntN(3) == 0 {
			profile, version = memory.Flink2, "2.0.0"
		}
		orig, err := memory.DeriveTaskManager(flinkconf.FromMap(cfg), nil, profile)
		if err != nil {
			continue // not a valid Flink configuration: nothing to tune
		}
		o := DefaultOptions()
		o.MaximizeManaged = r.IntN(3) == 0
		o.Margin = r.Float64() * 0.5
		o.Percentile = 0.5 + r.Float64()*0.5
		o.MinObservation = time.Duration(r.IntN(20)) * time.Minute
		tu := New(o)
		now := t0
		running := copyMap(cfg)
		metaPeak := 0.0
		var last *Recommendation
		samples := 20 + r.IntN(150)
		for i := range samples {
			now = now.Add(10 * time.Second)
			heapMax := float64(orig.JVMHeap())
			if last != nil && last.Proposed != nil {
				heapMax = float64(last.Proposed.JVMHeap())
			}
			meta := float64(10<<20 + r.IntN(int(orig.JVMMetaspace)-10<<20)) // used never exceeds the limit
			metaPeak = max(metaPeak, meta)
			s := &autoscaler.Snapshot{Time: now, JobID: "j", Status: "RUNNING", FlinkVersion: version, Config: copyMap(running),
				Vertices: withParallelism(vs, p),
				TaskManagerMetrics: map[string]autoscaler.Aggregate{
					MetricHeapUsed:        {Max: heapMax * (0.05 + 0.95*r.Float64())},
					MetricHeapMax:         {Max: heapMax},
					MetricMetaspaceUsed:   {Max: meta},
					MetricManagedUsed:     {Max: float64(r.IntN(2)) * float64(orig.Managed) * r.Float64()},
					MetricGCTimePerSecond: {Max: r.Float64() * 400},
				},
				JobManagerMetrics: map[string]float64{MetricHeapUsed: float64(50<<20 + r.IntN(400<<20)), MetricMetaspaceUsed: float64(40<<20 + r.IntN(60<<20))},
			}
			if r.IntN(40) == 0 {
				e := kinds[r.IntN(len(kinds))]
				e.Time = now.Add(-time.Second)
				s.Exceptions = []autoscaler.JobException{e}
			}
			if r.IntN(30) == 0 { // a rescale happened
				for id := range p {
					p[id] = 1 + r.IntN(48)
				}
			}
			tu.Observe(s)
			if i%7 != 0 && i != samples-1 {
				continue
			}
			var target map[string]int
			if r.IntN(2) == 0 {
				target = map[string]int{}
				for id := range p {
					target[id] = 1 + r.IntN(64)
				}
			}
			rec, err := tu.Recommend(s, target)
			if err != nil {
				t.Fatalf("iteration %d sample %d: %v\nconfig %v", it, i, err, cfg)
			}
			checked++
			checkRecommendation(t, it, rec, cfg, profile, metaPeak, o)
			if len(rec.Overrides) > 0 {
				proposals++
				if r.IntN(3) == 0 && rec.Worthwhile {
					tu.Applied(now, rec)
					last = rec
					if r.IntN(2) == 0 { // the platform reports the tuned configuration
						running = copyMap(cfg)
						for _, k := range rec.Removals {
							delete(running, k)
						}
						for k, v := range rec.Overrides {
							running[k] = v
						}
					}
				}
			}
		}
	}
	if checked < iterations || proposals < iterations/2 {
		t.Errorf("only %d recommendations (%d with overrides) checked", checked, proposals)
	}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func withParallelism(vs []autoscaler.Vertex, p map[string]int) []autoscaler.Vertex {
	out := slices.Clone(vs)
	for i := range out {
		out[i].Parallelism = p[out[i].ID]
	}
	return out
}

func checkRecommendation(t *testing.T, it int, rec *Recommendation, orig map[string]string, profile memory.Profile, metaPeak float64, o Options) {
	t.Helper()
	otm, _ := memory.DeriveTaskManager(flinkconf.FromMap(orig), nil, profile)
	if rec.Proposed == nil || rec.Current == nil || rec.Original == nil {
		t.Fatalf("iteration %d: incomplete recommendation", it)
	}
	if rec.Proposed.TotalProcess > otm.TotalProcess {
		t.Fatalf("iteration %d: proposed process %d above the initial %d", it, rec.Proposed.TotalProcess, otm.TotalProcess)
	}
	if len(rec.Overrides) == 0 {
		return
	}
	cfg := flinkconf.FromMap(orig)
	for _, k := range rec.Removals {
		cfg.Delete(k)
	}
	for k, v := range rec.Overrides {
		if k == flinkconf.TMNumberOfTaskSlots.Key {
			// Balanced slots: never more per TaskManager than configured, never more
			// TaskManagers than the configured count needs for the target.
			n, _ := strconv.Atoi(v)
			if n < 1 || n > otm.NumSlots {
				t.Fatalf("iteration %d: %s=%s outside [1, %d]", it, k, v, otm.NumSlots)
			}
			if w := rec.Slots.JobSlots; w > 0 && (w+n-1)/n > (w+otm.NumSlots-1)/otm.NumSlots {
				t.Fatalf("iteration %d: %d slots on %d-slot TaskManagers need more than on %d-slot ones", it, w, n, otm.NumSlots)
			}
		} else if !strings.HasPrefix(k, "taskmanager.memory.") && !strings.HasPrefix(k, "jobmanager.memory.") {
			t.Fatalf("iteration %d: override of a non-memory key %s", it, k)
		}
		cfg.Set(k, v)
	}
	tm, err := memory.DeriveTaskManager(cfg, nil, profile)
	if err != nil {
		t.Fatalf("iteration %d: overrides do not derive: %v\n%v\n%v", it, err, orig, rec.Overrides)
	}
	if PoolsOf(tm) != PoolsOf(rec.Proposed) {
		t.Fatalf("iteration %d: overrides derive to %+v, Proposed %+v\n%v\n%v %v\n%s\n%+v", it, PoolsOf(tm), PoolsOf(rec.Proposed), orig, rec.Overrides, rec.Removals, rec.Reason, rec.Evidence)
	}
	if tm.TotalProcess > otm.TotalProcess {
		t.Fatalf("iteration %d: derived process %d above the initial %d", it, tm.TotalProcess, otm.TotalProcess)
	}
	if flinkconf.FromMap(orig).IsConfigured(flinkconf.TMFlinkSize) && !flinkconf.FromMap(orig).IsConfigured(flinkconf.TMProcessSize) &&
		tm.TotalFlink > otm.TotalFlink {
		t.Fatalf("iteration %d: Flink memory %d above the initial %d", it, tm.TotalFlink, otm.TotalFlink)
	}
	if tm.Network < rec.Network.RequiredOnly {
		t.Fatalf("iteration %d: network %d below Flink's minimum %d", it, tm.Network, rec.Network.RequiredOnly)
	}
	if rec.Observed.Span >= o.MinObservation && float64(tm.JVMMetaspace) < metaPeak && !strings.Contains(rec.Reason, "exceed") {
		// Metaspace only gives way below its peak when the limit forces it.
		capped := false
		for _, e := range rec.Evidence {
			capped = capped || strings.Contains(e.Text, "capped by the initial limit")
		}
		if !capped {
			t.Fatalf("iteration %d: metaspace %d below the observed peak %.0f", it, tm.JVMMetaspace, metaPeak)
		}
	}
	if jr := rec.JobManager; jr != nil && jr.Proposed != nil {
		if jr.Proposed.TotalProcess > jr.Original.TotalProcess {
			t.Fatalf("iteration %d: JobManager %d above its initial %d", it, jr.Proposed.TotalProcess, jr.Original.TotalProcess)
		}
		if jm, err := memory.DeriveJobManager(cfg, nil, profile); err != nil {
			t.Fatalf("iteration %d: JobManager overrides do not derive: %v", it, err)
		} else if jr.Changed && jm.TotalProcess != jr.Proposed.TotalProcess {
			t.Fatalf("iteration %d: JobManager derives to %d, proposed %d", it, jm.TotalProcess, jr.Proposed.TotalProcess)
		}
	}
}
