package planner

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

const (
	defaultMaxCPU        = 32
	defaultMaxMemory     = 128 << 30
	defaultMaxCandidates = 20_000
	mib                  = 1 << 20
	cpuStep              = decimalScale / 1000 // candidate CPU is rounded up to 0.001 cores
)

// bestShape searches the single TaskManager shape that runs the job at the lowest cost. A
// candidate is sized for a pattern: c_t slots of each requirement t (c_t >= 1), so its total is
// Σ c_t × slot size (unspecified slots sized as today's default slot), rounded up to whole MiB
// and 0.001 cores, with Σ c_t slots. Its Flink configuration (explicit task heap, managed and
// off-heap sizes, slots, CPU cores) goes through the memory model, and the candidate is judged
// by what Flink's first fit actually starts with it, times its cost. Patterns are enumerated
// smallest first up to SearchOptions.MaxCandidates.
func (p *planner) bestShape(fo *flinkOutcome) *BestShapeOut {
	ref := p.spec.TaskManager
	flinkCost := float64(fo.taskManagers()) * shapeCost(ref, ref, ref.ProcessMemory > 0)
	s := p.newShapeSearch()
	s.dfs(0)
	if s.best == nil {
		o := &BestShapeOut{Evaluated: s.evaluated, Truncated: s.truncated, Note: "no candidate shape within the search bounds runs the job"}
		if s.lastErr != nil {
			o.Note += " (last memory-model error: " + s.lastErr.Error() + ")"
		}
		return o
	}
	o := s.bestOut()
	best := s.best
	if fo.fulfillable() && flinkCost > 0 {
		o.Savings = &Savings{TaskManagers: fo.taskManagers() - best.tms, Cost: round4(flinkCost - best.cost),
			Percent: round4(100 * (flinkCost - best.cost) / flinkCost)}
		if o.Savings.Cost <= 0 {
			o.Note = "no candidate beats the configured TaskManager: keep it"
		}
	}
	o.Others = s.others()
	if !best.derived {
		o.Note = strings.TrimSpace(o.Note + " memory model unavailable: sizes are the slot manager's totals; the process size was not derived")
		if s.lastErr != nil {
			o.Note += " (" + s.lastErr.Error() + ")"
		}
	}
	return o
}

// shapeSearch is one bestShape call's working state, shared by its steps: the bounds, the
// slot size of each requirement, the pattern being enumerated with its summed size, and the
// best candidates found so far.
type shapeSearch struct {
	p              *planner
	maxCPU, maxMem int64
	budget         int
	derive         DeriveFunc
	// sizes[t] is requirement t's slot size (unspecified slots: today's default slot);
	// allUnknown: no requirement is specified (a coarse-grained job).
	sizes      []vec
	allUnknown bool
	// pattern is the slots of each requirement of the candidate being enumerated, sum their
	// total size.
	pattern []int
	sum     vec
	best    *shapeCand
	// perCount is the cheapest candidate for each TaskManager count.
	perCount  map[int]*shapeCand
	evaluated int
	truncated bool
	// lastErr is the memory model's last error, named when it left the search without a
	// derived candidate.
	lastErr error
}

// shapeCand is one candidate shape with what Flink starts with it.
type shapeCand struct {
	shape   Shape
	pattern []int
	tms     int
	cost    float64
	waste   float64
	derived bool
}

// newShapeSearch reads the search bounds (their defaults when unset) and sizes each
// requirement's slots.
func (p *planner) newShapeSearch() *shapeSearch {
	so := p.spec.Search
	s := &shapeSearch{p: p, maxCPU: int64(so.MaxCPU), maxMem: so.MaxMemory, budget: so.MaxCandidates, derive: so.Derive,
		perCount: map[int]*shapeCand{}, pattern: make([]int, len(p.reqs)), sum: make(vec, p.sp.dims())}
	if s.maxCPU <= 0 {
		s.maxCPU = int64(DecimalInt(defaultMaxCPU))
	}
	if s.maxMem <= 0 {
		s.maxMem = defaultMaxMemory
	}
	if s.budget <= 0 {
		s.budget = defaultMaxCandidates
	}
	if s.derive == nil {
		s.derive = DefaultDerive
	}
	s.allUnknown = true
	s.sizes = make([]vec, len(p.reqs))
	for i, rq := range p.reqs {
		s.sizes[i] = rq.effective(p.defSlot)
		s.allUnknown = s.allUnknown && rq.unknown
	}
	return s
}

