// Package planner answers, before deployment, how many TaskManagers of which shape a Flink job
// needs. It reproduces Flink's own outcome exactly (fine-grained resource management's
// DefaultResourceAllocationStrategy: default slots, first fit over registered and pending
// TaskManagers, identical new TaskManagers, the evenly-spread option, redundancy and limits,
// and the errors of an unfulfillable requirement), then searches better plans: multi-
// dimensional packing on the same shape, shapes from a catalog, and the single shape that
// wastes least, whose Flink memory configuration comes from the memory model.
package planner

import (
	"fmt"
	"slices"

	"github.com/flinktune/flinktune/scheduler"
)

// Group is one slot-sharing group of the job.
type Group struct {
	Name string
	// Slots is the slots the group needs: its parallelism, or the max parallelism of its
	// vertices when given.
	Slots    int
	Vertices []scheduler.VertexParallelism
	// Profile is the group's resource spec; nil means unspecified (coarse-grained, Flink's
	// ResourceProfile.UNKNOWN, served by a default slot).
	Profile *Profile
}

// Spec is a validated planning problem.
type Spec struct {
	Job         string
	TaskManager Shape
	Groups      []Group
	// Registered holds the resources already used on each registered TaskManager (of the
	// TaskManager shape); Pending counts pending TaskManagers with nothing allocated.
	Registered []Profile
	Pending    int
	Options    SlotManagerOptions
	Catalog    []Shape
	Search     SearchOptions
}

// SearchOptions bounds the single-best-shape search.
type SearchOptions struct {
	Disabled bool
	// MaxCPU and MaxMemory bound a candidate TaskManager (memory: the slot manager's total
	// memory); zero picks 32 cores and 128 GiB.
	MaxCPU    Decimal
	MaxMemory int64
	// MaxCandidates bounds the patterns evaluated; zero picks 20,000.
	MaxCandidates int
	// Derive computes a candidate's memory; nil uses the memory model.
	Derive DeriveFunc
}

// maxOrderPermutations bounds the request orders tried for Flink's order sensitivity (7! = 5040).
const maxOrderedRequests = 7

// Plan computes Flink's outcome and the better plans for spec.
func Plan(spec Spec) (*Result, error) {
	if err := validateShape(spec.TaskManager); err != nil {
		return nil, err
	}
	for _, s := range spec.Catalog {
		if err := validateShape(s); err != nil {
			return nil, err
		}
	}
	if len(spec.Groups) == 0 {
		return nil, fmt.Errorf("the job has no slot-sharing groups")
	}
	profiles := []Profile{spec.TaskManager.Total}
	for _, g := range spec.Groups {
		if g.Profile != nil {
			profiles = append(profiles, *g.Profile)
		}
	}
	profiles = append(profiles, spec.Registered...)
	for _, s := range spec.Catalog {
		profiles = append(profiles, s.Total)
	}
	sp := newSpace(profiles...)
	p := &planner{spec: spec, sp: sp, job: spec.Job}
	if p.job == "" {
		p.job = "job"
	}
	return p.run()
}

type planner struct {
	spec      Spec
	sp        *space
	job       string
	reqs      []request
	reqGroups [][]string // the slot-sharing groups merged into each request
	total     vec
	defSlot   vec
	reg       []vec // registered use, then zero vectors for pending TaskManagers (packing)
	useProc   bool
}

// run computes the result in order: Flink's own outcome on the configured shape, the lower
// bound and a better packing on it, the catalog's plans, their savings against Flink's, and
// the single best shape.
func (p *planner) run() (*Result, error) {
	regUsed, err := p.prepare()
	if err != nil {
		return nil, err
	}
	s := p.spec
	r := p.header()

	// Flink's outcome.
	fo := flinkAllocate(p.sp, p.total, s.TaskManager.Slots, p.reqs, regUsed, s.Pending, s.Options, p.job)
	r.FlinkDefault = p.flinkOut(fo)
	r.FlinkDefault.OrderSensitivity = p.orderSensitivity(regUsed, fo.taskManagers())

	// Lower bound on this shape.
	runs := expandRuns(p.reqs, p.defSlot)
	if len(oversized(runs, p.total)) == 0 {
		lb := lowerBound(runs, p.total, p.reg)
		r.LowerBound = requiredCount(lb, runs, p.total, p.reg, s.TaskManager.Slots, s.Options)
	}

	rec := p.betterPacking(r, fo, runs)

	// Shapes from the catalog (fresh deployments only: registered TaskManagers have the
	// configured shape).
	if len(s.Catalog) > 0 {
		r.Catalog = p.catalogPlans()
		if len(s.Registered) == 0 && s.Pending == 0 {
			if mix := p.mixedPlan(); mix != nil {
				r.CatalogMix = mix
			}
		}
	}
	r.Recommended = rec
	p.addSavings(r)
	if !s.Search.Disabled {
		r.BestShape = p.bestShape(fo)
	}
	r.Cheapest = cheapest(r)
	r.Warnings = p.warnings()
	return r, nil
}

