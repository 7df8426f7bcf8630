package tuning

import (
	"maps"
	"math"
	"slices"

	"github.com/flinktune/flinktune/internal/lsq"
)

// The heap split: what a new layout puts on the busiest TaskManager.
//
// The live heap of a TaskManager is the heap its hosted subtasks keep (sim/memmodel.go and
// Flink's HashMap state backend): a part per hosted subtask (operators, their buffers and
// the records in flight, plus the TaskManager's own share spread over them) and the keyed
// state of the key groups its keyed subtasks own. Keyed state is divided over a vertex's p
// subtasks by key group (KeyGroupRangeAssignment), so the busiest TaskManager, which hosts
// min(p, slots) subtasks of each vertex (slot sharing), holds min(p, slots)/p of it. Hence,
// at a layout ℓ:
//
//	live(ℓ) ≈ w · N(ℓ) + K · s(ℓ),  N = Σ_v min(p_v, slots),  s = min(p_k, slots) / p_k
//
// with w the live heap per hosted subtask and K the job's keyed state on the heap. The
// tuner has the live set (lowest heap use per interval) of every layout it saw; two layouts
// that differ in N:s identify w and K, and the prediction for the target replaces the
// layout factor, which scales the whole heap by the worst vertex's growth: on a scale-out the
// state spreads (s falls) while more subtasks share each TaskManager (N grows), and the
// factor counted the state as if it grew like the subtasks.
//
// Nothing is fitted where the model cannot say: one layout only, keyed vertices at different
// parallelisms (their state shares differ and K is not one number), layouts in the same N:s
// proportion, a negative part, or a layout the fit misses by more than splitMaxMiss. The
// prediction is scaled up by the worst ratio of observed to fitted live set, so it never
// under-predicts a layout it was fitted on, and the usual live-factor margin applies on top.
// It can only lower the layout factor's bound, never raise it.

// splitMaxMiss is the largest relative miss of the fit on a layout it was fitted on.
const splitMaxMiss = 0.2

// splitMinSpread is how far from proportional the layouts' subtask counts and state shares
// must be (the sine of the angle between the N and s columns over the layouts) for the fit
// to separate the per-subtask part from the keyed state.
const splitMinSpread = 0.05

// heapSplit is the fitted split of the busiest TaskManager's live heap.
type heapSplit struct {
	PerSubtask float64 // w, bytes per hosted subtask
	State      float64 // K, bytes of keyed state on the heap, all subtasks together
	Worst      float64 // max over the fitted layouts of observed / fitted live set (≥ 1)
	Layouts    int
}

// layoutShape returns N (subtasks of the busiest TaskManager) and s (its share of the keyed
// state) of a layout on n slots per TaskManager; ok is false when the keyed vertices run at
// different parallelisms.
func layoutShape(layout map[string]int, n int, keyed map[string]bool) (subtasks, share float64, ok bool) {
	pk := 0
	for _, id := range slices.Sorted(maps.Keys(layout)) {
		p := layout[id]
		if p <= 0 {
			continue
		}
		subtasks += float64(min(p, n))
		if keyed[id] {
			if pk != 0 && pk != p {
				return 0, 0, false
			}
			pk = p
		}
	}
	if pk > 0 {
		share = float64(min(pk, n)) / float64(pk)
	}
	return subtasks, share, subtasks > 0
}

// splitHeap fits the split on the live sets (percentile q) of the layouts seen; nc is the
// running slots per TaskManager (for layouts recorded without a slot count).
func (t *Tuner) splitHeap(keyed map[string]bool, nc int, q float64) (heapSplit, bool) {
	var ns, ss, lives []float64
	for _, h := range t.st.Heaps {
		live, ok := h.Low.percentile(q)
		if !ok || !(live > 0) {
			continue
		}
		n, s, ok := layoutShape(h.Layout, slotsOr(h.Slots, nc), keyed)
		if !ok {
			return heapSplit{}, false
		}
		ns, ss, lives = append(ns, n), append(ss, s), append(lives, live)
	}
	if len(lives) < 2 {
		return heapSplit{}, false
	}
	// Least squares without intercept: the TaskManager's own heap is spread over its subtasks.
	w, k, ok := lsq.Solve2(ns, ss, lives, splitMinSpread*splitMinSpread)
	if !ok || w < 0 || k < 0 {
		return heapSplit{}, false
	}
	sp := heapSplit{PerSubtask: w, State: k, Worst: 1, Layouts: len(lives)}
	for i, live := range lives {
		fit := sp.fit(ns[i], ss[i])
		if !(fit > 0) || math.Abs(live-fit) > splitMaxMiss*live {
			return heapSplit{}, false
		}
		sp.Worst = max(sp.Worst, live/fit)
	}
	return sp, true
}

func (s heapSplit) fit(n, share float64) float64 { return s.PerSubtask*n + s.State*share }

// predict is the busiest TaskManager's live set at a layout, scaled by Worst.
func (s heapSplit) predict(layout map[string]int, n int, keyed map[string]bool) (float64, bool) {
	sub, share, ok := layoutShape(layout, n, keyed)
	if !ok {
		return 0, false
	}
	return s.fit(sub, share) * s.Worst, true
}
