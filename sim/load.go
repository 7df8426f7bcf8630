package sim

import (
	"math"
	"sort"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// loadCurve is one source's input rate over time (FORMAT.md "load[]").
type loadCurve struct {
	segs []scenario.LoadSegment
	// from[k] is the rate segment k starts from: segment k−1's value at segs[k].At.
	from []float64
}

func newLoadCurve(segs []scenario.LoadSegment) *loadCurve {
	c := &loadCurve{segs: segs, from: make([]float64, len(segs))}
	for k := 1; k < len(segs); k++ {
		c.from[k] = c.segValue(k-1, segs[k].At)
	}
	return c
}

func (c *loadCurve) segValue(k int, t time.Duration) float64 {
	s := &c.segs[k]
	dt := t - s.At
	switch s.Shape {
	case scenario.ShapeRamp:
		if s.Ramp <= 0 || dt >= s.Ramp {
			return s.Rate
		}
		f := float64(dt) / float64(s.Ramp)
		return c.from[k] + (s.Rate-c.from[k])*f
	case scenario.ShapeSine:
		return s.Rate * (1 + s.SineAmplitude*math.Sin(2*math.Pi*float64(dt)/float64(s.SinePeriod)))
	case scenario.ShapeSpike:
		if dt < s.SpikeFor {
			return s.Rate * s.SpikeFactor
		}
		return s.Rate
	}
	return s.Rate
}

// at returns the noise-free rate at t and the noise level in force (0 before the first segment).
func (c *loadCurve) at(t time.Duration) (rate, noise float64) {
	k := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].At > t }) - 1
	if k < 0 {
		return 0, 0
	}
	return math.Max(0, c.segValue(k, t)), c.segs[k].Noise
}

// changes lists the times at which the load changes before end: every segment start, the end
// of a spike, and every turning point (peak and trough) of a sine, so that each monotone phase
// of a periodic load is scored as a load change of its own.
func (c *loadCurve) changes(end time.Duration) []time.Duration {
	out := make([]time.Duration, 0, len(c.segs))
	for k, s := range c.segs {
		out = append(out, s.At)
		until := end
		if k+1 < len(c.segs) {
			until = c.segs[k+1].At
		}
		switch s.Shape {
		case scenario.ShapeSpike:
			if t := s.At + s.SpikeFor; t < until {
				out = append(out, t)
			}
		case scenario.ShapeSine:
			if s.SinePeriod <= 0 || s.SineAmplitude == 0 {
				continue
			}
			for t := s.At + s.SinePeriod/4; t < until; t += s.SinePeriod / 2 {
				out = append(out, t)
			}
		}
	}
	return out
}
