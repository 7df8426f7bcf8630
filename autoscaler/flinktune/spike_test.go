package flinktune

import (
	"testing"
	"time"
)

// A 7-minute spike to 2.4 times a level the job held for 20 minutes before it: the scale-up for
// the spike is shed once the spike is over, the wait counted from the spike's end. Waiting
// until the spike had left scale-down.interval's span and then the wait again kept the spike's
// capacity 40 minutes and more after the spike (gen-96, 118, 63, 38; here 55 minutes).
func TestSpikeCapacityShedFromTheSpikesEnd(t *testing.T) {
	const spikeEnd = 27 * time.Minute
	rate := func(el time.Duration) float64 {
		if el >= 20*time.Minute && el < spikeEnd {
			return 24000
		}
		return 10000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 40000, sel: 1},
		&toyVertex{id: "map", p: 3, capacity: 5000, sel: 1, maxP: 128})
	o := DefaultOptions()
	r := run(t, New(o), j, 2*time.Hour)
	if len(r.rescales) != 2 || r.dirs[0] != 1 || r.dirs[1] != -1 {
		t.Fatalf("want a scale-up for the spike and one scale-down after it, got %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	// The wait (at most settle) counts from the spike's end, never before settle after the scale-up.
	latest := max(spikeEnd+o.Settle, r.rescales[0]+o.Settle) + 2*time.Minute
	if r.rescales[1] > latest {
		t.Errorf("scale-down at %v, want by %v (spike over at %v, scale-up at %v)", r.rescales[1], latest, spikeEnd, r.rescales[0])
	}
	if r.rescales[1]-r.rescales[0] < o.Settle {
		t.Errorf("scale-down at %v within settle of the scale-up at %v", r.rescales[1], r.rescales[0])
	}
	// 10000/s at the target utilization 0.8 needs 3 subtasks of 5000/s (4 with the prior's loss).
	if r.final["map"] > 4 {
		t.Errorf("final %v: the spike's capacity is still held", r.final)
	}
}
