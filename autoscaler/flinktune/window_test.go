package flinktune

import (
	"testing"
	"time"
)

// A compressed scenario's metric window is a minute or less (a real-Flink finding: such a
// window never decided, since its samples never spanned a whole minute). The policy must
// still scale a job whose load triples.
func TestShortWindowDecides(t *testing.T) {
	for _, w := range []time.Duration{30 * time.Second, 40 * time.Second, 60 * time.Second} {
		t.Run(w.String(), func(t *testing.T) {
			rate := func(el time.Duration) float64 {
				if el < 2*time.Minute {
					return 60
				}
				return 180
			}
			o := DefaultOptions()
			o.Window, o.Stabilization, o.RestartTime, o.CatchUp = w, 10*time.Second, 10*time.Second, time.Minute
			j := newToy(rate, &toyVertex{id: "src", p: 1, capacity: 5000, sel: 1}, &toyVertex{id: "work", p: 1, capacity: 100, sel: 1, maxP: 120})
			j.restart = 5 * time.Second
			r := run(t, New(o), j, 6*time.Minute)
			if len(r.rescales) == 0 || r.final["work"] < 2 {
				t.Fatalf("window %s: no scale-up of a vertex at 180%% load (rescales %v, final %v)", w, r.rescales, r.final)
			}
			if r.rescales[0] > 2*time.Minute+2*w+30*time.Second {
				t.Errorf("window %s: first rescale at %s, load tripled at 2m", w, r.rescales[0])
			}
		})
	}
}

func TestMinWindowSpan(t *testing.T) {
	for _, c := range []struct{ w, want time.Duration }{
		{5 * time.Minute, time.Minute}, {2 * time.Minute, time.Minute}, {time.Minute, 30 * time.Second}, {20 * time.Second, 10 * time.Second},
	} {
		if got := minWindowSpan(c.w); got != c.want {
			t.Errorf("minWindowSpan(%s) = %s, want %s", c.w, got, c.want)
		}
	}
}
