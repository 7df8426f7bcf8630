package flinktune

import (
	"testing"
	"time"
)

// A scale-up restarts the job anyway: a source far above its need (8 subtasks for 10% of
// their capacity) sheds its surplus in that restart instead of keeping it until a scale-down
// of its own, which waits out settle and scale-down.interval and costs a second restart.
func TestScaleUpShedsDeepSurplus(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el < 10*time.Minute {
			return 4000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 8, capacity: 20000, sel: 1},
		&toyVertex{id: "map", p: 1, capacity: 5000, sel: 1, maxP: 128, hash: true})
	r := run(t, New(DefaultOptions()), j, 40*time.Minute)
	if len(r.rescales) != 1 {
		t.Fatalf("rescales at %v, want one; final %v", r.rescales, r.final)
	}
	if m := r.final["map"]; m < 4 || m > 6 {
		t.Errorf("map parallelism %d, want 4 to 6 for 16000/s at 5000 per subtask", m)
	}
	// 16000/s at 20000 per subtask and the 0.8 target: 1 subtask, 2 with the drain.
	if s := r.final["src"]; s > 2 {
		t.Errorf("source kept %d subtasks through the scale-up, want at most 2", s)
	}
}

// A vertex halfway between utilization.min and the target (40% here) is what a scale-down
// would lower: in a scale-up it goes down to its need in the same restart, as the operator
// sizes every vertex on each rescale.
func TestScaleUpShedsHalfwaySurplus(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el < 10*time.Minute {
			return 4000
		}
		return 32000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 4, capacity: 20000, sel: 1},
		&toyVertex{id: "map", p: 1, capacity: 5000, sel: 1, maxP: 128, hash: true})
	r := run(t, New(DefaultOptions()), j, 40*time.Minute)
	if len(r.rescales) != 1 {
		t.Fatalf("rescales at %v, want one; final %v", r.rescales, r.final)
	}
	if s := r.final["src"]; s >= 4 {
		t.Errorf("source kept %d subtasks at 40%% utilization through the scale-up; final %v", s, r.final)
	}
}

func TestShedInScaleUp(t *testing.T) {
	for _, tc := range []struct{ up, forDemand, forDrain, must, want int }{
		{8, 1, 2, 8, 8},    // not deep below target: kept
		{8, 1, 2, 1, 2},    // below it: down to what the drain needs
		{8, 3, 2, 1, 3},    // down to what the demand needs
		{12, 12, 5, 8, 12}, // raised vertex: its own size
		{8, 1, 1, 3, 3},    // never below the scale-down's own size
	} {
		if got := shedInScaleUp(tc.up, tc.forDemand, tc.forDrain, tc.must); got != tc.want {
			t.Errorf("shedInScaleUp(%d, %d, %d, %d) = %d, want %d", tc.up, tc.forDemand, tc.forDrain, tc.must, got, tc.want)
		}
	}
}

// Within settle of our own scale-up a scale-up sheds nothing: a vertex's low utilization
// then comes from rates read while the job caught up on that restart's lag, and shedding on
// it took back what the last step had raised (gen-2038 on a 30 s objective: a source
// 2 -> 1 -> 2 -> 1 -> 2 in five scale-ups within 15 minutes). Past settle it sheds again.
func TestScaleUpShedsNothingWithinSettleOfScaleUp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		since    time.Duration
		dir      int
		wantShed bool
	}{
		{"10 min after our scale-up", 10 * time.Minute, +1, false},
		{"past settle after our scale-up", 40 * time.Minute, +1, true},
		{"10 min after our scale-down", 10 * time.Minute, -1, true},
	} {
		e := drainJob(0)
		e.catchUp = map[string]float64{"src": 0, "flt": 0, "win": 0}
		e.lagSecOf = map[string]float64{"src": 0}
		e.lagKnown = true
		e.now = time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
		p := New(DefaultOptions())
		p.st.LastChange, p.st.LastDir = e.now.Add(-tc.since), tc.dir
		sz := p.size(e, srcCapacity(e, nil))
		if sz.up["flt"] <= 10 {
			t.Fatalf("%s: the filter at 100%% is not raised: %v", tc.name, sz.up)
		}
		if shed := sz.up["src"] < 10; shed != tc.wantShed {
			t.Errorf("%s: source 10 -> %d in the scale-up, want shed %v", tc.name, sz.up["src"], tc.wantShed)
		}
	}
}
