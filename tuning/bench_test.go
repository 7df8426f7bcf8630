package tuning

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// wideSnapshot is a 100-vertex chain of all-to-all edges at parallelism 32.
func wideSnapshot(at time.Time, heap float64) *autoscaler.Snapshot {
	s := &autoscaler.Snapshot{Time: at, JobID: "j", Status: "RUNNING", FlinkVersion: "1.20.1",
		Config: map[string]string{"taskmanager.memory.process.size": "16g", "taskmanager.numberOfTaskSlots": "8",
			"jobmanager.memory.process.size": "2g"},
		TaskManagerMetrics: map[string]autoscaler.Aggregate{MetricHeapUsed: {Max: heap}, MetricHeapMax: {Max: 6 << 30},
			MetricMetaspaceUsed: {Max: 200 << 20}, MetricManagedUsed: {Max: 0}, MetricGCTimePerSecond: {Max: 20}},
		JobManagerMetrics: map[string]float64{MetricHeapUsed: 300 << 20, MetricMetaspaceUsed: 90 << 20}}
	for i := range 100 {
		v := autoscaler.Vertex{ID: fmt.Sprintf("%032x", i), Parallelism: 32, MaxParallelism: 720, SlotSharingGroup: "default",
			Metrics: map[string]autoscaler.Aggregate{busyMetric: {Avg: 100}}}
		if i > 0 {
			v.Inputs = []autoscaler.Edge{{From: fmt.Sprintf("%032x", i-1), Ship: autoscaler.ShipHash}}
		}
		s.Vertices = append(s.Vertices, v)
	}
	return s
}

func BenchmarkObserve(b *testing.B) {
	tu := New(DefaultOptions())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tu.Observe(wideSnapshot(t0.Add(time.Duration(i)*10*time.Second), float64(2<<30+(i%7)<<26)))
	}
}

// BenchmarkRecommend: one recommendation for a 100-vertex job with a target layout (network
// plan with headroom, derivations, JobManager, slots).
func BenchmarkRecommend(b *testing.B) {
	tu := New(DefaultOptions())
	var s *autoscaler.Snapshot
	for i := range 200 {
		s = wideSnapshot(t0.Add(time.Duration(i)*10*time.Second), float64(2<<30+(i%7)<<26))
		tu.Observe(s)
	}
	target := map[string]int{}
	for _, v := range s.Vertices {
		target[v.ID] = 48
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tu.Recommend(s, target); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateRoundTrip(b *testing.B) {
	tu := New(DefaultOptions())
	for i := range 500 {
		tu.Observe(wideSnapshot(t0.Add(time.Duration(i)*10*time.Second), float64(2<<30+(i%7)<<26)))
	}
	b.ReportAllocs()
	for b.Loop() {
		data, err := tu.MarshalState()
		if err != nil {
			b.Fatal(err)
		}
		if err := New(DefaultOptions()).RestoreState(data); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzRestoreState(f *testing.F) {
	tu := New(DefaultOptions())
	j := newJob(nil, 4)
	j.observe(tu, t0, 30, 300<<20, usage{managed: 0, jmHeap: 100 << 20, jmMeta: 60 << 20})
	good, _ := tu.MarshalState()
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"heaps":[null,{"layout":{}}],"floors":null,"gc":[{"t":"2026-01-01T00:00:00Z","v":-1}]}`))
	f.Add([]byte(`{"version":1,"heaps":[{"layout":{"a":1},"peaks":{"hist":{"buckets":{"9":1}}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tu := New(DefaultOptions())
		if tu.RestoreState(data) != nil {
			return
		}
		// A restored tuner keeps working: observe and recommend without panicking.
		s := j.snap(t0.Add(time.Hour), usage{heap: 400 << 20, heapMax: 1 << 30, meta: 100 << 20})
		tu.Observe(s)
		if _, err := tu.Recommend(s, nil); err != nil && tu.st.Original == nil {
			t.Fatal(err)
		}
		if _, err := tu.MarshalState(); err != nil {
			t.Fatal(err)
		}
	})
}
