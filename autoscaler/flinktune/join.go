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
//   - A vertex that a source keeping up also feeds is not saturated: it would hold back every
//     source feeding it.
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

// keepsUp reports whether source src's lag evidence shows it keeping up: it is hardly behind
// (under keepUpLag of its input) and its lag is not growing (by more than 1% of its input). A
// source draining a lag is not: it reads as fast as its branch lets it (gen-196's big stream
// draining its restart lag through the shared sink).
func keepsUp(e *evaluation, src string) bool {
	ev, ok := e.lagEv[src]
	return ok && e.lagSecOf[src] < keepUpLag && ev.trend <= 0.01*e.demand[src]
}

// keepUpLag is the most lag, in seconds of input, of a source that keeps up: polls and
// buffers in flight, far below any lag objective.
const keepUpLag = 5.0

// limitedBy reports whether vertex id can be what holds back source src: src feeds it, and no
// source that keeps up does (a saturated vertex backpressures every source feeding it).
func limitedBy(e *evaluation, id, src string) bool {
	if !e.feeds[id][src] {
		return false
	}
	for s := range e.feeds[id] {
		if s != src && keepsUp(e, s) {
			return false
		}
	}
	return true
}

// bottleneck is, among the vertices that can hold source src back (limitedBy), the one that processed the largest share
// of its modelled capacity at the current parallelism (seen: sustained input rates), and that
// share. "" if none has a capacity and a processed rate.
func bottleneck(e *evaluation, src string, seen map[string]float64) (string, float64) {
	best, u := "", 0.0
	for _, vi := range e.order {
		if !limitedBy(e, vi.ID, src) {
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

// fromRestartPeak is the lag series (ts, lags) from its highest sample on, when the job
// (re)started within the window and that leaves at least 3 samples spanning sustainSpan; else
// the whole series. After a restart the lag rises while state is restored and the pipeline
// fills, then drains: a trend fitted over both reads a slower drain than the job's. gen-125's
// backlog drained at 2.4k/s after a rescale but read as 1.7k/s with the restore in the fit, so
// each rescale looked worth another (4 scale-ups in 15 minutes, each restart adding two to
// three minutes of lag, where the operator waited the backlog out).
func fromRestartPeak(ts, lags []float64, restarted bool) ([]float64, []float64) {
	if !restarted || len(lags) == 0 {
		return ts, lags
	}
	top := 0
	for i, l := range lags {
		if l > lags[top] {
			top = i
		}
	}
	if len(lags)-top < 3 || ts[len(ts)-1]-ts[top] < sustainSpan {
		return ts, lags
	}
	return ts[top:], lags[top:]
}
