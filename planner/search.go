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
	so := p.spec.Search
	maxCPU := int64(so.MaxCPU)
	if maxCPU <= 0 {
		maxCPU = int64(DecimalInt(defaultMaxCPU))
	}
	maxMem := so.MaxMemory
	if maxMem <= 0 {
		maxMem = defaultMaxMemory
	}
	budget := so.MaxCandidates
	if budget <= 0 {
		budget = defaultMaxCandidates
	}
	derive := so.Derive
	if derive == nil {
		derive = DefaultDerive
	}
	ref := p.spec.TaskManager
	hasUnknown, allUnknown := false, true
	sizes := make([]vec, len(p.reqs))
	for i, rq := range p.reqs {
		sizes[i] = rq.effective(p.defSlot)
		hasUnknown = hasUnknown || rq.unknown
		allUnknown = allUnknown && rq.unknown
	}
	flinkCost := float64(fo.taskManagers()) * shapeCost(ref, ref, ref.ProcessMemory > 0)

	type cand struct {
		shape   Shape
		pattern []int
		tms     int
		cost    float64
		waste   float64
		derived bool
	}
	var best *cand
	perCount := map[int]*cand{} // the cheapest candidate for each TaskManager count
	better := func(c, than *cand) bool {
		return than == nil || c.cost < than.cost-1e-9 ||
			(math.Abs(c.cost-than.cost) <= 1e-9 && (c.tms < than.tms || (c.tms == than.tms && c.waste < than.waste)))
	}
	evaluated, truncated := 0, false
	pattern := make([]int, len(p.reqs))
	sum := make(vec, p.sp.dims())
	var lastErr error
	evaluate := func() {
		k := 0
		for _, c := range pattern {
			k += c
		}
		total := roundUpShape(sum)
		// A coarse-grained job's candidates are whole multiples of today's default slot; in a
		// mixed job unspecified slots get the candidate's default slot (total/slots), whatever
		// its size, exactly as Flink would cut them.
		if allUnknown && !fits(divSlots(total, k), p.defSlot) {
			return
		}
		shape, derived, err := p.candidateShape(total, k, derive)
		if err != nil {
			lastErr = err
		}
		if shape.Slots == 0 {
			return
		}
		sv := p.sp.vec(shape.Total)
		out := flinkAllocate(p.sp, sv, k, p.reqs, nil, 0, p.spec.Options, p.job)
		if !out.fulfillable() || anyFailed(out.bins) {
			return
		}
		useProc := ref.ProcessMemory > 0 && shape.ProcessMemory > 0
		c := &cand{shape: shape, pattern: append([]int(nil), pattern...), tms: out.taskManagers(), derived: derived}
		c.cost = float64(c.tms) * shapeCost(shape, ref, useProc)
		for _, w := range p.waste(out.bins) {
			c.waste += w.Percent
		}
		if better(c, best) {
			best = c
		}
		if better(c, perCount[c.tms]) {
			perCount[c.tms] = c
		}
	}
	// Depth-first over patterns, each count from 1 up; a branch stops as soon as the
	// candidate would exceed the size bounds (counts only grow along it).
	var dfs func(t int)
	dfs = func(t int) {
		if evaluated >= budget {
			truncated = true
			return
		}
		if t == len(p.reqs) {
			evaluated++
			evaluate()
			return
		}
		for c := 1; c <= p.reqs[t].count; c++ {
			addInPlace(sum, sizes[t])
			pattern[t] = c
			if sum[dimCPU] > maxCPU || vecMemory(sum) > maxMem {
				for i := 0; i < c; i++ {
					subInPlace(sum, sizes[t])
				}
				return
			}
			dfs(t + 1)
			if truncated {
				for i := 0; i < c; i++ {
					subInPlace(sum, sizes[t])
				}
				return
			}
		}
		for i := 0; i < p.reqs[t].count; i++ {
			subInPlace(sum, sizes[t])
		}
	}
	dfs(0)
	if best == nil {
		o := &BestShapeOut{Evaluated: evaluated, Truncated: truncated, Note: "no candidate shape within the search bounds runs the job"}
		if lastErr != nil {
			o.Note += " (last memory-model error: " + lastErr.Error() + ")"
		}
		return o
	}
	o := &BestShapeOut{Shape: p.shapeOut(best.shape), Pattern: map[string]int{}, TaskManagers: best.tms,
		Cost: round4(best.cost), Derived: best.derived, Evaluated: evaluated, Truncated: truncated}
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
	if fo.fulfillable() && flinkCost > 0 {
		o.Savings = &Savings{TaskManagers: fo.taskManagers() - best.tms, Cost: round4(flinkCost - best.cost),
			Percent: round4(100 * (flinkCost - best.cost) / flinkCost)}
		if o.Savings.Cost <= 0 {
			o.Note = "no candidate beats the configured TaskManager: keep it"
		}
	}
	var others []*cand
	for n, c := range perCount {
		if n != best.tms {
			others = append(others, c)
		}
	}
	slices.SortFunc(others, func(a, b *cand) int {
		if c := cmp.Compare(a.cost, b.cost); c != 0 {
			return c
		}
		return cmp.Compare(a.tms, b.tms)
	})
	for _, c := range others[:min(len(others), 3)] {
		o.Others = append(o.Others, ShapeOption{TaskManagers: c.tms, Cost: round4(c.cost), Slots: c.shape.Slots,
			Resources: c.shape.Total, ProcessMemory: c.shape.ProcessMemory})
	}
	if !best.derived {
		o.Note = strings.TrimSpace(o.Note + " memory model unavailable: sizes are the slot manager's totals; the process size was not derived")
		if lastErr != nil {
			o.Note += " (" + lastErr.Error() + ")"
		}
	}
	return o
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
