package planner

import (
	"cmp"
	"math"
	"math/big"
	"slices"
)

// A packing heuristic places slots into TaskManagers of one shape, after any registered
// TaskManagers (which count as already open, partly used bins). Every heuristic is a
// deterministic function of its input.

// slot is one slot to place: a request index and its size on the shape.
type slot struct {
	req int
	v   vec
}

// run is a maximal sequence of identical slots; packing a run at once is equivalent to
// placing its slots one by one (a bin that could not take the first cannot take the next).
type run struct {
	req   int
	v     vec
	count int
}

// packResult is a packing of every slot, or of none.
type packResult struct {
	algo string
	bins []*bin
}

func (p *packResult) taskManagers() int { return len(p.bins) }

// normalized sizes of v relative to capacity, per dimension (0 where capacity is 0).
func normalized(v, capacity vec) []float64 {
	out := make([]float64, len(v))
	for d := range v {
		if capacity[d] > 0 {
			out[d] = float64(v[d]) / float64(capacity[d])
		}
	}
	return out
}

type sortKey struct {
	name string
	key  func(norm []float64) float64
}

func sortKeys(sp *space, runs []run, capacity vec) []sortKey {
	keys := []sortKey{
		{"max", func(n []float64) float64 { return slices.Max(n) }},
		{"sum", func(n []float64) float64 {
			s := 0.0
			for _, x := range n {
				s += x
			}
			return s
		}},
		{"l2", func(n []float64) float64 {
			s := 0.0
			for _, x := range n {
				s += x * x
			}
			return s
		}},
	}
	// Single dimensions that some slot uses: packing by the scarcest one often wins.
	for d := 0; d < sp.dims(); d++ {
		used := false
		for _, r := range runs {
			if r.v[d] > 0 && capacity[d] > 0 {
				used = true
				break
			}
		}
		if used {
			dd := d
			keys = append(keys, sortKey{sp.dimName(d), func(n []float64) float64 { return n[dd] }})
		}
	}
	return keys
}

// sortedRuns orders runs by key descending (decreasing), ties by request order then size.
func sortedRuns(runs []run, capacity vec, key func([]float64) float64) []run {
	type keyed struct {
		r run
		k float64
		i int
	}
	ks := make([]keyed, len(runs))
	for i, r := range runs {
		ks[i] = keyed{r, key(normalized(r.v, capacity)), i}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := cmp.Compare(b.k, a.k); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	out := make([]run, len(ks))
	for i, k := range ks {
		out[i] = k.r
	}
	return out
}

// packing is the state both greedy packers share: the open bins and a fitTree over their
// free resources.
type packing struct {
	bins     []*bin
	capacity vec
	tree     *fitTree
	free     vec
}

func newPacking(runs []run, capacity vec, registered []vec) *packing {
	p := &packing{bins: openRegistered(capacity, registered), capacity: capacity, free: make(vec, len(capacity))}
	total := len(p.bins)
	for _, r := range runs {
		total += r.count
	}
	p.tree = newFitTree(len(capacity), min(total, 1<<16))
	for i := range p.bins {
		p.update(i)
	}
	return p
}

// update refreshes bin i's free resources in the tree.
func (p *packing) update(i int) {
	b := p.bins[i]
	for d := range p.free {
		p.free[d] = b.cap[d] - b.used[d]
	}
	p.tree.set(i, p.free)
}

// place puts up to n slots of r into bin i (a new bin when i < 0) and returns how many fit.
func (p *packing) place(i int, r run, n int) int {
	if i < 0 {
		p.bins = append(p.bins, newBin(KindNew, 0, p.capacity, nil))
		i = len(p.bins) - 1
	}
	k := fitCountFree(p.bins[i], r.v, n)
	p.bins[i].add(r.req, r.v, k)
	p.update(i)
	return k
}

// firstFit places each run into the first open bin with room, opening new bins of capacity as
// needed. A fitTree finds the first fitting bin without scanning full ones.
func firstFit(runs []run, capacity vec, registered []vec) []*bin {
	p := newPacking(runs, capacity, registered)
	for _, r := range runs {
		for n := r.count; n > 0; {
			n -= p.place(p.tree.first(r.v), r, n)
		}
	}
	return p.bins
}

// bestFit places each slot into the open bin it leaves with the least normalized slack
// (Σ over dimensions of free/capacity after placement); ties go to the earliest bin.
func bestFit(runs []run, capacity vec, registered []vec) []*bin {
	p := newPacking(runs, capacity, registered)
	inv := make([]float64, len(capacity))
	for d, c := range capacity {
		if c > 0 {
			inv[d] = 1 / float64(c)
		}
	}
	for _, r := range runs {
		for n := r.count; n > 0; {
			best, bestSlack := -1, math.Inf(1)
			p.tree.each(r.v, func(i int) {
				b := p.bins[i]
				s := 0.0
				for d, x := range r.v {
					s += float64(b.cap[d]-b.used[d]-x) * inv[d]
				}
				if s < bestSlack {
					best, bestSlack = i, s
				}
			})
			// The chosen bin stays the best fit for the next identical slot while it has room.
			n -= p.place(best, r, n)
		}
	}
	return p.bins
}

// fitCountFree is fitCount on the free resources of b, without allocating.
func fitCountFree(b *bin, need vec, limit int) int {
	n := int64(limit)
	for d, x := range need {
		if x <= 0 {
			continue
		}
		if k := (b.cap[d] - b.used[d]) / x; k < n {
			n = k
		}
	}
	if n < 0 {
		return 0
	}
	return int(n)
}

func fitsFree(b *bin, v vec) bool {
	for d := range v {
		if b.cap[d]-b.used[d] < v[d] {
			return false
		}
	}
	return true
}

func openRegistered(capacity vec, registered []vec) []*bin {
	bins := make([]*bin, 0, len(registered)+8)
	for _, used := range registered {
		bins = append(bins, newBin(KindRegistered, 0, capacity, used))
	}
	return bins
}

// improve tries to empty new bins, least filled first, by moving their slots into the other
// bins first fit; it repeats while a bin can be closed. Cheap and never makes a plan worse.
func improve(bins []*bin, capacity vec) []*bin {
	for round, changed := 0, true; changed && round < maxImproveRounds; round++ {
		changed = false
		order := make([]int, 0, len(bins))
		for i, b := range bins {
			if b.kind == KindNew {
				order = append(order, i)
			}
		}
		fill := func(b *bin) float64 { return slices.Max(normalized(sub(b.used, b.pre), capacity)) }
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(fill(bins[a]), fill(bins[b])) })
		for _, victim := range order[:min(len(order), maxImproveVictims)] {
			if tryEmpty(bins, victim) {
				bins = append(bins[:victim], bins[victim+1:]...)
				changed = true
				break
			}
		}
	}
	return bins
}

