package flinktune

import (
	"testing"
	"time"
)

// A vertex left halfway down (its peak below the midpoint of utilization.min and the target,
// above utilization.min) starts a scale-down once that has held for settle and the ordinary
// wait after it (gen-88: a join at 4 subtasks and 42% for 230 minutes); a spell the demand
// breaks, and a vertex whose shedding frees too little, do not.
func TestHalfwayVerticesStartScaleDown(t *testing.T) {
	flat := func(time.Duration) float64 { return 10000 }
	stepUp := func(el time.Duration) float64 {
		if el >= 50*time.Minute {
			return 13000 // 55% of 24 subtasks and the restart's drain: above the midpoint
		}
		return 10000
	}
	for _, tc := range []struct {
		name     string
		rate     func(time.Duration) float64
		wide     int // parallelism of a second vertex near its target (0: none)
		rescales int
	}{
		{"flat level at 45% of 24 subtasks", flat, 0, 1},
		{"step up within the spell", stepUp, 0, 0},
		{"frees one subtask of 35, no slot", flat, 30, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := []*toyVertex{{id: "src", p: 1, capacity: 25000, sel: 1},
				{id: "map", p: 24, capacity: 1000, sel: 1, maxP: 128, hash: true}}
			if tc.wide > 0 {
				vs[1].p = 4
				vs[1].capacity = 5000
				vs = append(vs, &toyVertex{id: "sink", p: tc.wide, capacity: 430, sel: 1, maxP: 128, hash: true})
			}
			j := newToy(tc.rate, vs...)
			r := run(t, New(DefaultOptions()), j, 170*time.Minute)
			if testing.Verbose() {
				t.Logf("rescales %v dirs %v final %v", r.rescales, r.dirs, r.final)
			}
			if len(r.rescales) != tc.rescales {
				t.Fatalf("rescales %v dirs %v final %v, want %d", r.rescales, r.dirs, r.final, tc.rescales)
			}
			if tc.rescales == 0 {
				return
			}
			o := DefaultOptions()
			if r.dirs[0] != -1 || r.rescales[0] < 2*o.Settle || r.final["map"] >= 24 || r.final["map"] < 13 {
				t.Errorf("rescale at %v dir %v final %v: want one scale-down after settle twice, to 13..23 subtasks",
					r.rescales[0], r.dirs[0], r.final)
			}
		})
	}
}
