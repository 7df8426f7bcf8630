package planner

import (
	"errors"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

func TestDecimal(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{"0.25", "0.25", false}, {"4", "4", false}, {" 1.50 ", "1.5", false}, {"1e-3", "0.001", false},
		{"0.33333333333333333333", "0.3333333333333333", false}, {"922", "922", false},
		{"-1", "", true}, {"", "", true}, {"abc", "", true}, {"1000", "", true},
	}
	for _, tc := range tests {
		d, err := ParseDecimal(tc.in)
		if (err != nil) != tc.err || (!tc.err && d.String() != tc.want) {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %q (error %v)", tc.in, d, err, tc.want, tc.err)
		}
	}
	if d, _ := DecimalFromFloat(0.1); d.String() != "0.1" {
		t.Errorf("BigDecimal.valueOf(0.1) = %s", d)
	}
	if d := DecimalInt(1).DivInt(3); d.String() != "0.3333333333333333" {
		t.Errorf("1/3 = %s", d)
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0.25", "4", "1e-3", "0.3333333333333333", "921.9", "-0", "1/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q parsed negative %d", s, d)
		}
		back, err := ParseDecimal(d.String())
		if err != nil || back != d {
			t.Fatalf("%q -> %s -> %v, %v", s, d, back, err)
		}
	})
}

func TestCatalogAndMix(t *testing.T) {
	fourGB := Shape{Name: "heap-4g", Slots: 1, Total: Profile{CPU: DecimalInt(4), TaskHeap: 4 * testGiB}}
	spec := Spec{TaskManager: fourGB, Search: SearchOptions{Disabled: true},
		Groups: []Group{heapGroup("big", 3*testGiB, 4, DecimalInt(1)), heapGroup("small", testGiB, 2, DecimalInt(1))},
		Catalog: []Shape{
			{Name: "heap-7g", Slots: 2, Total: Profile{CPU: DecimalInt(4), TaskHeap: 7 * testGiB}, Cost: 1.5},
			{Name: "heap-1g", Slots: 1, Total: Profile{CPU: DecimalInt(1), TaskHeap: testGiB}, Cost: 0.2},
		}}
	r, err := Plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	if r.FlinkDefault.TaskManagers != 4 || r.Recommended.TaskManagers != 4 || r.LowerBound != 4 {
		t.Fatalf("flink %d recommended %d lb %d", r.FlinkDefault.TaskManagers, r.Recommended.TaskManagers, r.LowerBound)
	}
	c7, c1 := r.Catalog[0], r.Catalog[1]
	// 7g: two 3g slots per TaskManager with 1g left, the 1g slots fill those remainders.
	if !c7.Fits || c7.FlinkTaskManagers != 2 || c7.Plan.TaskManagers != 2 || c7.Plan.Cost != 3 {
		t.Errorf("heap-7g: %+v plan %+v", c7, c7.Plan)
	}
	if c1.Fits || c1.FlinkFulfillable || c1.Plan != nil {
		t.Errorf("heap-1g cannot hold a 3g slot: %+v", c1)
	}
	m := r.CatalogMix
	if m == nil || m.Cost > 3+1e-9 {
		t.Fatalf("mix = %+v", m)
	}
	placed := 0
	for _, tm := range m.Allocation {
		assertNotOverfilled(t, 0, "mix", tm)
		for _, s := range tm.Slots {
			placed += s.Count
		}
	}
	if placed != 6 {
		t.Errorf("mix placed %d of 6 slots", placed)
	}
	if r.Cheapest == nil || r.Cheapest.Cost > 3+1e-9 {
		t.Errorf("cheapest = %+v", r.Cheapest)
	}
}

// The best shape for a coarse-grained job is a whole number of today's default slots, its
// configuration re-derives to the same totals, and Flink's count on it is what it reports.
func TestBestShapeRoundTrip(t *testing.T) {
	cfg := flinkconf.New()
	cfg.Set("taskmanager.memory.process.size", "4096m")
	cfg.Set("taskmanager.numberOfTaskSlots", "4")
	tm, err := ShapeFromConfig("tm", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Plan(Spec{TaskManager: tm, Groups: unknownGroups(6)})
	if err != nil {
		t.Fatal(err)
	}
	b := r.BestShape
	if b == nil || b.Shape.Slots == 0 || !b.Derived {
		t.Fatalf("best shape = %+v", b)
	}
	// 6 slots on 4-slot TaskManagers waste half a TaskManager; a 2-, 3- or 6-slot shape does not.
	if 6%b.Shape.Slots != 0 || b.TaskManagers != 6/b.Shape.Slots {
		t.Errorf("best shape has %d slots, %d TaskManagers", b.Shape.Slots, b.TaskManagers)
	}
	if b.Savings == nil || b.Savings.Cost <= 0 {
		t.Errorf("savings = %+v", b.Savings)
	}
	again := flinkconf.New()
	for _, kv := range b.Shape.Config {
		again.Set(kv.Key, kv.Value)
	}
	s2, err := ShapeFromConfig("again", again, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Total.TaskHeap != b.Shape.Resources.TaskHeap || s2.Total.Managed != b.Shape.Resources.Managed || s2.ProcessMemory != b.Shape.ProcessMemory {
		t.Errorf("re-derived %+v, reported %+v", s2.Total, b.Shape.Resources)
	}
	slot := divSlots(newSpace().vec(s2.Total), s2.Slots)
	if !fits(slot, newSpace().vec(r.DefaultSlot)) {
		t.Errorf("the new default slot %v is smaller than today's %+v", slot, r.DefaultSlot)
	}
}

func TestBestShapeWithoutMemoryModel(t *testing.T) {
	spec := Spec{TaskManager: b4096(t), Groups: []Group{heapGroup("a", testGiB, 3, DecimalInt(1))},
		Search: SearchOptions{Derive: noModel}}
	r, err := Plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.BestShape; b == nil || b.Derived || !strings.Contains(b.Note, "memory model unavailable") || b.TaskManagers < 1 {
		t.Fatalf("best shape = %+v", r.BestShape)
	}
}

var errNoModel = errors.New("no memory model")

func noModel(*flinkconf.Config) (*memory.TaskManager, error) { return nil, errNoModel }
