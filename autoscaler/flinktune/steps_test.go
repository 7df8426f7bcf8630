package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// The vertices halfway down after a drain-sized scale-up are shed as its surplus (after
// scale-down.interval, freeing any slots) only while the demand is still at the level that
// scale-up was sized for; once the demand has fallen, the scale-down is a bet on the lower
// level and waits, and frees slots, as any other (gen-12: a step down 45 minutes after the
// start backlog's scale-up was shed after 20 minutes and reversed by the next step up).
func TestDrainSurplusOnlyAtItsLevel(t *testing.T) {
	o := DefaultOptions()
	now := t0.Add(3 * time.Hour)
	order := []vertexInfo{{ID: "src", P: 2, Source: true}, {ID: "map", P: 18, Inputs: []string{"src"}}}
	for _, tc := range []struct {
		name          string
		sized         bool
		sizedFor, now float64 // the demand the scale-up was sized for, the demand now
		lowFor        time.Duration
		backAtLevel   bool // the demand fell back to a level it held before a spike
		waitAtLevel   bool // the wait began at such a spike's end (the spike since out of the window)
		take          bool
	}{
		{"demand at the drain's level", true, 70000, 69000, 21 * time.Minute, false, false, true},
		{"demand risen since", true, 70000, 80000, 21 * time.Minute, false, false, true},
		{"demand fell to half", true, 70000, 35000, 21 * time.Minute, false, false, false},
		{"demand fell to half, low for settle", true, 70000, 35000, 40 * time.Minute, false, false, false},
		{"demand fell 5%: noise, still the drain's surplus", true, 70000, 66500, 21 * time.Minute, false, false, true},
		{"sized before the demand was recorded", true, 0, 35000, 21 * time.Minute, false, false, true},
		{"demand back at its level before a spike", true, 70000, 35000, 21 * time.Minute, true, false, true},
		{"wait began at a spike's end", true, 70000, 35000, 36 * time.Minute, false, true, true},
		{"not drain-sized", false, 70000, 69000, 21 * time.Minute, false, false, false},
	} {
		p := New(o)
		p.st.Downtimes = []float64{60}
		p.st.CatchUpSized, p.st.CatchUpDemand = tc.sized, tc.sizedFor
		p.st.LowSince, p.st.LowAtLevel = now.Add(-tc.lowFor), tc.waitAtLevel
		p.st.LastChange, p.st.LastDir = now.Add(-2*time.Hour), 1
		e := &evaluation{order: order, ingest: tc.now, demand: map[string]float64{"src": tc.now},
			forecast: map[string]float64{"src": tc.now}}
		if tc.backAtLevel {
			e.lowFrom = now.Add(-tc.lowFor)
		}
		// Only the map is halfway down: nothing is below utilization.min (sizing.must).
		sz := sizing{down: map[string]int{"src": 2, "map": 10}, must: map[string]int{"src": 2, "map": 18}, short: map[string]bool{}}
		target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: now}, e, sz)
		if took := target != nil; took != tc.take {
			t.Errorf("%s: took %v (%q), want %v", tc.name, took, why, tc.take)
		}
	}
}
