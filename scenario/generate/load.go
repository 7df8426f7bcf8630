package generate

import (
	"math/rand/v2"
	"time"
)

// Load kinds.
const (
	LoadSteady = "steady"
	LoadSteps  = "steps"
	LoadRamp   = "ramp"
	LoadSpike  = "spike"
	LoadSine   = "sine"
	LoadDaily  = "daily"
)

func minutes(r *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo+r.IntN(hi-lo+1)) * time.Minute
}

// at rounds a fraction of d to whole minutes.
func at(d time.Duration, frac float64) time.Duration {
	return time.Duration(float64(d) * frac).Round(time.Minute)
}

// load draws the scenario's duration and every source's load, peaking at its peak rate, and
// records each source's rate at 0.
func (g *gen) load() (time.Duration, []segmentSpec, []string) {
	r := g.r
	kind := pick(r, LoadSteady, LoadSteps, LoadSteps, LoadRamp, LoadRamp, LoadSpike, LoadSine, LoadSine)
	if kind == LoadSine && r.IntN(3) == 0 {
		kind = LoadDaily
	}
	var d, period time.Duration
	switch kind {
	case LoadSteady, LoadSpike:
		d = minutes(r, 60, 150)
	case LoadSteps:
		d = minutes(r, 90, 240)
	case LoadRamp:
		d = minutes(r, 120, 300)
	case LoadSine:
		period = time.Duration(2+r.IntN(5)) * time.Hour
		d = period * time.Duration(1+r.IntN(2))
		d = min(d, 8*time.Hour)
	case LoadDaily:
		period, d = 24*time.Hour, 24*time.Hour
	}
	var segs []segmentSpec
	kinds := []string{kind}
	g.initial = make([]float64, len(g.sources))
	for s, si := range g.sources {
		k := kind
		if s > 0 && kind != LoadSine && kind != LoadDaily {
			k = pick(r, LoadSteady, LoadSteps, LoadRamp, LoadSpike)
			kinds = append(kinds, k)
		}
		ss, f0 := g.segments(g.b.nodes[si].id, k, g.peak[s], d, period)
		g.initial[s] = g.peak[s] * f0
		if r.IntN(4) == 0 {
			ss[0].Backlog = int64(g.initial[s] * float64(120+r.IntN(1681)))
			kinds = append(kinds, "backlog")
		}
		for i := range ss {
			if r.IntN(5) < 3 {
				ss[i].Noise = ptr(float64(1+r.IntN(8)) / 100)
			}
		}
		segs = append(segs, ss...)
	}
	return d, segs, kinds
}

// segments are one source's load of a kind over d, peaking at peak; f0 is the rate at 0 as a
// fraction of the peak. Consecutive levels differ at most 3.5x, ramps take at least 10 minutes.
func (g *gen) segments(src, kind string, peak float64, d, period time.Duration) (segs []segmentSpec, f0 float64) {
	r := g.r
	seg := func(t time.Duration, f float64) segmentSpec {
		return segmentSpec{Source: src, At: dur(t), Rate: round3(peak * f)}
	}
	switch kind {
	case LoadSteady:
		f0 = uniform(r, 0.7, 1)
		segs = []segmentSpec{seg(0, f0)}
	case LoadSteps:
		n := 2 + r.IntN(3)
		levels := []float64{1}
		for range n {
			levels = append(levels, levels[len(levels)-1]*uniform(r, 0.3, 3.5))
		}
		top := 0.0
		for _, l := range levels {
			top = max(top, l)
		}
		f0 = levels[0] / top
		segs = []segmentSpec{seg(0, f0)}
		for i := 1; i <= n; i++ {
			// Evenly spaced changes with jitter: at least 15 minutes apart.
			t := at(d, (float64(i)-0.5+uniform(r, 0, 0.5))/float64(n+1))
			segs = append(segs, seg(t, levels[i]/top))
		}
	case LoadRamp:
		f0 = uniform(r, 0.2, 0.5)
		t1 := at(d, uniform(r, 0.1, 0.4))
		segs = []segmentSpec{seg(0, f0)}
		up := seg(t1, 1)
		up.Ramp = dur(minutes(r, 10, 60))
		segs = append(segs, up)
		if r.IntN(2) == 0 {
			down := seg(at(d, uniform(r, 0.65, 0.8)), uniform(r, 0.2, 0.6))
			down.Ramp = dur(minutes(r, 10, 30))
			segs = append(segs, down)
		}
	case LoadSpike:
		factor := round3(uniform(r, 1.5, 3))
		f0 = 1 / factor
		spike := seg(at(d, uniform(r, 0.2, 0.6)), f0)
		spike.Spike = &spikeSpec{For: dur(minutes(r, 5, 30)), Factor: factor}
		segs = []segmentSpec{seg(0, f0), spike}
	case LoadSine, LoadDaily:
		a := float64(3+r.IntN(6)) / 10
		f0 = 1 / (1 + a)
		s := seg(0, f0)
		s.Sine = &sineSpec{Period: dur(period), Amplitude: a}
		segs = []segmentSpec{s}
	}
	return segs, f0
}

// faults adds, to about a third of the scenarios, one or two faults in the middle of the run.
func (g *gen) faults(d time.Duration, tms int) []faultSpec {
	r := g.r
	if r.IntN(3) > 0 {
		return nil
	}
	var out []faultSpec
	for range 1 + r.IntN(2) {
		t := dur(at(d, uniform(r, 0.2, 0.8)))
		switch r.IntN(4) {
		case 0:
			out = append(out, faultSpec{At: t, Kill: "taskmanager", Count: 1 + r.IntN(min(tms, 2))})
		case 1:
			out = append(out, faultSpec{At: t, For: dur(minutes(r, 2, 10)), REST: "errors", Rate: float64(2+r.IntN(9)) / 10})
		case 2:
			out = append(out, faultSpec{At: t, For: dur(minutes(r, 1, 5)), REST: pick(r, "unavailable", "slow")})
		case 3:
			// Task metrics have no prefix, operator metrics "<operator>.": '*' covers both.
			names := pick(r, []string{"*pendingRecords"}, []string{"busyTimeMsPerSecond"},
				[]string{"*numRecordsInPerSecond", "*numRecordsOutPerSecond"}, []string{"*backPressuredTimeMsPerSecond"})
			out = append(out, faultSpec{At: t, For: dur(minutes(r, 5, 20)), Metrics: "missing", Names: names})
		}
	}
	return out
}
