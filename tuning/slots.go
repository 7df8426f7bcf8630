package tuning

import (
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/memory"
)

// SlotsAdvice explains the recommended slots per TaskManager.
type SlotsAdvice struct {
	Current     int     `json:"current"`
	Recommended int     `json:"recommended"`
	CPUCores    float64 `json:"cpuCores"`
	// CPUPerSlot is the busiest slot's demand in cores at the target parallelism: the busy
	// fractions of the subtasks it hosts (slot sharing puts one subtask of every vertex of a
	// group in a slot).
	CPUPerSlot float64 `json:"cpuPerSlot"`
	ByCPU      int     `json:"byCpu"`
	ByMemory   int     `json:"byMemory"`
	JobSlots   int     `json:"jobSlots"`
	Basis      string  `json:"basis"`
}

const busyMetric = "busyTimeMsPerSecond"

// adviseSlots recommends taskmanager.numberOfTaskSlots: as many slots as the TaskManager's
// cores can keep busy (a slot needs the CPU of everything it hosts) and the memory limit
// allows at the proposed per-slot memory; more than now only as far as the job uses them.
// running is the running slot count, n the one the proposal is for.
func (t *Tuner) adviseSlots(rec *Recommendation, snap *autoscaler.Snapshot, tgt map[string]int, orig *memory.TaskManager, prop Pools, running, n int) {
	a := SlotsAdvice{Current: running, Recommended: n, CPUCores: orig.CPUCores}
	defer func() {
		rec.Slots, rec.SlotsPerTaskManager = a, a.Recommended
		rec.Evidence = append(rec.Evidence, Evidence{Pool: "slots", Text: a.Basis})
	}()
	groups := map[string]int{} // group -> slots (max parallelism)
	cpu := map[string]float64{}
	known := false
	for _, v := range snap.Vertices {
		if v.Finished {
			continue
		}
		p := tgt[v.ID]
		if p <= 0 {
			continue
		}
		groups[v.SlotSharingGroup] = max(groups[v.SlotSharingGroup], p)
		busy, ok := v.Metrics[busyMetric]
		if !ok || math.IsNaN(busy.Avg) || v.Parallelism <= 0 {
			continue
		}
		known = true
		// The same work spread over the target parallelism.
		cpu[v.SlotSharingGroup] += math.Min(1, busy.Avg/1000*float64(v.Parallelism)/float64(p))
	}
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		a.JobSlots += groups[g]
		a.CPUPerSlot = max(a.CPUPerSlot, cpu[g])
	}
	if !known || a.JobSlots == 0 {
		a.Basis = fmt.Sprintf("no busy-time metrics: keep %d slots per TaskManager", n)
		return
	}
	a.ByCPU = math.MaxInt32
	if a.CPUPerSlot > 0.01 {
		a.ByCPU = max(1, int(math.Floor(a.CPUCores/a.CPUPerSlot)))
	}
	// Per-slot memory is what the proposal gives the slots beyond the per-TaskManager fixed
	// parts (framework memory, metaspace, JVM overhead).
	fixed := orig.FrameworkHeap + orig.FrameworkOffHeap + prop.Metaspace + prop.Overhead
	perSlot := float64(prop.Process-fixed) / float64(n)
	a.ByMemory = math.MaxInt32
	if perSlot > 0 {
		a.ByMemory = max(1, int(math.Floor(float64(orig.TotalProcess-fixed)/perSlot)))
	}
	// Fewer slots only for lack of CPU or memory; more only as far as the job uses them.
	a.Recommended = max(1, min(a.ByCPU, a.ByMemory))
	if a.Recommended > n {
		a.Recommended = min(a.Recommended, max(n, a.JobSlots))
	}
	a.Basis = fmt.Sprintf("busiest slot needs %.2f of %.3g cores → %s slots by CPU; %s per slot within the %s limit → %s by memory; the job uses %d slots: recommend %d (now %d)",
		a.CPUPerSlot, a.CPUCores, capText(a.ByCPU), hb(int64(perSlot)), hb(orig.TotalProcess), capText(a.ByMemory), a.JobSlots, a.Recommended, a.Current)
}

func capText(n int) string {
	if n == math.MaxInt32 {
		return "any"
	}
	return fmt.Sprint(n)
}

// jobSlots is the slots the job asks for at parallelism p: the adaptive scheduler declares,
// per slot-sharing group, the group's largest parallelism (SlotSharingSlotAllocator).
func jobSlots(vertices []autoscaler.Vertex, p map[string]int) int {
	groups := map[string]int{}
	for _, v := range vertices {
		if v.Finished || p[v.ID] <= 0 {
			continue
		}
		groups[v.SlotSharingGroup] = max(groups[v.SlotSharingGroup], p[v.ID])
	}
	total := 0
	for _, w := range groups {
		total += w
	}
	return total
}

// balancedSlots is the taskmanager.numberOfTaskSlots that spreads the job's w slots evenly
// over the TaskManagers the user's slot count (limit) needs for them: ceil(w / ceil(w /
// limit)). Flink's ResourceManager cuts a job's slots from TaskManagers first fit
// (DefaultResourceAllocationStrategy): w slots on limit-slot TaskManagers fill all but the
// last. cluster.evenly-spread-out-slots (taskmanager.load-balance.mode: SLOTS) spreads only
// over TaskManagers already registered; TaskManagers started for the job, as after every
// TaskManager configuration change, are always filled first fit. The adaptive scheduler then
// puts its execution slot-sharing groups (subtask i of every vertex together) on those slots
// in the slot pool's order, a HashMap over random allocation IDs (DefaultSlotAssigner,
// DefaultAllocatedSlotPool; it honours taskmanager.load-balance.mode only from Flink 2.2).
// So the fullest TaskManager holds up to min(slots, p) subtasks of a vertex, a keyed
// vertex's state included, and every TaskManager is sized for it. Fewer slots per TaskManager
// for the same number of TaskManagers bounds that hot spot (5 slots on 4-slot TaskManagers: 4
// and 1; on 3-slot ones: 3 and 2) at no cost in TaskManagers. The running count cur is kept
// when it already gives the same TaskManagers and the same fullest one.
func balancedSlots(w, limit, cur int) int {
	limit, cur = max(1, limit), max(1, cur)
	if w <= 0 {
		return cur
	}
	tms := (w + limit - 1) / limit
	even := (w + tms - 1) / tms
	if cur <= limit && (w+cur-1)/cur == tms && min(cur, w) == even {
		return cur
	}
	return even
}

func slotsOr(s, def int) int {
	if s > 0 {
		return s
	}
	return def
}
