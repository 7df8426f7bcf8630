package flinktune

import (
	"math"
	"time"
)

// level is one minute of a source's demand, kept for hours to estimate long trends.
type level struct {
	T   time.Time `json:"t"`
	Sum float64   `json:"sum"`
	N   int       `json:"n"`
}

func (l level) mean() float64 { return l.Sum / float64(l.N) }

const (
	// shortFit is the span of the most recent samples that must agree before the policy
	// trusts the current demand: a step change is waited out for this long.
	shortFit = 90 * time.Second
	// maxFitError is the relative RMS error of a line through the recent samples above which
	// the demand is considered to be changing abruptly (Flink's rates are far less noisy).
	maxFitError = 0.08
	// longTrend is the span of per-minute levels the long trend is fitted on.
	longTrend = 60 * time.Minute
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
	for id, v := range s.V {
		if v.Ingest < 0 || !p.isSource(id) {
			continue
		}
		lv := p.st.Levels[id]
		if n := len(lv); n > 0 && lv[n-1].T.Equal(minute) {
			lv[n-1].Sum += v.Ingest
			lv[n-1].N++
		} else {
			lv = append(lv, level{T: minute, Sum: v.Ingest, N: 1})
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
	var ts, ys []float64
	for _, s := range window {
		v, ok := s.V[id]
		if !ok {
			continue
		}
		d.Peak = math.Max(d.Peak, v.Ingest)
		if now.Sub(s.T) <= shortFit {
			ts = append(ts, s.T.Sub(now).Seconds())
			ys = append(ys, v.Ingest)
		}
	}
	if len(ts) < 4 {
		return d
	}
	lvl, slope := fitLine(ts, ys)
	mean := 0.0
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
	if p.st.Shifts == nil {
		p.st.Shifts = map[string]time.Time{}
	}
	if rel > maxFitError || newest > 2*maxFitError {
		p.st.Shifts[id] = now // an abrupt change is under way: trends before it are void
		d.Level = math.Max(mean, 0)
		return d
	}
	d.Reliable = true
	d.Level = math.Max(lvl, 0)
	d.Slope = slope

	start := p.st.Shifts[id]
	var lx, ly []float64
	var first time.Time
	for _, l := range p.st.Levels[id] {
		if l.T.Before(start) || now.Sub(l.T) > longTrend {
			continue
		}
		if first.IsZero() {
			first = l.T
		}
		lx = append(lx, l.T.Sub(now).Seconds())
		ly = append(ly, l.mean())
	}
	if first.IsZero() || first.Before(start) {
		first = start
	}
	span := now.Sub(first)
	if len(lx) >= 5 {
		_, d.Slope = fitLine(lx, ly)
	}
	// Extrapolate no further than the trend has lasted (at least the short fit's span).
	d.Horizon = min(p.o.ForecastHorizon, max(span, shortFit))
	return d
}
