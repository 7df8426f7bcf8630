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
	now := t0.Add(2 * time.Hour)
	long := max(o.ScaleDownInterval, o.Settle)
	// minutes gives the source one level a minute for the last n minutes: f(minutes ago).
	minutes := func(n int, f func(ago int) float64) []level {
		lv := make([]level, n)
		for i := range lv {
			ago := n - i
			lv[i] = level{T: now.Add(-time.Duration(ago) * time.Minute), Sum: 6 * f(ago), N: 6}
		}
		return lv
	}
	// gen-198's source: a flat 10.1k/s whose minute means scatter by about 1%.
	flat := func(ago int) float64 { return 10100 + 100*float64(ago%3-1) }
	// gen-25's: 852/s, 415/s since a step down 3 minutes ago.
	stepDown := func(ago int) float64 { return map[bool]float64{true: 852, false: 415}[ago > 3] }
	// an evening: 1% of 10k/s less a minute for the last 40 minutes.
	evening := func(ago int) float64 { return 6000 + 100*float64(min(ago, 40)) }
	// ingest 10000/s; over settle (2100 s) a slope of -1/s sheds 21%, -0.2/s 4%.
	tests := []struct {
		name    string
		lv      []level
		ingest  float64
		slope   float64
		surplus bool
		want    time.Duration
	}{
		{"flat level waits settle", minutes(60, flat), 10000, 0, false, long},
		{"rising demand waits settle", minutes(60, flat), 10000, 2, false, long},
		{"slight fall is a level", minutes(60, flat), 10000, -0.2, false, long},
		// gen-198 at 29.5 min: one cycle's slope of -4.7/s at 9852/s (-100% over settle).
		{"one falling cycle on a flat level waits settle", minutes(60, flat), 9852, -4.72, false, long},
		{"step down (the levels fell) waits the interval", minutes(22, stepDown), 407, -0.13, false, o.ScaleDownInterval},
		{"falling demand (an evening) waits the interval", minutes(60, evening), 6000, -1.6, false, o.ScaleDownInterval},
		{"a fall without minutes before it waits settle", minutes(10, evening), 6000, -1.6, false, long},
		{"catch-up surplus waits the interval", minutes(60, flat), 10000, 0, true, o.ScaleDownInterval},
		{"no demand is no trend", minutes(60, flat), 0, -1, false, long},
	}
	for _, tc := range tests {
		p := New(o)
		p.st.Levels = map[string][]level{"src": tc.lv}
		e := &evaluation{order: []vertexInfo{{ID: "src", Source: true}}, ingest: tc.ingest, slope: tc.slope}
		if got := p.downWait(e, now, tc.surplus); got != tc.want {
			t.Errorf("%s: waits %v, want %v", tc.name, got, tc.want)
		}
	}
}
