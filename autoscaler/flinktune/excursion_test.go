package flinktune

import (
	"testing"
	"time"
)

// gen-181's shape: a source at 10.7k/s, a spike to 2.68x five minutes old, a scale-down that
// lowers the downstream vertices and raises the source to drain its restart's lag at the
// spike's rate. The raise is held until the spike is over; a scale-down that raises nothing,
// a level held for most of the span, a ramp's rise and a raise of a vertex the spiking source
// does not feed are not.
func TestRaisesInExcursion(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	minutes := func(base, high float64, highFor int) []level {
		var lv []level
		for m := range 20 {
			r := base
			if m >= 20-highFor {
				r = high
			}
			lv = append(lv, level{T: t0.Add(time.Duration(m) * time.Minute), Sum: 6 * r, N: 6})
		}
		return lv
	}
	ramp := func(from, perMinute float64) []level {
		var lv []level
		for m := range 20 {
			r := from + perMinute*float64(m)
			lv = append(lv, level{T: t0.Add(time.Duration(m) * time.Minute), Sum: 6 * r, N: 6})
		}
		return lv
	}
	now := t0.Add(20 * time.Minute)
	order := []vertexInfo{{ID: "src", P: 2, Source: true}, {ID: "map", P: 2, Inputs: []string{"src"}},
		{ID: "src2", P: 2, Source: true}, {ID: "sink", P: 2, Inputs: []string{"src2"}}}
	feeds := map[string]map[string]bool{"src": {"src": true}, "map": {"src": true}, "src2": {"src2": true}, "sink": {"src2": true}}
	tests := []struct {
		name   string
		levels []level
		demand float64
		t      map[string]int
		want   string
	}{
		{"spike, the source raised", minutes(10700, 28676, 5), 28676, map[string]int{"src": 3, "map": 1}, "src"},
		{"spike, a vertex it feeds raised", minutes(10700, 28676, 5), 28676, map[string]int{"map": 3}, "src"},
		{"spike, nothing raised", minutes(10700, 28676, 5), 28676, map[string]int{"map": 1}, ""},
		{"spike, another source's vertex raised", minutes(10700, 28676, 5), 28676, map[string]int{"sink": 3}, ""},
		{"a level held for 12 of 20 minutes", minutes(10700, 28676, 12), 28676, map[string]int{"src": 3}, ""},
		{"noise, the source raised", minutes(10700, 10700, 0), 11500, map[string]int{"src": 3}, ""},
		// gen-41's shape: a ramp's rise is as far above the median, but climbs minute by minute.
		{"a ramp, the source raised", ramp(26000, 1500), 57000, map[string]int{"src": 3}, ""},
	}
	for _, tc := range tests {
		p := New(DefaultOptions())
		p.st.Levels = map[string][]level{"src": tc.levels, "src2": minutes(5000, 5000, 0)}
		e := &evaluation{order: order, feeds: feeds, demand: map[string]float64{"src": tc.demand, "src2": 5000}}
		if got := p.raisesInExcursion(e, tc.t, now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
