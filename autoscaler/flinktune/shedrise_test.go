package flinktune

import (
	"testing"
	"time"
)

// gen-171's shape: a source over-provisioned from the start (8 subtasks for 5k/s), the demand
// stepping to 20k/s at 10 min and to 60k/s at 40 min. The scale-up answering the first step
// raises the map; shedding the source to 3 in it was reversed by the second step within settle
// (3 -> 8, an oscillation and a source restart the kept subtasks had spared).
func TestScaleUpKeepsSurplusOnRisenSource(t *testing.T) {
	rate := func(el time.Duration) float64 {
		switch {
		case el >= 40*time.Minute:
			return 60000
		case el >= 10*time.Minute:
			return 20000
		}
		return 5000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 8, capacity: 12000, sel: 1},
		&toyVertex{id: "map", p: 1, capacity: 8000, sel: 1, maxP: 128, hash: true})
	p := New(DefaultOptions())
	var srcP []int // the source's parallelism after each rescale
	var at []time.Duration
	for el := time.Duration(0); el < 90*time.Minute; el += time.Second {
		j.step()
		if j.now.Sub(t0)%(10*time.Second) != 0 {
			continue
		}
		dec, err := p.Cycle(j.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if dec.Parallelism != nil && j.down <= 0 && j.apply(dec.Parallelism) {
			p.Applied(j.now, dec.Parallelism)
			srcP, at = append(srcP, j.vertices[0].p), append(at, el)
		}
	}
	if len(at) == 0 || at[0] > 15*time.Minute {
		t.Fatalf("no scale-up answering the step at 10 min: rescales at %v", at)
	}
	prev := 8
	for i, n := range srcP {
		if n < prev && at[i] < 45*time.Minute {
			t.Errorf("rescale at %v lowered the source %d -> %d on a level not yet held (source after each rescale: %v at %v)",
				at[i], prev, n, srcP, at)
		}
		prev = n
	}
}

// The shed is kept only on the vertices a risen source feeds: a vertex of another, flat
// source is shed as before.
func TestKeepRisenSurplusOnlyDownstreamOfTheRise(t *testing.T) {
	now := t0.Add(60 * time.Minute)
	p := New(DefaultOptions())
	lv := func(vals ...float64) []level {
		out := make([]level, len(vals))
		for i, v := range vals {
			out[i] = level{T: now.Add(-time.Duration(len(vals)-i) * time.Minute), Sum: 6 * v, N: 6}
		}
		return out
	}
	p.st.Levels = map[string][]level{"a": lv(50, 50, 50, 100, 100), "b": lv(100, 100, 100, 100, 100)}
	e := &evaluation{
		order:    []vertexInfo{{ID: "a", P: 8, Source: true}, {ID: "b", P: 8, Source: true}, {ID: "ma", P: 6}, {ID: "mb", P: 6}, {ID: "j", P: 6}},
		demand:   map[string]float64{"a": 100, "b": 100},
		forecast: map[string]float64{"a": 100, "b": 100},
		feeds: map[string]map[string]bool{"a": {"a": true}, "b": {"b": true}, "ma": {"a": true}, "mb": {"b": true},
			"j": {"a": true, "b": true}},
	}
	sz := sizing{up: map[string]int{"a": 2, "b": 2, "ma": 3, "mb": 3, "j": 9}}
	p.keepRisenSurplus(e, &sz, now)
	want := map[string]int{"a": 8, "b": 2, "ma": 6, "mb": 3, "j": 9}
	for id, n := range want {
		if sz.up[id] != n {
			t.Errorf("%s sized %d, want %d", id, sz.up[id], n)
		}
	}
	// A forecast rise counts as one.
	e.forecast["b"] = 120
	sz = sizing{up: map[string]int{"b": 2, "mb": 3}}
	p.keepRisenSurplus(e, &sz, now)
	if sz.up["b"] != 8 || sz.up["mb"] != 6 {
		t.Errorf("forecast rise: b %d mb %d, want 8 and 6", sz.up["b"], sz.up["mb"])
	}
}
