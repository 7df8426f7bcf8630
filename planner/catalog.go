package planner

import (
	"cmp"
	"fmt"
	"slices"
)

// catalogPlans evaluates every catalog shape alone for the whole job: Flink's first fit with
// that shape, and the best packing (never worse than Flink's).
func (p *planner) catalogPlans() []CatalogOut {
	var out []CatalogOut
	for _, s := range p.spec.Catalog {
		sv := p.sp.vec(s.Total)
		def := divSlots(sv, s.Slots)
		runs := expandRuns(p.reqs, def)
		c := CatalogOut{Shape: p.shapeOut(s), Fits: len(oversized(runs, sv)) == 0}
		fo := flinkAllocate(p.sp, sv, s.Slots, p.reqs, nil, 0, p.spec.Options, p.job)
		c.FlinkTaskManagers = fo.taskManagers()
		c.FlinkFulfillable = fo.fulfillable() && !anyFailed(fo.bins)
		if c.Fits {
			pk := packBest(p.sp, runs, sv, nil)
			bins, _ := addRequired(pk.bins, sv, s.Slots, p.spec.Options)
			algo := pk.algo
			if fo.fulfillable() && !anyFailed(fo.bins) && fo.taskManagers() <= len(bins) {
				bins, algo = fo.bins, "Flink's own first fit: no packing heuristic does better"
			}
			cost := float64(len(bins)) * shapeCost(s, p.spec.TaskManager, p.useProc)
			c.Plan = &RecommendedOut{
				TaskManagers: len(bins), Algorithm: algo + " on " + s.Name, Cost: round4(cost),
				Shapes:     []ShapeCount{{Shape: c.Shape, Count: len(bins)}},
				Waste:      p.waste(bins),
				Allocation: p.binsOut(bins, []Shape{s}),
				Note:       "needs TaskManagers of this shape instead of the configured one",
			}
		}
		out = append(out, c)
	}
	return out
}

// mixedPlan builds a heterogeneous plan over the configured shape and the catalog: it
// repeatedly opens the TaskManager whose first-fit-decreasing fill packs the most work per unit
// of cost, then shrinks every TaskManager to the cheapest shape that still holds its slots.
// Flink's active resource managers start identical TaskManagers only, so such a plan needs
// TaskManager pools you run yourself (standalone, or several deployments).
func (p *planner) mixedPlan() *RecommendedOut {
	m := p.newMixer()
	bins, ok := m.greedy()
	if !ok {
		return nil // some slot fits no shape
	}
	m.shrink(bins)
	bins = m.closeSparse(bins)
	return m.out(bins)
}

// mixer is one mixedPlan call's working state, shared by its steps: the shapes to mix (the
// configured one first, then the catalog), the work of one slot of each requirement, and the
// slots not placed yet.
type mixer struct {
	p      *planner
	shapes []Shape
	ss     []mixShape
	// weight[i] is the work of one slot of requirement i: its size on the configured
	// TaskManager, normalized and summed, so that shapes compare by work per unit of cost.
	weight []float64
	// remaining[i] counts requirement i's slots not placed yet, left all of them.
	remaining []int
	left      int
}

type mixShape struct {
	v, def vec
	cost   float64
}

// newMixer sizes each shape (total, default slot, cost) and weighs each requirement's slots.
func (p *planner) newMixer() *mixer {
	m := &mixer{p: p, shapes: append([]Shape{p.spec.TaskManager}, p.spec.Catalog...)}
	m.ss = make([]mixShape, len(m.shapes))
	for i, s := range m.shapes {
		v := p.sp.vec(s.Total)
		m.ss[i] = mixShape{v, divSlots(v, s.Slots), shapeCost(s, p.spec.TaskManager, p.useProc)}
	}
	// Work of one slot: its size on the configured TaskManager, normalized and summed.
	m.weight = make([]float64, len(p.reqs))
	for i, rq := range p.reqs {
		for _, x := range normalized(rq.effective(p.defSlot), p.total) {
			m.weight[i] += x
		}
	}
	m.remaining = make([]int, len(p.reqs))
	for i, rq := range p.reqs {
		m.remaining[i] = rq.count
		m.left += rq.count
	}
	return m
}

// work is the work a TaskManager holds: its slots weighed as in newMixer.
func (m *mixer) work(b *bin) float64 {
	v := 0.0
	for _, a := range b.allocs {
		v += float64(a.count) * m.weight[a.req]
	}
	return v
}

// fill opens a TaskManager of shape si and fills it first fit decreasing (largest
// normalized dimension first) with the slots not placed yet, each sized for that shape.
func (m *mixer) fill(si int) *bin {
	s := m.ss[si]
	runs := expandRuns(m.p.reqs, s.def)
	for i := range runs {
		runs[i].count = m.remaining[runs[i].req]
	}
	runs = sortedRuns(runs, s.v, func(n []float64) float64 { return slices.Max(n) })
	b := newBin(KindNew, si, s.v, nil)
	for _, r := range runs {
		b.add(r.req, r.v, fitCountFree(b, r.v, r.count))
	}
	return b
}

// greedy opens TaskManagers until every slot is placed, each time the shape whose fill packs
// the most work per unit of cost (the first such shape on a tie); false when some slot fits
// no shape.
func (m *mixer) greedy() ([]*bin, bool) {
	var bins []*bin
	for m.left > 0 {
		best := m.mostWorkPerCost()
		if best == nil {
			return nil, false
		}
		for _, a := range best.allocs {
			m.remaining[a.req] -= a.count
			m.left -= a.count
		}
		bins = append(bins, best)
	}
	return bins, true
}

