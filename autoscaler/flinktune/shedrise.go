package flinktune

import "time"

// A scale-up sheds the surplus of vertices it does not need to raise (shedInScaleUp): the
// restart is due anyway. But a vertex fed by a source whose demand stepped up less than settle
// ago is shed on a level that has not held yet, and a step up is how the next one begins as
// often as not (levelheld.go): the same bet a scale-down waits settle for, taken here without
// the wait. gen-171: a source at 12.9k/s, 38.7k/s from 14 min, 61.9k/s from 46 min; the
// scale-up at 47:50 answering the last step raised the sink 4 -> 8 and shed the
// over-provisioned source 11 -> 3, and the step to 174k/s at 68 min raised it 3 -> 6 within
// settle (an oscillation; kept at 11 it had carried the step). Such a vertex keeps its
// parallelism in the scale-up; the scale-down after the level has held sheds it.

// keepRisenSurplus undoes the shed of a scale-up on the vertices fed by a source whose demand
// rose to its level within settle (levelStart) or is forecast to rise (rising's 10%).
func (p *Policy) keepRisenSurplus(e *evaluation, sz *sizing, now time.Time) {
	risen := map[string]bool{}
	for _, vi := range e.order {
		if !vi.Source {
			continue
		}
		s := p.levelStart(vi.ID, e.demand[vi.ID], now)
		if (!s.IsZero() && now.Sub(s) < p.o.Settle) || e.forecast[vi.ID] > 1.1*e.demand[vi.ID] {
			risen[vi.ID] = true
		}
	}
	for _, vi := range e.order {
		if sz.up[vi.ID] >= vi.P {
			continue
		}
		for src := range e.feeds[vi.ID] {
			if risen[src] {
				sz.up[vi.ID] = vi.P
				break
			}
		}
	}
}
