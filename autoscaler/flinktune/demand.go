package flinktune

import (
	"math"
	"time"
)

// level is one minute of a source's demand, kept for hours to estimate long trends.
type level struct {
	T   time.Time `json:"t"`   // the minute
	Sum float64   `json:"sum"` // of the samples' demand
	N   int       `json:"n"`
	// Off is the samples' mean offset from T in seconds: a minute in progress is centred
	// earlier than a complete one, and a trend fit must place it where it was measured.
	Off float64 `json:"off"`
}

func (l level) mean() float64 { return l.Sum / float64(l.N) }

// at is when the level was measured: the mean time of its samples.
func (l level) at() time.Time { return l.T.Add(time.Duration(l.Off * float64(time.Second))) }

const (
	// maxFitError is the relative RMS error of a line through the recent samples above which
	// the demand is considered to be changing abruptly, for quiet rates; noisier ones (real
	// Flink's 10-second rates scatter by 10-20%) raise the limit to what their noise explains.
	maxFitError = 0.08
	// longTrend is the span of per-minute levels the long trend is fitted on.
	longTrend = 3 * time.Hour
)

// demandEstimate describes the input arriving at one source.
type demandEstimate struct {
	Level    float64       // records/s now
	Slope    float64       // records/s per second
	Horizon  time.Duration // how far Slope may be extrapolated
	Peak     float64       // highest sample in the window
	Reliable bool          // the recent samples agree on a level (or a steady ramp)
}

func (d demandEstimate) forecast() float64 {
	return math.Max(d.Level, d.Level+d.Slope*d.Horizon.Seconds())
}

// recordLevels adds a sample's source demand to the per-minute levels.
func (p *Policy) recordLevels(s sample) {
	if p.st.Levels == nil {
		p.st.Levels = map[string][]level{}
	}
	minute := s.T.Truncate(time.Minute)
	for _, v := range s.V {
		id := v.ID
		if v.Ingest < 0 || !p.isSource(id) {
			continue
		}
		if p.st.Profiles[id] == nil {
			if p.st.Profiles == nil {
				p.st.Profiles = map[string]*profile{}
			}
			p.st.Profiles[id] = &profile{}
		}
		p.st.Profiles[id].observe(s.T, v.Ingest)
		lv := p.st.Levels[id]
		off := s.T.Sub(minute).Seconds()
		if n := len(lv); n > 0 && lv[n-1].T.Equal(minute) {
			l := &lv[n-1]
			l.Off = (l.Off*float64(l.N) + off) / float64(l.N+1)
			l.Sum += v.Ingest
			l.N++
		} else {
			lv = append(lv, level{T: minute, Sum: v.Ingest, N: 1, Off: off})
		}
		cut := 0
		for cut < len(lv) && s.T.Sub(lv[cut].T) > longTrend+time.Minute {
			cut++
		}
		p.st.Levels[id] = lv[cut:]
	}
}

func (p *Policy) isSource(id string) bool { return p.st.Sources[id] }

// estimateDemand fits the source's demand: a short line through the last 90 s says whether
// the demand is steady (or steadily ramping) and gives its level now; a long line through
// the per-minute levels since the last abrupt change gives the trend and how long it lasted.
func (p *Policy) estimateDemand(id string, window []sample, now time.Time) demandEstimate {
	var d demandEstimate
	shortFit := p.o.FitSpan // the newest samples that must agree before the demand is trusted
	ts, ys, all, peak := sourceSamples(id, window, now, shortFit)
	d.Peak = peak
	if len(ts) < 4 {
		return d
	}
	lvl, slope, mean, steady := shortLine(ts, ys, all)
	if p.st.Shifts == nil {
		p.st.Shifts = map[string]time.Time{}
	}
	if !steady {
		p.st.Shifts[id] = now // an abrupt change is under way: trends before it are void
		d.Level = math.Max(mean, 0)
		return d
	}
	d.Reliable = true
	d.Level = math.Max(lvl, 0)
	var span time.Duration
	d.Slope, span = p.fitTrend(id, now, slope, shortFit)
	// A trend that has just stopped still fits the per-minute levels; the newest samples tell.
	if span > shortFit && slopeBreaks(ts, ys, d.Slope) {
		d.Slope, span = slope, shortFit
	}
	d.Horizon = trendHorizon(span, p.o.ForecastHorizon, p.o.Settle)
	return d
}

// sourceSamples collects the source's demand from the window: every sample's (all, and
// their peak), and the newest shortFit's as seconds before now (ts) and rates (ys).
func sourceSamples(id string, window []sample, now time.Time, shortFit time.Duration) (ts, ys, all []float64, peak float64) {
	for _, s := range window {
		v, ok := s.V.get(id)
		if !ok {
			continue
		}
		peak = math.Max(peak, v.Ingest)
		all = append(all, v.Ingest)
		if now.Sub(s.T) <= shortFit {
			ts = append(ts, s.T.Sub(now).Seconds())
			ys = append(ys, v.Ingest)
		}
	}
	return ts, ys, all, peak
}

