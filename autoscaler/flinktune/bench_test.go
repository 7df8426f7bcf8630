package flinktune

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// chainSnapshots builds snapshots of a 100-vertex job (a source and a chain of HASH-connected
// vertices) over a full window, as the collector delivers them every 10 s.
func chainSnapshots(n, samples int) []*autoscaler.Snapshot {
	var out []*autoscaler.Snapshot
	for s := 0; s < samples; s++ {
		t := t0.Add(time.Duration(s) * 10 * time.Second)
		snap := &autoscaler.Snapshot{Time: t, JobID: "job", Status: "RUNNING", RunningSince: t0.Add(-time.Hour)}
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("%032x", i)
			in := float64(s) * 10 * 10000
			v := autoscaler.Vertex{ID: id, Name: "v" + id[:4], Parallelism: 4, MaxParallelism: 128,
				ReadRecords: int64(in), WriteRecords: int64(in), AccumulatedBusyTime: float64(s) * 10 * 1000 * 4 * 0.6,
				Metrics: map[string]autoscaler.Aggregate{"busyTimeMsPerSecond": {Min: 550, Max: 650, Avg: 600}}}
			if i == 0 {
				v.ReadRecords = 0
				v.Metrics["Source__src.numRecordsIn"] = autoscaler.Aggregate{Sum: in}
				v.Metrics["Source__src.pendingRecords"] = autoscaler.Aggregate{Sum: 0}
			} else {
				v.Inputs = []autoscaler.Edge{{From: fmt.Sprintf("%032x", i-1), Ship: autoscaler.ShipHash}}
			}
			snap.Vertices = append(snap.Vertices, v)
		}
		out = append(out, snap)
	}
	return out
}

// BenchmarkDecision100Vertices measures one full cycle (sample, evaluate, decide) of a job
// with 100 vertices and a full 5-minute window. Target: under 5 ms.
func BenchmarkDecision100Vertices(b *testing.B) {
	snaps := chainSnapshots(100, 32)
	p := New(DefaultOptions())
	for _, s := range snaps[:31] {
		if _, err := p.Cycle(s); err != nil {
			b.Fatal(err)
		}
	}
	state, _ := p.MarshalState()
	last := snaps[31]
	policies := make([]*Policy, b.N)
	for i := range policies {
		policies[i] = New(DefaultOptions())
		if err := policies[i].RestoreState(state); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := policies[i].Cycle(last)
		if err != nil || !d.Ready {
			b.Fatalf("not ready: %v %s", err, d.Reason)
		}
	}
}
