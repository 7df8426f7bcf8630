package flinktune

import (
	"math"
	"testing"
	"time"
)

// A source that falls behind now is scaled up before its lag reaches the objective when the
// rescale's own restart would carry the lag past it (the lag peaks at the lag now, plus the
// shortfall until the rescale helps, plus the restart's downtime and replay), as long as the
// forecast does not fall and the size lasts settle at the demand's slope. Without the restart
// counted, the trigger waited for lag + shortfall x ahead to reach the objective, and every
// such scale-up overshot it by a whole restart (gen-67, gen-5).
func TestScaleUpCountsItsOwnRestart(t *testing.T) {
	o := DefaultOptions() // lag.max 1 min, settle 35 min
	one := func(lagSec, capacity, forecast, slope, restartSec float64, horizon time.Duration) string {
		src := vertexInfo{ID: "src", P: 2, Source: true}
		e := &evaluation{order: []vertexInfo{src}, ingest: 1000, slope: slope, horizon: horizon,
			demand:   map[string]float64{"src": 1000},
			forecast: map[string]float64{"src": forecast},
			lagSecOf: map[string]float64{"src": lagSec},
			feeds:    map[string]map[string]bool{"src": {"src": true}},
			models:   map[string]*vertexModel{"src": {info: src, perSubtask: capacity / 2, known: true, hot: 1}},
		}
		// The scale-up doubles the source: 2 x capacity.
		sz := sizing{up: map[string]int{"src": 4}, down0: 60, restart: 1000 * restartSec, hottest: "src"}
		return (&Policy{o: o}).lagReason(e, sz, "src", sz.down0+reactionTime.Seconds())
	}
	for _, tc := range []struct {
		name                                        string
		lagSec, capacity, forecast, slope, restartS float64
		horizon                                     time.Duration // how far the forecast extrapolates
		want                                        bool
	}{
		// 10 s behind, 10% short: 10 + 0.1 x 100 = 20 s when the rescale helps, 80 s with the
		// restart's 60 s; left alone, 70 s after catch-up's 10 minutes.
		{"short now, restart carries the lag past the objective", 10, 900, 1000, 0, 60, 10 * time.Minute, true},
		{"short now, rising slowly: the size lasts settle", 10, 900, 1100, 0.1, 60, 10 * time.Minute, true},
		{"short now, short restart", 10, 900, 1000, 0, 20, 10 * time.Minute, false},
		{"keeps up now (only the slope would fall behind)", 10, 1050, 1300, 2, 60, 10 * time.Minute, false},
		{"forecast falls (a peak passes)", 10, 900, 900, -0.2, 60, 10 * time.Minute, false},
		// 1,000/s rising 1/s: 3,100/s after 35 minutes, above the 1,800/s the scale-up gives.
		{"steep ramp: the size would not last settle", 10, 900, 1500, 1, 60, 10 * time.Minute, false},
		// 0.2% short, flat: 2 records/s, 1.2 s more lag after catch-up's 10 minutes.
		{"barely short: the objective is hours away", 10, 998, 1000, 0, 60, 10 * time.Minute, false},
		// A trend older than settle (55 minutes), extrapolated as far: sized for a far forecast.
		{"old trend: waits for the objective", 10, 900, 1100, 0.1, 60, 55 * time.Minute, false},
	} {
		got := one(tc.lagSec, tc.capacity, tc.forecast, tc.slope, tc.restartS, tc.horizon)
		if (got != "") != tc.want {
			t.Errorf("%s: reason %q, want a scale-up %v", tc.name, got, tc.want)
		}
	}
}

// A rise that slows (a sine past its inflection) is told from a ramp, noise included: the
// early trigger waits on the former only.
func TestDeceleratingRise(t *testing.T) {
	noise := func(i int) float64 { return 40 * math.Sin(float64(i)*2.3) } // deterministic, +-40/s
	for _, tc := range []struct {
		name string
		rate func(min float64) float64
		want bool
	}{
		// 3,270/s x (1 + 0.8 sin(2 pi t / 3 h)), 10 to 27 minutes in: the slope falls 91 -> 52/s per minute.
		{"sine past its inflection", func(m float64) float64 { return 3270 * (1 + 0.8*math.Sin(2*math.Pi*m/180)) }, true},
		{"linear ramp", func(m float64) float64 { return 3270 + 80*m }, false},
		{"accelerating rise", func(m float64) float64 { return 3270 + 2*m*m }, false},
		{"flat", func(float64) float64 { return 3270 }, false},
	} {
		p := New(DefaultOptions()) // settle 35 min: the last 17.5 minutes are compared
		var lv []level
		for i := 0; i <= 27; i++ {
			lv = append(lv, level{T: t0.Add(time.Duration(i) * time.Minute), Sum: tc.rate(float64(i)) + noise(i), N: 1})
		}
		p.st.Levels = map[string][]level{"src": lv}
		if got := p.decelerating("src"); got != tc.want {
			t.Errorf("%s: decelerating %v, want %v", tc.name, got, tc.want)
		}
	}
}