// Bounds on improve's effort: it is a cheap polish, not a search.
const (
	maxImproveRounds  = 64
	maxImproveVictims = 16
)

// tryEmpty moves every slot of bins[victim] into other bins (largest slots first, first fit),
// or changes nothing.
func tryEmpty(bins []*bin, victim int) bool {
	v := bins[victim]
	if len(v.allocs) == 0 {
		return true
	}
	free := make([]vec, len(bins))
	for i, b := range bins {
		free[i] = sub(b.cap, b.used)
	}
	type move struct{ to, alloc, count int }
	var moves []move
	allocs := slices.Clone(v.allocs)
	idx := make([]int, len(allocs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(slices.Max(normalized(allocs[b].eff, v.cap)), slices.Max(normalized(allocs[a].eff, v.cap)))
	})
	for _, ai := range idx {
		a := allocs[ai]
		n := a.count
		for i := range bins {
			if i == victim || n == 0 {
				continue
			}
			k := fitCount(free[i], a.eff, n)
			if k > 0 {
				for d := range a.eff {
					free[i][d] -= a.eff[d] * int64(k)
				}
				moves = append(moves, move{i, ai, k})
				n -= k
			}
		}
		if n > 0 {
			return false
		}
	}
	for _, m := range moves {
		a := allocs[m.alloc]
		bins[m.to].add(a.req, a.eff, m.count)
	}
	return true
}

// expandRuns turns requests into runs of slots with their size on a shape whose default slot
// is defSlot.
func expandRuns(reqs []request, defSlot vec) []run {
	runs := make([]run, 0, len(reqs))
	for i, rq := range reqs {
		if rq.count > 0 {
			runs = append(runs, run{req: i, v: rq.effective(defSlot), count: rq.count})
		}
	}
	return runs
}

// oversized lists the runs that fit no TaskManager of capacity.
func oversized(runs []run, capacity vec) []run {
	var out []run
	for _, r := range runs {
		if !fits(capacity, r.v) {
			out = append(out, r)
		}
	}
	return out
}