// dfs enumerates the patterns depth-first, each count from 1 up; a branch stops as soon as
// the candidate would exceed the size bounds (counts only grow along it), and the whole
// search once the budget of candidates is spent.
func (s *shapeSearch) dfs(t int) {
	p := s.p
	if s.evaluated >= s.budget {
		s.truncated = true
		return
	}
	if t == len(p.reqs) {
		s.evaluated++
		s.evaluate()
		return
	}
	for c := 1; c <= p.reqs[t].count; c++ {
		addInPlace(s.sum, s.sizes[t])
		s.pattern[t] = c
		if s.sum[dimCPU] > s.maxCPU || vecMemory(s.sum) > s.maxMem {
			s.unwind(t, c)
			return
		}
		s.dfs(t + 1)
		if s.truncated {
			s.unwind(t, c)
			return
		}
	}
	s.unwind(t, p.reqs[t].count)
}

// unwind takes requirement t's c slots out of the summed size again.
func (s *shapeSearch) unwind(t, c int) {
	for i := 0; i < c; i++ {
		subInPlace(s.sum, s.sizes[t])
	}
}

// evaluate judges the current pattern: its shape through the memory model, then what Flink's
// first fit starts with it (a shape Flink cannot run the job on is no candidate), its cost
// and waste; it keeps the candidate when it is the best overall or for its count.
func (s *shapeSearch) evaluate() {
	p := s.p
	k := 0
	for _, c := range s.pattern {
		k += c
	}
	total := roundUpShape(s.sum)
	// A coarse-grained job's candidates are whole multiples of today's default slot; in a
	// mixed job unspecified slots get the candidate's default slot (total/slots), whatever
	// its size, exactly as Flink would cut them.
	if s.allUnknown && !fits(divSlots(total, k), p.defSlot) {
		return
	}
	shape, derived, err := p.candidateShape(total, k, s.derive)
	if err != nil {
		s.lastErr = err
	}
	if shape.Slots == 0 {
		return
	}
	sv := p.sp.vec(shape.Total)
	out := flinkAllocate(p.sp, sv, k, p.reqs, nil, 0, p.spec.Options, p.job)
	if !out.fulfillable() || anyFailed(out.bins) {
		return
	}
	ref := p.spec.TaskManager
	useProc := ref.ProcessMemory > 0 && shape.ProcessMemory > 0
	c := &shapeCand{shape: shape, pattern: append([]int(nil), s.pattern...), tms: out.taskManagers(), derived: derived}
	c.cost = float64(c.tms) * shapeCost(shape, ref, useProc)
	for _, w := range p.waste(out.bins) {
		c.waste += w.Percent
	}
	if c.better(s.best) {
		s.best = c
	}
	if c.better(s.perCount[c.tms]) {
		s.perCount[c.tms] = c
	}
}

// better: cheaper (beyond float noise), then fewer TaskManagers, then less waste.
func (c *shapeCand) better(than *shapeCand) bool {
	return than == nil || c.cost < than.cost-1e-9 ||
		(math.Abs(c.cost-than.cost) <= 1e-9 && (c.tms < than.tms || (c.tms == than.tms && c.waste < than.waste)))
}

// bestOut describes the best candidate: its shape, pattern and cost, the waste of Flink's
// first fit with it, and the best packing's TaskManager count beside Flink's.
func (s *shapeSearch) bestOut() *BestShapeOut {
	p, best := s.p, s.best
	o := &BestShapeOut{Shape: p.shapeOut(best.shape), Pattern: map[string]int{}, TaskManagers: best.tms,
		Cost: round4(best.cost), Derived: best.derived, Evaluated: s.evaluated, Truncated: s.truncated}
	for i, c := range best.pattern {
		o.Pattern[p.reqs[i].name] = c
	}
	o.Shape.Cost = round4(best.cost / float64(best.tms))
	sv := p.sp.vec(best.shape.Total)
	out := flinkAllocate(p.sp, sv, best.shape.Slots, p.reqs, nil, 0, p.spec.Options, p.job)
	o.Waste = p.waste(out.bins)
	o.Packed = best.tms
	if pk := packBest(p.sp, expandRuns(p.reqs, divSlots(sv, best.shape.Slots)), sv, nil); pk != nil {
		bins, _ := addRequired(pk.bins, sv, best.shape.Slots, p.spec.Options)
		o.Packed = min(o.Packed, len(bins))
	}
	return o
}

