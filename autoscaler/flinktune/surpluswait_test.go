package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// The wait before a drain's surplus is shed counts the time the surplus sat idle: a cycle that
// finds nothing to shed (a spike the drained layout carries) pauses it, and the wait goes on
// from there once the demand is back, instead of starting over (gen-96: 64 subtasks kept 20
// minutes longer than settle required). A rescale in between clears the count.
func TestSurplusWaitPausesOnInterruption(t *testing.T) {
	o := DefaultOptions()
	now := t0.Add(3 * time.Hour)
	order := []vertexInfo{{ID: "src", P: 2, Source: true}, {ID: "map", P: 18, Inputs: []string{"src"}}}
	shed := sizing{down: map[string]int{"src": 2, "map": 10}, must: map[string]int{"src": 2, "map": 18}, short: map[string]bool{}}
	keep := sizing{down: map[string]int{"src": 2, "map": 18}, must: map[string]int{"src": 2, "map": 18}, short: map[string]bool{}}
	for _, tc := range []struct {
		name                     string
		idle, interrupted, since time.Duration // the wait before the interruption, the interruption, the wait since
		rescaled                 bool          // a rescale during the interruption
		take                     bool
	}{
		{"waited scale-down.interval before a spike", 21 * time.Minute, 8 * time.Minute, 0, false, true},
		{"waited half of it before a spike", 10 * time.Minute, 8 * time.Minute, 0, false, false},
		{"a noisy cycle after 15 of 20 minutes, 5 more since", 15 * time.Minute, 10 * time.Second, 5 * time.Minute, false, true},
		{"a noisy cycle after 15 of 20 minutes, 4 more since", 15 * time.Minute, 10 * time.Second, 4 * time.Minute, false, false},
		{"a rescale during the interruption", 21 * time.Minute, 8 * time.Minute, 0, true, false},
	} {
		p := New(o)
		p.st.Downtimes = []float64{60}
		p.st.CatchUpSized, p.st.CatchUpDemand = true, 70000
		p.st.LastChange, p.st.LastDir = now.Add(-2*time.Hour), 1
		e := &evaluation{order: order, ingest: 69000, demand: map[string]float64{"src": 69000},
			forecast: map[string]float64{"src": 69000}}
		resume := now.Add(-tc.since)
		start, pause := resume.Add(-tc.idle-tc.interrupted), resume.Add(-tc.interrupted)
		if target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: start}, e, shed); target != nil {
			t.Fatalf("%s: took at the wait's start (%q)", tc.name, why)
		}
		if target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: pause}, e, keep); target != nil {
			t.Fatalf("%s: took with nothing to shed (%q)", tc.name, why)
		}
		if tc.rescaled {
			p.clearSurplusWait()
		}
		if tc.since > 0 {
			if target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: resume}, e, shed); target != nil {
				t.Fatalf("%s: took when the wait resumed (%q)", tc.name, why)
			}
		}
		target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: now}, e, shed)
		if took := target != nil; took != tc.take {
			t.Errorf("%s: took %v (%q), want %v", tc.name, took, why, tc.take)
		}
		// The low spell still starts where the wait resumed (a spike's end, which atLevel reads
		// as the excursion's end): the idle time before counts in the wait only.
		if !p.st.LowSince.Equal(resume) {
			t.Errorf("%s: low since %v, want the resumption %v", tc.name, p.st.LowSince.Sub(resume), time.Duration(0))
		}
	}
}