// prepare sizes the TaskManager and its default slot, merges the groups into requests, and
// reads the registered TaskManagers' use (returned, for Flink's allocation) and the pending
// ones (as empty TaskManagers, for packing). Costs count process memory only when every
// shape knows it, so that shapes compare on the same measure.
func (p *planner) prepare() ([]vec, error) {
	s := p.spec
	p.total = p.sp.vec(s.TaskManager.Total)
	p.defSlot = divSlots(p.total, s.TaskManager.Slots)
	p.buildRequests()
	for _, u := range s.Registered {
		uv := p.sp.vec(u)
		if !fits(p.total, uv) {
			return nil, fmt.Errorf("a registered TaskManager uses %s, more than the TaskManager has (%s)", u, s.TaskManager.Total)
		}
		p.reg = append(p.reg, uv)
	}
	regUsed := slices.Clone(p.reg)
	for i := 0; i < s.Pending; i++ {
		p.reg = append(p.reg, make(vec, p.sp.dims()))
	}
	p.useProc = s.TaskManager.ProcessMemory > 0
	for _, c := range s.Catalog {
		p.useProc = p.useProc && c.ProcessMemory > 0
	}
	return regUsed, nil
}

// header is the result's description of the input: the TaskManager, its default slot, each
// request with its effective size, and the coarse-grained slot counts.
func (p *planner) header() *Result {
	r := &Result{Job: p.job}
	r.TaskManager = p.shapeOut(p.spec.TaskManager)
	r.DefaultSlot = p.sp.profile(p.defSlot)
	for i, rq := range p.reqs {
		ro := RequestOut{Name: rq.name, Groups: p.reqGroups[i], Slots: rq.count, Unknown: rq.unknown, Effective: p.sp.profile(rq.effective(p.defSlot))}
		if !rq.unknown {
			pr := p.sp.profile(rq.v)
			ro.Profile = &pr
		}
		r.Requests = append(r.Requests, ro)
	}
	r.Coarse = p.coarse()
	return r
}

// betterPacking is the best packing of the runs on the configured shape, or Flink's own first
// fit when no heuristic needs fewer TaskManagers; nil when nothing packs them.
func (p *planner) betterPacking(r *Result, fo *flinkOutcome, runs []run) *RecommendedOut {
	s := p.spec
	pk := packBest(p.sp, runs, p.total, p.reg)
	if pk == nil {
		return nil
	}
	bins := p.labelPending(pk.bins)
	bins, _ = addRequired(bins, p.total, s.TaskManager.Slots, s.Options)
	algo := pk.algo
	if fo.fulfillable() && fo.taskManagers() <= len(bins) && !anyFailed(fo.bins) {
		// Flink's own first fit is as good: keep its placement.
		bins, algo = fo.bins, "Flink's own first fit: no packing heuristic does better"
	}
	cost := float64(len(bins)) * shapeCost(s.TaskManager, s.TaskManager, p.useProc)
	return &RecommendedOut{
		TaskManagers: len(bins), Algorithm: algo, Cost: round4(cost),
		Shapes:     []ShapeCount{{Shape: r.TaskManager, Count: len(bins)}},
		Waste:      p.waste(bins),
		Allocation: p.binsOut(bins, nil),
	}
}

// addSavings compares every plan with Flink's outcome on the configured shape (and the
// recommended one with the lower bound).
func (p *planner) addSavings(r *Result) {
	if rec := r.Recommended; rec != nil {
		rec.GapToLowerBound = rec.TaskManagers - r.LowerBound
		rec.Savings = p.savings(r.FlinkDefault, rec.TaskManagers, rec.Cost)
	}
	for i := range r.Catalog {
		if c := r.Catalog[i].Plan; c != nil {
			c.Savings = p.savings(r.FlinkDefault, c.TaskManagers, c.Cost)
		}
	}
	if r.CatalogMix != nil {
		r.CatalogMix.Savings = p.savings(r.FlinkDefault, r.CatalogMix.TaskManagers, r.CatalogMix.Cost)
	}
}

// buildRequests merges slot-sharing groups with equal profiles into one requirement each, in
// order of first appearance, as Flink's ResourceCounter keys requirements by profile.
func (p *planner) buildRequests() {
	for _, g := range p.spec.Groups {
		unknown := g.Profile == nil
		var v vec
		if !unknown {
			v = p.sp.vec(*g.Profile)
		}
		merged := false
		for i := range p.reqs {
			if p.reqs[i].unknown == unknown && (unknown || equalVec(p.reqs[i].v, v)) {
				p.reqs[i].count += g.Slots
				p.reqs[i].name += "+" + g.Name
				p.reqGroups[i] = append(p.reqGroups[i], g.Name)
				merged = true
				break
			}
		}
		if !merged {
			p.reqs = append(p.reqs, request{name: g.Name, unknown: unknown, v: v, count: g.Slots})
			p.reqGroups = append(p.reqGroups, []string{g.Name})
		}
	}
}

