package bench

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func change(at time.Duration, oldNew ...int) sim.ParallelismChange {
	c := sim.ParallelismChange{Time: t0.Add(at), Cause: "requirements", Vertices: map[string]sim.VertexChange{}}
	for i := 0; i+1 < len(oldNew); i += 2 {
		c.Vertices[string(rune('a'+i/2))] = sim.VertexChange{Old: oldNew[i], New: oldNew[i+1]}
	}
	return c
}

func TestOscillations(t *testing.T) {
	settle := 30 * time.Minute
	// change(at, a.old, a.new, b.old, b.new, ...): vertices a, b, ...
	tests := []struct {
		name             string
		changes          []sim.ParallelismChange
		perVertex, total int
	}{
		{"none", nil, 0, 0},
		{"up then up", []sim.ParallelismChange{change(0, 1, 2), change(10*time.Minute, 2, 4)}, 0, 0},
		{"up then down soon", []sim.ParallelismChange{change(0, 1, 2), change(10*time.Minute, 2, 1)}, 1, 1},
		{"up then down late", []sim.ParallelismChange{change(0, 1, 2), change(40*time.Minute, 2, 1)}, 0, 0},
		{"zig zag", []sim.ParallelismChange{change(0, 1, 2), change(5*time.Minute, 2, 1), change(10*time.Minute, 1, 3)}, 2, 2},
		// a up 1→3 and b down 4→3 (total +1), then a down 3→2: a reverses its own change.
		{"mixed change, vertex reverses", []sim.ParallelismChange{change(0, 1, 3, 4, 3), change(5*time.Minute, 3, 2)}, 1, 1},
		{"neutral change is skipped by the total", []sim.ParallelismChange{change(0, 1, 2), change(time.Minute, 2, 3, 3, 2), change(2*time.Minute, 2, 1)}, 1, 1},
		// gen-44's shape: a down, then b up. The total reverses, no vertex does.
		{"one vertex down, another up", []sim.ParallelismChange{change(0, 4, 2, 2, 2), change(10*time.Minute, 2, 2, 2, 4)}, 0, 1},
		// b's own previous change (at 0) is older than settle when it reverses at 40 min,
		// although a changed in between.
		{"vertex reversal measured from its own change", []sim.ParallelismChange{change(0, 2, 2, 4, 2), change(20*time.Minute, 2, 3, 2, 2), change(40*time.Minute, 3, 3, 2, 4)}, 0, 1},
		// b goes down at 0, a goes up at 20, b goes back up at 25: b reverses within settle.
		{"vertex reverses across another's change", []sim.ParallelismChange{change(0, 2, 2, 4, 2), change(20*time.Minute, 2, 3, 2, 2), change(25*time.Minute, 3, 3, 2, 4)}, 1, 1},
	}
	for _, tc := range tests {
		if got := oscillations(tc.changes, settle); got != tc.perVertex {
			t.Errorf("%s: %d per-vertex oscillations, want %d", tc.name, got, tc.perVertex)
		}
		if got := jobLevelOscillations(tc.changes, settle); got != tc.total {
			t.Errorf("%s: %d job-level oscillations, want %d", tc.name, got, tc.total)
		}
	}
}

func TestConvergence(t *testing.T) {
	series := func(lag func(sec int) float32) []sim.TickSample {
		var s []sim.TickSample
		for i := 0; i < 7200; i++ {
			s = append(s, sim.TickSample{T: float32(i), LagSeconds: lag(i), Running: true})
		}
		return s
	}
	// Load changes at 10 min and 60 min; two rescales after the first, lag back under 60 s at 30 min.
	lag := func(sec int) float32 {
		if sec >= 600 && sec < 1800 {
			return 200
		}
		return 0
	}
	changes := []sim.ParallelismChange{change(12*time.Minute, 1, 2), change(20*time.Minute, 2, 4)}
	got := convergence(t0, []time.Time{t0.Add(10 * time.Minute), t0.Add(60 * time.Minute)}, t0.Add(2*time.Hour),
		changes, series(lag), time.Minute)
	want := []Convergence{{At: 600, Steps: 2, Seconds: 1200, Settled: true}, {At: 3600, Steps: 0, Seconds: 0, Settled: true}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("convergence = %+v, want %+v", got, want)
	}
	// Lag never recovers: unsettled.
	got = convergence(t0, []time.Time{t0}, t0.Add(2*time.Hour), nil, series(func(int) float32 { return 500 }), time.Minute)
	if got[0].Settled || got[0].Seconds != -1 {
		t.Errorf("unsettled: %+v", got[0])
	}
}

const stepScenario = `
name: step
seed: 5
duration: 90m
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 1, min: 1, max: 10, startupDelay: 10s}
jobs:
  - name: etl
    config: {pipeline.max-parallelism: 120, execution.checkpointing.interval: 30s}
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 30000, partitions: 12}
      - {id: map, name: "Map: parse", parallelism: 1, capacity: 8000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 5000}
      - {source: src, at: 20m, rate: 20000}
`