// others are the cheapest candidates with other TaskManager counts than the best's (up to
// 3, cheapest first), for when one large TaskManager is not wanted.
func (s *shapeSearch) others() []ShapeOption {
	var others []*shapeCand
	for n, c := range s.perCount {
		if n != s.best.tms {
			others = append(others, c)
		}
	}
	slices.SortFunc(others, func(a, b *shapeCand) int {
		if c := cmp.Compare(a.cost, b.cost); c != 0 {
			return c
		}
		return cmp.Compare(a.tms, b.tms)
	})
	var out []ShapeOption
	for _, c := range others[:min(len(others), 3)] {
		out = append(out, ShapeOption{TaskManagers: c.tms, Cost: round4(c.cost), Slots: c.shape.Slots,
			Resources: c.shape.Total, ProcessMemory: c.shape.ProcessMemory})
	}
	return out
}

// roundUpShape rounds memory up to whole MiB and CPU up to 0.001 cores, so that the printed
// configuration is readable and never smaller than the pattern.
func roundUpShape(v vec) vec {
	out := make(vec, len(v))
	for d, x := range v {
		switch {
		case d == dimCPU:
			out[d] = (x + cpuStep - 1) / cpuStep * cpuStep
		case d >= numFixedDims:
			out[d] = (x + decimalScale - 1) / decimalScale * decimalScale // whole GPUs
		default:
			out[d] = (x + mib - 1) / mib * mib
		}
	}
	return out
}

// candidateShape writes the Flink configuration for a TaskManager with the given slot-manager
// totals and derives it through the memory model. derived is false when the memory model
// failed; the shape then carries the totals as given.
func (p *planner) candidateShape(total vec, slots int, derive DeriveFunc) (Shape, bool, error) {
	pr := p.sp.profile(total)
	cfg := flinkconf.New()
	cfg.Set(flinkconf.TMNumberOfTaskSlots.Key, strconv.Itoa(slots))
	cfg.Set(flinkconf.TMCPUCores.Key, pr.CPU.String())
	cfg.Set(flinkconf.TMTaskHeap.Key, flinkconf.FormatMemorySize(pr.TaskHeap))
	cfg.Set(flinkconf.TMManagedSize.Key, flinkconf.FormatMemorySize(pr.Managed))
	if pr.TaskOffHeap > 0 {
		cfg.Set(flinkconf.TMTaskOffHeap.Key, flinkconf.FormatMemorySize(pr.TaskOffHeap))
	}
	if pr.Network > 0 {
		cfg.Set(flinkconf.TMNetworkMin.Key, flinkconf.FormatMemorySize(pr.Network))
		cfg.Set(flinkconf.TMNetworkMax.Key, flinkconf.FormatMemorySize(pr.Network))
	}
	if len(pr.Extended) > 0 {
		var names []string
		for _, name := range p.sp.ext {
			if v, ok := pr.Extended[name]; ok {
				names = append(names, name)
				cfg.Set(flinkconf.ExternalResourceAmountKey(name), strconv.FormatInt(int64(v/decimalScale), 10))
			}
		}
		cfg.Set(flinkconf.ExternalResources.Key, strings.Join(names, ";"))
	}
	name := fmt.Sprintf("best (%d slots, %s cores, %s)", slots, pr.CPU, flinkconf.FormatMemorySize(pr.TotalMemory()))
	s, err := ShapeFromConfig(name, cfg, derive)
	if err != nil {
		return Shape{Name: name, Total: pr, Slots: slots, Config: cfg}, false, err
	}
	s.Name = fmt.Sprintf("best (%d slots, %s cores, process %s)", slots, pr.CPU, flinkconf.FormatMemorySize(s.ProcessMemory))
	return s, true, nil
}
