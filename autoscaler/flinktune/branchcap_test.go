package flinktune

import (
	"math"
	"strings"
	"testing"
	"time"
)

// gen-98's shape: a source feeds a keyed vertex (2 subtasks) whose output reaches a flatmap
// (2 subtasks) over RESCALE, a pointwise input. The flatmap runs at 98% with 97 s of lag
// (above flinktune.lag.max) that drains at 170 records/s. Raising both to 3 is a third more
// capacity; counting the flatmap at 3 behind its input still at 2 (one input subtask then
// feeds two of them alone) found less capacity than now, so the rescale gained nothing, and
// the lag waited 21 minutes above the objective.
func TestBranchCapacityPlansPointwiseInputs(t *testing.T) {
	src := vertexInfo{ID: "src", P: 1, Source: true}
	keyed := vertexInfo{ID: "keyed", P: 2, Inputs: []string{"src"}}
	flat := vertexInfo{ID: "flat", P: 2, Inputs: []string{"keyed"}, Pointwise: []string{"keyed"}}
	const ingest = 9985.0
	e := &evaluation{
		order: []vertexInfo{src, keyed, flat},
		models: map[string]*vertexModel{
			"src":   {info: src, perSubtask: 29900, known: true, hot: 1},
			"keyed": {info: keyed, perSubtask: 6664, known: true, hot: 1},
			"flat":  {info: flat, perSubtask: 4250, known: true, hot: 1, upCur: map[string]int{"keyed": 2}},
		},
		demand:   map[string]float64{"src": ingest, "keyed": ingest, "flat": 8358},
		forecast: map[string]float64{"src": ingest, "keyed": ingest, "flat": 8358},
		peak:     map[string]float64{"src": ingest, "keyed": ingest, "flat": 8358},
		catchUp:  map[string]float64{"src": 1626, "keyed": 1626, "flat": 1361},
		feeds: map[string]map[string]bool{"src": {"src": true}, "keyed": {"src": true},
			"flat": {"src": true}},
		lagSecOf: map[string]float64{"src": 97.7},
		lagSec:   97.7,
		lagKnown: true,
		ingest:   ingest,
		horizon:  45 * time.Minute,
	}
	now := srcCapacity(e, nil)
	for _, tc := range []struct {
		name   string
		target map[string]int
		min    float64 // source records/s the target sustains at least
	}{
		{"both to 3", map[string]int{"keyed": 3, "flat": 3}, 1.4 * now},
		{"both to 4", map[string]int{"keyed": 4, "flat": 4}, 1.9 * now},
		{"only the input changes", map[string]int{"keyed": 4}, 0.99 * now},
	} {
		if got := srcCapacity(e, tc.target); got < tc.min || math.IsNaN(got) {
			t.Errorf("%s: %.0f/s, want at least %.0f/s (now %.0f/s)", tc.name, got, tc.min, now)
		}
	}
	p := New(DefaultOptions())
	p.st.Downtimes = []float64{60}
	p.st.LagKnown = map[string]bool{"src": true}
	sz := p.size(e, now)
	if why := p.upReason(e, sz, now); !strings.Contains(why, "with a rescale") {
		t.Errorf("97.7 s of lag draining at %.0f/s: reason %q, want the scale-up that drains it sooner", now-ingest, why)
	}
}
