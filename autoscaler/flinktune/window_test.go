package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
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

// A target above the cluster's free slots (a standalone cluster of 4 slots, a decision for 6)
// runs at what the scheduler could give; the policy must not hold every decision for
// pendingTimeout (a real-Flink finding), and must keep waiting while slots are free.
func TestTargetAboveFreeSlotsDoesNotHold(t *testing.T) {
	for _, c := range []struct {
		name     string
		free     int
		wantHold bool
	}{{"no free slot", 0, false}, {"free slots", 2, true}, {"slots unknown", -1, true}} {
		t.Run(c.name, func(t *testing.T) {
			p := New(DefaultOptions())
			p.st.Target = map[string]int{"work": 6}
			p.st.LastChange = t0
			snap := &autoscaler.Snapshot{Time: t0.Add(2 * time.Minute), Status: "RUNNING", RunningSince: t0.Add(30 * time.Second),
				SlotsAvailable: c.free, Vertices: []autoscaler.Vertex{{ID: "work", Parallelism: 4}}}
			if got := p.inFlight(snap); got != c.wantHold {
				t.Errorf("inFlight = %v, want %v", got, c.wantHold)
			}
			// Right after the decision the rescale is on its way whatever the slots.
			snap.Time, snap.RunningSince = t0.Add(20*time.Second), t0.Add(-time.Hour)
			if !p.inFlight(snap) {
				t.Error("not in flight 20 s after the decision")
			}
		})
	}
}

// A cluster still adding TaskManagers is on its way to the decided target: no second decision
// while its slot count grows (a second target took one more TaskManager and a second restart),
// but one once it has stopped growing for as long as a rescale settles (a standalone cluster
// never grows: TestTargetAboveFreeSlotsDoesNotHold).
func TestGrowingClusterIsNotSlotBound(t *testing.T) {
	p := New(DefaultOptions())
	p.st.Target = map[string]int{"work": 18}
	p.st.LastChange = t0
	snap := func(at time.Duration, slots int) *autoscaler.Snapshot {
		return &autoscaler.Snapshot{Time: t0.Add(at), Status: "RUNNING", RunningSince: t0.Add(-time.Hour),
			SlotsTotal: slots, SlotsAvailable: 0, Vertices: []autoscaler.Vertex{{ID: "work", Parallelism: 7}}}
	}
	for _, c := range []struct {
		at       time.Duration
		slots    int
		wantHold bool
	}{
		{0, 8, true},
		{30 * time.Second, 8, true},
		{50 * time.Second, 18, true},  // the TaskManagers came at 42-50 s
		{70 * time.Second, 18, true},  // a minute after the decision, but 20 s after they came
		{100 * time.Second, 18, true}, // 50 s after
		{110 * time.Second, 18, false},
	} {
		s := snap(c.at, c.slots)
		p.noteSlots(s)
		if got := p.inFlight(s); got != c.wantHold {
			t.Errorf("at %s with %d slots: inFlight = %v, want %v", c.at, c.slots, got, c.wantHold)
		}
	}
}
