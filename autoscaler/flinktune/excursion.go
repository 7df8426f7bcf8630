package flinktune

import (
	"math"
	"time"
)

// raisesInExcursion returns a source whose demand now is an excursion (more than spikeShare
// above the median of its minute levels over scale-down.interval) and which feeds a vertex the
// scale-down t raises; "" otherwise.
//
// A scale-down raises a vertex that could not drain its restart's lag at the demand now
// (withHotAlong). During a spike that raise is sized for the spike, and it is taken back once
// the spike has passed, within settle: gen-181 (10.7k/s, 2.68x for 6 minutes) was scaled down
// 5 minutes into its spike, the source raised 2 → 3 beside eight vertices lowered, and the
// source lowered 3 → 1 21 minutes later, an oscillation no load change explains. The
// scale-down waits for the excursion to end instead (the demand has been low for its wait
// already, LowSince is kept); one that raises nothing is sized for the window's peak and
// needs no wait. Holding every scale-down during a rise (h23-lag) also held those that raise
// nothing, and cost up to 25% more parallelism-seconds on steps and ramps.
func (p *Policy) raisesInExcursion(e *evaluation, t map[string]int, now time.Time) string {
	for _, vi := range e.order {
		if !vi.Source || !p.inExcursion(vi.ID, e.demand[vi.ID], now) {
			continue
		}
		for _, v := range e.order {
			if n, ok := t[v.ID]; ok && n > v.P && e.feeds[v.ID][vi.ID] {
				return vi.ID
			}
		}
	}
	return ""
}

// inExcursion reports whether demand is a step above the source's level: more than spikeShare
// above the median of its minute levels over scale-down.interval (the median ignores an
// excursion shorter than half the span, as a spike is), reached by a jump between two
// consecutive minutes of at least half that distance. A ramp's or a daily curve's rise is as
// far above the median but climbs minute by minute, and what it raises it keeps (gen-41: a
// 57-minute ramp, the raise held, the source behind at 112% 53 minutes later, one more
// rescale).
func (p *Policy) inExcursion(id string, demand float64, now time.Time) bool {
	var xs []float64
	jump := 0.0
	for _, l := range p.st.Levels[id] {
		if l.N == 0 || now.Sub(l.T) > p.lowFor() {
			continue
		}
		if len(xs) > 0 {
			jump = math.Max(jump, l.mean()-xs[len(xs)-1])
		}
		xs = append(xs, l.mean())
	}
	if len(xs) == 0 {
		return false
	}
	above := demand - median(xs)
	return above > spikeShare*median(xs) && jump >= above/2
}