func TestRunDeterministicAndConserving(t *testing.T) {
	sc, err := scenario.Parse([]byte(stepScenario), "step.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < 2; i++ {
		results, err := RunAll(context.Background(), sc, []string{"operator", "flinktune"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.InputRecords != r.ProcessedRecords+r.FinalLagRecords {
				t.Errorf("%s: %d in != %d processed + %d lag", r.Policy, r.InputRecords, r.ProcessedRecords, r.FinalLagRecords)
			}
			if r.SimulatedSeconds != 5400 || r.Rescales < 1 {
				t.Errorf("%s: simulated %v s, %d rescales", r.Policy, r.SimulatedSeconds, r.Rescales)
			}
			r.WallSeconds = 0
		}
		data, _ := json.Marshal(results)
		if i == 0 {
			first = string(data)
		} else if string(data) != first {
			t.Errorf("runs differ:\n%s\n%s", first, data)
		}
	}
	if !strings.Contains(first, `"policy":"flinktune"`) || !strings.Contains(first, `"convergence":[`) {
		t.Errorf("result JSON lacks fields: %s", first)
	}
}

// TestTargetsOnExampleScenarios is flinktune's acceptance benchmark: on each example scenario,
// with default options, flinktune must make at most half the operator's rescales, with no
// more lag-violation time and parallelism-seconds, no oscillation, and at most two steps per
// load change.
//
// It runs three full-length scenarios for two policies (about a minute of both cores), more
// than the fast tier's budget: `go test ./...` skips it and scripts/test.sh runs it as its own
// step (scripts/integration.d/bench-acceptance.sh), with FLINKTUNE_ACCEPTANCE=1.
func TestTargetsOnExampleScenarios(t *testing.T) {
	if testing.Short() || os.Getenv("FLINKTUNE_ACCEPTANCE") != "1" {
		t.Skip("the acceptance benchmark runs in scripts/test.sh: FLINKTUNE_ACCEPTANCE=1 go test -run TestTargetsOnExampleScenarios ./bench/")
	}
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // the scenarios are independent: they share the cores
			sc, err := scenarios.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			sims := map[string]*sim.Sim{}
			keep := func(s *sim.Sim, policy string) {
				mu.Lock()
				sims[policy] = s
				mu.Unlock()
			}
			results, err := RunAll(context.Background(), sc, []string{"operator", "flinktune"}, Options{Progress: keep})
			if err != nil {
				t.Fatal(err)
			}
			if days := lagViolationByDay(t, sims["flinktune"], sc.SLO.MaxLag); len(days) >= 2 {
				// Recurring load: from the second day on, flinktune scales ahead of the rises
				// it has seen.
				t.Logf("flinktune lag-violation seconds per day: %v", days)
				if days[1] > days[0]/2 {
					t.Errorf("day 2 lag violation %.0fs is more than half of day 1's %.0fs", days[1], days[0])
				}
			}
			lines, pass := Verdict(results[1], results[0])
			var b strings.Builder
			Table(&b, results)
			t.Logf("\n%s\n%s", b.String(), strings.Join(lines, "\n"))
			if !pass {
				t.Errorf("flinktune misses its targets on %s", name)
			}
		})
	}
}

// lagViolationByDay splits the seconds above maxLag of a finished run by simulated day
// (whole days only).
func lagViolationByDay(t *testing.T, s *sim.Sim, maxLag time.Duration) []float64 {
	t.Helper()
	ids := s.JobIDs()
	if len(ids) != 1 {
		return nil
	}
	st, _ := s.Stats(ids[0])
	days := make([]float64, int(st.SimulatedSeconds/86400))
	prev := float32(0)
	for _, x := range st.Series {
		d := int(x.T / 86400)
		if d < len(days) && float64(x.LagSeconds) > maxLag.Seconds() {
			days[d] += float64(x.T - prev)
		}
		prev = x.T
	}
	return days
}

// A right-sized job under REST errors, an outage and vanishing metrics: a policy must not
// take any decision on the bad data (no rescale at all here).
const faultyScenario = `
name: faulty
seed: 9
duration: 2h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 4, taskmanager.memory.process.size: 2g}
  taskManagers: {initial: 2, min: 2, max: 2}
jobs:
  - name: steady
    config: {pipeline.max-parallelism: 120, execution.checkpointing.interval: 30s}
    vertices:
      - {id: src, name: "Source: in", parallelism: 2, capacity: 30000, partitions: 8}
      - {id: agg, name: "Window: agg", parallelism: 4, capacity: 5000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 14000, noise: 0.03}
faults:
  - {at: 20m, for: 15m, rest: errors, rate: 0.5}
  - {at: 40m, for: 5m, rest: unavailable}
  - {at: 50m, for: 10m, metrics: missing, names: ["*.pendingRecords"]}
  - {at: 65m, for: 10m, metrics: missing, names: [busyTimeMsPerSecond]}
  - {at: 80m, for: 10m, metrics: missing, names: ["Source__*.numRecordsIn", "numRecordsInPerSecond"]}
`

func TestNoDecisionOnBadData(t *testing.T) {
	sc, err := scenario.Parse([]byte(faultyScenario), "faulty.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), sc, "flinktune", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rescales != 0 || r.Restarts != 0 {
		t.Errorf("flinktune rescaled a right-sized job under REST and metric faults: %d rescales, %d restarts", r.Rescales, r.Restarts)
	}
	if r.InputRecords != r.ProcessedRecords+r.FinalLagRecords {
		t.Errorf("conservation: %+v", r)
	}
}
