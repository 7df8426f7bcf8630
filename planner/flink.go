package planner

import (
	"fmt"
	"math"
	"math/big"

	"github.com/flinktune/flinktune/flinkconf"
)

// Kinds of TaskManagers in a plan.
const (
	KindRegistered = "registered" // already running before the job's requirements arrive
	KindPending    = "pending"    // requested earlier, not yet registered
	KindNew        = "new"        // started for this job's slots
	KindRedundant  = "redundant"  // started for slotmanager.redundant-taskmanager-num / minimum resources
)

// request is one resource requirement as Flink's slot manager sees it: a profile (nil vector =
// ResourceProfile.UNKNOWN) and a slot count. Slot-sharing groups with equal profiles are merged,
// as Flink's ResourceCounter merges them.
type request struct {
	name    string
	unknown bool
	v       vec
	count   int
}

// effective is SlotManagerUtils.getEffectiveResourceProfile: UNKNOWN takes the TaskManager's
// default slot.
func (r request) effective(defSlot vec) vec {
	if r.unknown {
		return defSlot
	}
	return r.v
}

type binAlloc struct {
	req   int
	count int
	eff   vec // one slot
}

// bin is one TaskManager of a plan.
type bin struct {
	kind   string
	shape  int // index into the plan's shapes
	cap    vec
	pre    vec // used before planning (registered TaskManagers)
	used   vec // pre + allocations
	allocs []binAlloc
	failed bool // Flink refused to start it (max total resources, standalone)
}

func newBin(kind string, shape int, capacity, pre vec) *bin {
	used := make(vec, len(capacity))
	if pre != nil {
		copy(used, pre)
	} else {
		pre = make(vec, len(capacity))
	}
	return &bin{kind: kind, shape: shape, cap: capacity, pre: pre, used: used}
}

func (b *bin) add(req int, eff vec, count int) {
	if count <= 0 {
		return
	}
	for i := range eff {
		b.used[i] += eff[i] * int64(count)
	}
	if n := len(b.allocs); n > 0 && b.allocs[n-1].req == req && equalVec(b.allocs[n-1].eff, eff) {
		b.allocs[n-1].count += count
		return
	}
	b.allocs = append(b.allocs, binAlloc{req: req, count: count, eff: eff})
}

func (b *bin) slots() int {
	n := 0
	for _, a := range b.allocs {
		n += a.count
	}
	return n
}

