package tiny

import (
	"fmt"
	"math"
)

// SerialCost is a job's CPU cost per MiB of records under the Serial collector, measured part by
// part on real Flink (the collector's threads apart from the rest, /proc/<pid>/task):
//
//   - the pipeline's own work (allocating, filling, filtering and discarding records). Records
//     are allocated by sweeping through the eden; while the eden stays in the CPU's cache the
//     sweep costs WorkCached per MiB, once it is well beyond the cache every line comes from
//     memory and it costs WorkUncached. So past the cache a bigger heap is slower, not faster.
//   - young collections: as frequent as the eden fills, each costing about the same (a
//     streaming job leaves few survivors), so their cost per MiB falls as 1/eden.
//   - thrashing: when the old generation's free space (old minus the live set) is smaller than
//     the eden, a young collection's worst-case promotion does not fit and Serial collects the
//     whole heap instead, every time. The rate collapses to a few percent and a little more
//     state ends in OutOfMemoryError; the model treats such a heap as one the job cannot run in.
//
// With -Xms equal to -Xmx (every profile the planner prints), Serial's young generation is a
// third of the heap (NewRatio 2) and the eden 8/10 of it (SurvivorRatio 8).
type SerialCost struct {
	// CachedMiBps and UncachedMiBps are the pipeline's rate per CPU-second without collection
	// costs, tiered compilation, with the eden in the cache and with it out; C1Factor is the
	// rate C1-only code reaches in both.
	CachedMiBps, UncachedMiBps, C1Factor float64
	// The eden stays in the cache while the allocator sweeps through it within CacheMs (at the
	// cached rate): on a machine shared with others the cache holds lines for about that long.
	// The cost ramps linearly to the uncached one over CacheRampMs more. (Measured: the C1
	// pipeline's rate falls between 27 and 53 MiB of eden, tiered code's, 1.6 times faster,
	// between 37 and 80 MiB: the same sweep time, ~9 ms.)
	CacheMs, CacheRampMs float64
	// YoungMs is the collector's CPU milliseconds per eden's worth of records (a young
	// collection's cost times the collections per eden of records) with the eden in the cache;
	// YoungUncachedMs beyond it (the survivors are copied from memory), on the same ramp.
	YoungMs, YoungUncachedMs float64
	// LiveMiB is the old generation's live set with one slot; SlotLiveMiB each further slot's.
	LiveMiB, SlotLiveMiB float64
	// PairFactor is a slot's pipeline rate per CPU-second while another slot runs beside it on
	// the other CPU, relative to one slot alone (0: 1, the rates were measured with the slots
	// side by side). Two slots side by side share the core's caches and memory bandwidth: on
	// this machine's two vCPUs tiered -Xmx80m ran at 0.65-0.75 of one slot's rate back to back
	// (fitted in the real-Flink test against the tiered rate derived from C1's: 0.58-0.94,
	// launches of two tiered slots vary). The collector's CPU per MiB does not change (it runs
	// with the slots stopped).
	PairFactor float64
}

// serialEdenMiB is the eden of a Serial heap whose -Xms equals -Xmx.
func serialEdenMiB(heap int64) float64 {
	young := heap / 3
	return float64(young) * 0.8 / float64(MiB)
}

func serialOldMiB(heap int64) float64 { return float64(heap-heap/3) / float64(MiB) }

// liveMiB is the old generation's live set of a job with slots slots.
func (c *SerialCost) liveMiB(slots int) float64 {
	return c.LiveMiB + float64(max(slots, 1)-1)*c.SlotLiveMiB
}

// thrashes says whether the old generation cannot take a young collection's worst case.
func (c *SerialCost) thrashes(heap int64, slots int) bool {
	return serialOldMiB(heap)-c.liveMiB(slots) < serialEdenMiB(heap)
}

// floor is the smallest heap that does not thrash: old - live >= eden, i.e. 2/3 h - L >= 0.8/3 h.
func (c *SerialCost) floor(slots int) int64 {
	h := int64(math.Ceil(c.liveMiB(slots) / (2.0/3 - 0.8/3) * float64(MiB)))
	for c.thrashes(h, slots) { // integer rounding of heap/3
		h += 64 * KiB
	}
	return h
}

// costs are the CPU seconds per MiB of records: the pipeline's work and the young collections';
// miss is how far the eden is out of the cache (0 to 1).
func (c *SerialCost) costs(heap int64, jit JIT) (work, gc, miss float64) {
	eden := serialEdenMiB(heap)
	cached, uncached := c.CachedMiBps, c.UncachedMiBps
	if jit == JITC1 && c.C1Factor > 0 {
		cached, uncached = cached*c.C1Factor, uncached*c.C1Factor
	}
	sweepMs := eden / cached * 1000
	if c.CacheRampMs > 0 {
		miss = math.Min(math.Max((sweepMs-c.CacheMs)/c.CacheRampMs, 0), 1)
	} else if sweepMs > c.CacheMs {
		miss = 1
	}
	work = (1-miss)/cached + miss/uncached
	young := c.YoungMs
	if c.YoungUncachedMs > 0 {
		young += (c.YoungUncachedMs - c.YoungMs) * miss
	}
	return work, young / 1000 / eden, miss
}

// slotWork is the pipeline's CPU seconds per MiB with k slots running side by side.
func (c *SerialCost) slotWork(work float64, k int) float64 {
	if k >= 2 && c.PairFactor > 0 {
		return work / c.PairFactor
	}
	return work
}

