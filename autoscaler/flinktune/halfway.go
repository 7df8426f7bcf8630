package flinktune

import (
	"math"
	"time"
)

// A vertex comes along in a scale-down when its window peak (and forecast, and the lag its
// restart leaves) at the target utilization is below the midpoint of utilization.min and the
// target, but only the vertices below utilization.min may start one (scaleDown): counting the
// slots of the vertices merely halfway down as well scaled jobs down twice as often, and a load
// step within settle reversed it. So a vertex left halfway down by a scale-up sized for a
// forecast the demand never reached (a ramp extrapolated past its end) or for a drain kept its
// surplus for as long as the demand held: gen-88's join at 4 subtasks and 42% utilization for
// 230 minutes, where 3 carry it at 56% (the operator: 2, then 4 for a spike).
//
// Vertices halfway down on a LEVEL for settle start a scale-down: every source's demand has
// stayed within fallingShare of its level now for settle, as long as the policy waits before
// reversing a change, so the layout is no fresh bet and the spell counts as the scale-down's
// wait (downWait: a level held for settle keeps the bet); every guard of scaleDown (lag,
// rising demand, a step up within the spell, the restart's cost, excursions) still holds.
// Without the level, a daily curve's slow fall was chased: each hour of the evening left some
// vertex halfway down and the rule added scale-downs the falling demand would have brought
// anyway, in smaller steps (kafka-diurnal 14 rescales against the operator's 19, where the
// target is at most half; gen-93's slow ramp lag 439 -> 8,852 s). The spell starts again with
// every rescale and whenever the vertices halfway down would free fewer slots or subtasks
// than a scale-down must.
//
// Only a layout our own last change raised counts (LastDir > 0): a scale-up the demand did not
// grow into is the bet this undoes. The job's initial layout and the level after a scale-down
// are the user's and the fall's: lowering those added a rescale whose restart broke a 60 s SLO
// (gen-200: 0 -> 1 rescales, lag 886 -> 997 s, dominates -> trade-off) and scaled down a small
// daily swing's trough, flat for longer than longTrend (gen-140: 2 -> 4 rescales, lag 28 ->
// 399 s), while gen-88 and gen-66, left halfway by scale-ups, keep their gain.

// halfwayLow reports whether the vertices halfway down (sizing.down) start a scale-down, and
// since when their demand counts as low: the start of their spell, once it has lasted settle
// on a level.
func (p *Policy) halfwayLow(e *evaluation, sz sizing, now time.Time) (time.Time, bool) {
	if p.st.LastDir <= 0 || len(changed(e, sz.down)) == 0 || !(freesSlots(e, sz.down) || freesSubtasks(e, sz.down)) {
		p.st.HalfSince = time.Time{}
		return time.Time{}, false
	}
	if p.st.HalfSince.IsZero() || p.st.HalfSince.Before(p.st.LastChange) {
		p.st.HalfSince = now
	}
	if now.Sub(p.st.HalfSince) < p.o.Settle || !p.onLevel(e, now, p.o.Settle) || p.cameFromAbove(e, now) {
		return time.Time{}, false
	}
	return p.st.HalfSince, true
}

// onLevel reports whether every source's demand held within fallingShare of its demand now for
// the last d: each whole minute of d (at least minMinuteSamples samples) within that band, and
// such minutes reaching back to d ago (a source seen for less than d is on no level yet).
func (p *Policy) onLevel(e *evaluation, now time.Time, d time.Duration) bool {
	for _, vi := range e.order {
		if !vi.Source {
			continue
		}
		cur, lv, reaches := e.demand[vi.ID], p.st.Levels[vi.ID], false
		for i := len(lv) - 1; i >= 0 && now.Sub(lv[i].T) <= d; i-- {
			if lv[i].N < minMinuteSamples {
				continue
			}
			if math.Abs(lv[i].mean()-cur) > fallingShare*cur {
				return false
			}
			reaches = reaches || now.Sub(lv[i].T) >= d-2*time.Minute
		}
		if !reaches {
			return false
		}
	}
	return true
}

// cameFromAbove reports whether some source's demand fell to its level now (fellToLevel): the
// level is the bottom of a fall, such as a daily curve's trough, which is flat for hours
// (kafka-diurnal's night stays within 10% for 2.5 hours) and rises again. Vertices halfway down
// there were sized by the fall's own scale-downs for the demand on the way down, and the rise
// needs them back: shedding them added a scale-down and its reversal every night
// (kafka-diurnal 9 -> 11 rescales against the operator's 19). Vertices left halfway down by a
// scale-up the demand did not grow into sit on a level the demand rose to or held.
func (p *Policy) cameFromAbove(e *evaluation, now time.Time) bool {
	for _, vi := range e.order {
		if vi.Source && p.fellToLevel(vi.ID, e.demand[vi.ID], now) {
			return true
		}
	}
	return false
}

// fellToLevel reports whether source id's demand was above cur (by more than fallingShare) in
// some whole minute of the levels kept (longTrend), other than in an excursion from cur's
// level: one that the demand, held at that level right before it for at least as long as the
// excursion lasted, came back from (a spike, as lowPeak has it). A spike back to the level it
// left is no fall: counting it as one kept a join left halfway down by a ramp's forecast (9
// subtasks at 33% utilization, where 4 carry the demand) for the two hours after the other
// source's 17-minute spike (gen-1025, +53% parallelism-seconds against the operator). A ramp
// passing through the level on its way up held it for minutes only.
func (p *Policy) fellToLevel(id string, cur float64, now time.Time) bool {
	held, first, last := 0, time.Time{}, time.Time{}
	for _, l := range p.st.Levels[id] {
		if now.Sub(l.T) > longTrend || l.N < minMinuteSamples {
			continue
		}
		m := l.mean()
		switch {
		case m > (1+fallingShare)*cur:
			if first.IsZero() {
				first = l.T
			}
			last = l.T
		case !first.IsZero():
		case math.Abs(m-cur) <= fallingShare*cur:
			held++
		default:
			held = 0
		}
	}
	if first.IsZero() {
		return false
	}
	return float64(held) < last.Sub(first).Minutes()+1
}
