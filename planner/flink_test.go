package planner

import (
	"strings"
	"testing"
)

const (
	testMiB = int64(1) << 20
	testGiB = int64(1) << 30
)

func dec(t testing.TB, s string) Decimal {
	t.Helper()
	d, err := ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// b4096 is the TaskManager of flink-scheduling.md §B.2: process.size 4096m, 4 slots, 4 cores.
func b4096(t testing.TB) Shape {
	return Shape{Name: "tm-4096m", Slots: 4, Total: Profile{
		CPU: dec(t, "4"), TaskHeap: 1_530_082_070, Managed: 1_438_814_063, Network: 359_703_515,
	}}
}

func unknownGroups(n int) []Group { return []Group{{Name: "default", Slots: n}} }

func heapGroup(name string, heap int64, slots int, cpu Decimal) Group {
	return Group{Name: name, Slots: slots, Profile: &Profile{CPU: cpu, TaskHeap: heap}}
}

func mustPlan(t *testing.T, s Spec) *Result {
	t.Helper()
	s.Search.Disabled = true
	r, err := Plan(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func slotsPerTM(r []TMOut) []int {
	out := make([]int, len(r))
	for i, tm := range r {
		for _, s := range tm.Slots {
			out[i] += s.Count
		}
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The worked examples of flink-scheduling.md §B.5 and the docs' fine-grained figure.
func TestFlinkWorkedExamples(t *testing.T) {
	fourGB := Shape{Name: "tm-4g-heap", Slots: 1, Total: Profile{CPU: dec(t, "4"), TaskHeap: 4 * testGiB}}
	tests := []struct {
		name        string
		spec        Spec
		wantTMs     int
		wantNew     int
		wantSlots   []int // slots per TaskManager in order
		unfulfilled bool
		wantMsg     string
	}{
		{
			name:    "coarse-grained 10 slots on 4-slot TaskManagers",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(10)},
			wantTMs: 3, wantNew: 3, wantSlots: []int{4, 4, 2},
		},
		{
			name:    "same with one redundant TaskManager",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(10), Options: SlotManagerOptions{RedundantTaskManagers: 1}},
			wantTMs: 4, wantNew: 3, wantSlots: []int{4, 4, 2, 0},
		},
		{
			name: "docs figure: a 0.25-core 1 GB request and a default slot on a 1-core 4 GB TaskManager",
			spec: Spec{
				TaskManager: Shape{Name: "tm", Slots: 2, Total: Profile{CPU: dec(t, "1"), TaskHeap: 4 * testGiB}},
				Groups:      []Group{heapGroup("A", testGiB, 1, dec(t, "0.25")), {Name: "B", Slots: 1}},
				Registered:  []Profile{{}},
			},
			wantTMs: 1, wantNew: 0, wantSlots: []int{2},
		},
		{
			name:    "fragmentation: two 3 GB requests on 4 GB TaskManagers",
			spec:    Spec{TaskManager: fourGB, Groups: []Group{heapGroup("big", 3*testGiB, 2, dec(t, "1"))}},
			wantTMs: 2, wantNew: 2, wantSlots: []int{1, 1},
		},
		{
			name: "fragmentation: two 1 GB requests in the same round land in the remainders",
			spec: Spec{TaskManager: fourGB, Groups: []Group{
				heapGroup("big", 3*testGiB, 2, dec(t, "1")), heapGroup("small", testGiB, 2, dec(t, "1"))}},
			wantTMs: 2, wantNew: 2, wantSlots: []int{2, 2},
		},
		{
			name:        "oversized: a 5 GB request on 4 GB TaskManagers is unfulfillable",
			spec:        Spec{TaskManager: fourGB, Groups: []Group{heapGroup("huge", 5*testGiB, 1, dec(t, "1"))}},
			wantTMs:     1, // Flink's minimum-CPU rule (Double.MIN_VALUE) still starts one empty TaskManager
			wantNew:     0,
			wantSlots:   []int{0},
			unfulfilled: true,
			wantMsg:     "NoResourceAvailableException: Could not acquire the minimum required resources.",
		},
		{
			name: "first fit over registered TaskManagers",
			spec: Spec{TaskManager: b4096(t), Groups: unknownGroups(3),
				Registered: []Profile{twoDefaultSlots(t), {}, {}}},
			wantTMs: 3, wantNew: 0, wantSlots: []int{2, 1, 0},
		},
		{
			name: "evenly spread over registered TaskManagers (Java PriorityQueue tie order)",
			spec: Spec{TaskManager: b4096(t), Groups: unknownGroups(3),
				Registered: []Profile{twoDefaultSlots(t), {}, {}}, Options: SlotManagerOptions{EvenlySpread: true}},
			wantTMs: 3, wantNew: 0, wantSlots: []int{0, 2, 1},
		},
		{
			name:    "pending TaskManagers are used before new ones",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(6), Pending: 1},
			wantTMs: 2, wantNew: 1, wantSlots: []int{4, 2},
		},
		{
			name:    "max slots refuses the third TaskManager",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(10), Options: SlotManagerOptions{MaxSlots: 8}},
			wantTMs: 2, wantNew: 2, wantSlots: []int{4, 4, 2}, unfulfilled: true,
			wantMsg: "Max total resource limitation <8, ",
		},
		{
			name:    "standalone cannot start TaskManagers",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(6), Registered: []Profile{{}}, Options: SlotManagerOptions{Standalone: true}},
			wantTMs: 1, wantNew: 0, wantSlots: []int{4, 2}, unfulfilled: true,
			wantMsg: "standalone deployment",
		},
		{
			name:    "minimum slots start TaskManagers up front",
			spec:    Spec{TaskManager: b4096(t), Groups: unknownGroups(2), Options: SlotManagerOptions{MinSlots: 12}},
			wantTMs: 3, wantNew: 1, wantSlots: []int{2, 0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mustPlan(t, tc.spec)
			f := r.FlinkDefault
			if f.TaskManagers != tc.wantTMs || f.New != tc.wantNew {
				t.Errorf("taskManagers = %d (new %d), want %d (new %d)", f.TaskManagers, f.New, tc.wantTMs, tc.wantNew)
			}
			if got := slotsPerTM(f.Allocation); !equalInts(got, tc.wantSlots) {
				t.Errorf("slots per TaskManager = %v, want %v", got, tc.wantSlots)
			}
			if f.Fulfillable == tc.unfulfilled {
				t.Errorf("fulfillable = %v, unfulfilled = %+v", f.Fulfillable, f.Unfulfilled)
			}
			if tc.wantMsg != "" && !strings.Contains(strings.Join(f.Messages, "\n"), tc.wantMsg) {
				t.Errorf("messages %q lack %q", f.Messages, tc.wantMsg)
			}
		})
	}
}

