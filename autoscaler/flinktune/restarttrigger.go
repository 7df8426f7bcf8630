package flinktune

import (
	"fmt"
	"math"
)

// restartOverrun says why a source that falls behind now calls for a scale-up before its lag
// reaches the objective, or "": a scale-up decided at lag L does not stop the lag at L. It
// keeps growing until the rescale helps (the shortfall times the restart and reaction time)
// and the restart itself adds what arrives while the job is down and what it replays
// (sz.restart), so the lag peaks at L + shortfall x ahead + restart lag before it drains.
// Waiting until L + shortfall x ahead reached the objective (lagReason) let every such
// scale-up overshoot it by a whole restart (gen-67: decided at 48 s of lag, peak 132 s, 9.3
// minutes above its 30 s SLO against the operator's 1.5).
//
// Only a shortfall at the demand now counts, never one the slope alone projects (that fired at
// 0 s of lag early in a ramp: wordcount-ramp 2 -> 3 rescales), and only while the forecast
// does not fall (a peak of a sine or a spike passes by itself), and only with a size that lasts
// (lastsSettle), and only when the rescale is due soon anyway (dueWithinCatchUp).
func (p *Policy) restartOverrun(e *evaluation, sz sizing, src string, ahead float64) string {
	if e.ingest <= 0 || e.demand[src] <= 0 || e.forecast[src] < e.demand[src] {
		return ""
	}
	gap := e.ingest - branchCapacity(e, src, nil)
	if gap <= 0 {
		return ""
	}
	lagSec := e.lagSecOf[src]
	peak := lagSec + (gap*ahead+sz.restart)/e.ingest
	if peak <= p.o.MaxLag.Seconds() || !p.dueWithinCatchUp(e, lagSec, gap) || !p.lastsSettle(e, sz, src) {
		return ""
	}
	return fmt.Sprintf("sources fall behind: lag %.0fs of input, %.0fs at its peak after a rescale's restart (limit %s); vertex %s at %.0f%% utilization",
		lagSec, peak, p.o.MaxLag, short(sz.hottest), 100*sz.hotUtil)
}

// lastsSettle reports whether the scale-up sized now still covers the source's demand after
// settle at the demand's present slope. Firing before the objective is reached trades what
// waiting would show of the trend for a lower peak; early in a steep ramp the forecast is
// short (the trend has lasted minutes) and the size falls behind again within settle, so the
// early rescale only adds a restart (wordcount-ramp: fired 2.7 minutes into a 15-minute ramp
// at 0 s of lag, sized for 26k/s of a ramp to 50k/s, and rescaled again 7 minutes later).
// Then the trigger waits for the objective as before, seeing more of the trend.
//
// Nor is it taken on a trend older than settle: such a trend is extrapolated as far as it has
// lasted (trendHorizon), and a scale-up decided early, while it still runs, is sized for that
// far forecast instead of the level the ramp ends at (gen-89: fired at 0 s of lag 55 minutes
// into a 60-minute ramp, sized for 172k/s where it ended at 113k/s: 498k parallelism-seconds
// against 399k). The trigger at the objective, later, sees where it ended.
func (p *Policy) lastsSettle(e *evaluation, sz sizing, src string) bool {
	if e.horizon > p.o.Settle {
		return false
	}
	return branchCapacity(e, src, sz.up) >= e.ingest+math.Max(0, e.slope)*p.o.Settle.Seconds()
}

// dueWithinCatchUp reports whether the lag, left alone at the present shortfall and slope,
// reaches the objective within catch-up.duration: the rescale is then due soon whatever
// happens, and deciding it now only lowers its peak. A shortfall of a fraction of a percent
// (gen-57: a step to 26.9k/s against 26.8k/s of capacity, 60 records/s short) would take
// hours to get there, and firing on it spent a rescale the later load change needed anyway.
func (p *Policy) dueWithinCatchUp(e *evaluation, lagSec, gap float64) bool {
	t := p.o.CatchUp.Seconds()
	grown := lagSec*e.ingest + gap*t + math.Max(0, e.slope)*t*t/2
	return grown >= p.o.MaxLag.Seconds()*e.ingest
}