// shortLine fits a line through the newest samples (lvl: its value now, slope) and their mean;
// steady when the samples, and the newest alone, sit on the line within what the window's
// noise explains, so that a step is not taken for a level or a ramp.
func shortLine(ts, ys, all []float64) (lvl, slope, mean float64, steady bool) {
	lvl, slope = fitLine(ts, ys)
	for _, y := range ys {
		mean += y
	}
	mean /= float64(len(ys))
	rss := 0.0
	for i := range ts {
		r := ys[i] - (lvl + slope*ts[i])
		rss += r * r
	}
	rel := math.Sqrt(rss/float64(len(ts))) / math.Max(mean, 1)
	// The newest sample is where a step shows first; it must sit on the line too.
	n := len(ts) - 1
	newest := math.Abs(ys[n]-(lvl+slope*ts[n])) / math.Max(mean, 1)
	// A rate is as noisy as the source and the metric sampling make it: the limits are the
	// larger of maxFitError and what the window's own noise explains.
	// (The RMS of a line's residuals over pure noise stays within 1.5σ; one sample within 3σ.)
	limit := math.Max(maxFitError, 1.5*relNoise(all))
	return lvl, slope, mean, !(rel > limit || newest > 2*limit)
}

// fitTrend is the long trend: the slope of the longest recent span of per-minute levels that a
// straight line fits, and that span; the short line's slope and shortFit when none fits. A
// flat hour gives a long span with no slope; a ramp that began five minutes ago gives five
// minutes and the ramp's slope, not an hour-long average that dilutes it.
func (p *Policy) fitTrend(id string, now time.Time, slope float64, shortFit time.Duration) (float64, time.Duration) {
	lv := p.levelsSinceShift(id, now)
	span := shortFit
	var prevX, prevY []float64
	for _, w := range trendWindows {
		lx, ly, first := levelPoints(lv, now, w)
		if len(lx) < 3 || now.Sub(first) < w-time.Minute {
			break // not enough history for this window
		}
		if relFitError(lx, ly) > maxTrendError {
			break // the trend changed within this window
		}
		_, s := fitLine(lx, ly)
		if prevX != nil && math.Abs(slope) < math.Abs(s) && slopeBreaks(prevX, prevY, s) {
			// The recent minutes are flatter than the longer span, beyond their noise: the
			// trend ended (or slowed) there, and extending the longer one over-provisions.
			// (A recent span steeper than the longer one is a trend that just began: the
			// longer span's slope is then the cautious one.)
			break
		}
		slope, span, prevX, prevY = s, now.Sub(first), lx, ly
	}
	return slope, span
}

// levelsSinceShift are the source's per-minute levels since its last abrupt change and within
// longTrend: levels from before a change belong to another trend.
func (p *Policy) levelsSinceShift(id string, now time.Time) []level {
	start := p.st.Shifts[id]
	var lv []level
	for _, l := range p.st.Levels[id] {
		if !l.T.Before(start) && now.Sub(l.T) <= longTrend {
			lv = append(lv, l)
		}
	}
	return lv
}

// levelPoints are the levels measured within w before now, as seconds before now (lx) and
// mean rates (ly), with the time of the first.
func levelPoints(lv []level, now time.Time, w time.Duration) (lx, ly []float64, first time.Time) {
	for _, l := range lv {
		if now.Sub(l.at()) > w {
			continue
		}
		if first.IsZero() {
			first = l.at()
		}
		lx = append(lx, l.at().Sub(now).Seconds())
		ly = append(ly, l.mean())
	}
	return lx, ly, first
}

// trendHorizon is how far a trend that has lasted span is extrapolated: as long again as it
// has lasted, the median of what remains of a trend of unknown length seen this far into it.
// A young trend, whose age the per-minute fit sees only minutes late, is extrapolated up to
// twice its age, but not beyond settle: within settle a scale-up's surplus cannot be shed, and
// a rescale that falls short is followed by another on more of the trend (wordcount-ramp,
// caught 12 minutes into its rise, needs the double to hold with one scale-up). Twice the age
// of an old trend sized a ramp caught late far beyond its end: gen-48's ramp, 38 minutes old at
// 259k/s, was forecast at 537k/s, ended 11 minutes later at 297k/s, and the surplus was held to
// the end of the run (62% more parallelism-seconds than the operator).
func trendHorizon(span, limit, settle time.Duration) time.Duration {
	return min(limit, max(span, min(2*span, settle)))
}

