package capture_test

import (
	"context"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenario/capture"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// A job with every feature capture reads: a rate-driven source with a backlog growing at a
// known rate, a selective stage, a keyed stage with state in its own slot sharing group, and
// a sink.
const pipelineYAML = `
name: capture-me
seed: 3
duration: 1h
flinkVersion: "1.20"
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 4
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 2}
jobs:
  - name: pipeline
    config: {execution.checkpointing.interval: 10s, pipeline.max-parallelism: 96}
    vertices:
      - {id: src, name: "Source: orders", parallelism: 1, capacity: 5000}
      - {id: parse, name: "parse", parallelism: 2, capacity: 300, selectivity: 2, recordBytes: 900, inputs: [{from: src, ship: REBALANCE}]}
      - {id: agg, name: "agg by key", parallelism: 2, capacity: 1000, selectivity: 0.5, slotSharingGroup: heavy,
         state: {bytes: 8m}, inputs: [{from: parse, ship: HASH}]}
      - {id: sink, name: "Sink: out", parallelism: 1, capacity: 2000, inputs: [{from: agg, ship: REBALANCE}]}
    load:
      - {source: src, at: 0, rate: 200, noise: 0}
`

// TestCaptureSimulatedJob captures a simulated job over loopback HTTP and compares the twin
// with the scenario the job runs: the graph exactly, and the measured service times,
// selectivities, state and load within a few percent.
func TestCaptureSimulatedJob(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		// wantLoad and wantBusy per scenario vertex id.
		rate float64
	}{
		{"steady", pipelineYAML, 200},
		// Overloaded: parse saturates (2 × 300 = 600/s < 800/s): the source's rate is 600/s and
		// the lag grows by 200/s; capture must still see a load of 800/s.
		{"overloaded", replace(pipelineYAML, "rate: 200,", "rate: 800,"), 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(tc.yaml), "capture-me.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s, err := sim.New(sc, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv := simrest.New(s, simrest.Options{})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			// Off the MetricFetcher's 10 s grid: a capture that took the REST answers as fresh
			// would be off by the staleness.
			srv.Advance(3*time.Minute + 3700*time.Millisecond)
			c, err := flinkrest.New(hs.URL)
			if err != nil {
				t.Fatal(err)
			}
			tw, err := capture.Capture(context.Background(), c, sim.JobID(sc.Name, "pipeline"), capture.Options{
				Window: 45 * time.Second,
				Sleep:  func(_ context.Context, d time.Duration) error { srv.Advance(d); return nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("twin:\n%s", tw.YAML)
			twin, err := scenario.Parse(tw.YAML, "twin.yaml")
			if err != nil {
				t.Fatalf("the twin does not load: %v\n%s", err, tw.YAML)
			}
			checkTwin(t, sc, twin, tc.rate)
		})
	}
}

func checkTwin(t *testing.T, sc, twin *scenario.Scenario, rate float64) {
	t.Helper()
	orig, got := sc.Jobs[0], twin.Jobs[0]
	if len(got.Vertices) != len(orig.Vertices) {
		t.Fatalf("twin has %d vertices, want %d", len(got.Vertices), len(orig.Vertices))
	}
	// The twin's ids are slugs of Flink's names; map them back by name.
	byName := map[string]*scenario.Vertex{}
	for i := range got.Vertices {
		byName[got.Vertices[i].Name] = &got.Vertices[i]
	}
	idOf := map[string]string{}
	for _, v := range orig.Vertices {
		if g := byName[v.Name]; g != nil {
			idOf[v.ID] = g.ID
		}
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*math.Abs(want) {
			t.Errorf("%s = %.4g, want %.4g ± %.0f%%", what, got, want, 100*tol)
		}
	}
	for _, v := range orig.Vertices {
		g := byName[v.Name]
		if g == nil {
			t.Errorf("vertex %q missing from the twin", v.Name)
			continue
		}
		if g.Parallelism != v.Parallelism || g.MaxParallelism != v.MaxParallelism {
			t.Errorf("%s: parallelism %d/%d, want %d/%d", v.ID, g.Parallelism, g.MaxParallelism, v.Parallelism, v.MaxParallelism)
		}
		if len(g.Inputs) != len(v.Inputs) {
			t.Errorf("%s: inputs %v, want %v", v.ID, g.Inputs, v.Inputs)
		} else {
			for i, in := range v.Inputs {
				if g.Inputs[i].From != idOf[in.From] || g.Inputs[i].Ship != in.Ship {
					t.Errorf("%s: input %v, want %s %s", v.ID, g.Inputs[i], idOf[in.From], in.Ship)
				}
			}
		}
		// The source's capacity is not exercised at 4% busy within 1 ms resolution; the others are.
		if !v.IsSource() {
			near(v.ID+" capacity", g.Capacity, v.Capacity, 0.08)
			if v.ID != "sink" {
				near(v.ID+" selectivity", g.Selectivity, v.Selectivity, 0.03)
			}
		}
		if (g.SlotSharingGroup == "default") != (v.SlotSharingGroup == "default") {
			t.Errorf("%s: slot sharing group %q, want it %s the source's", v.ID, g.SlotSharingGroup,
				map[bool]string{true: "in", false: "apart from"}[v.SlotSharingGroup == "default"])
		}
		// Record sizes from numBytesOut per numRecordsOut; a sink sends nothing on the network
		// (the simulator counts its output at the format's default all the same).
		if v.ID != "sink" && g.OutRecordBytes() != v.OutRecordBytes() {
			t.Errorf("%s: record bytes %d (set %d), want %d", v.ID, g.OutRecordBytes(), g.RecordBytes, v.OutRecordBytes())
		}
		want := v.StateBytes(v.Parallelism)
		near(v.ID+" state", float64(g.StateBytes(g.Parallelism)), float64(want), 0.01)
	}
	if len(got.Load) != 1 {
		t.Fatalf("twin load %+v, want one segment", got.Load)
	}
	near("load", got.Load[0].Rate, rate, 0.05)
	if twin.Cluster.TaskManagers.Initial != sc.Cluster.TaskManagers.Initial {
		t.Errorf("twin starts %d TaskManagers, want %d", twin.Cluster.TaskManagers.Initial, sc.Cluster.TaskManagers.Initial)
	}
	if twin.FlinkVersion != sc.FlinkVersion {
		t.Errorf("twin claims Flink %s, want %s", twin.FlinkVersion, sc.FlinkVersion)
	}
}

func replace(s, old, new string) string {
	out := ""
	for {
		i := indexOf(s, old)
		if i < 0 {
			return out + s
		}
		out += s[:i] + new
		s = s[i+len(old):]
	}
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
