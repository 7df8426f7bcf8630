package flinktune

import (
	"testing"
	"time"
)

// A spike to 2.4 times a level the job held for longer before it: the scale-up for the spike is shed once the spike is over, after scale-down.interval back at the level counted
// from the spike's end (never within settle of the scale-up). Waiting until the spike had left
// scale-down.interval's span and then the wait again kept the spike's capacity 40 minutes and
// more after the spike (gen-96, 118, 63, 38); waiting settle from the spike's end, 35.
func TestSpikeCapacityShedFromTheSpikesEnd(t *testing.T) {
	o := DefaultOptions()
	for _, tc := range []struct{ at, spikeFor time.Duration }{{20 * time.Minute, 7 * time.Minute}, {40 * time.Minute, 30 * time.Minute}} {
		spikeFor, spikeEnd := tc.spikeFor, tc.at+tc.spikeFor
		rate := func(el time.Duration) float64 {
			if el >= tc.at && el < spikeEnd {
				return 24000
			}
			return 10000
		}
		j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 40000, sel: 1},
			&toyVertex{id: "map", p: 3, capacity: 5000, sel: 1, maxP: 128})
		r := run(t, New(o), j, 2*time.Hour)
		if len(r.rescales) != 2 || r.dirs[0] != 1 || r.dirs[1] != -1 {
			t.Errorf("spike of %v: want a scale-up for the spike and one scale-down after it, got %v dirs %v final %v",
				spikeFor, r.rescales, r.dirs, r.final)
			continue
		}
		latest := max(spikeEnd+o.ScaleDownInterval, r.rescales[0]+o.Settle) + 2*time.Minute
		if r.rescales[1] > latest {
			t.Errorf("spike of %v: scale-down at %v, want by %v (spike over at %v, scale-up at %v)",
				spikeFor, r.rescales[1], latest, spikeEnd, r.rescales[0])
		}
		if r.rescales[1]-r.rescales[0] < o.Settle {
			t.Errorf("spike of %v: scale-down at %v within settle of the scale-up at %v", spikeFor, r.rescales[1], r.rescales[0])
		}
		// 10000/s at the target utilization 0.8 needs 3 subtasks of 5000/s (4 with the prior's loss).
		if r.final["map"] > 4 {
			t.Errorf("spike of %v: final %v, the spike's capacity is still held", spikeFor, r.final)
		}
	}
}

// Back at the level held before a spike, the wait is scale-down.interval, as for a catch-up
// surplus: the level is no new bet. Without it the wait from the spike's end was settle.
func TestDownWaitBackAtLevel(t *testing.T) {
	o := DefaultOptions()
	p := New(o)
	e := &evaluation{ingest: 10000}
	if got := p.downWait(e, false); got != max(o.ScaleDownInterval, o.Settle) {
		t.Fatalf("flat level waits %v, want settle", got)
	}
	p.st.LowAtLevel = true
	if got := p.downWait(e, false); got != o.ScaleDownInterval {
		t.Errorf("back at the level held before a spike: waits %v, want %v", got, o.ScaleDownInterval)
	}
}

// lowPeak on per-minute levels: 10k/s for 20 minutes, 24k/s for 8, back at 10k/s. Flat now, the
// wait counts from the spike's end and the scale-down is sized for 10k/s; a demand still falling
// (its trend sheds more than fallingShare over settle) waits from now, sized for the span's peak.
func TestLowPeakSpikeOverOrFalling(t *testing.T) {
	p := New(DefaultOptions())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lv []level
	for m := 0; m < 36; m++ {
		r := 10000.0
		if m >= 20 && m < 28 {
			r = 24000
		}
		lv = append(lv, level{T: t0.Add(time.Duration(m) * time.Minute), Sum: 6 * r, N: 6})
	}
	p.st.Levels = map[string][]level{"src": lv}
	now := t0.Add(36 * time.Minute)
	peak, from := p.lowPeak("src", now, 10000, 0)
	if want := t0.Add(28 * time.Minute); !from.Equal(want) || peak != 10000 {
		t.Errorf("flat after the spike: peak %.0f from %v, want 10000 from %v", peak, from, want)
	}
	peak, from = p.lowPeak("src", now, 10000, -1)
	if !from.Equal(now) || peak != 24000 {
		t.Errorf("still falling: peak %.0f from %v, want 24000 from now (%v)", peak, from, now)
	}
}
