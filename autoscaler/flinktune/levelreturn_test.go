package flinktune

import (
	"testing"
	"time"
)

// After a spike, the return to the level takes every vertex the spike raised, judged on the
// level: a vertex the level runs at ~50% of its spike size is no longer kept because the lag
// its own restart leaves (here 3 minutes of downtime, 30% of the level over catch-up) lifted
// it above the midpoint of utilization.min and the target, nor because no vertex fell below
// utilization.min (gen-63: two sinks held 18 and 23 subtasks at 44% to the end of the run).
func TestSpikeReturnTakesRaisedVertices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		factor float64
	}{{"1.5x", 1.5}, {"1.6x", 1.6}} {
		t.Run(tc.name, func(t *testing.T) {
			rate := func(el time.Duration) float64 {
				if el >= 35*time.Minute && el < 60*time.Minute {
					return 10000 * tc.factor
				}
				return 10000
			}
			j := newToy(rate, &toyVertex{id: "src", p: 1, capacity: 25000, sel: 1},
				&toyVertex{id: "map", p: 13, capacity: 1000, sel: 1, maxP: 128, hash: true})
			j.restart = 3 * time.Minute
			r := run(t, New(DefaultOptions()), j, 170*time.Minute)
			if len(r.rescales) != 2 || r.dirs[0] != 1 || r.dirs[1] != -1 {
				t.Fatalf("want a scale-up for the spike and its return, got %v dirs %v final %v", r.rescales, r.dirs, r.final)
			}
			if testing.Verbose() {
				t.Logf("rescales %v final %v", r.rescales, r.final)
			}
			// 10000/s needs 13 subtasks at the target utilization, 16 draining the restart's
			// 3 minutes of input at catch-up utilization besides (with the prior's loss per doubling).
			if r.final["map"] > 16 {
				t.Errorf("final %v: the spike's subtasks are still held (13 carried the level before it)", r.final)
			}
		})
	}
}
