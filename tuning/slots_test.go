package tuning

import (
	"maps"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

func TestBalancedSlots(t *testing.T) {
	for _, c := range []struct {
		w, limit, cur, want int
	}{
		{5, 4, 4, 3},   // 4 + 1 → 3 + 2 on the same two TaskManagers
		{7, 4, 3, 4},   // 3 slots would need a third TaskManager
		{9, 4, 4, 3},   // three TaskManagers either way: 3 + 3 + 3, not 4 + 4 + 1
		{12, 4, 4, 4},  // already even
		{1, 4, 4, 4},   // one TaskManager either way: keep the running count
		{1, 4, 3, 3},   // the same
		{4, 4, 3, 4},   // 3 running slots would need two TaskManagers
		{5, 1, 1, 1},   // one-slot TaskManagers stay
		{0, 4, 2, 2},   // nothing known about the job
		{6, 4, 8, 3},   // never above the configured count
		{100, 7, 7, 7}, // 15 TaskManagers: ceil(100/15) = 7
	} {
		got := balancedSlots(c.w, c.limit, c.cur)
		if got != c.want {
			t.Errorf("balancedSlots(%d slots, limit %d, running %d) = %d, want %d", c.w, c.limit, c.cur, got, c.want)
		}
		tms := func(s int) int { return (c.w + s - 1) / s }
		if got > c.limit || c.w > 0 && tms(got) > tms(c.limit) {
			t.Errorf("balancedSlots(%d, %d, %d) = %d: above the limit or more TaskManagers", c.w, c.limit, c.cur, got)
		}
	}
}

// A rescale to 5 slots on 4-slot TaskManagers brings 3 slots per TaskManager with it (two
// TaskManagers either way, the busiest holding 3 of the keyed subtasks instead of 4); the
// option turns it off.
func TestBalancedSlotsRideAlongWithRescale(t *testing.T) {
	for _, balance := range []bool{true, false} {
		j := newJob(nil, 1)
		cfg := flinkconf.New()
		cfg.Set(OptBalanceSlots.Key, map[bool]string{true: "true", false: "false"}[balance])
		o, err := ParseOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tu := New(o)
		snap := j.observe(tu, t0, 120, 300*mib, usage{managed: 0})
		rec, err := tu.Recommend(snap, map[string]int{"src": 5, "agg": 5, "sink": 5})
		if err != nil {
			t.Fatal(err)
		}
		rederive(t, rec, j.cfg)
		got, ok := rec.Overrides[flinkconf.TMNumberOfTaskSlots.Key]
		switch {
		case balance && (got != "3" || !rec.Worthwhile || rec.SlotsPerTaskManager != 3 || !saysEvidence(rec, "slots", "3 slots per TaskManager (running 4)")):
			t.Errorf("balanced: slots %q, worthwhile %v (%s), advice %d", got, rec.Worthwhile, rec.Reason, rec.SlotsPerTaskManager)
		case !balance && ok:
			t.Errorf("slots.balance=false: slots %q", got)
		}
		if !balance {
			continue
		}
		// Applied, the overrides keep stating the slot count (they replace the previous ones),
		// and the layout's heap history is kept apart from the same parallelism on 4 slots.
		tu.Applied(snap.Time, rec)
		if tu.slotsPerTM() != 3 {
			t.Fatalf("running slots %d after the change", tu.slotsPerTM())
		}
		j5 := &job{cfg: maps.Clone(j.cfg), layout: rec.Target}
		j5.cfg[flinkconf.TMNumberOfTaskSlots.Key] = "3"
		snap5 := j5.observe(tu, snap.Time.Add(time.Minute), 120, 300*mib, usage{managed: 0, heapMax: float64(rec.Proposed.JVMHeap())})
		again, err := tu.Recommend(snap5, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Overrides[flinkconf.TMNumberOfTaskSlots.Key] != "3" {
			t.Errorf("the next recommendation drops the slot count: %v", again.Overrides)
		}
		if h3, h4 := tu.heapOf(rec.Target, 3), tu.heapOf(rec.Target, 4); h3 == nil || h4 != nil {
			t.Errorf("heap history of the target on 3 slots %v, on 4 slots %v", h3 != nil, h4 != nil)
		}
	}
}

// A layout seen under a larger heap: its peaks (garbage included) ask for no more than the
// running heap, but its live set does. Scaling back in to it after the heap shrank at a
// wider layout must grow the heap to hold that live set, or the job fails with an OOM.
func TestLiveSetOfALayoutSeenUnderALargerHeap(t *testing.T) {
	narrow := newJob(nil, 1)
	tu := New(DefaultOptions())
	snap := narrow.observe(tu, t0, 180, 1000*mib, usage{managed: 0, heapMax: 1.5 * gib})
	wide := &job{cfg: narrow.cfg, layout: map[string]int{"src": 8, "agg": 8, "sink": 8}}
	snap = wide.observe(tu, snap.Time.Add(time.Minute), 180, 250*mib, usage{managed: 0, heapMax: 1.5 * gib})
	shrink, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !shrink.Worthwhile || shrink.Proposed.JVMHeap() >= 1000*mib {
		t.Fatalf("no shrink at the wide layout: heap %d, %s", shrink.Proposed.JVMHeap(), shrink.Reason)
	}
	tu.Applied(snap.Time, shrink)
	snap = wide.observe(tu, snap.Time.Add(time.Minute), 180, 250*mib, usage{managed: 0, heapMax: float64(shrink.Proposed.JVMHeap())})
	back, err := tu.Recommend(snap, narrow.layout)
	if err != nil {
		t.Fatal(err)
	}
	live := tu.heapOf(narrow.layout, 4).Low
	pLow, _ := live.percentile(tu.o.Percentile)
	if want := int64(pLow * (1 + tu.o.Margin)); back.Proposed.JVMHeap() < want || !back.Safety {
		t.Errorf("back to the narrow layout: heap %d, want at least the live set %.0f × margin = %d (safety %v: %s)",
			back.Proposed.JVMHeap(), pLow, want, back.Safety, back.Reason)
	}
}