// bestSlotRate is one slot's rate per CPU-second at its best: eden in the cache, collection free.
func (c *SerialCost) bestSlotRate(jit JIT) float64 {
	r := c.CachedMiBps
	if jit == JITC1 && c.C1Factor > 0 {
		r *= c.C1Factor
	}
	return r
}

// serialCapacity is the rate, MiB/s, of slots slots on cpus CPUs with the Serial cost model: the
// CPUs the slots keep busy over the CPU seconds per MiB. It also returns the two bounds: the
// pipeline's alone (collection free) and the collector's alone.
func serialCapacity(c *SerialCost, heap int64, jit JIT, slots, cpus int) (capacity, cpuBound, gcBound float64) {
	work, gc, _ := c.costs(heap, jit)
	k := min(slots, cpus)
	work = c.slotWork(work, k)
	return float64(k) / (work + gc), float64(k) / work, float64(k) / gc
}

// describeThrash explains why a Serial heap thrashes.
func (c *SerialCost) describeThrash(heap int64, slots int) string {
	return fmt.Sprintf("with -Xmx%s Serial's old generation (%s) holds the job's ~%.0f MiB live set and leaves %.1f MiB free, less than the %.1f MiB eden a young collection may promote: every collection is a full one, the collector takes nearly all the CPU (measured: 95%%) and a little more state ends in OutOfMemoryError",
		JVMSize(heap), HumanSize(heap-heap/3), c.liveMiB(slots), serialOldMiB(heap)-c.liveMiB(slots), serialEdenMiB(heap))
}

// nearBest is how close to the most capacity a smaller heap may come and be chosen instead: the
// last few percent come from an eden at the cache's edge, where the rate is least certain.
const nearBest = 0.03

// bestSerialHeap is the smallest heap from lo to hi (aligned steps) within nearBest of the most
// capacity there. With the cache effect capacity is not monotone in the heap.
func bestSerialHeap(c *SerialCost, lo, hi, align int64, jit JIT, slots, cpus int) (heap int64, capacity float64) {
	most := 0.0
	for h := lo; h <= hi; h += align {
		if got, _, _ := serialCapacity(c, h, jit, slots, cpus); !c.thrashes(h, slots) && got > most {
			most = got
		}
	}
	heap = lo
	for h := lo; h <= hi; h += align {
		if got, _, _ := serialCapacity(c, h, jit, slots, cpus); !c.thrashes(h, slots) && got >= most*(1-nearBest) {
			return h, got
		}
	}
	return heap, capacity
}

// serialHeapFor is the smallest heap from lo (aligned steps, up to 4 GiB) whose capacity covers
// target MiB/s; ok is false when none does.
func serialHeapFor(c *SerialCost, lo, align int64, target float64, jit JIT, slots, cpus int) (int64, bool) {
	for h := lo; h <= 4*GiB; h += align {
		if c.thrashes(h, slots) {
			continue
		}
		if got, _, _ := serialCapacity(c, h, jit, slots, cpus); got >= target {
			return h, true
		}
	}
	return 0, false
}

// serialShortfall is the failure of a Serial setup below its target: more heap helps while the
// eden grows towards the cache, more slots (CPUs) beyond it.
func (e *Estimate) serialShortfall(c *SerialCost, target Rate) *Failure {
	s := e.Setup
	plat := s.Machine.Platform
	align := plat.HeapAlignment(GCSerial, e.HeapCommitted)
	lo := alignUp(e.HeapFloor, align)
	if h, ok := serialHeapFor(c, lo, align, target.MiBps(), s.JVM.JIT, s.Flink.Slots, s.Machine.CPUs); ok && h > e.HeapCommitted {
		return &Failure{Phase: "load", Message: "the job falls behind (backpressure, growing consumer lag)",
			Why: fmt.Sprintf("at %s the young collections of a %.1f MiB eden cost too much: %s sustains ~%s (%s)", target, serialEdenMiB(e.HeapCommitted), HumanSize(e.HeapCommitted), e.Capacity, e.ThroughputHow),
			Fix: fmt.Sprintf("raise -Xmx to at least %s", JVMSize(ceilMiB(h)))}
	}
	best, capacity := bestSerialHeap(c, lo, max(4*e.HeapCommitted, 512*MiB), align, s.JVM.JIT, s.Flink.Slots, s.Machine.CPUs)
	perSlot := capacity / float64(min(s.Flink.Slots, s.Machine.CPUs))
	slots := int(math.Ceil(target.MiBps() / perSlot))
	fix := fmt.Sprintf("set taskmanager.numberOfTaskSlots (and the job's parallelism) to %d with -Xmx%s", slots, JVMSize(ceilMiB(best)))
	if slots > s.Machine.CPUs {
		fix = fmt.Sprintf("run %d slots on at least %d CPUs, or split the job over several processes", slots, slots)
	}
	return &Failure{Phase: "load", Message: "the job falls behind (backpressure, growing consumer lag)",
		Why: fmt.Sprintf("%d slot(s) on %d CPU(s) process at most ~%s at any heap (the best is -Xmx%s: its eden stays in the CPU's cache); %s needs %d",
			s.Flink.Slots, s.Machine.CPUs, mibps(capacity), JVMSize(ceilMiB(best)), target, slots),
		Fix: fix}
}