func (p *planner) coarse() CoarseOut {
	var vs []scheduler.VertexParallelism
	for _, g := range p.spec.Groups {
		if len(g.Vertices) > 0 {
			vs = append(vs, g.Vertices...)
		} else {
			vs = append(vs, scheduler.VertexParallelism{ID: g.Name, SlotSharingGroup: g.Name, Parallelism: g.Slots})
		}
	}
	total, per := scheduler.SlotsNeeded(vs)
	return CoarseOut{Slots: total, PerGroup: per, SlotsPerTaskManager: p.spec.TaskManager.Slots,
		TaskManagers: scheduler.TaskManagersNeeded(total, p.spec.TaskManager.Slots)}
}

// orderSensitivity tries every order of the requirements: Flink iterates them in Java HashMap
// order, which flinktune cannot know, and first fit depends on it.
func (p *planner) orderSensitivity(regUsed []vec, got int) *OrderOut {
	n := len(p.reqs)
	if n < 2 || n > maxOrderedRequests {
		return nil
	}
	o := &OrderOut{Min: got, Max: got}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	for {
		rs := make([]request, n)
		for i, j := range perm {
			rs[i] = p.reqs[j]
		}
		fo := flinkAllocate(p.sp, p.total, p.spec.TaskManager.Slots, rs, regUsed, p.spec.Pending, p.spec.Options, p.job)
		t := fo.taskManagers()
		o.Orders++
		o.Min, o.Max = min(o.Min, t), max(o.Max, t)
		if !nextPermutation(perm) {
			break
		}
	}
	return o
}

func nextPermutation(a []int) bool {
	i := len(a) - 2
	for i >= 0 && a[i] >= a[i+1] {
		i--
	}
	if i < 0 {
		return false
	}
	j := len(a) - 1
	for a[j] <= a[i] {
		j--
	}
	a[i], a[j] = a[j], a[i]
	slices.Reverse(a[i+1:])
	return true
}

// labelPending marks the bins standing for pending TaskManagers (packed like registered ones).
func (p *planner) labelPending(bins []*bin) []*bin {
	nReg := len(p.spec.Registered)
	for i := nReg; i < nReg+p.spec.Pending && i < len(bins); i++ {
		bins[i].kind = KindPending
	}
	return bins
}

func anyFailed(bins []*bin) bool {
	for _, b := range bins {
		if b.failed {
			return true
		}
	}
	return false
}

// savings compares a plan with Flink's default outcome; nil when Flink cannot run the job.
func (p *planner) savings(f FlinkOut, tms int, cost float64) *Savings {
	if !f.Fulfillable {
		return nil
	}
	sv := &Savings{TaskManagers: f.TaskManagers - tms, Cost: round4(f.Cost - cost)}
	if f.Cost > 0 {
		sv.Percent = round4(100 * (f.Cost - cost) / f.Cost)
	}
	return sv
}

// cheapest names the lowest-cost way to run the job among Flink's default, the better packing
// on the same shape, each catalog shape, the mixed catalog plan and the single best shape.
func cheapest(r *Result) *CheapestOut {
	var best *CheapestOut
	consider := func(option string, tms int, cost float64, sv *Savings) {
		if tms <= 0 {
			return
		}
		if best == nil || cost < best.Cost-1e-9 || (cost <= best.Cost+1e-9 && tms < best.TaskManagers) {
			best = &CheapestOut{Option: option, TaskManagers: tms, Cost: cost, Savings: sv}
		}
	}
	if r.FlinkDefault.Fulfillable {
		consider("Flink's default", r.FlinkDefault.TaskManagers, r.FlinkDefault.Cost, nil)
	}
	if c := r.Recommended; c != nil {
		consider("recommended packing on "+r.TaskManager.Name, c.TaskManagers, c.Cost, c.Savings)
	}
	for _, c := range r.Catalog {
		if c.Plan != nil {
			consider("catalog shape "+c.Shape.Name, c.Plan.TaskManagers, c.Plan.Cost, c.Plan.Savings)
		}
	}
	if c := r.CatalogMix; c != nil {
		consider("mixed catalog shapes", c.TaskManagers, c.Cost, c.Savings)
	}
	if b := r.BestShape; b != nil && b.TaskManagers > 0 {
		consider("single best shape", b.TaskManagers, b.Cost, b.Savings)
	}
	return best
}

func (p *planner) warnings() []string {
	var w []string
	for _, rq := range p.reqs {
		if !rq.unknown && rq.v[dimNetwork] == 0 {
			w = append(w, "slot requests with a resource profile carry no network memory here; Flink adds the network memory it announces for the group's tasks (flink-scheduling.md §D.3) — set resources.network to include it")
			break
		}
	}
	if n := len(p.reqs); n > maxOrderedRequests {
		w = append(w, fmt.Sprintf("%d distinct slot profiles: Flink's outcome depends on their (Java HashMap) order; only the input order was simulated", n))
	}
	return w
}
