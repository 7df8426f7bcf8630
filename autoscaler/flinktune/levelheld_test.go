package flinktune

import (
	"testing"
	"time"
)

// gen-65's shape: the job is over-provisioned from the start, and the demand steps up within
// the low spell while the job stays low (2k/s, 5k/s from 10 min), then again at 38 min to a
// level that needs more than the scale-down would leave. The scale-down on the settle counted
// from the start came at about 37 minutes and the step reversed it (two rescales, an
// oscillation); counted from the step to 5k/s it is not due before 45 minutes, the step at 38
// restarts it, and the one scale-down comes once the last level has lasted settle.
func TestLevelWaitCountsFromTheRise(t *testing.T) {
	rate := func(el time.Duration) float64 {
		switch {
		case el >= 38*time.Minute:
			return 14000
		case el >= 10*time.Minute:
			return 5000
		}
		return 2000
	}
	o := DefaultOptions()
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 60000, sel: 1}, &toyVertex{id: "map", p: 10, capacity: 5000, sel: 1, maxP: 128})
	r := run(t, New(o), j, 2*time.Hour)
	if len(r.rescales) != 1 || r.dirs[0] != -1 {
		t.Fatalf("want one scale-down, got rescales at %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	if r.rescales[0] < 38*time.Minute+o.Settle {
		t.Errorf("scale-down at %v, before the level reached at 38 min had lasted settle (%v)", r.rescales[0], o.Settle)
	}
}

func TestLevelStart(t *testing.T) {
	o := DefaultOptions()
	now := t0.Add(60 * time.Minute)
	minutes := func(vals ...float64) []level { // one per minute, the last the newest whole minute
		lv := make([]level, len(vals))
		for i, v := range vals {
			lv[i] = level{T: now.Add(-time.Duration(len(vals)-i) * time.Minute), Sum: 6 * v, N: 6}
		}
		return lv
	}
	tests := []struct {
		name string
		lv   []level
		cur  float64
		want time.Duration // before now; -1: zero time
	}{
		{"flat level", minutes(100, 101, 99, 100, 102, 98, 100), 100, -1},
		{"one noisy minute is no step", minutes(100, 100, 85, 100, 100, 100), 100, -1},
		{"step up 3 minutes ago", minutes(50, 50, 50, 100, 100, 100), 100, 3 * time.Minute},
		{"step up in progress", minutes(50, 50, 50), 100, 0},
		{"a step down is no rise", minutes(200, 200, 100, 100), 100, -1},
		{"a ramp's climb is no step", minutes(70, 74, 78, 82, 86, 90, 94, 98, 100), 100, -1},
		{"a steep climb over two minutes is a step", minutes(50, 50, 80, 100, 100), 100, 2 * time.Minute},
		{"a rise older than settle", minutes(append([]float64{50, 50}, make40(100)...)...), 100, -1},
	}
	for _, tc := range tests {
		p := New(o)
		p.st.Levels = map[string][]level{"src": tc.lv}
		got := p.levelStart("src", tc.cur, now)
		switch {
		case tc.want < 0 && !got.IsZero():
			t.Errorf("%s: level from %v before now, want none", tc.name, now.Sub(got))
		case tc.want >= 0 && (got.IsZero() || now.Sub(got) != tc.want):
			t.Errorf("%s: level from %v before now (zero %v), want %v", tc.name, now.Sub(got), got.IsZero(), tc.want)
		}
	}
}

func make40(v float64) []float64 {
	xs := make([]float64, 40)
	for i := range xs {
		xs[i] = v
	}
	return xs
}
