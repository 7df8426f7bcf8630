package flinktune

import "github.com/flinktune/flinktune/autoscaler"

// The slot ceiling: a cluster that cannot grow (a standalone cluster, or a TaskManager count
// at its maximum) gives a scale-up only the slots it has. The policy learns that from a
// target it decided and did not get, and sizes later scale-ups within it. Without it, a
// bottleneck sized past the ceiling stayed "short" every cycle, and each cycle's drain sizing
// of the other vertices, done for a catch-up the capped bottleneck cannot deliver, moved a
// vertex or two by a subtask: a rescale every few minutes that drained nothing faster
// (a steady job with a start backlog rescaled 6 times against the operator's 2).

// noteSlotCeiling learns the slots the job can hold: after our own rescale restarted the job,
// some vertex runs below its target and no slot is free, so the job holds all it can get. A
// restart of a failure (a TaskManager lost, its replacement on the way) teaches nothing. A
// cluster that later offers more slots than it had then lifts the ceiling.
func (p *Policy) noteSlotCeiling(snap *autoscaler.Snapshot, infos []vertexInfo) {
	if p.st.SlotCeiling > 0 && snap.SlotsTotal > p.st.SlotCeilingTotal {
		p.st.SlotCeiling, p.st.SlotCeilingTotal = 0, 0
	}
	if snap.SlotsAvailable != 0 || snap.SlotsTotal <= 0 || !p.st.RescaledRun {
		return
	}
	for id, n := range p.st.Target {
		if v := snap.Vertex(id); v != nil && v.Parallelism < n {
			p.st.SlotCeiling, p.st.SlotCeilingTotal = slotsOf(infos, nil), snap.SlotsTotal
			return
		}
	}
}

// slotsOf is the number of slots the vertices take at the given parallelism (current where
// target has no entry): the sum over slot sharing groups of their largest parallelism.
func slotsOf(infos []vertexInfo, target map[string]int) int {
	n := 0
	for _, p := range groupSlots(infos, target) {
		n += p
	}
	return n
}

// groupSlots is each slot sharing group's slots at the given parallelism (current where target
// has no entry): its largest parallelism.
func groupSlots(infos []vertexInfo, target map[string]int) map[string]int {
	groups := map[string]int{}
	for _, vi := range infos {
		p, ok := target[vi.ID]
		if !ok {
			p = vi.P
		}
		groups[vi.SlotSharing] = max(groups[vi.SlotSharing], p)
	}
	return groups
}

// capAtCeiling keeps a scale-up within the learned slot ceiling: a vertex may grow to the
// ceiling less the slots the other slot sharing groups hold now. It reports whether that
// capped some vertex.
func (p *Policy) capAtCeiling(e *evaluation, sz *sizing) bool {
	if p.st.SlotCeiling <= 0 {
		return false
	}
	groupNow := groupSlots(e.order, nil)
	total := 0
	for _, n := range groupNow {
		total += n
	}
	capped := false
	for _, vi := range e.order {
		limit := max(vi.P, p.st.SlotCeiling-(total-groupNow[vi.SlotSharing]))
		if sz.up[vi.ID] > limit {
			sz.up[vi.ID], capped = limit, true
		}
	}
	return capped
}

// boundDrain sizes the drain of a scale-up for the catch-up the plan can deliver. When a
// vertex cannot be sized for the lag it must drain (capped at the slot ceiling, at its max
// parallelism or partitions, or where its subtasks stop paying: yieldLimit), the job drains
// only as fast as that vertex lets its sources read, so every vertex sized to drain lag is
// sized for that rate: more is parallelism that drains nothing, held until the scale-down
// after the catch-up (a window capped at 54 of the 128 it asked for left a filter at 42
// subtasks where 25 drained as fast).
func (p *Policy) boundDrain(e *evaluation, sz *sizing, capped bool) {
	if e.ingest <= 0 {
		return
	}
	for _, vi := range e.order {
		if e.models[vi.ID].planned(sz.up).capacity(sz.up[vi.ID])*catchUpUtilization < sz.drainRate[vi.ID] {
			capped = true
		}
	}
	if !capped {
		return
	}
	reach := map[string]float64{} // per source: the total source rate its branch sustains, planned
	for _, vi := range e.order {
		if vi.Source {
			reach[vi.ID] = branchCapacity(e, vi.ID, sz.up)
		}
	}
	for _, vi := range e.order {
		if !sz.drained[vi.ID] {
			continue
		}
		bound := 0.0
		for src := range e.feeds[vi.ID] {
			bound = max(bound, reach[src])
		}
		rate := min(sz.drainRate[vi.ID], bound*e.demand[vi.ID]/e.ingest)
		n := e.models[vi.ID].planned(sz.up).drainSize(rate, p.o)
		sz.up[vi.ID] = min(sz.up[vi.ID], max(n, sz.forDemand[vi.ID], vi.P))
		sz.drained[vi.ID] = sz.up[vi.ID] > max(sz.forDemand[vi.ID], vi.P)
	}
}
