package flinktune

import "math"

// Joins and unions: a source whose lag persisted reads as fast as its branch lets it, so some
// vertex it feeds is saturated and processes its capacity (capByObservedRate). Which one, and
// at what rate, is read from each vertex's own processed input, not from the source's read
// rate as a share of the vertex's demand.
//
//   - A vertex that several sources feed processes the lagging source's records and the
//     others'. Taking the lagging source's read rate for a proportional share of the vertex,
//     as if every source's records were held back alike, blamed vertices that were not
//     saturated. gen-196 (a join of an 84k/s stream and a 27k/s stream with a start backlog
//     behind a window): the small stream's read rate, low while the sink drained the big
//     stream's restart lag, was taken as the shared sink's capacity (64k/s modelled for 77k/s
//     true), then as the join's and the map's, and each next step scaled one of them for
//     nothing (7 rescales against the operator's 2).
//   - After a restart the sources read slowly while state is restored and the pipeline
//     fills; averaged over the window, that reads as a low capacity. gen-125 (a skewed window
//     draining a backlog before a join): 3 -> 11 subtasks, 4.8k/s sustained, but 2.8k/s
//     averaged over a window half of which was the restore, so the window was taken for
//     saturated at 180% and sent to the slot ceiling. The evidence is the highest rate a
//     vertex sustained over a span of at least sustainSpan at its current parallelism.

// sustainSpan is the shortest span over which a rate counts as sustained: long enough to
// average out noise and a burst from filling buffers, a fraction of metrics.window.
const sustainSpan = 60.0 // seconds

// sustainedInputs is each vertex's sustained input rate (sustainedRate) over the window's
// samples at its current parallelism.
func sustainedInputs(e *evaluation, window []sample) map[string]float64 {
	out := make(map[string]float64, len(e.order))
	for _, vi := range e.order {
		var rate, dt []float64
		for _, s := range window {
			if vs, ok := s.V.get(vi.ID); ok && vs.P == vi.P {
				rate, dt = append(rate, vs.InRate), append(dt, s.Dt)
			}
		}
		out[vi.ID] = sustainedRate(rate, dt)
	}
	return out
}

// bottleneck is, among the vertices source src feeds, the one that processed the largest share
// of its modelled capacity at the current parallelism (seen: sustained input rates), and that
// share. "" if none has a capacity and a processed rate.
func bottleneck(e *evaluation, src string, seen map[string]float64) (string, float64) {
	best, u := "", 0.0
	for _, vi := range e.order {
		if !e.feeds[vi.ID][src] {
			continue
		}
		c := e.models[vi.ID].capacity(vi.P)
		if !(c > 0) || math.IsInf(c, 0) || seen[vi.ID] <= 0 {
			continue
		}
		if x := seen[vi.ID] / c; x > u {
			best, u = vi.ID, x
		}
	}
	return best, u
}

// sustainedRate is the highest average of rate over any run of consecutive samples spanning at
// least sustainSpan (the whole run's average if it is shorter). rate and dt are per sample.
func sustainedRate(rate, dt []float64) float64 {
	best, total, span := math.Inf(-1), 0.0, 0.0
	for i := range rate {
		total += rate[i] * dt[i]
		span += dt[i]
		var sum, d float64
		for j := i; j >= 0; j-- {
			sum += rate[j] * dt[j]
			d += dt[j]
			if d >= sustainSpan {
				best = math.Max(best, sum/d)
				break
			}
		}
	}
	if math.IsInf(best, -1) {
		if span <= 0 {
			return 0
		}
		return total / span
	}
	return best
}
