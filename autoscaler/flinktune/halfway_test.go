package flinktune

import (
	"testing"
	"time"
)

// A vertex left halfway down (its peak below the midpoint of utilization.min and the target,
// above utilization.min) by our own scale-up starts a scale-down once it has been so on a level
// for settle (gen-88: a join at 4 subtasks and 42% for 230 minutes); the job's initial layout,
// a spell the demand breaks, a slow fall (a daily curve's evening, which the falling demand
// takes down itself), a level the demand fell to (a daily curve's night, which rises again) and
// a vertex whose shedding frees too little do not.
func TestHalfwayVerticesStartScaleDown(t *testing.T) {
	flat := func(time.Duration) float64 { return 10000 }
	stepUp := func(el time.Duration) float64 {
		if el >= 30*time.Minute {
			return 13000 // 55% of 24 subtasks and the restart's drain: above the midpoint
		}
		return 10000
	}
	// 56% of 24 subtasks down to 36% in two hours: halfway all along, never below
	// utilization.min, 14-19% less every settle.
	slowFall := func(el time.Duration) float64 { return 13500 - 4800*el.Minutes()/120 }
	// From 83% of 24 subtasks down to 42% in 40 minutes, then flat: a trough the demand fell
	// to (a daily curve's night), flat for longer than settle.
	trough := func(el time.Duration) float64 { return max(10000, 20000-10000*el.Minutes()/40) }
	for _, tc := range []struct {
		name     string
		rate     func(time.Duration) float64
		wide     int // parallelism of a second vertex near its target (0: none)
		d        time.Duration
		rescales int
		initial  bool // the layout is the job's own, not our scale-up's
	}{
		{"flat level at 42% of 24 subtasks", flat, 0, 170 * time.Minute, 1, false},
		{"initial layout at 42% of 24 subtasks", flat, 0, 170 * time.Minute, 0, true},
		{"step up within the spell", stepUp, 0, 170 * time.Minute, 0, false},
		{"slow fall from 56% to 36%", slowFall, 0, 120 * time.Minute, 0, false},
		{"level the demand fell to", trough, 0, 170 * time.Minute, 0, false},
		{"frees one subtask of 35, no slot", flat, 30, 170 * time.Minute, 0, false},
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
			p := New(DefaultOptions())
			if !tc.initial {
				// The layout is our scale-up's, taken just before the run (gen-88: sized for
				// a ramp's forecast the demand never reached).
				p.st.LastChange, p.st.LastDir = t0, 1
			}
			r := run(t, p, j, tc.d)
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
			if r.dirs[0] != -1 || r.rescales[0] < o.Settle || r.final["map"] >= 24 || r.final["map"] < 13 {
				t.Errorf("rescale at %v dir %v final %v: want one scale-down after settle, to 13..23 subtasks",
					r.rescales[0], r.dirs[0], r.final)
			}
		})
	}
}

// The level a halfway scale-down needs: every minute of settle within fallingShare of the
// demand now (onLevel), and none of the last longTrend above it but in an excursion from the
// level (cameFromAbove: the bottom of a fall, a daily curve's night).
func TestHalfwayLevel(t *testing.T) {
	o := DefaultOptions()
	now := t0.Add(4 * time.Hour)
	// minutes gives one level a minute for the last n minutes: f(minutes ago).
	minutes := func(n int, f func(ago float64) float64) []level {
		lv := make([]level, n)
		for i := range lv {
			ago := n - i
			lv[i] = level{T: now.Add(-time.Duration(ago) * time.Minute), Sum: 6 * f(float64(ago)), N: 6}
		}
		return lv
	}
	flat := func(float64) float64 { return 1000 }
	wobble := func(ago float64) float64 { return 1000 + 40*float64(int(ago)%3-1) }
	rose := func(ago float64) float64 { return max(850, min(1000, 850+10*(30-ago))) } // 850 until 30 min ago
	night := func(ago float64) float64 { return min(3000, 1000+20*max(0, ago-60)) }
	long := func(ago float64) float64 {
		if ago > 170 {
			return 1500 // nearly 3 hours ago
		}
		return 1000
	}
	spikeBack := func(ago float64) float64 {
		if ago > 100 && ago < 117 {
			return 2350 // a 17-minute spike back to the level it left
		}
		return 1000
	}
	spikeLongAgo := func(ago float64) float64 {
		if ago > 200 && ago < 210 {
			return 3000 // beyond longTrend
		}
		return 1000
	}
	for _, tc := range []struct {
		name          string
		lv            []level
		level, fromUp bool
	}{
		{"flat for 4 hours", minutes(240, flat), true, false},
		{"noise within the band", minutes(240, wobble), true, false},
		{"rose 15% within settle", minutes(240, rose), false, false},
		{"seen for 20 minutes", minutes(20, flat), false, false},
		{"an hour at the bottom of a fall", minutes(240, night), true, true},
		{"higher 170 minutes ago", minutes(240, long), true, true},
		{"a spike beyond longTrend", minutes(240, spikeLongAgo), true, false},
		{"a spike back to the level it left", minutes(240, spikeBack), true, false},
	} {
		p := New(o)
		p.st.Levels = map[string][]level{"src": tc.lv}
		e := &evaluation{order: []vertexInfo{{ID: "src", Source: true}}, demand: map[string]float64{"src": 1000}}
		if got := p.onLevel(e, now, o.Settle); got != tc.level {
			t.Errorf("%s: onLevel %v, want %v", tc.name, got, tc.level)
		}
		if got := p.cameFromAbove(e, now); got != tc.fromUp {
			t.Errorf("%s: cameFromAbove %v, want %v", tc.name, got, tc.fromUp)
		}
	}
}
