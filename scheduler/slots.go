// Package scheduler reproduces the slot arithmetic of Flink's adaptive scheduler and of
// coarse-grained slot counting: how free slots are distributed across slot-sharing groups
// (SlotSharingSlotAllocator), which key groups a subtask owns (KeyGroupRangeAssignment), the
// default max parallelism, validation of PUT /jobs/:jobid/resource-requirements, and how many
// slots and TaskManagers a job needs.
//
// Every function is pure: no clock, no randomness, no I/O. Where Flink's result depends on Java
// HashMap iteration order, this package fixes a documented deterministic order instead.
package scheduler

import (
	"cmp"
	"slices"
)

// Semantics selects the Flink version whose SlotSharingSlotAllocator is reproduced.
type Semantics int

const (
	// Flink119 is Flink 1.19 and later (FLINK-33960): a slot-sharing group needs at least the
	// maximum lower bound of its vertices, and its range is max upper − max lower. The default.
	Flink119 Semantics = iota
	// Flink118 is Flink 1.18 and earlier: a group needs only the minimum lower bound of its
	// vertices (so a vertex can run below its own lower bound — the bug FLINK-33960 fixed), its
	// optional slots are max upper − min lower, and groups are ordered by the largest per-vertex
	// range upper − lower.
	Flink118
)

// String names the semantics for messages.
func (s Semantics) String() string {
	if s == Flink118 {
		return "<=1.18"
	}
	return "1.19+"
}

// VertexRequirement is one job vertex's parallelism bounds and slot-sharing group, as the
// adaptive scheduler sees them (JobResourceRequirements, or lower 1 / upper = the configured
// parallelism by default). Bounds are expected to be normalized (see ValidateRequirements).
type VertexRequirement struct {
	ID               string
	SlotSharingGroup string
	Lower, Upper     int
}

// GroupInfo summarizes one slot-sharing group (Flink's SlotSharingGroupMetaInfo).
type GroupInfo struct {
	Name string
	// MinSlots is the slots the group needs at least: the max lower bound of its vertices
	// (1.19+) or the min lower bound (<=1.18).
	MinSlots int
	// MaxSlots is the max upper bound of its vertices: the slots the group can use at most.
	MaxSlots int
	// Range orders groups when slots are distributed: max upper − max lower (1.19+), or the
	// largest per-vertex upper − lower (<=1.18).
	Range int
	// Vertices lists the group's vertex ids in input order.
	Vertices []string
}

