package scheduler

import (
	"bufio"
	"encoding/json"
	"maps"
	"os"
	"testing"
)

type slotVector struct {
	ID       string `json:"id"`
	Vertices []struct {
		ID    string `json:"id"`
		SSG   string `json:"ssg"`
		Lower int    `json:"lower"`
		Upper int    `json:"upper"`
	} `json:"vertices"`
	FreeSlots *int `json:"free_slots"`
	Expected  struct {
		RequiredSlots *int            `json:"required_slots"`
		Parallelism   json.RawMessage `json:"parallelism"`
		Legacy        json.RawMessage `json:"legacy_le_1_18_parallelism"`
	} `json:"expected"`
}

func loadSlotVectors(t *testing.T) []slotVector {
	t.Helper()
	f, err := os.Open("../testdata/vectors/adaptive-scheduler-slots.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []slotVector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v slotVector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("vector %d: %v", len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// parseExpected decodes {"v": p} or null (not runnable).
func parseExpected(t *testing.T, raw json.RawMessage) (map[string]int, bool) {
	t.Helper()
	if string(raw) == "null" {
		return nil, false
	}
	var m map[string]int
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m, true
}

func TestAdaptiveSchedulerSlotVectors(t *testing.T) {
	vectors := loadSlotVectors(t)
	if len(vectors) != 12 {
		t.Fatalf("want 12 vectors, got %d", len(vectors))
	}
	legacy := 0
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			var vs []VertexRequirement
			for _, x := range v.Vertices {
				vs = append(vs, VertexRequirement{ID: x.ID, SlotSharingGroup: x.SSG, Lower: x.Lower, Upper: x.Upper})
			}
			if v.FreeSlots == nil {
				if v.Expected.RequiredSlots == nil {
					t.Fatal("vector has neither free_slots nor required_slots")
				}
				if got := RequiredSlots(vs); got != *v.Expected.RequiredSlots {
					t.Errorf("RequiredSlots = %d, want %d", got, *v.Expected.RequiredSlots)
				}
				return
			}
			check := func(sem Semantics, raw json.RawMessage) {
				want, wantOK := parseExpected(t, raw)
				got, ok := DetermineParallelism(vs, *v.FreeSlots, sem)
				if ok != wantOK || !maps.Equal(got, want) {
					t.Errorf("%s: DetermineParallelism(%d) = %v, %v; want %v, %v", sem, *v.FreeSlots, got, ok, want, wantOK)
				}
				// Sufficiency and MinimumSlots must agree.
				if ok != (*v.FreeSlots >= MinimumSlots(vs, sem)) {
					t.Errorf("%s: ok=%v but MinimumSlots=%d", sem, ok, MinimumSlots(vs, sem))
				}
			}
			check(Flink119, v.Expected.Parallelism)
			if v.Expected.Legacy != nil {
				legacy++
				check(Flink118, v.Expected.Legacy)
			}
		})
	}
	if legacy != 1 {
		t.Errorf("want 1 legacy vector, ran %d", legacy)
	}
}

func vr(id, g string, lo, hi int) VertexRequirement {
	return VertexRequirement{ID: id, SlotSharingGroup: g, Lower: lo, Upper: hi}
}