func equalVec(a, b vec) bool {
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

// SlotManagerOptions are the Flink options that change how the slot manager allocates.
type SlotManagerOptions struct {
	// EvenlySpread is cluster.evenly-spread-out-slots: least-utilization matching over
	// registered TaskManagers instead of first fit.
	EvenlySpread bool
	// RedundantTaskManagers is slotmanager.redundant-taskmanager-num.
	RedundantTaskManagers int
	// MinSlots and MaxSlots are slotmanager.number-of-slots.min/max (MaxSlots 0 = unlimited).
	MinSlots, MaxSlots int
	// Explicit slotmanager.min/max-total-resource.cpu/memory; nil derives them from the slot
	// counts as Flink does.
	MinTotalCPU, MaxTotalCPU       *Decimal
	MinTotalMemory, MaxTotalMemory *int64
	// Standalone means Flink has no resource allocator (standalone deployment): it cannot start
	// TaskManagers, so requirements beyond the registered ones stay unfulfilled.
	Standalone bool
}

// tmRes is DefaultResourceAllocationStrategy.InternalResourceInfo.
type tmRes struct {
	b       *bin
	defSlot vec
	total   vec
	avail   vec
	util    float64
}

func newTMRes(b *bin, defSlot, total, avail vec) *tmRes {
	r := &tmRes{b: b, defSlot: defSlot, total: total, avail: avail}
	r.updateUtilization()
	return r
}

// updateUtilization is max(cpu used / cpu total, memory used / memory total) in doubles, as
// InternalResourceInfo#updateUtilization.
func (r *tmRes) updateUtilization() {
	cpu := Decimal(r.total[dimCPU]-r.avail[dimCPU]).Float() / Decimal(r.total[dimCPU]).Float()
	mem := float64(vecMemory(r.total)-vecMemory(r.avail)) / float64(vecMemory(r.total))
	switch {
	case math.IsNaN(cpu) || math.IsNaN(mem): // Math.max propagates NaN
		r.util = math.NaN()
	case cpu >= mem:
		r.util = cpu
	default:
		r.util = mem
	}
}

// tryAllocate is InternalResourceInfo#tryAllocateSlotForJob for up to n slots at once.
func (r *tmRes) tryAllocate(req int, rq request, n int) int {
	eff := rq.effective(r.defSlot)
	k := fitCount(r.avail, eff, n)
	if k > 0 {
		for i := range eff {
			r.avail[i] -= eff[i] * int64(k)
		}
		r.b.add(req, eff, k)
		r.updateUtilization()
	}
	return k
}

// anyMatching is AnyMatchingResourceMatchingStrategy: walk the list in order, cut as many slots
// as fit from each TaskManager, drop TaskManagers left at exactly zero.
func anyMatching(list []*tmRes, req int, rq request, n int) ([]*tmRes, int) {
	for i := 0; n > 0 && i < len(list); {
		r := list[i]
		n -= r.tryAllocate(req, rq, n)
		if isZero(r.avail) {
			list = append(list[:i], list[i+1:]...)
			continue
		}
		i++
	}
	return list, n
}

// leastUtilization is LeastUtilizationResourceMatchingStrategy: repeatedly take one slot from
// the least utilized TaskManager (Java PriorityQueue order); a TaskManager that cannot take
// the slot leaves the queue.
func leastUtilization(list []*tmRes, req int, rq request, n int) int {
	if len(list) == 0 {
		return n
	}
	q := &javaPQ{}
	for _, r := range list {
		q.offer(r)
	}
	for n > 0 && q.len() > 0 {
		r := q.poll()
		if r.tryAllocate(req, rq, 1) == 1 {
			n--
			if !isZero(r.avail) {
				q.offer(r)
			}
		}
	}
	return n
}

// flinkOutcome is the result of one requirement check of Flink's fine-grained slot manager.
type flinkOutcome struct {
	bins        []*bin // registered, pending, then new TaskManagers in creation order
	unfulfilled []unfulfilled
	messages    []string
}

type unfulfilled struct {
	req     int
	missing int
	reason  string
}

func (o *flinkOutcome) taskManagers() int {
	n := 0
	for _, b := range o.bins {
		if !b.failed {
			n++
		}
	}
	return n
}

func (o *flinkOutcome) fulfillable() bool { return len(o.unfulfilled) == 0 }

// flinkAllocate runs DefaultResourceAllocationStrategy#tryFulfillRequirements for one job,
// then FineGrainedSlotManager's TaskManager allocation (max-total limits, standalone), on
// TaskManagers of one shape (total profile, numberOfTaskSlots). registered holds the used
// resources of each registered TaskManager; pending is the number of pending TaskManagers with
// nothing allocated yet. job names the job in Flink's messages.
func flinkAllocate(sp *space, total vec, numSlots int, reqs []request, registered []vec, pending int, o SlotManagerOptions, job string) *flinkOutcome {
	a := &slotAllocation{sp: sp, total: total, numSlots: numSlots, reqs: reqs, o: o, out: &flinkOutcome{},
		defSlot: divSlots(total, numSlots)}
	a.addExisting(registered, pending)
	a.allocateNew(a.matchRegistered())
	a.fulfillRequired()
	failedJob := a.startNew()
	a.warnUnfulfilled(failedJob, job)
	return a.out
}

// slotAllocation is one flinkAllocate call's working state, shared by its steps in Flink's
// order: the TaskManager shape and options, the TaskManagers that can still take slots
// (registered, then pending and new ones), and the outcome being built.
type slotAllocation struct {
	sp       *space
	total    vec
	numSlots int
	reqs     []request
	o        SlotManagerOptions
	out      *flinkOutcome
	defSlot  vec
	// regList and pendList hold the registered and the pending (then new) TaskManagers that
	// still have free resources; allRes every TaskManager, for the redundancy check.
	regList, pendList, allRes []*tmRes
	// existing counts the registered and pending TaskManagers: the bins after them are new.
	existing int
}

// outstanding is a requirement's slots the registered TaskManagers could not take.
type outstanding struct{ req, n int }

// addExisting opens the registered TaskManagers (with what they already use) and the pending
// ones (empty), in that order.
func (a *slotAllocation) addExisting(registered []vec, pending int) {
	for _, used := range registered {
		b := newBin(KindRegistered, 0, a.total, used)
		a.out.bins = append(a.out.bins, b)
		a.regList = append(a.regList, newTMRes(b, a.defSlot, a.total, sub(a.total, used)))
	}
	for i := 0; i < pending; i++ {
		b := newBin(KindPending, 0, a.total, nil)
		a.out.bins = append(a.out.bins, b)
		a.pendList = append(a.pendList, newTMRes(b, a.defSlot, a.total, append(vec(nil), a.total...)))
	}
	a.allRes = append(append([]*tmRes(nil), a.regList...), a.pendList...)
	a.existing = len(a.out.bins)
}

// matchRegistered serves each requirement from the registered TaskManagers first, with the
// configured matching strategy, and returns what they could not take.
func (a *slotAllocation) matchRegistered() []outstanding {
	var missing []outstanding
	for i, rq := range a.reqs {
		n := rq.count
		if a.o.EvenlySpread {
			n = leastUtilization(a.regList, i, rq, n)
		} else {
			a.regList, n = anyMatching(a.regList, i, rq, n)
		}
		if n > 0 {
			missing = append(missing, outstanding{i, n})
		}
	}
	return missing
}

// allocateNew serves what is missing from the pending TaskManagers (always first fit), then
// from new ones of the same shape; a slot larger than a whole TaskManager stays unfulfilled.
func (a *slotAllocation) allocateNew(missing []outstanding) {
	for _, m := range missing {
		rq := a.reqs[m.req]
		eff := rq.effective(a.defSlot)
		var n int
		a.pendList, n = anyMatching(a.pendList, m.req, rq, m.n)
		if !fits(a.total, eff) {
			if n > 0 {
				a.out.unfulfilled = append(a.out.unfulfilled, unfulfilled{m.req, n, fmt.Sprintf(
					"a slot of %q (%s) is larger than a whole TaskManager (%s) in %s",
					rq.name, a.sp.profile(eff).Human(), a.sp.profile(a.total).Human(), exceededDims(a.sp, a.total, eff))})
			}
			continue
		}
		for n > 0 {
			b := newBin(KindNew, 0, a.total, nil)
			a.out.bins = append(a.out.bins, b)
			r := newTMRes(b, a.defSlot, a.total, append(vec(nil), a.total...))
			n -= r.tryAllocate(m.req, rq, n)
			if !isZero(r.avail) {
				a.pendList = append(a.pendList, r)
			}
			a.allRes = append(a.allRes, r)
		}
	}
}

// fulfillRequired is tryFulFillRequiredResources: it adds empty TaskManagers until the free
// resources hold the redundant TaskManagers and the cluster reaches its minimum totals.
func (a *slotAllocation) fulfillRequired() {
	total := a.total
	avail := newBigVec(len(total))
	for _, r := range a.allRes {
		avail.add(r.avail, 1)
	}
	inTotal := newBigVec(len(total))
	inTotal.add(total, len(a.out.bins))
	minCPU, minCPUStrict, minMem := minTotals(total, a.numSlots, a.o)
	redundant := scaled(total, a.o.RedundantTaskManagers)
	for guard := 0; !requiredFulfilled(avail, inTotal, redundant, minCPU, minCPUStrict, minMem); guard++ {
		if guard > 1_000_000 {
			a.out.messages = append(a.out.messages, "flinktune: stopped adding redundant TaskManagers after 1,000,000 (a TaskManager with no resources never satisfies the minimum)")
			break
		}
		a.out.bins = append(a.out.bins, newBin(KindRedundant, 0, total, nil))
		avail.add(total, 1)
		inTotal.add(total, 1)
	}
}

// startNew is FineGrainedSlotManager#allocateResource for each new TaskManager: it must stay
// within the max total resources, and there must be a resource allocator at all. A TaskManager
// that cannot start leaves its slots unfulfilled; true when any such slot belongs to the job.
func (a *slotAllocation) startNew() bool {
	total, o := a.total, a.o
	maxCPU, maxMem := maxTotals(total, a.numSlots, o)
	tracked := newBigVec(len(total))
	tracked.add(total, a.existing)
	failedJob := false
	for _, b := range a.out.bins[a.existing:] {
		if o.Standalone {
			b.failed = true
		} else {
			after := newBigVec(len(total))
			for i := range after {
				after[i].Add(tracked[i], big.NewInt(total[i]))
			}
			if (maxCPU != nil && after[dimCPU].Cmp(maxCPU) > 0) || (maxMem != nil && after.memory().Cmp(maxMem) > 0) {
				b.failed = true
				a.out.messages = append(a.out.messages, fmt.Sprintf(
					"INFO FineGrainedSlotManager: Could not allocate a new TaskManager. Max total resource limitation <%s, %s> is reached.",
					bigDecimalString(maxCPU), flinkconf.FormatMemorySizeHuman(clampInt64(maxMem))))
			} else {
				tracked.add(total, 1)
			}
		}
		if b.failed && len(b.allocs) > 0 {
			failedJob = true
			for _, al := range b.allocs {
				a.out.unfulfilled = append(a.out.unfulfilled, unfulfilled{al.req, al.count, failReason(o)})
			}
		}
	}
	return failedJob
}

// warnUnfulfilled adds the messages Flink logs (and the exception the job sees) when the job
// cannot get its slots, and flinktune's note for a standalone deployment that needs more
// TaskManagers.
func (a *slotAllocation) warnUnfulfilled(failedJob bool, job string) {
	if a.o.Standalone && len(a.out.bins) > a.existing {
		a.out.messages = append(a.out.messages, "flinktune: standalone deployment: Flink cannot start the TaskManagers this job needs; start them yourself")
	}
	if len(a.out.unfulfilled) > 0 || failedJob {
		a.out.messages = append(a.out.messages,
			fmt.Sprintf("WARN FineGrainedSlotManager: Could not fulfill resource requirements of job %s.", job),
			"NoResourceAvailableException: Could not acquire the minimum required resources. (streaming jobs fail at once; batch slot requests fail after slot.request.timeout with \"Slot request bulk is not fulfillable! Could not allocate the required slot within slot request timeout\")")
	}
}

func failReason(o SlotManagerOptions) string {
	if o.Standalone {
		return "no TaskManager can be started (standalone deployment)"
	}
	return "the max total resource limitation (slotmanager.number-of-slots.max / max-total-resource) is reached"
}

// exceededDims names the dimensions in which need exceeds have.
func exceededDims(sp *space, have, need vec) string {
	s := ""
	for d := range need {
		if need[d] > have[d] {
			if s != "" {
				s += ", "
			}
			s += sp.dimName(d)
		}
	}
	return s
}

// minTotals derives SlotManagerConfiguration's min total CPU and memory. With no minimum slot
// number Flink uses new CPUResource(Double.MIN_VALUE): any positive CPU satisfies it, zero
// does not (strict).
func minTotals(total vec, numSlots int, o SlotManagerOptions) (cpu *big.Int, strict bool, mem *big.Int) {
	switch {
	case o.MinTotalCPU != nil:
		cpu = big.NewInt(int64(*o.MinTotalCPU))
	case o.MinSlots == 0:
		cpu, strict = new(big.Int), true
	default:
		cpu = new(big.Int).Mul(big.NewInt(total[dimCPU]), big.NewInt(int64(o.MinSlots)))
		cpu.Quo(cpu, big.NewInt(int64(numSlots)))
	}
	switch {
	case o.MinTotalMemory != nil:
		mem = big.NewInt(*o.MinTotalMemory)
	case o.MinSlots == 0:
		mem = new(big.Int)
	default:
		mem = new(big.Int).Mul(big.NewInt(vecMemory(total)), big.NewInt(int64(o.MinSlots)))
		mem.Quo(mem, big.NewInt(int64(numSlots)))
	}
	return cpu, strict, mem
}

// maxTotals derives the max total CPU and memory; nil means unlimited.
func maxTotals(total vec, numSlots int, o SlotManagerOptions) (cpu, mem *big.Int) {
	if o.MaxTotalCPU != nil {
		cpu = big.NewInt(int64(*o.MaxTotalCPU))
	} else if o.MaxSlots > 0 {
		cpu = new(big.Int).Mul(big.NewInt(total[dimCPU]), big.NewInt(int64(o.MaxSlots)))
		cpu.Quo(cpu, big.NewInt(int64(numSlots)))
	}
	if o.MaxTotalMemory != nil {
		mem = big.NewInt(*o.MaxTotalMemory)
	} else if o.MaxSlots > 0 {
		mem = new(big.Int).Mul(big.NewInt(vecMemory(total)), big.NewInt(int64(o.MaxSlots)))
		mem.Quo(mem, big.NewInt(int64(numSlots)))
	}
	return cpu, mem
}

// requiredFulfilled is isRequiredResourcesFulfilled: free resources cover the redundant
// TaskManagers in every dimension, and the cluster total reaches the minimum CPU and memory.
func requiredFulfilled(avail, inTotal bigVec, redundant vec, minCPU *big.Int, minCPUStrict bool, minMem *big.Int) bool {
	for i, r := range redundant {
		if avail[i].Cmp(big.NewInt(r)) < 0 {
			return false
		}
	}
	c := inTotal[dimCPU].Cmp(minCPU)
	if c < 0 || (minCPUStrict && c == 0) {
		return false
	}
	return inTotal.memory().Cmp(minMem) >= 0
}

func bigDecimalString(x *big.Int) string {
	if x == nil {
		return "unlimited"
	}
	if x.IsInt64() {
		return Decimal(x.Int64()).String()
	}
	q, r := new(big.Int).QuoRem(x, big.NewInt(decimalScale), new(big.Int))
	if r.Sign() == 0 {
		return q.String()
	}
	return new(big.Rat).SetFrac(x, big.NewInt(decimalScale)).FloatString(16)
}

func clampInt64(x *big.Int) int64 {
	if x == nil || !x.IsInt64() {
		return 1<<63 - 1
	}
	return x.Int64()
}
