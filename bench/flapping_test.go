package bench

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

func step(src string, at time.Duration, rate, noise float64) scenario.LoadSegment {
	return scenario.LoadSegment{Source: src, At: at, Rate: rate, Noise: noise}
}

// flapJob: sources a and c; b reads a, d joins b and c.
func flapJob(load ...scenario.LoadSegment) *scenario.Job {
	return &scenario.Job{
		Vertices: []scenario.Vertex{
			{ID: "a"},
			{ID: "b", Inputs: []scenario.Input{{From: "a"}}},
			{ID: "c"},
			{ID: "d", Inputs: []scenario.Input{{From: "b"}, {From: "c"}}},
		},
		Load: load,
	}
}

func TestFlapping(t *testing.T) {
	m := time.Minute
	settle := 30 * m
	// change(at, a.old, a.new, b.old, b.new, ...) as in TestOscillations.
	tests := []struct {
		name              string
		load              []scenario.LoadSegment
		changes           []sim.ParallelismChange
		oscillations, got int
	}{
		// gen-12's shape: the demand halves, b goes down after 20 min, then a step to a level
		// above any of the settle before the scale-down brings b back up.
		{"down, then up to a new load",
			[]scenario.LoadSegment{step("a", 0, 71400, 0), step("a", 47*m, 34700, 0.05), step("a", 84*m, 93600, 0)},
			[]sim.ParallelismChange{change(69*m, 0, 0, 10, 6), change(86*m, 0, 0, 6, 10)}, 1, 0},
		// The same scale-down, but the demand only returns to the level it left 22 minutes
		// before the scale-down: the policy scaled down in a dip.
		{"down in a dip, up when the demand returns",
			[]scenario.LoadSegment{step("a", 0, 71400, 0), step("a", 47*m, 34700, 0.05), step("a", 84*m, 71400, 0)},
			[]sim.ParallelismChange{change(69*m, 0, 0, 10, 6), change(86*m, 0, 0, 6, 10)}, 1, 1},
		// An answer to a spike taken back when the spike ends, within settle: the demand is
		// back at the level of the settle before the scale-up.
		{"up on a spike, down when it ends",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.04), {Source: "a", At: 60 * m, Rate: 40000, Shape: scenario.ShapeSpike, SpikeFor: 15 * m, SpikeFactor: 2.5}},
			[]sim.ParallelismChange{change(61*m, 0, 0, 4, 10), change(80*m, 0, 0, 10, 4)}, 1, 1},
		// Up on the spike, down only once the demand fell below any level before the spike.
		{"up on a spike, down when the demand falls below its old level",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.04), {Source: "a", At: 60 * m, Rate: 40000, Shape: scenario.ShapeSpike, SpikeFor: 15 * m, SpikeFactor: 2.5}, step("a", 76*m, 20000, 0.04)},
			[]sim.ParallelismChange{change(61*m, 0, 0, 4, 10), change(80*m, 0, 0, 10, 3)}, 1, 0},
		{"flat demand: up then down",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.05)},
			[]sim.ParallelismChange{change(10*m, 0, 0, 4, 5), change(20*m, 0, 0, 5, 4)}, 1, 1},
		// A 20% rise is a load change at 5% noise (band 15%), not at 8% (band 24%).
		{"rise beyond the noise",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.05), step("a", 30*m, 48000, 0.05)},
			[]sim.ParallelismChange{change(20*m, 0, 0, 5, 4), change(35*m, 0, 0, 4, 5)}, 1, 0},
		{"rise within the noise",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.08), step("a", 30*m, 48000, 0.08)},
			[]sim.ParallelismChange{change(20*m, 0, 0, 5, 4), change(35*m, 0, 0, 4, 5)}, 1, 1},
		// The reversal is judged on the sources feeding the vertex: c rises, b reads only a.
		{"another source's load change",
			[]scenario.LoadSegment{step("a", 0, 40000, 0), step("c", 0, 1000, 0), step("c", 30*m, 5000, 0)},
			[]sim.ParallelismChange{change(20*m, 0, 0, 5, 4), change(35*m, 0, 0, 4, 5)}, 1, 1},
		{"a reversal older than settle is no oscillation",
			[]scenario.LoadSegment{step("a", 0, 40000, 0.05)},
			[]sim.ParallelismChange{change(10*m, 0, 0, 4, 5), change(41*m, 0, 0, 5, 4)}, 0, 0},
	}
	for _, tc := range tests {
		d := newJobDemand(flapJob(tc.load...), t0)
		if got := oscillations(tc.changes, settle); got != tc.oscillations {
			t.Errorf("%s: %d oscillations, want %d", tc.name, got, tc.oscillations)
		}
		if got := flapping(tc.changes, settle, d); got != tc.got {
			t.Errorf("%s: %d flapping, want %d", tc.name, got, tc.got)
		}
	}
}

// A join's vertex reads both sources: a load change on either explains its reversal.
func TestFlappingJoinFeeds(t *testing.T) {
	d := newJobDemand(flapJob(step("a", 0, 40000, 0), step("c", 0, 1000, 0), step("c", 30*time.Minute, 5000, 0)), t0)
	if got, want := d.feeds["d"], []string{"a", "c"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("feeds of d = %v, want %v", got, want)
	}
	if !d.explains("d", t0.Add(20*time.Minute), t0.Add(35*time.Minute), 30*time.Minute, 1) {
		t.Error("c's 5× step must explain d's scale-up")
	}
	if d.explains("b", t0.Add(20*time.Minute), t0.Add(35*time.Minute), 30*time.Minute, 1) {
		t.Error("c's step must not explain b's scale-up (b reads a only)")
	}
}
