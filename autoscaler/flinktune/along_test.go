package flinktune

import (
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// A start backlog behind a slow aggregation, with a parser given 20 subtasks for a demand 2
// carry: the scale-up for the backlog restarts the job anyway, so the idle parser is shed in
// it, not by a second rescale after scale-down.interval (gen-4, gen-53's shape).
func TestScaleUpShedsIdleVertices(t *testing.T) {
	j := newToy(func(time.Duration) float64 { return 8000 },
		&toyVertex{id: "src", p: 1, capacity: 40000, sel: 1},
		&toyVertex{id: "parse", p: 20, capacity: 10000, sel: 1, maxP: 128},
		&toyVertex{id: "agg", p: 2, capacity: 5000, sel: 1, maxP: 128, hash: true})
	j.lag = 8000 * 500 // 8 minutes of input behind at the start
	var first map[string]int
	p := New(DefaultOptions())
	for el := time.Duration(0); el < time.Hour && first == nil; el += time.Second {
		j.step()
		if j.now.Sub(t0)%(10*time.Second) != 0 {
			continue
		}
		dec, err := p.Cycle(j.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if dec.Parallelism != nil {
			first = dec.Parallelism
		}
	}
	if first == nil {
		t.Fatal("no rescale within an hour")
	}
	if first["agg"] <= 2 {
		t.Fatalf("first rescale %v: want the aggregation scaled up for the backlog", first)
	}
	if n, ok := first["parse"]; !ok || n > 4 {
		t.Errorf("first rescale %v: want the idle parser (20 subtasks, demand for 2) shed in it", first)
	}
}

// A scale-down after a spike returns to the layout that carried the level before it: the
// restart's backlog is drained at catchUpUtilization, as in a scale-up, not sized into the
// lasting parallelism at the target utilization (gen-118: 16 subtasks after a spike, where 12
// had carried the same level at 78% before it, held to the end of the run).
func TestSpikeScaleDownBackToItsLayout(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el >= 25*time.Minute && el < 33*time.Minute {
			return 24000
		}
		return 10000
	}
	j := newToy(rate,
		&toyVertex{id: "src", p: 1, capacity: 100000, sel: 1},
		&toyVertex{id: "map", p: 13, capacity: 1000, sel: 1, maxP: 128, hash: true})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) < 2 || r.dirs[0] != 1 || r.dirs[len(r.dirs)-1] != -1 {
		t.Fatalf("want a scale-up for the spike and a scale-down after it: rescales %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	if r.final["map"] > 13 {
		t.Errorf("final %v: want the map back at the 13 subtasks that carried 10000/s before the spike", r.final)
	}
}

// A scale-down that frees fewer subtask-seconds over settle than its restart costs the
// subtasks the job keeps (idle while down, busy replaying) is not taken.
func TestScaleDownNotWorthItsRestart(t *testing.T) {
	o := DefaultOptions()
	now := t0.Add(3 * time.Hour)
	order := []vertexInfo{{ID: "src", P: 4, Source: true}, {ID: "big", P: 200, Inputs: []string{"src"}}}
	for _, tc := range []struct {
		name string
		down map[string]int
		take bool
	}{
		{"2 of 204 subtasks", map[string]int{"src": 4, "big": 198}, false},
		{"40 of 204 subtasks", map[string]int{"src": 4, "big": 160}, true},
	} {
		p := New(o)
		p.st.Downtimes = []float64{60}
		p.st.CatchUpSized = true // the surplus of a drain-sized scale-up: any vertex halfway down sheds
		p.st.LowSince = now.Add(-time.Hour)
		p.st.LastChange, p.st.LastDir = now.Add(-2*time.Hour), 1
		e := &evaluation{order: order, demand: map[string]float64{}, forecast: map[string]float64{}}
		sz := sizing{down: tc.down, must: map[string]int{"src": 4, "big": 200}, short: map[string]bool{}}
		target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: now}, e, sz)
		if took := target != nil; took != tc.take {
			t.Errorf("%s: took %v (%q), want %v", tc.name, took, why, tc.take)
		}
		if !tc.take && !strings.Contains(why, "restart costs") {
			t.Errorf("%s: reason %q, want the restart's cost named", tc.name, why)
		}
	}
}

// The bet a scale-down weighs against its restart grows with the time the demand has been
// low: with a short settle (30 s) and a restart that costs the kept subtasks 30 s each, the
// first chance to free 3 of 6 subtasks is held, but not for as long as the demand stays low
// (real Flink 2.2.1 kept its x3 parallelism to the end of TestAutoscaleScenario).
func TestScaleDownBetGrowsWithLowSpell(t *testing.T) {
	o := DefaultOptions()
	o.Settle, o.ScaleDownInterval = 30*time.Second, 30*time.Second // as TestAutoscaleScenario sets them
	now := t0.Add(time.Hour)
	order := []vertexInfo{{ID: "src", P: 2, Source: true}, {ID: "work", P: 4, Inputs: []string{"src"}}}
	for _, tc := range []struct {
		name    string
		lowFor  time.Duration
		take    bool
		wantBet string
	}{
		{"low for settle", 30 * time.Second, false, "over 30s"},
		{"low for 40 s", 40 * time.Second, true, ""},
		{"low for 10 min", 10 * time.Minute, true, ""},
	} {
		p := New(o)
		p.st.Downtimes = []float64{30}
		p.st.LowSince = now.Add(-tc.lowFor)
		p.st.LastChange, p.st.LastDir = now.Add(-time.Hour), 1
		e := &evaluation{order: order, demand: map[string]float64{}, forecast: map[string]float64{}}
		sz := sizing{low: 1, down: map[string]int{"src": 1, "work": 2}, must: map[string]int{"src": 1, "work": 2}, short: map[string]bool{}}
		target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: now}, e, sz)
		if took := target != nil; took != tc.take {
			t.Errorf("%s: took %v (%q), want %v", tc.name, took, why, tc.take)
		}
		if !tc.take && !strings.Contains(why, tc.wantBet) {
			t.Errorf("%s: reason %q, want %q", tc.name, why, tc.wantBet)
		}
	}
}
