package flinktune

import "time"

// fallingShare is how much of the demand a trend must shed over settle to count as falling.
const fallingShare = 0.1

// downWait is how long the demand must have been low before a scale-down.
//
// A scale-down bets that the demand stays below the new capacity for settle. After
// scale-down.interval of a flat low demand, that bet is poor: a level is about as likely to
// end within settle as not (gen-44, 62, 161: a step or ramp up within 30 min of the scale-down
// reversed it). A level held for settle, or a demand still falling (a diurnal evening), keeps
// the bet, so only a flat or rising demand waits the longer of the two. Waiting settle for
// every scale-down removed oscillations but held the falling half of every daily curve too
// (kafka-diurnal 1.2% over the operator's parallelism-seconds).
//
// The surplus of a scale-up sized to drain a backlog is no bet on the level (it was sized for
// lag that is gone), so it is shed after scale-down.interval; so is the capacity of a spike
// once the demand is back at the level it held before the spike (lowPeak).
func (p *Policy) downWait(e *evaluation, surplus bool) time.Duration {
	if surplus || p.st.LowAtLevel || falling(e, p.o.Settle) {
		return p.lowFor()
	}
	return max(p.lowFor(), p.o.Settle)
}

// falling reports whether the job's total source demand trends down by more than
// fallingShare of itself over d.
func falling(e *evaluation, d time.Duration) bool {
	return e.ingest > 0 && sheds(e.slope, e.ingest, d)
}

// sheds reports whether a trend of slope sheds more than fallingShare of level over d.
func sheds(slope, level float64, d time.Duration) bool {
	return slope*d.Seconds() < -fallingShare*level
}

// spikeShare is how far above the demand now a minute's level must be to count as part of an
// excursion (minute means of noisy samples stay well within it).
const spikeShare = 0.1

// lowPeak is the demand of source id a scale-down is sized for, and since when the demand has
// been at most that: the zero time when no minute of scale-down.interval was above it, now
// when the wait must start now.
//
// A scale-down waits until the demand has been low for its wait, and levelPeak sizes it for the
// highest minute of scale-down.interval, so after a spike the wait only started once the spike
// had left that span: the spike's capacity was kept for the span and the wait after it (40 min
// and more after a 7-minute spike: gen-96, 118, 63, 38). A spike is an excursion above a level
// the demand held before it, at least as long as the spike lasted and back to the start of the
// span, and returned to: the level is no new bet, so the wait counts from the spike's end and
// the scale-down is sized for the level. A demand that has fallen to a level it did not hold
// before (a dip, a step down), or is still falling, waits from now, sized for the span's peak.
func (p *Policy) lowPeak(id string, now time.Time, cur, slope float64) (float64, time.Time) {
	span := p.lowFor()
	peak := p.levelPeak(id, now, span)
	hi := cur * (1 + spikeShare)
	lv := p.st.Levels[id]
	above := func(i int) bool { return lv[i].N > 0 && lv[i].mean() > hi }
	end := -1
	for i := len(lv) - 1; i >= 0 && now.Sub(lv[i].T) <= span; i-- {
		if above(i) {
			end = i
			break
		}
	}
	if end < 0 {
		return peak, time.Time{}
	}
	if sheds(slope, cur, p.o.Settle) {
		// Still falling (a daily curve's evening): the minutes above are the fall, not a
		// spike over (gen-78's 3-hour sine was sized for the last minutes of its fall).
		return peak, now
	}
	start := end
	for start > 0 && above(start-1) {
		start--
	}
	exStart, exEnd := lv[start].T, lv[end].T.Add(time.Minute)
	baseFrom := exStart.Add(-max(exEnd.Sub(exStart), exStart.Sub(now.Add(-span))))
	base, n := 0.0, 0
	for i := start - 1; i >= 0 && !lv[i].T.Before(baseFrom); i-- {
		if lv[i].N == 0 {
			continue
		}
		if above(i) {
			return peak, now
		}
		n++
	}
	// The base must be measured over most of its minutes (gaps are missed samples).
	if float64(n) < 0.8*exStart.Sub(baseFrom).Minutes() {
		return peak, now
	}
	for i := range lv {
		if (i < start || i > end) && lv[i].N > 0 && now.Sub(lv[i].T) <= span {
			base = max(base, lv[i].mean())
		}
	}
	return base, exEnd
}

// lowStart is when the demand became low for a scale-down: the end of a spike above a level
// the job held before it (lowPeak), never before the last rescale; otherwise now.
func (p *Policy) lowStart(e *evaluation, now time.Time) time.Time {
	p.st.LowAtLevel = e.backAtLevel() && !e.lowFrom.After(now)
	if !p.st.LowAtLevel {
		return now
	}
	return maxTime(e.lowFrom, p.st.LastChange)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// noteLowFrom combines the sources' lowPeak times: the latest spike's end, unless some source's
// wait must start now.
func (e *evaluation) noteLowFrom(from, now time.Time) {
	if from.Equal(now) {
		e.lowNow = true
	}
	e.lowFrom = maxTime(e.lowFrom, from)
}

// backAtLevel reports whether the demand is back at a level it held before a spike (lowPeak).
func (e *evaluation) backAtLevel() bool { return !e.lowFrom.IsZero() && !e.lowNow }
