package flinktune

import (
	"fmt"
	"math"
	"time"
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
// (lastsSettle) on a rise that is not slowing (decelerating), and only when the rescale is due
// soon anyway (dueWithinCatchUp).
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
	if peak <= p.o.MaxLag.Seconds() || !p.dueWithinCatchUp(e, lagSec, gap) || !p.lastsSettle(e, sz, src) ||
		p.decelerating(src) {
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

// decelerating reports whether a source's demand rises ever more slowly: of its per-minute
// levels over the last settle/2 (since its last abrupt change), the newer half's slope is below
// the older half's by more than three standard errors (slopeBreaks). A sine's rise past its
// inflection looks like a ramp to the straight-line forecast, which then runs past the crest:
// a scale-up decided early on it is sized for a demand that never comes (gen-26, a 3 h sine:
// fired 27 minutes into the rise, 3 -> 7 and 10 -> 15 where the trigger at the objective, near
// the crest, took 3 -> 6 and 10 -> 13; 293,340 parallelism-seconds against 271,307). Later, the
// trigger at the objective sees the flatter slope.
func (p *Policy) decelerating(src string) bool {
	lv := p.st.Levels[src]
	if len(lv) == 0 {
		return false
	}
	end := lv[len(lv)-1].at()
	from := end.Add(-p.o.Settle / 2)
	if sh, ok := p.st.Shifts[src]; ok && sh.After(from) {
		from = sh
	}
	var xs, ys []float64
	for _, l := range lv {
		if !l.at().Before(from) {
			xs = append(xs, l.at().Sub(end).Seconds())
			ys = append(ys, l.mean())
		}
	}
	if len(xs) < 8 || end.Sub(from) < 8*time.Minute {
		return false
	}
	h := len(xs) / 2
	_, older := fitLine(xs[:h], ys[:h])
	_, newer := fitLine(xs[h:], ys[h:])
	return older > 0 && newer < older && slopeBreaks(xs[h:], ys[h:], older)
}
