package flinktune

import "time"

// A scale-down on a flat or rising demand waits settle (downWait): it bets that the level
// holds for settle, and a level held that long keeps the bet. The wait counted from LowSince,
// when the vertices first became low, so a demand that stepped up within the low spell, and
// was still low enough, was bet on as if its new level had lasted the whole spell. gen-65: a
// source at 8.8k/s from the start, 20.4k/s from 10 min, the job still low at both; the
// scale-down came 35 minutes after the start (11 -> 1 on the window), 20 s before the next
// step to 30.9k/s, and the step to 69.4k/s at 53 min reversed it within settle (3 rescales
// and an oscillation, the operator 1). A step up is how the next one begins as often as not:
// the wait for a flat or rising demand counts from when the demand reached the level it holds
// now. A falling demand, a return to a level held before a spike and a drain's surplus keep
// their shorter waits (downWait): their bet is not on a new level.

// riseConfirm is how many consecutive whole minutes below the level now mark the level's start:
// one noisy minute (a minute's mean scatters by a few percent) is no step.
const riseConfirm = 2

// minMinuteSamples is the fewest samples a minute needs to count as a level (the minute in
// progress, or one cut by a restart, is a noisy mean of one or two).
const minMinuteSamples = 3

// levelStart is when source id's demand stepped up to cur, its demand now: the oldest whole
// minute at the level (not more than spikeShare below cur) after the newest run of
// riseConfirm whole minutes below it, if the demand jumped from that run to the level (by at
// least half the distance between them in one minute); now if the newest minutes are below it
// (the step is under way); the zero time if no such run lies within settle before now, or the
// demand climbed to its level minute by minute. A ramp's climb is left to rising and the
// forecast: held until settle after a ramp, the over-provisioned start of gen-41 (20 subtasks
// a vertex, a 57-minute ramp from 26k/s to 68.7k/s) kept its surplus for two hours (+69%
// parallelism-seconds).
func (p *Policy) levelStart(id string, cur float64, now time.Time) time.Time {
	lv := p.st.Levels[id]
	from, fromMean, below := now, cur, 0
	// The minutes below may lie just beyond settle when the level began settle ago.
	span := p.o.Settle + riseConfirm*time.Minute
	for i := len(lv) - 1; i >= 0 && now.Sub(lv[i].T) <= span; i-- {
		if lv[i].N < minMinuteSamples {
			continue
		}
		m := lv[i].mean()
		if m*(1+spikeShare) >= cur {
			from, fromMean, below = lv[i].T, m, 0
			continue
		}
		if below == 0 && fromMean-m < (cur-m)/2 {
			return time.Time{} // climbed, not stepped
		}
		if below++; below == riseConfirm {
			return from
		}
	}
	return time.Time{}
}

// riseWait returns a source whose demand rose, within the low spell, to the level it holds
// now less than settle ago, and when it reached that level (the scale-down waits settle from
// then); "" when none did or the demand's wait is not settle (downWait's shorter cases).
func (p *Policy) riseWait(e *evaluation, now time.Time, surplus bool) (string, time.Time) {
	if surplus || p.st.LowAtLevel || falling(e, p.o.Settle) {
		return "", time.Time{}
	}
	src, latest := "", time.Time{}
	for _, vi := range e.order {
		if !vi.Source {
			continue
		}
		if s := p.levelStart(vi.ID, e.demand[vi.ID], now); s.After(p.st.LowSince) && s.After(latest) {
			src, latest = vi.ID, s
		}
	}
	if src == "" || now.Sub(latest) >= p.o.Settle {
		return "", time.Time{}
	}
	return src, latest
}