// slopeBreaks reports whether the recent samples' slope differs from the long trend's by more
// than three standard errors.
func slopeBreaks(xs, ys []float64, long float64) bool {
	lvl, slope := fitLine(xs, ys)
	n := float64(len(xs))
	if n < 4 {
		return false
	}
	mx, sxx, rss := 0.0, 0.0, 0.0
	for _, x := range xs {
		mx += x
	}
	mx /= n
	for i, x := range xs {
		sxx += (x - mx) * (x - mx)
		r := ys[i] - (lvl + slope*x)
		rss += r * r
	}
	if sxx == 0 {
		return false
	}
	se := math.Sqrt(rss/(n-2)) / math.Sqrt(sxx)
	return math.Abs(slope-long) > 3*se+1e-9
}

// trendWindows are the spans tried for the long trend, shortest first.
var trendWindows = []time.Duration{3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 7 * time.Minute, 10 * time.Minute, 15 * time.Minute, 20 * time.Minute,
	30 * time.Minute, 45 * time.Minute, 60 * time.Minute, 90 * time.Minute, 2 * time.Hour, 3 * time.Hour}

// maxTrendError is the relative RMS error of a line through per-minute levels up to which
// they count as one trend.
const maxTrendError = 0.05

// relFitError is the RMS error of the least-squares line through the points, relative to
// their mean.
func relFitError(xs, ys []float64) float64 {
	lvl, slope := fitLine(xs, ys)
	mean, rss := 0.0, 0.0
	for i := range xs {
		mean += ys[i]
		r := ys[i] - (lvl + slope*xs[i])
		rss += r * r
	}
	mean /= float64(len(xs))
	return math.Sqrt(rss/float64(len(xs))) / math.Max(mean, 1)
}

// relNoise estimates the standard deviation of the samples' random part relative to the rate,
// from the median of the relative differences of consecutive samples (for Gaussian noise
// 0.954σ): a step shows in one difference and a ramp in none beyond its slope, so neither
// inflates it. Consecutive idle samples differ by nothing.
func relNoise(ys []float64) float64 {
	if len(ys) < 5 {
		return 0
	}
	diffs := make([]float64, 0, len(ys)-1)
	for i := 1; i < len(ys); i++ {
		if m := (ys[i] + ys[i-1]) / 2; m > 0 {
			diffs = append(diffs, math.Abs(ys[i]-ys[i-1])/m)
		} else {
			// Two idle samples are a quiet rate, not a missing one: skipping them left a step
			// from an idle hour measured on its own few samples, whose median difference is the
			// step, so the step passed for noise and its first ten seconds for a steady ramp
			// (forecast 5x the new level, held to the end of the run).
			diffs = append(diffs, 0)
		}
	}
	if len(diffs) < 4 {
		return 0
	}
	return median(diffs) / 0.954
}

// levelPeak is the highest per-minute level of the source's demand within span before now (0
// if none). A scale-down sized for the window's peak alone bet on five minutes of a low level
// that, twenty minutes before, had been twice as high (gen-127: a dip from 10k/s to 4.6k/s
// for 34 minutes, the scale-down sized for 4.6k/s at 41 min, the level back at 47): a scale-down
// waits for the demand to be low for lowFor, so it is sized for the highest demand of that
// time too. Whole minutes are means of their samples, so noise does not inflate it.
func (p *Policy) levelPeak(id string, now time.Time, span time.Duration) float64 {
	return p.levelPeakOf(id, now, span, 1)
}

// levelPeakOf is levelPeak over the minutes of at least minN samples.
func (p *Policy) levelPeakOf(id string, now time.Time, span time.Duration, minN int) float64 {
	hi := 0.0
	for _, l := range p.st.Levels[id] {
		if now.Sub(l.T) <= span && l.N >= minN {
			hi = math.Max(hi, l.mean())
		}
	}
	return hi
}

// drainDemand is the demand a vertex sees while a scale-up drains its lag. The drain is over
// within catch-up.duration, so a trend counts only as far as it gets by then: adding the lag
// to drain to the demand at the end of a trend's horizon sized a surplus for a moment that
// never comes (the drain is long over when the demand gets there, if it does). The lasting
// demand at the horizon is sized on its own, at the target utilization. A recurring pattern's
// forecast is a learned level, not an extrapolation, and counts in full.
func drainDemand(e *evaluation, id string, catchUp time.Duration) float64 {
	lasting := math.Max(e.forecast[id], e.demand[id])
	if e.pattern != "" || e.horizon <= catchUp {
		return lasting
	}
	return e.demand[id] + (lasting-e.demand[id])*catchUp.Seconds()/e.horizon.Seconds()
}
