package flinktune

import (
	"testing"
	"time"
)

// A low level of 45 minutes: the demand counts as low once the window's peak has left the
// waited-for span (about 19 minutes after the step down), so the scale-down came at 69 minutes,
// and the step back up at 75 reversed it (gen-44, 62, 161's shape). A flat level now waits
// settle, which this one does not last; the job is never restarted.
func TestFlatLevelWaitsForSettle(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el >= 30*time.Minute && el < 75*time.Minute {
			return 3000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 5, capacity: 5000, sel: 1, maxP: 128})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 0 {
		t.Errorf("a 45-minute low level must not cause a scale-down (settle 35 min): rescales at %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
}

func TestDownWait(t *testing.T) {
	o := DefaultOptions()
	p := New(o)
	long := max(o.ScaleDownInterval, o.Settle)
	// ingest 10000/s; over settle (2100 s) a slope of -1/s sheds 21%, -0.2/s 4%.
	tests := []struct {
		name    string
		ingest  float64
		slope   float64
		surplus bool
		want    time.Duration
	}{
		{"flat level waits settle", 10000, 0, false, long},
		{"rising demand waits settle", 10000, 2, false, long},
		{"slight fall is a level", 10000, -0.2, false, long},
		{"falling demand (an evening) waits the interval", 10000, -1, false, o.ScaleDownInterval},
		{"catch-up surplus waits the interval", 10000, 0, true, o.ScaleDownInterval},
		{"no demand is no trend", 0, -1, false, long},
	}
	for _, tc := range tests {
		e := &evaluation{ingest: tc.ingest, slope: tc.slope}
		if got := p.downWait(e, tc.surplus); got != tc.want {
			t.Errorf("%s: waits %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A scale-down is held when what it raises takes more slots than the job holds: gen-2008's
// keyed vertex raised 4 -> 7 beside idle vertices lowered 4 -> 1 on a 4-slot TaskManager.
// Raises within a group's slots, or in one group while another frees as many, are not held.
func TestAddsSlots(t *testing.T) {
	one := []vertexInfo{{ID: "src", P: 4}, {ID: "keyed", P: 4}, {ID: "sink", P: 4}}
	two := []vertexInfo{{ID: "src", P: 4, SlotSharing: "a"}, {ID: "keyed", P: 2, SlotSharing: "b"},
		{ID: "sink", P: 4, SlotSharing: "b"}}
	tests := []struct {
		name  string
		order []vertexInfo
		t     map[string]int
		held  bool
	}{
		{"gen-2008: a raise beyond the group's slots", one, map[string]int{"src": 1, "keyed": 7, "sink": 1}, true},
		{"a raise up to the group's slots", one, map[string]int{"src": 1, "keyed": 4, "sink": 1}, false},
		{"only lowered", one, map[string]int{"src": 1, "sink": 2}, false},
		{"a raise within its group's largest", two, map[string]int{"src": 1, "keyed": 4}, false},
		{"a raise beyond its group's slots, the other group frees as many", two, map[string]int{"keyed": 5, "src": 3}, false},
		{"a raise beyond, the other group frees less", two, map[string]int{"keyed": 6, "src": 3}, true},
	}
	for _, tc := range tests {
		e := &evaluation{order: tc.order}
		if why := addsSlots(e, tc.t); (why != "") != tc.held {
			t.Errorf("%s: %q, want held %v", tc.name, why, tc.held)
		}
	}
}
