package scheduler

// VertexParallelism is a vertex with a fixed parallelism, as a coarse-grained (non-adaptive)
// job runs it.
type VertexParallelism struct {
	ID               string
	SlotSharingGroup string
	Parallelism      int
}

// SlotsNeeded counts the slots a coarse-grained streaming job occupies: a slot-sharing group
// needs as many slots as its highest vertex parallelism, and the job the sum over groups.
// perGroup maps each group to its slots. Co-location constraints add nothing.
func SlotsNeeded(vs []VertexParallelism) (total int, perGroup map[string]int) {
	perGroup = map[string]int{}
	for _, v := range vs {
		perGroup[v.SlotSharingGroup] = max(perGroup[v.SlotSharingGroup], v.Parallelism)
	}
	for _, n := range perGroup {
		total += n
	}
	return total, perGroup
}

// TaskManagersNeeded is ceil(slots / slotsPerTM): how many identical TaskManagers with
// slotsPerTM slots each hold slots slots (slotsPerTM < 1 counts as 1).
func TaskManagersNeeded(slots, slotsPerTM int) int {
	if slots <= 0 {
		return 0
	}
	slotsPerTM = max(slotsPerTM, 1)
	return (slots + slotsPerTM - 1) / slotsPerTM
}