// packBest packs runs onto TaskManagers of one shape with every heuristic (first fit and best
// fit, each over several decreasing orders and the request order) plus improve, and returns
// the plan with the fewest TaskManagers (ties: the earlier heuristic). It returns nil when some
// slot fits no TaskManager.
func packBest(sp *space, runs []run, capacity vec, registered []vec) *packResult {
	if len(oversized(runs, capacity)) > 0 {
		return nil
	}
	var best *packResult
	consider := func(name string, bins []*bin) {
		if best == nil || len(bins) < len(best.bins) {
			best = &packResult{algo: name, bins: bins}
		}
	}
	for _, k := range sortKeys(sp, runs, capacity) {
		sorted := sortedRuns(runs, capacity, k.key)
		consider("first-fit decreasing by "+k.name, firstFit(sorted, capacity, registered))
		consider("best-fit decreasing by "+k.name, bestFit(sorted, capacity, registered))
	}
	consider("first fit in request order", firstFit(runs, capacity, registered))
	if lb := lowerBound(runs, capacity, registered); len(best.bins) > lb {
		improved := improve(cloneBins(best.bins), capacity)
		if len(improved) < len(best.bins) {
			best = &packResult{algo: best.algo + ", improved", bins: improved}
		}
	}
	return best
}

func cloneBins(bins []*bin) []*bin {
	out := make([]*bin, len(bins))
	for i, b := range bins {
		c := *b
		c.pre = slices.Clone(b.pre)
		c.used = slices.Clone(b.used)
		c.allocs = slices.Clone(b.allocs)
		out[i] = &c
	}
	return out
}

// lowerBound is the largest of: the registered TaskManagers; per dimension, ⌈(Σ slots +
// registered use) / capacity⌉ (each dimension relaxed to 1-D bin packing); and, per dimension,
// the number of slots larger than half a TaskManager (no two of them share one).
func lowerBound(runs []run, capacity vec, registered []vec) int {
	lb := len(registered)
	dims := len(capacity)
	sum := newBigVec(dims)
	for _, r := range runs {
		sum.add(r.v, r.count)
	}
	for _, u := range registered {
		sum.add(u, 1)
	}
	for d := 0; d < dims; d++ {
		if capacity[d] <= 0 {
			continue
		}
		c := big.NewInt(capacity[d])
		q := new(big.Int).Add(sum[d], new(big.Int).Sub(c, big.NewInt(1)))
		q.Quo(q, c)
		if q.IsInt64() && int(q.Int64()) > lb {
			lb = int(q.Int64())
		}
		big := 0
		for _, r := range runs {
			if 2*r.v[d] > capacity[d] {
				big += r.count
			}
		}
		lb = max(lb, big)
	}
	return lb
}

// addRequired appends TaskManagers until the plan satisfies the slot manager's redundancy and
// minimum-resource rules (tryFulFillRequiredResources), so that plans compare with Flink's on
// the same terms. It returns the number added.
func addRequired(bins []*bin, capacity vec, numSlots int, o SlotManagerOptions) ([]*bin, int) {
	dims := len(capacity)
	avail, inTotal := newBigVec(dims), newBigVec(dims)
	for _, b := range bins {
		avail.add(sub(b.cap, b.used), 1)
		inTotal.add(b.cap, 1)
	}
	minCPU, strict, minMem := minTotals(capacity, numSlots, o)
	redundant := scaled(capacity, o.RedundantTaskManagers)
	added := 0
	for !requiredFulfilled(avail, inTotal, redundant, minCPU, strict, minMem) && added < 1_000_000 {
		bins = append(bins, newBin(KindRedundant, 0, capacity, nil))
		avail.add(capacity, 1)
		inTotal.add(capacity, 1)
		added++
	}
	return bins, added
}

// requiredCount is the smallest n >= from such that n TaskManagers holding the given slots
// (and registered use) satisfy the redundancy and minimum rules.
func requiredCount(from int, runs []run, capacity vec, registered []vec, numSlots int, o SlotManagerOptions) int {
	dims := len(capacity)
	used := newBigVec(dims)
	for _, r := range runs {
		used.add(r.v, r.count)
	}
	for _, u := range registered {
		used.add(u, 1)
	}
	minCPU, strict, minMem := minTotals(capacity, numSlots, o)
	redundant := scaled(capacity, o.RedundantTaskManagers)
	for n := from; n < from+1_000_000; n++ {
		inTotal := newBigVec(dims)
		inTotal.add(capacity, n)
		avail := newBigVec(dims)
		for d := range avail {
			avail[d].Sub(inTotal[d], used[d])
		}
		if requiredFulfilled(avail, inTotal, redundant, minCPU, strict, minMem) {
			return n
		}
	}
	return from
}
