package flinktune

import (
	"math"
	"strings"
	"time"
)

// A scale-up sized to drain a backlog within catch-up.duration (at catchUpUtilization) leaves,
// once the lag is gone, vertices whose lasting demand runs below the midpoint of
// utilization.min and the target: drainSurplus then sheds them with a second rescale after
// scale-down.interval. On the corpus that second rescale is the largest class of seeds where
// flinktune rescales more often than the operator (issue 9: gen-4, 27, 36, 53, 80, 96, 114,
// 178, 179: 2 against 1). The operator drains over 30 minutes of catch-up and holds what it
// sized for its hour of scale-down.interval.
//
// The drain's surplus is bought twice: subtasks above the lasting size for the drain and the
// wait after it, then a restart to shed them (downtime, replay, lag of its own). When smaller
// drain-sized sizes that a later scale-down keeps (each vertex's lasting demand at or above the
// midpoint) still drain the backlog within drainStretch times catch-up.duration, the scale-up
// takes those: the backlog drains more slowly, and the job rescales once. The choice is the
// job's, not each vertex's: the job drains at its slowest vertex, so keeping some vertices and
// not others drains no faster than keeping none, and still leaves a surplus to shed. While
// it drains, the lag triggers (lagReason, persistentLagReason) accept the longer drain
// (drainLimit): re-sizing it for catch-up is the second rescale this avoids (gen-53's kept
// layout was raised again 7 minutes later).
//
// Not where a scale-down follows anyway: a vertex the scale-up leaves in place runs its lasting
// demand below utilization.min (shedAnyway; gen-4, 53 and 179 shed vertices over-provisioned
// from the start in the same second rescale, and kept sizes only added parallelism-seconds:
// gen-179 dominates -> trade-off), or a drained vertex already runs below the midpoint at its
// parallelism (gen-36: the layout was held, not shed, +7% parallelism-seconds). The surplus
// then goes in that scale-down, and the drain stays fast.

// drainStretch bounds how much longer than catch-up.duration the kept sizes may take to drain:
// three times our 10 minutes is the operator's default catch-up (30 minutes), within which it
// drains the same backlogs with its one rescale.
const drainStretch = 3.0

// keepDrains replaces the drain-sized sizes of a scale-up by the sizes the scale-down keeps,
// if every drained vertex drains its backlog at those within drainStretch times catch-up, and
// reports whether it did. Only the scale-up taken is resized: sizing.up also judges whether a
// rescale would help (lagReason) and what a scale-down brings along (withHotAlong).
func (p *Policy) keepDrains(e *evaluation, sz *sizing) bool {
	if p.shedAnyway(e, sz) {
		return false
	}
	kept := map[string]int{}
	for _, vi := range e.order {
		if !sz.drained[vi.ID] {
			continue
		}
		m := e.models[vi.ID].planned(sz.up)
		lasting := math.Max(e.forecast[vi.ID], e.demand[vi.ID])
		n, ok := p.keptDrain(m, lasting, drainDemand(e, vi.ID, p.o.CatchUp), sz.drainRate[vi.ID], sz.forDemand[vi.ID], sz.up[vi.ID])
		if !ok {
			return false
		}
		if n < sz.up[vi.ID] {
			kept[vi.ID] = n
		}
	}
	for _, vi := range e.order {
		if n, ok := kept[vi.ID]; ok {
			sz.up[vi.ID] = max(n, vi.P)
			sz.drained[vi.ID] = sz.up[vi.ID] > max(sz.forDemand[vi.ID], vi.P)
		}
	}
	return len(kept) > 0
}

// drainLimit is how long lag may take to drain before a rescale for it is considered
// (lagReason): catch-up.duration, or drainStretch times it while the last scale-up drains on
// kept sizes (re-sizing it for catch-up would take the second rescale keepDrains avoided).
func (p *Policy) drainLimit() time.Duration {
	if p.st.DrainKept && p.st.LastDir > 0 {
		return time.Duration(drainStretch * float64(p.o.CatchUp))
	}
	return p.o.CatchUp
}

// keptDrain is a drained vertex's size that a later scale-down keeps: the largest between
// forDemand and forDrain whose lasting demand runs above the midpoint of utilization.min and
// the target (forDrain if that is kept already), and whether it drains the vertex's backlog
// within drainStretch times catch-up.duration. during is the vertex's demand while draining
// and rate its drain-sized rate (during plus the backlog's share over catch-up).
func (p *Policy) keptDrain(m *vertexModel, lasting, during, rate float64, forDemand, forDrain int) (int, bool) {
	if forDrain <= forDemand || lasting <= 0 || rate <= during {
		return forDrain, true
	}
	mid := (p.o.UtilizationMin + p.o.TargetUtilization) / 2
	keep := max(forDemand, m.sizeFor(lasting, mid, p.o)-1) // above the midpoint: not shed
	if keep >= forDrain {
		return forDrain, true
	}
	if keep < m.info.P {
		// Already below the midpoint at its parallelism: the drain's surplus path sheds it
		// after the drain in any case, so the drain might as well be fast.
		return forDrain, false
	}
	backlog := (rate - during) * p.o.CatchUp.Seconds()
	spare := m.capacity(keep)*catchUpUtilization - during
	return keep, spare > 0 && backlog/spare <= drainStretch*p.o.CatchUp.Seconds()
}

// shedAnyway reports whether a vertex the scale-up leaves in place runs its lasting demand
// below utilization.min: once the drain's lag (which its demand now includes) is gone, a
// scale-down follows for it anyway, and it sheds the drain's surplus in the same restart
// (gen-179: the source and a filter over-provisioned from the start went down with the
// drained FlatMap; kept sizes only added parallelism-seconds to the same two rescales).
func (p *Policy) shedAnyway(e *evaluation, sz *sizing) bool {
	for _, vi := range e.order {
		if sz.drained[vi.ID] || sz.up[vi.ID] > vi.P || p.o.Exclude[strings.ToLower(vi.ID)] {
			continue
		}
		m := e.models[vi.ID].planned(sz.up)
		lasting := math.Max(e.forecast[vi.ID], e.demand[vi.ID])
		if c := m.capacity(sz.up[vi.ID]); c > 0 && lasting/c < p.o.UtilizationMin && m.sizeFor(lasting, p.o.TargetUtilization, p.o) < sz.up[vi.ID] {
			return true
		}
	}
	return false
}