// Groups summarizes vs per slot-sharing group, sorted by name.
func Groups(vs []VertexRequirement, sem Semantics) []GroupInfo {
	idx := map[string]int{}
	var out []GroupInfo
	// maxLower is tracked separately because the <=1.18 range needs per-vertex ranges.
	for _, v := range vs {
		i, ok := idx[v.SlotSharingGroup]
		if !ok {
			i = len(out)
			idx[v.SlotSharingGroup] = i
			out = append(out, GroupInfo{Name: v.SlotSharingGroup, MinSlots: v.Lower, MaxSlots: v.Upper, Range: rangeOf(v, sem)})
			out[i].Vertices = []string{v.ID}
			continue
		}
		g := &out[i]
		g.Vertices = append(g.Vertices, v.ID)
		g.MaxSlots = max(g.MaxSlots, v.Upper)
		if sem == Flink118 {
			g.MinSlots = min(g.MinSlots, v.Lower)
			g.Range = max(g.Range, v.Upper-v.Lower)
		} else {
			g.MinSlots = max(g.MinSlots, v.Lower)
		}
	}
	if sem != Flink118 {
		for i := range out {
			out[i].Range = out[i].MaxSlots - out[i].MinSlots
		}
	}
	slices.SortFunc(out, func(a, b GroupInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func rangeOf(v VertexRequirement, sem Semantics) int {
	if sem == Flink118 {
		return v.Upper - v.Lower
	}
	return 0 // recomputed from the group's max bounds
}

// RequiredSlots is the number of slots the adaptive scheduler declares to the ResourceManager
// (its desired resources): Σ over slot-sharing groups of the max upper bound.
func RequiredSlots(vs []VertexRequirement) int {
	n := 0
	for _, g := range Groups(vs, Flink119) {
		n += g.MaxSlots
	}
	return n
}

// MinimumSlots is the fewest free slots with which DetermineParallelism succeeds (the adaptive
// scheduler's "sufficient resources"): Σ over slot-sharing groups of GroupInfo.MinSlots.
func MinimumSlots(vs []VertexRequirement, sem Semantics) int {
	n := 0
	for _, g := range Groups(vs, sem) {
		n += g.MinSlots
	}
	return n
}

// SlotsPerGroup distributes freeSlots across slot-sharing groups as
// SlotSharingSlotAllocator.determineSlotsPerSharingGroup does. It reports false when freeSlots is
// below MinimumSlots.
//
// Groups are visited by ascending Range; Flink breaks ties by Java HashMap order of random
// group ids, which is effectively arbitrary, so flinktune breaks them by group name (ascending).
// Each visited group gets its minimum plus min(its optional slots, an even share of the slots
// not reserved for the remaining groups' minimums); shares round down, so the groups visited
// last collect the remainders. Slots left after the last group stay unused.
func SlotsPerGroup(vs []VertexRequirement, freeSlots int, sem Semantics) (map[string]int, bool) {
	groups := Groups(vs, sem)
	minRequired := 0
	for _, g := range groups {
		minRequired += g.MinSlots
	}
	if freeSlots < minRequired {
		return nil, false
	}
	// Stable sort on a name-sorted slice: ties stay in name order.
	slices.SortStableFunc(groups, func(a, b GroupInfo) int { return cmp.Compare(a.Range, b.Range) })
	out := make(map[string]int, len(groups))
	unassigned, groupsLeft, minLeft := freeSlots, len(groups), minRequired
	for _, g := range groups {
		optional := g.MaxSlots - g.MinSlots
		share := (unassigned - minLeft) / groupsLeft
		slots := g.MinSlots + min(optional, share)
		out[g.Name] = slots
		minLeft -= g.MinSlots
		unassigned -= slots
		groupsLeft--
	}
	return out, true
}

// DetermineParallelism is SlotSharingSlotAllocator.determineParallelism: the parallelism of
// every vertex given freeSlots slots, or false when the slots are not sufficient. A vertex gets
// min(its upper bound, its group's slots) (see SlotsPerGroup for the distribution and the
// tie-break).
func DetermineParallelism(vs []VertexRequirement, freeSlots int, sem Semantics) (map[string]int, bool) {
	perGroup, ok := SlotsPerGroup(vs, freeSlots, sem)
	if !ok {
		return nil, false
	}
	out := make(map[string]int, len(vs))
	for _, v := range vs {
		out[v.ID] = min(v.Upper, perGroup[v.SlotSharingGroup])
	}
	return out, true
}

// Subtask names one parallel instance of a vertex.
type Subtask struct {
	Vertex string
	Index  int
}

// SharedSlot is one slot's content under slot sharing (Flink's ExecutionSlotSharingGroup):
// subtask Index of every vertex of Group whose parallelism exceeds Index.
type SharedSlot struct {
	Group    string
	Index    int
	Subtasks []Subtask
}

// SharedSlots lists the slots a job occupies at the given parallelism, grouped as
// AllocatorUtil.createExecutionSlotSharingGroups does ("co-location by subtask number"): per
// slot-sharing group (sorted by name), slot i holds subtask i of every vertex with parallelism
// > i, vertices in input order. Its length is Σ over groups of the max vertex parallelism.
func SharedSlots(vs []VertexRequirement, parallelism map[string]int) []SharedSlot {
	var out []SharedSlot
	for _, g := range Groups(vs, Flink119) {
		width := 0
		for _, id := range g.Vertices {
			width = max(width, parallelism[id])
		}
		for i := 0; i < width; i++ {
			s := SharedSlot{Group: g.Name, Index: i}
			for _, id := range g.Vertices {
				if parallelism[id] > i {
					s.Subtasks = append(s.Subtasks, Subtask{Vertex: id, Index: i})
				}
			}
			out = append(out, s)
		}
	}
	return out
}