// twoDefaultSlots is the use of two default slots of b4096.
func twoDefaultSlots(t testing.TB) Profile {
	s := b4096(t)
	return Profile{CPU: dec(t, "2"), TaskHeap: s.Total.TaskHeap / 4 * 2, Managed: s.Total.Managed / 4 * 2, Network: s.Total.Network / 4 * 2}
}

func TestDefaultSlotRoundsDown(t *testing.T) {
	r := mustPlan(t, Spec{TaskManager: Shape{Name: "tm", Slots: 3, Total: Profile{CPU: dec(t, "1"), TaskHeap: 1000}}, Groups: unknownGroups(3)})
	if got := r.DefaultSlot.CPU.String(); got != "0.3333333333333333" {
		t.Errorf("default slot cpu = %s", got)
	}
	if r.DefaultSlot.TaskHeap != 333 {
		t.Errorf("default slot heap = %d", r.DefaultSlot.TaskHeap)
	}
	if r.FlinkDefault.TaskManagers != 1 {
		t.Errorf("3 default slots of 1/3 core fit one TaskManager, got %d", r.FlinkDefault.TaskManagers)
	}
}

func TestOrderSensitivity(t *testing.T) {
	fourGB := Shape{Name: "tm", Slots: 1, Total: Profile{CPU: dec(t, "4"), TaskHeap: 4 * testGiB}}
	r := mustPlan(t, Spec{TaskManager: fourGB, Groups: []Group{
		heapGroup("big", 3*testGiB, 2, dec(t, "1")), heapGroup("small", testGiB, 2, dec(t, "1"))}})
	o := r.FlinkDefault.OrderSensitivity
	if o == nil || o.Min != 2 || o.Max != 3 || o.Orders != 2 {
		t.Fatalf("order sensitivity = %+v, want 2..3 over 2 orders", o)
	}
}

func TestEqualProfilesMerge(t *testing.T) {
	r := mustPlan(t, Spec{TaskManager: b4096(t), Groups: []Group{
		{Name: "a", Slots: 2}, heapGroup("b", testGiB, 1, dec(t, "1")), {Name: "c", Slots: 3}, heapGroup("d", testGiB, 2, dec(t, "1"))}})
	if len(r.Requests) != 2 || r.Requests[0].Name != "a+c" || r.Requests[0].Slots != 5 || r.Requests[1].Slots != 3 {
		t.Fatalf("requests = %+v", r.Requests)
	}
	if r.Coarse.Slots != 8 || r.Coarse.TaskManagers != 2 {
		t.Errorf("coarse = %+v", r.Coarse)
	}
}
