package bench

import (
	"math"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// A reversal within slo.settle is an oscillation (Result.Oscillations), but not every one is
// flapping: a vertex scaled down after its demand fell, then up again because a new, higher
// load arrived 20 minutes later, answered two load changes correctly (gen-12: 71.4k/s →
// 34.7k/s → 93.6k/s). Flapping (Result.Flapping) counts the reversals no load change
// explains: the demand, between the two changes, never left the range it had spanned over the
// settle before the reversed change, by more than its noise. A policy that scales down in a
// dip and up when the demand returns to where it was, that chases a spike back down within
// settle, or that reverses on noise or on its own restart's lag is flapping.

const (
	// flapFloor is the least relative move of a source's noise-free rate that counts as a new
	// load: below it a policy sizing to its target utilization has no cause to reverse.
	flapFloor = 0.10
	// flapSigmas: the move must also exceed this many standard deviations of the per-tick
	// noise in force, so that noise is never taken for a load change.
	flapSigmas = 3
	// flapStep samples the load curves (the control loop's default interval).
	flapStep = 10 * time.Second
)

// jobDemand is the noise-free input rate of the sources feeding each vertex of a job.
type jobDemand struct {
	start time.Time
	// feeds lists, per vertex, the sources upstream of it (a source lists itself).
	feeds map[string][]string
	segs  map[string][]scenario.LoadSegment
}

func newJobDemand(j *scenario.Job, start time.Time) *jobDemand {
	d := &jobDemand{start: start, feeds: map[string][]string{}, segs: map[string][]scenario.LoadSegment{}}
	for _, seg := range j.Load {
		d.segs[seg.Source] = append(d.segs[seg.Source], seg)
	}
	var up func(id string, seen map[string]bool)
	up = func(id string, seen map[string]bool) {
		if seen[id] {
			return
		}
		seen[id] = true
		if v := j.Vertex(id); v != nil {
			for _, in := range v.Inputs {
				up(in.From, seen)
			}
		}
	}
	for _, v := range j.Vertices {
		seen := map[string]bool{}
		up(v.ID, seen)
		for _, u := range j.Vertices { // scenario order keeps the list deterministic
			if seen[u.ID] && u.IsSource() {
				d.feeds[v.ID] = append(d.feeds[v.ID], u.ID)
			}
		}
	}
	return d
}

// explains reports whether the load explains vertex v reversing, at `at`, its own change at
// prev in direction dir (+1: the reversal scales up): some source feeding v went, between the
// two changes, beyond every rate it had over the settle before prev, by more than its band.
func (d *jobDemand) explains(v string, prev, at time.Time, settle time.Duration, dir int) bool {
	for _, src := range d.feeds[v] {
		segs := d.segs[src]
		p, a := prev.Sub(d.start), at.Sub(d.start)
		lo, hi := rateRange(segs, max(0, p-settle), p)
		b := band(segs, max(0, p-settle), a)
		if dir > 0 {
			if _, peak := rateRange(segs, p+flapStep, a); peak > hi*(1+b) {
				return true
			}
		} else if trough, _ := rateRange(segs, p+flapStep, a); trough < lo*(1-b) {
			return true
		}
	}
	return false
}

// rateRange is the lowest and highest noise-free rate over [from, to], sampled every flapStep
// and at to.
func rateRange(segs []scenario.LoadSegment, from, to time.Duration) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for t := from; ; t += flapStep {
		t = min(t, to)
		r := sim.LoadRate(segs, t)
		lo, hi = min(lo, r), max(hi, r)
		if t >= to {
			return lo, hi
		}
	}
}

// band is the relative move that counts as a load change over [from, to]: flapFloor, or
// flapSigmas times the largest per-tick noise of a segment in force then.
func band(segs []scenario.LoadSegment, from, to time.Duration) float64 {
	b := flapFloor
	for k, s := range segs {
		end := time.Duration(math.MaxInt64)
		if k+1 < len(segs) {
			end = segs[k+1].At
		}
		if s.At <= to && end > from {
			b = max(b, flapSigmas*s.Noise)
		}
	}
	return b
}

// reversals counts changes in which some vertex reverses the direction of its own previous
// change within settle, unless explained (when not nil) excuses every such vertex.
func reversals(changes []sim.ParallelismChange, settle time.Duration, explained func(v string, prev, at time.Time, dir int) bool) int {
	type move struct {
		at  time.Time
		dir int
	}
	last := map[string]move{}
	n := 0
	for _, c := range changes {
		reversed := false
		for id, v := range c.Vertices {
			d := sign(v.New - v.Old)
			if d == 0 {
				continue
			}
			if p, ok := last[id]; ok && p.dir == -d && c.Time.Sub(p.at) < settle &&
				(explained == nil || !explained(id, p.at, c.Time, d)) {
				reversed = true
			}
			last[id] = move{c.Time, d}
		}
		if reversed {
			n++
		}
	}
	return n
}

// flapping counts the oscillations the job's load does not explain.
func flapping(changes []sim.ParallelismChange, settle time.Duration, d *jobDemand) int {
	return reversals(changes, settle, func(v string, prev, at time.Time, dir int) bool {
		return d.explains(v, prev, at, settle, dir)
	})
}
