package flinktune

import (
	"math"
	"time"
)

// Recurring load: a source's demand is kept per five-minute slot for eight days. When the last
// two hours repeat the same hours one period ago (a week, else a day) up to a common factor,
// the demand ahead is read from that period, scaled by the factor: the policy then scales up
// ahead of a known rise, in time for the restart it has learned to be back before the rise,
// and does not scale down just before one. When the recent hours do not repeat the period (a
// holiday, a new release, a one-off spike) the pattern is ignored and scaling is reactive.

const (
	slotLen = 5 * time.Minute
	// ringSlots holds a week and a day: the week-ago slots of the next day stay available.
	ringSlots = 8 * 24 * 12
	// patternMatch is the recent span that must repeat the period for the pattern to be used.
	patternMatch = 2 * time.Hour
	// patternTolerance is the relative RMS difference (after scaling) up to which the recent
	// span repeats the period: per-five-minute rates are smooth, and a day that repeats the
	// day before differs in shape by a few percent, a broken pattern by far more.
	patternTolerance = 0.07
	// patternLookahead is how far ahead the pattern sizes a rescale: a rescale should hold
	// for about the settle time, not chase every five-minute slot of a rise.
	patternLookahead = time.Hour
)

// patternPeriods are the periods tried, longest first: a weekly pattern also explains the
// weekend, a daily one does not.
var patternPeriods = []time.Duration{7 * 24 * time.Hour, 24 * time.Hour}

// profile is one source's demand per five-minute slot over the last eight days, as a ring.
type profile struct {
	Last int64     `json:"last"` // absolute slot (Unix time / slotLen) of the newest entry
	Mean []float32 `json:"mean"`
	N    []uint8   `json:"n"` // samples in the slot; 0 = unknown
}

func slotOf(t time.Time) int64 { return t.Unix() / int64(slotLen/time.Second) }

// observe adds one demand sample.
func (pr *profile) observe(t time.Time, x float64) {
	if pr.Mean == nil {
		pr.Mean, pr.N = make([]float32, ringSlots), make([]uint8, ringSlots)
		pr.Last = slotOf(t) - 1
	}
	k := slotOf(t)
	if k <= pr.Last-ringSlots {
		return
	}
	for j := pr.Last + 1; j <= k && j <= pr.Last+ringSlots; j++ {
		pr.Mean[j%ringSlots], pr.N[j%ringSlots] = 0, 0
	}
	pr.Last = max(pr.Last, k)
	i := k % ringSlots
	n := float32(pr.N[i])
	pr.Mean[i] += (float32(x) - pr.Mean[i]) / (n + 1)
	pr.N[i] = uint8(min(int(pr.N[i])+1, 255))
}

// at is the demand of slot k, if known.
func (pr *profile) at(k int64) (float64, bool) {
	if pr == nil || pr.Mean == nil || k > pr.Last || k <= pr.Last-ringSlots || pr.N[k%ringSlots] == 0 {
		return 0, false
	}
	return float64(pr.Mean[k%ringSlots]), true
}

// recurrence is a matched pattern: the demand of the slots ahead, from one period ago.
type recurrence struct {
	Period time.Duration
	Factor float64 // recent demand over the same span one period ago
	pr     *profile
	now    int64
	back   int64
}

// expected is the highest demand the pattern expects within d from now (NaN if unknown).
func (r *recurrence) expected(d time.Duration) float64 {
	hi := math.NaN()
	for k := r.now; k <= r.now+int64(d/slotLen); k++ {
		if v, ok := r.pr.at(k - r.back); ok && !(v*r.Factor <= hi) {
			hi = v * r.Factor
		}
	}
	return hi
}

// recurring returns the pattern the source's recent demand repeats, if any.
func (pr *profile) recurring(now time.Time) (*recurrence, bool) {
	kNow := slotOf(now)
	for _, period := range patternPeriods {
		back := int64(period / slotLen)
		var a, b []float64
		for k := kNow - int64(patternMatch/slotLen); k < kNow; k++ { // complete slots only
			x, okx := pr.at(k)
			y, oky := pr.at(k - back)
			if okx && oky {
				a, b = append(a, x), append(b, y)
			}
		}
		if len(a) < int(patternMatch/slotLen)*3/4 {
			continue
		}
		if f, ok := repeats(a, b); ok {
			return &recurrence{Period: period, Factor: f, pr: pr, now: kNow, back: back}, true
		}
	}
	return nil, false
}

// repeats reports whether a is b times a common factor: within patternTolerance slot by slot,
// and rising or falling alike over the span (a curve shifted by hours can be close in level
// while it goes the other way). It returns the factor.
func repeats(a, b []float64) (float64, bool) {
	var sa, sb float64
	for i := range a {
		sa, sb = sa+a[i], sb+b[i]
	}
	if sa <= 0 || sb <= 0 {
		return 0, false
	}
	f := sa / sb
	if f < 0.8 || f > 1.25 {
		return f, false // a different level: not the same load
	}
	xs := make([]float64, len(a))
	fb := make([]float64, len(b))
	rss := 0.0
	for i := range a {
		xs[i], fb[i] = float64(i), f*b[i]
		d := a[i] - fb[i]
		rss += d * d
	}
	mean := sa / float64(len(a))
	_, slopeA := fitLine(xs, a)
	_, slopeB := fitLine(xs, fb)
	span := float64(len(a))
	return f, math.Sqrt(rss/span)/mean <= patternTolerance && math.Abs(slopeA-slopeB)*span/mean <= 2*patternTolerance
}