// Worked examples of flink-scheduling.md §A.7, including the slots per group.
func TestSlotsPerGroupWorkedExamples(t *testing.T) {
	tests := []struct {
		name  string
		vs    []VertexRequirement
		free  int
		sem   Semantics
		want  map[string]int // per group; nil = not runnable
		wantP map[string]int
	}{
		{"minimum slots", []VertexRequirement{vr("v1", "g1", 1, 4), vr("v2", "g1", 1, 2), vr("v3", "g2", 1, 3)}, 2, Flink119,
			map[string]int{"g1": 1, "g2": 1}, map[string]int{"v1": 1, "v2": 1, "v3": 1}},
		{"varied", []VertexRequirement{vr("v11", "g1", 1, 4), vr("v12", "g1", 1, 1), vr("v2", "g2", 1, 2)}, 6, Flink119,
			map[string]int{"g1": 4, "g2": 2}, map[string]int{"v11": 4, "v12": 1, "v2": 2}},
		{"partially equal", []VertexRequirement{vr("v1", "g1", 1, 8), vr("v2", "g2", 10, 10)}, 13, Flink119,
			map[string]int{"g1": 3, "g2": 10}, map[string]int{"v1": 3, "v2": 10}},
		{"unused slots", []VertexRequirement{vr("v1", "g1", 4, 4), vr("v2", "g2", 10, 10)}, 26, Flink119,
			map[string]int{"g1": 4, "g2": 10}, map[string]int{"v1": 4, "v2": 10}},
		// Equal ranges: the tie-break by name visits g1 first, so g2 collects the remainder.
		{"tie by name", []VertexRequirement{vr("b", "g2", 1, 100), vr("a", "g1", 1, 100)}, 11, Flink119,
			map[string]int{"g1": 5, "g2": 6}, map[string]int{"a": 5, "b": 6}},
		{"three groups", []VertexRequirement{vr("src", "g1", 1, 128), vr("map", "g1", 1, 128), vr("sink", "g2", 1, 4), vr("x", "g3", 2, 6)}, 10, Flink119,
			map[string]int{"g1": 3, "g2": 3, "g3": 4}, map[string]int{"src": 3, "map": 3, "sink": 3, "x": 4}},
		{"insufficient", []VertexRequirement{vr("v1", "g1", 4, 4), vr("v2", "g2", 10, 10)}, 3, Flink119, nil, nil},
		{"legacy runs below lower bound", []VertexRequirement{vr("v1", "g1", 2, 2), vr("v2", "g1", 8, 8)}, 5, Flink118,
			map[string]int{"g1": 5}, map[string]int{"v1": 2, "v2": 5}},
		{"1.19 refuses the same", []VertexRequirement{vr("v1", "g1", 2, 2), vr("v2", "g1", 8, 8)}, 5, Flink119, nil, nil},
		{"no vertices", nil, 3, Flink119, map[string]int{}, map[string]int{}},
		{"negative free slots", []VertexRequirement{vr("v", "g", 1, 2)}, -1, Flink119, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SlotsPerGroup(tc.vs, tc.free, tc.sem)
			if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
				t.Errorf("SlotsPerGroup = %v, %v; want %v", got, ok, tc.want)
			}
			gotP, ok := DetermineParallelism(tc.vs, tc.free, tc.sem)
			if ok != (tc.wantP != nil) || !maps.Equal(gotP, tc.wantP) {
				t.Errorf("DetermineParallelism = %v, %v; want %v", gotP, ok, tc.wantP)
			}
		})
	}
}

// Properties of the distribution over many small inputs: never more slots than free, every
// group within [min, max], every vertex within [lower, upper] (1.19+), and all free slots used
// whenever the groups could take them.
func TestSlotsPerGroupProperties(t *testing.T) {
	groups := []string{"a", "b", "c"}
	n := 0
	for mask := 0; mask < 3*3*3*3; mask++ {
		var vs []VertexRequirement
		m := mask
		for i := 0; i < 4; i++ {
			lo := 1 + m%3
			vs = append(vs, vr(string(rune('p'+i)), groups[(i+mask/7)%3], lo, lo+(m%5)*2))
			m /= 3
		}
		need := MinimumSlots(vs, Flink119)
		for free := 0; free < 30; free++ {
			n++
			per, ok := SlotsPerGroup(vs, free, Flink119)
			if ok != (free >= need) {
				t.Fatalf("%v free %d: ok=%v need=%d", vs, free, ok, need)
			}
			if !ok {
				continue
			}
			used := 0
			for _, g := range Groups(vs, Flink119) {
				s := per[g.Name]
				used += s
				if s < g.MinSlots || s > g.MaxSlots {
					t.Fatalf("%v free %d: group %s got %d outside [%d,%d]", vs, free, g.Name, s, g.MinSlots, g.MaxSlots)
				}
			}
			if used > free {
				t.Fatalf("%v free %d: used %d", vs, free, used)
			}
			req := RequiredSlots(vs)
			if want := min(free, req); used != want {
				t.Fatalf("%v free %d: used %d, want %d", vs, free, used, want)
			}
			p, _ := DetermineParallelism(vs, free, Flink119)
			for _, v := range vs {
				if p[v.ID] < v.Lower || p[v.ID] > v.Upper {
					t.Fatalf("%v free %d: vertex %s parallelism %d", vs, free, v.ID, p[v.ID])
				}
			}
			if len(SharedSlots(vs, p)) != used {
				t.Fatalf("SharedSlots len %d, used %d", len(SharedSlots(vs, p)), used)
			}
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

func TestSharedSlots(t *testing.T) {
	vs := []VertexRequirement{vr("src", "default", 1, 4), vr("map", "default", 1, 8), vr("sink", "s", 1, 2)}
	p := map[string]int{"src": 2, "map": 3, "sink": 2}
	got := SharedSlots(vs, p)
	if len(got) != 5 {
		t.Fatalf("len = %d, want 5: %+v", len(got), got)
	}
	if got[0].Group != "default" || len(got[0].Subtasks) != 2 || got[2].Index != 2 || len(got[2].Subtasks) != 1 ||
		got[2].Subtasks[0] != (Subtask{"map", 2}) || got[3].Group != "s" || got[4].Subtasks[0] != (Subtask{"sink", 1}) {
		t.Errorf("unexpected shared slots: %+v", got)
	}
}
