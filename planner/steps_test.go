package planner

import (
	"slices"
	"strings"
	"testing"
)

// The mixed plan's steps in their order: greedy (the first shape on a tie, so the configured
// one), then every TaskManager shrunk to its cheapest fitting shape, then sparse ones closed
// (a shrunk TaskManager's unspecified slots take the smaller shape's default slot, which frees
// room to close TaskManagers that the configured shape's full-size default slots would not
// leave), then listed by shape. Expected plans are worked by hand in each case's comment.
func TestMixedPlanSteps(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		wantTMs   int
		wantCost  float64
		wantShape map[string]int
		wantOrder []string // the TaskManagers' shapes as listed (by shape, the configured first)
	}{
		{
			// Configured "base": 3 cores, 3 GB, 1 slot, cost 1 (default slot 3 cores, 3 GB);
			// catalog "c0": 4 cores, 4 GB, 2 slots, cost 0.7 (default slot 2 cores, 2 GB).
			// Work per slot (normalized on base): unspecified 1+1 = 2, "wide" (3 cores, 1 GB)
			// 1+1/3. Greedy: base holds one unspecified slot (2 per cost) against c0 one wide
			// slot (1.33/0.7 = 1.90), so 4 x base{U}; then the wide slots, c0 (1.90) over base
			// (1.33): 2 x c0{W}. Shrink: each base{U} becomes c0{U} (U resized to 2 cores,
			// 2 GB; 0.7 < 1). Close: a c0{U} moves into another c0{U}'s free 2 cores, 2 GB,
			// twice: 2 x c0{U,U} + 2 x c0{W} = 4 x 0.7 = 2.8. Closing first finds nothing (the
			// base TaskManagers are full, a c0{W} has 1 core free), then shrinks: 6 x c0 = 4.2;
			// without the shrink: 4 x base + 2 x c0 = 5.4; without closing: 4.2.
			name: "unspecified slots resized by the shrink make room to close TaskManagers",
			spec: Spec{
				TaskManager: Shape{Name: "base", Slots: 1, Total: Profile{CPU: DecimalInt(3), TaskHeap: 3 * testGiB}, Cost: 1},
				Groups:      []Group{{Name: "u", Slots: 4}, heapGroup("wide", testGiB, 2, DecimalInt(3))},
				Catalog:     []Shape{{Name: "c0", Slots: 2, Total: Profile{CPU: DecimalInt(4), TaskHeap: 4 * testGiB}, Cost: 0.7}},
			},
			wantTMs: 4, wantCost: 2.8, wantShape: map[string]int{"c0": 4},
		},
		{
			// Configured "base": 4 cores, 4 GB, cost 1; catalog "tall": 2 cores, 8 GB, cost
			// 1.5. Slots: X (3.5 cores, 64 MiB; work 0.875+1/64) and 2 x Y (1 core, 2 GB; work
			// 0.75 each). Greedy: tall takes Y,Y (1.5/1.5 = 1.0) over base, which takes X
			// first and then no Y (0.89); then base{X}. Shrink: tall{Y,Y} fits base (2 cores,
			// 4 GB), cheaper: 2 x base = 2. Nothing closes (X needs 3.5 cores, Y 1 core, the
			// free room is 0.5 and 2 cores with no heap). Without the shrink: 1.5 + 1 = 2.5.
			name: "a half-used expensive TaskManager is shrunk to a cheaper shape",
			spec: Spec{
				TaskManager: Shape{Name: "base", Slots: 4, Total: Profile{CPU: DecimalInt(4), TaskHeap: 4 * testGiB}, Cost: 1},
				Groups:      []Group{heapGroup("x", 64*testMiB, 1, dec(t, "3.5")), heapGroup("y", 2*testGiB, 2, DecimalInt(1))},
				Catalog:     []Shape{{Name: "tall", Slots: 2, Total: Profile{CPU: DecimalInt(2), TaskHeap: 8 * testGiB}, Cost: 1.5}},
			},
			wantTMs: 2, wantCost: 2, wantShape: map[string]int{"base": 2},
		},
		{
			// Configured "base": 4 cores, 4 GB, 4 slots, cost 1; catalog "double": twice that
			// at cost 2. 8 unspecified slots (1 core, 1 GB on both): base holds 4 (work 4w per
			// cost), double 8 (8w / 2): a tie, which goes to the first shape, the configured
			// one; then base again. Nothing is cheaper than base, both are full: 2 x base
			// (taking the last on a tie gives 1 x double at the same cost).
			name: "on a tie the configured shape wins",
			spec: Spec{
				TaskManager: Shape{Name: "base", Slots: 4, Total: Profile{CPU: DecimalInt(4), TaskHeap: 4 * testGiB}, Cost: 1},
				Groups:      unknownGroups(8),
				Catalog:     []Shape{{Name: "double", Slots: 8, Total: Profile{CPU: DecimalInt(8), TaskHeap: 8 * testGiB}, Cost: 2}},
			},
			wantTMs: 2, wantCost: 2, wantShape: map[string]int{"base": 2}, wantOrder: []string{"base", "base"},
		},
		{
			// The second case with "tall" at cost 0.9: greedy opens tall{Y,Y} (1.5/0.9 = 1.67)
			// and then base{X}; nothing is cheaper or closes (0 and 0.5 cores free). Listed
			// by shape: base first, although tall was opened first. Cost 1.9.
			name: "TaskManagers are listed by shape, the configured one first",
			spec: Spec{
				TaskManager: Shape{Name: "base", Slots: 4, Total: Profile{CPU: DecimalInt(4), TaskHeap: 4 * testGiB}, Cost: 1},
				Groups:      []Group{heapGroup("x", 64*testMiB, 1, dec(t, "3.5")), heapGroup("y", 2*testGiB, 2, DecimalInt(1))},
				Catalog:     []Shape{{Name: "tall", Slots: 2, Total: Profile{CPU: DecimalInt(2), TaskHeap: 8 * testGiB}, Cost: 0.9}},
			},
			wantTMs: 2, wantCost: 1.9, wantShape: map[string]int{"base": 1, "tall": 1}, wantOrder: []string{"base", "tall"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustPlan(t, tc.spec).CatalogMix
			if m == nil {
				t.Fatal("no mixed plan")
			}
			got := map[string]int{}
			for _, sc := range m.Shapes {
				got[sc.Shape.Name] += sc.Count
			}
			if m.TaskManagers != tc.wantTMs || m.Cost != tc.wantCost || !equalCounts(got, tc.wantShape) {
				t.Errorf("mixed plan = %d TaskManagers %v, cost %v; want %d %v, cost %v",
					m.TaskManagers, got, m.Cost, tc.wantTMs, tc.wantShape, tc.wantCost)
			}
			if tc.wantOrder != nil {
				var order []string
				for _, tm := range m.Allocation {
					order = append(order, tm.Shape)
				}
				if !slices.Equal(order, tc.wantOrder) {
					t.Errorf("TaskManagers listed as %v, want %v", order, tc.wantOrder)
				}
			}
			placed := 0
			for _, tm := range m.Allocation {
				assertNotOverfilled(t, 0, "mix", tm)
				for _, s := range tm.Slots {
					placed += s.Count
				}
			}
			if want := totalSlots(tc.spec.Groups); placed != want {
				t.Errorf("placed %d of %d slots", placed, want)
			}
		})
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func totalSlots(gs []Group) int {
	n := 0
	for _, g := range gs {
		n += g.Slots
	}
	return n
}

// Redundant TaskManagers (slotmanager.redundant-taskmanager-num) are requested like any new
// TaskManager: Flink's FineGrainedSlotManager#allocateResource checks each against the max
// total resources, so a redundant one beyond the limit is refused (logged), while the job's
// own slots stay fulfilled and the job is not warned about. Enough redundant TaskManagers are added that the free resources
// hold that many whole TaskManagers. b4096: 4 slots, 4 cores per TaskManager.
func TestRedundantTaskManagersWithinMaxTotal(t *testing.T) {
	tests := []struct {
		name                  string
		slots, redundant, max int
		wantTMs, wantNew      int
		wantRedundant         int
		wantRefused           int
		wantRecommended       int // the recommended plan obeys the same redundancy (no max)
	}{
		// 10 slots: 3 new TaskManagers, 2 slots free < 1 TaskManager: one redundant.
		{name: "one redundant", slots: 10, redundant: 1, wantTMs: 4, wantNew: 3, wantRedundant: 1, wantRecommended: 4},
		// 12 slots fill 3 TaskManagers: 0 free, two redundant for 2 TaskManagers' room.
		{name: "two redundant on full TaskManagers", slots: 12, redundant: 2, wantTMs: 5, wantNew: 3, wantRedundant: 2, wantRecommended: 5},
		// 10 slots, 2 redundant: 2 free slots + 4 = 6 < 8, + 8 = 10 >= 8: two redundant.
		{name: "two redundant with 2 slots free", slots: 10, redundant: 2, wantTMs: 5, wantNew: 3, wantRedundant: 2, wantRecommended: 5},
		// max 12 slots = 12 cores: the 3 new TaskManagers fit, the redundant 4th (16) is refused.
		{name: "max total refuses the redundant one", slots: 10, redundant: 1, max: 12, wantTMs: 3, wantNew: 3, wantRefused: 1},
		// max 16: of two redundant ones the first fits (16 cores), the second is refused.
		{name: "max total refuses the second redundant one", slots: 10, redundant: 2, max: 16, wantTMs: 4, wantNew: 3, wantRedundant: 1, wantRefused: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustPlan(t, Spec{TaskManager: b4096(t), Groups: unknownGroups(tc.slots),
				Options: SlotManagerOptions{RedundantTaskManagers: tc.redundant, MaxSlots: tc.max}})
			f := r.FlinkDefault
			if f.TaskManagers != tc.wantTMs || f.New != tc.wantNew || f.Redundant != tc.wantRedundant || f.Refused != tc.wantRefused {
				t.Errorf("Flink: %d TaskManagers (new %d, redundant %d, refused %d), want %d (new %d, redundant %d, refused %d)",
					f.TaskManagers, f.New, f.Redundant, f.Refused, tc.wantTMs, tc.wantNew, tc.wantRedundant, tc.wantRefused)
			}
			if !f.Fulfillable {
				t.Errorf("the job's slots fit the new TaskManagers, yet unfulfilled %+v", f.Unfulfilled)
			}
			msgs := strings.Join(f.Messages, "\n")
			refusedMsg := strings.Contains(msgs, "Could not allocate a new TaskManager. Max total resource limitation")
			if refusedMsg != (tc.wantRefused > 0) {
				t.Errorf("max-total message logged = %v, want %v: %q", refusedMsg, tc.wantRefused > 0, f.Messages)
			}
			// A refused TaskManager that holds none of the job's slots does not fail the job.
			if strings.Contains(msgs, "Could not fulfill resource requirements") {
				t.Errorf("the job is reported unfulfilled: %q", f.Messages)
			}
			if tc.wantRecommended > 0 {
				if r.Recommended == nil {
					t.Fatalf("no recommended plan, want %d TaskManagers", tc.wantRecommended)
				}
				if got := r.Recommended.TaskManagers; got != tc.wantRecommended {
					t.Errorf("recommended %d TaskManagers, want %d", got, tc.wantRecommended)
				}
			}
		})
	}
}
