package cli

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// TestScenarioCapture runs `scenario capture` against the simulator served on loopback in
// real time (60× speed, so a 1 s window is a simulated minute) and loads the twin it writes.
func TestScenarioCapture(t *testing.T) {
	sc, err := scenario.Parse([]byte(`
name: cap
duration: 2h
flinkVersion: "1.20"
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2}
  taskManagers: {initial: 2}
jobs:
  - name: pipeline
    vertices:
      - {id: src, name: "Source: in", parallelism: 1, capacity: 4000}
      - {id: work, name: work, parallelism: 2, capacity: 250, selectivity: 0.5, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0, rate: 300, noise: 0}
`), "cap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := simrest.New(s, simrest.Options{})
	srv.Advance(2 * 60e9)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.RunRealtime(ctx, 60)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	out := filepath.Join(t.TempDir(), "twin.yaml")
	_, stderr, code := simCLI(t, "scenario", "capture", "--flink", hs.URL, "--window", "2s", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	twin, err := scenario.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	w := twin.Jobs[0].Vertex("work")
	if w == nil || w.Parallelism != 2 || w.Inputs[0].Ship != scenario.ShipHash {
		t.Fatalf("twin's work vertex %+v", w)
	}
	if w.Capacity < 225 || w.Capacity > 275 || w.Selectivity < 0.45 || w.Selectivity > 0.55 {
		t.Errorf("work capacity %.1f selectivity %.3f, want 250 and 0.5 within 10%%", w.Capacity, w.Selectivity)
	}
	if !strings.Contains(stderr, "CAPACITY/SUBTASK") || !strings.Contains(stderr, "twin: "+out) {
		t.Errorf("stderr lacks the measured table or the file: %s", stderr)
	}
	if _, stderr, code := simCLI(t, "scenario", "capture"); code == 0 || !strings.Contains(stderr, "--flink is required") {
		t.Errorf("without --flink: exit %d, %s", code, stderr)
	}
}