// mostWorkPerCost fills one TaskManager of every shape and keeps the one with the most work
// per unit of cost; nil when no shape takes a single slot.
func (m *mixer) mostWorkPerCost() *bin {
	var best *bin
	bestRatio := 0.0
	for si := range m.ss {
		b := m.fill(si)
		value := m.work(b)
		if value == 0 && b.slots() > 0 {
			value = 1e-12 // zero-size slots still need a home
		}
		if b.slots() == 0 {
			continue
		}
		ratio := value / m.ss[si].cost
		if best == nil || ratio > bestRatio*(1+1e-12) {
			best, bestRatio = b, ratio
		}
	}
	return best
}

// shrink replaces each TaskManager, in place, by the cheapest shape that holds its slots
// (each slot resized to that shape), since the greedy fill may leave a large shape
// half-used.
func (m *mixer) shrink(bins []*bin) {
	ss := m.ss
	for bi, b := range bins {
		for si := range ss {
			if ss[si].cost >= ss[b.shape].cost {
				continue
			}
			nb := newBin(KindNew, si, ss[si].v, nil)
			ok := true
			for _, a := range b.allocs {
				eff := m.p.reqs[a.req].effective(ss[si].def)
				if fitCountFree(nb, eff, a.count) < a.count {
					ok = false
					break
				}
				nb.add(a.req, eff, a.count)
			}
			if ok && ss[si].cost < ss[bins[bi].shape].cost {
				bins[bi] = nb
			}
		}
	}
}

// closeSparse closes TaskManagers whose slots fit into the others' free resources, the
// least work per unit of cost first, one per round, for at most maxImproveRounds rounds.
func (m *mixer) closeSparse(bins []*bin) []*bin {
	density := func(b *bin) float64 { return m.work(b) / m.ss[b.shape].cost }
	for round, changed := 0, true; changed && round < maxImproveRounds; round++ {
		changed = false
		order := make([]int, len(bins))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(density(bins[a]), density(bins[b])) })
		for _, victim := range order[:min(len(order), maxImproveVictims)] {
			if m.p.tryEmptyMixed(bins, victim, ss2defs(m.ss)) {
				bins = append(bins[:victim], bins[victim+1:]...)
				changed = true
				break
			}
		}
	}
	return bins
}

// out orders the TaskManagers by shape and reports the plan: its cost, waste, the count of
// each shape used, and a note that a mix needs TaskManager pools run outside Flink.
func (m *mixer) out(bins []*bin) *RecommendedOut {
	p := m.p
	slices.SortStableFunc(bins, func(a, b *bin) int { return cmp.Compare(a.shape, b.shape) })
	counts := make([]int, len(m.shapes))
	cost := 0.0
	for _, b := range bins {
		counts[b.shape]++
		cost += m.ss[b.shape].cost
	}
	out := &RecommendedOut{TaskManagers: len(bins), Algorithm: "greedy cost-effectiveness over the catalog, then each TaskManager shrunk to its cheapest fitting shape",
		Cost: round4(cost), Waste: p.waste(bins), Allocation: p.binsOut(bins, m.shapes),
		Note: "mixes TaskManager shapes: Flink's active resource managers start identical TaskManagers, so run these pools yourself (standalone or separate deployments)"}
	kinds := 0
	for si, n := range counts {
		if n > 0 {
			out.Shapes = append(out.Shapes, ShapeCount{Shape: p.shapeOut(m.shapes[si]), Count: n})
			kinds++
		}
	}
	if kinds < 2 {
		out.Note = fmt.Sprintf("uses one shape (%s) only", out.Shapes[0].Shape.Name)
	}
	return out
}

func ss2defs(ss []mixShape) []vec {
	out := make([]vec, len(ss))
	for i, s := range ss {
		out[i] = s.def
	}
	return out
}

// tryEmptyMixed moves every slot of bins[victim] into the other bins, each slot resized to
// the target's shape (an unspecified slot takes that shape's default slot), or changes nothing.
func (p *planner) tryEmptyMixed(bins []*bin, victim int, defs []vec) bool {
	v := bins[victim]
	free := make([]vec, len(bins))
	for i, b := range bins {
		free[i] = sub(b.cap, b.used)
	}
	type move struct {
		to, req, count int
		eff            vec
	}
	var moves []move
	allocs := slices.Clone(v.allocs)
	slices.SortStableFunc(allocs, func(a, b binAlloc) int {
		return cmp.Compare(slices.Max(normalized(b.eff, v.cap)), slices.Max(normalized(a.eff, v.cap)))
	})
	for _, a := range allocs {
		n := a.count
		for i := range bins {
			if i == victim || n == 0 {
				continue
			}
			eff := p.reqs[a.req].effective(defs[bins[i].shape])
			if k := fitCount(free[i], eff, n); k > 0 {
				for d := range eff {
					free[i][d] -= eff[d] * int64(k)
				}
				moves = append(moves, move{i, a.req, k, eff})
				n -= k
			}
		}
		if n > 0 {
			return false
		}
	}
	for _, m := range moves {
		bins[m.to].add(m.req, m.eff, m.count)
	}
	return true
}
