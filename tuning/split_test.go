package tuning

import (
	"math"
	"testing"
	"time"
)

// simLive is the busiest TaskManager's live heap as the simulator models it (sim/memmodel.go):
// perSub per hosted subtask plus the keyed vertex's state over its subtasks, for the
// src -hash-> agg -> sink job of newJob on slots slots per TaskManager.
func simLive(layout map[string]int, slots int, perSub, state float64) float64 {
	live := 0.0
	for _, p := range layout {
		live += float64(min(p, slots)) * perSub
	}
	return live + state*float64(min(layout["agg"], slots))/float64(layout["agg"])
}

func TestLayoutShape(t *testing.T) {
	keyed := map[string]bool{"agg": true, "join": true}
	for _, c := range []struct {
		layout   map[string]int
		n        int
		sub, shr float64
		ok       bool
	}{
		{map[string]int{"src": 1, "agg": 1, "sink": 1}, 4, 3, 1, true},
		{map[string]int{"src": 1, "agg": 8, "sink": 1}, 4, 6, 0.5, true},
		{map[string]int{"src": 16, "agg": 16}, 4, 8, 0.25, true},
		{map[string]int{"src": 2, "sink": 3}, 4, 5, 0, true},
		{map[string]int{"agg": 4, "join": 8}, 4, 0, 0, false}, // state shares differ: not one K
	} {
		sub, shr, ok := layoutShape(c.layout, c.n, keyed)
		if ok != c.ok || ok && (sub != c.sub || shr != c.shr) {
			t.Errorf("layoutShape(%v, %d) = %v, %v, %v; want %v, %v, %v", c.layout, c.n, sub, shr, ok, c.sub, c.shr, c.ok)
		}
	}
}

// TestScaleOutSpreadsKeyedState: the job ran with all vertices at 1 (the keyed state on one
// subtask) and now runs the keyed vertex at 8 on 4-slot TaskManagers. A scale-out to 4/16/4
// puts 4 subtasks of each vertex on the busiest TaskManager, but a quarter of the state: the
// heap it needs is below today's. The layout factor (4, the source's growth) scaled the whole
// heap and asked for the cap; the split of the two layouts' live sets into a per-subtask part
// and keyed state predicts the target's live set.
func TestScaleOutSpreadsKeyedState(t *testing.T) {
	const perSub, state = 20 * mib, 1000 * mib
	j := newJob(nil, 1)
	tu := New(DefaultOptions())
	a := map[string]int{"src": 1, "agg": 1, "sink": 1}
	b := map[string]int{"src": 1, "agg": 8, "sink": 1}
	j.layout = a
	snap := j.observe(tu, t0, 120, simLive(a, 4, perSub, state), usage{managed: 0})
	j.layout = b
	snap = j.observe(tu, snap.Time.Add(time.Minute), 120, simLive(b, 4, perSub, state), usage{managed: 0})

	sp, ok := tu.splitHeap(keyedVertices(snap), 4, tu.o.Percentile)
	if !ok {
		t.Fatal("no split of two layouts with different state shares")
	}
	// Live sets are read as histogram bucket ends (up to ~10 % above the value).
	if math.Abs(sp.PerSubtask-perSub) > 0.15*perSub || math.Abs(sp.State-state) > 0.15*state || sp.Worst < 1 {
		t.Errorf("split %+v, want ≈ %v per subtask and %v of state", sp, perSub, state)
	}

	running, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{"src": 4, "agg": 16, "sink": 4}
	up, err := tu.Recommend(snap, out)
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, up, j.cfg)
	if up.Observed.LayoutFactor != 4 {
		t.Errorf("layout factor %v, want 4", up.Observed.LayoutFactor)
	}
	truth := simLive(out, 4, perSub, state)
	got := up.Proposed.JVMHeap()
	if float64(got) < truth*tu.o.LiveFactor {
		t.Errorf("heap %s below the target's live set %s × live-factor", hb(got), hb(int64(truth)))
	}
	// Extrapolation never goes below the running layout's need; here it asks for no more.
	if got > running.Proposed.JVMHeap()+running.Proposed.JVMHeap()/20 {
		t.Errorf("scale-out heap %s, running layout's %s: the spread state was counted as growing", hb(got), hb(running.Proposed.JVMHeap()))
	}
	if !saysEvidence(up, PoolHeap, "split of the live sets of 2 layouts") {
		t.Errorf("evidence %+v", up.Evidence)
	}

	// A scale-in concentrates the state: the split never lowers the factor's bound below it.
	in := map[string]int{"src": 1, "agg": 2, "sink": 1}
	down, err := tu.Recommend(snap, in)
	if err != nil {
		t.Fatal(err)
	}
	if need := simLive(in, 4, perSub, state) * tu.o.LiveFactor; float64(down.Proposed.JVMHeap()) < min(need, float64(up.Original.JVMHeap())) {
		t.Errorf("scale-in heap %s, the target needs %s", hb(down.Proposed.JVMHeap()), hb(int64(need)))
	}
}

func TestSplitRefusesWhatItCannotSeparate(t *testing.T) {
	keyed := map[string]bool{"agg": true}
	one := func(layouts ...map[string]int) (heapSplit, bool) {
		tu := New(DefaultOptions())
		j := newJob(nil, 1)
		var snap = j.snap(t0, usage{})
		at := t0
		for _, l := range layouts {
			j.layout = l
			snap = j.observe(tu, at, 120, simLive(l, 4, 20*mib, 1000*mib), usage{managed: 0})
			at = snap.Time.Add(time.Minute)
		}
		return tu.splitHeap(keyed, 4, tu.o.Percentile)
	}
	if _, ok := one(map[string]int{"src": 1, "agg": 1, "sink": 1}); ok {
		t.Error("a split from one layout")
	}
	// Subtasks and state share in the same proportion (6 subtasks with half the state, 12 with
	// all of it): K and w are not separable.
	if _, ok := one(map[string]int{"src": 1, "agg": 8, "sink": 1}, map[string]int{"src": 4, "agg": 4, "sink": 4}); ok {
		t.Error("a split from layouts in the same proportion")
	}
	// A live set the model cannot explain (the state grew between the layouts).
	tu := New(DefaultOptions())
	j := newJob(nil, 1)
	j.layout = map[string]int{"src": 1, "agg": 1, "sink": 1}
	snap := j.observe(tu, t0, 120, 300*mib, usage{managed: 0})
	j.layout = map[string]int{"src": 1, "agg": 8, "sink": 1}
	j.observe(tu, snap.Time.Add(time.Minute), 120, 900*mib, usage{managed: 0})
	if sp, ok := tu.splitHeap(keyed, 4, tu.o.Percentile); ok {
		t.Errorf("split %+v of a live set that grew as the state spread", sp)
	}
}
