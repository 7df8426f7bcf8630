package flinktune

import "time"

// A vertex comes along in a scale-down when its window peak (and forecast, and the lag its
// restart leaves) at the target utilization is below the midpoint of utilization.min and the
// target, but only the vertices below utilization.min may start one (scaleDown): counting the
// slots of the vertices merely halfway down as well scaled jobs down twice as often, and a load
// step within settle reversed it. So a vertex left halfway down, by a scale-up sized for a
// forecast the demand never reached (a ramp extrapolated past its end) or for a drain, or by
// the job's initial layout, kept its surplus for as long as the demand held: gen-88's join at
// 4 subtasks and 42% utilization for 230 minutes, where 3 carry it at 56% (the operator: 2,
// then 4 for a spike), 14% more parallelism-seconds than needed; gen-71 +18.7%, gen-66.
//
// A layout that has run halfway down for settle is no fresh bet: the demand has held below
// the midpoint for as long as the policy waits before reversing a change, so such vertices
// start a scale-down after that spell, and then the ordinary wait (downWait) and every guard
// of scaleDown (lag, rising demand, the restart's cost, excursions) still hold. The spell
// starts again with every rescale and whenever the vertices halfway down would free fewer
// slots or subtasks than a scale-down must.

// halfwayLow reports whether the vertices halfway down (sizing.down) start a scale-down, and
// since when their demand counts as low: settle after their spell began.
func (p *Policy) halfwayLow(e *evaluation, sz sizing, now time.Time) (time.Time, bool) {
	if len(changed(e, sz.down)) == 0 || !(freesSlots(e, sz.down) || freesSubtasks(e, sz.down)) {
		p.st.HalfSince = time.Time{}
		return time.Time{}, false
	}
	if p.st.HalfSince.IsZero() || p.st.HalfSince.Before(p.st.LastChange) {
		p.st.HalfSince = now
	}
	from := p.st.HalfSince.Add(p.o.Settle)
	return from, !from.After(now)
}
