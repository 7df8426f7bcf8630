package tiny

import (
	"fmt"
	"math"

	"github.com/flinktune/flinktune/internal/lsq"
)

// RatePoint is one measured run of a job under the Serial collector: -Xmx (with -Xms equal to
// it), the JIT, and the rate the job reached per CPU-second the process got; Slots is how many
// slots ran side by side (0 counts as 1).
type RatePoint struct {
	Xmx             int64
	JIT             JIT
	MiBPerCPUSecond float64
	Slots           int
}

// FitSerialRates fits the two machine-dependent rates of a platform's Serial cost model (the
// pipeline's MiB per CPU-second of tiered code with the eden in the CPU's cache and out of it;
// WithSerialRates) to runs measured on the machine, keeping everything else of the model.
// Each run says 1/rate = work + gc, where gc is the model's young collections per MiB and work
// = (1-miss)/cached + miss/uncached over the JIT's factor: linear in 1/cached and 1/uncached
// once miss is known, and miss depends on the cached rate (the eden's sweep time), so the fit
// alternates the two until miss settles. The runs must include one with the eden in the cache
// and one out of it; a run on the ramp between counts towards both. Runs of several slots are
// left out (FitSerialPair prices a second slot from them).
func FitSerialRates(p Platform, c Connector, all []RatePoint) (cached, uncached float64, err error) {
	sc, runs, err := serialRuns(p, c, all)
	if err != nil {
		return 0, 0, err
	}
	cached, uncached, _, err = fitRates(p, sc, runs)
	return cached, uncached, err
}

// serialRuns is the job's Serial cost model on the platform and the one-slot runs, checked.
func serialRuns(p Platform, c Connector, all []RatePoint) (*SerialCost, []RatePoint, error) {
	sc := p.jobCalibration(c).Serial
	if sc == nil {
		return nil, nil, fmt.Errorf("platform %s has no Serial cost model for --connector %s", p.Name, c)
	}
	var runs []RatePoint
	for _, run := range all {
		if run.Slots <= 1 {
			runs = append(runs, run)
		}
	}
	for _, run := range runs {
		if !(run.MiBPerCPUSecond > 0) {
			return nil, nil, fmt.Errorf("-Xmx%s: rate %v MiB per CPU-second, want a positive one", JVMSize(run.Xmx), run.MiBPerCPUSecond)
		}
		if sc.thrashes(p.EffectiveHeap(GCSerial, run.Xmx), 1) {
			return nil, nil, fmt.Errorf("-Xmx%s thrashes (the model's live set does not leave an eden's room): it measures the collector, not the pipeline", JVMSize(run.Xmx))
		}
	}
	return sc, runs, nil
}

// fitRates is FitSerialRates with the cache constants of sc: the rates and the runs' sum of
// squared relative errors under them.
func fitRates(p Platform, sc *SerialCost, runs []RatePoint) (cached, uncached, residual float64, err error) {
	// Which runs are in the cache depends on the cached rate, so more than one pair can be
	// self-consistent: start from cached rates across the plausible range and keep the pair
	// that explains the runs best.
	// When none fits, the error is the one from the platform's own rates.
	best := math.Inf(1)
	starts := []float64{sc.CachedMiBps}
	for s := 500.0; s <= 64000; s *= 2 {
		starts = append(starts, s)
	}
	for _, start := range starts {
		m := *sc
		m.CachedMiBps = start
		var fitErr error
		converged := false
		for iter := 0; iter < 30; iter++ {
			x, y, e := serialRatesLS(p, &m, runs)
			if e != nil {
				fitErr = e
				break
			}
			done := math.Abs(1/x-m.CachedMiBps) < 0.01 && math.Abs(1/y-m.UncachedMiBps) < 0.01
			m.CachedMiBps, m.UncachedMiBps = 1/x, 1/y
			if done {
				converged = true
				break
			}
		}
		// A pair that does not settle (a "cached" run so slow that its eden would be out of the
		// cache at that rate) explains nothing.
		if fitErr == nil && !converged {
			fitErr = fmt.Errorf("no rates are consistent with the runs: at the rate a small-heap run gives, its eden would not stay in the cache (a starved process, or a cache the neighbours take)")
		}
		if fitErr != nil {
			if err == nil {
				err = fitErr
			}
			continue
		}
		if r := serialRatesResidual(p, &m, runs); r < best {
			best, cached, uncached = r, m.CachedMiBps, m.UncachedMiBps
		}
	}
	if math.IsInf(best, 1) {
		return 0, 0, 0, err
	}
	return cached, uncached, best, nil
}

// FitSerialCache fits the cache constant with the two rates: where the eden leaves the CPU's
// cache is the CPU's and its neighbours' (an Intel Xeon kept a C1 pipeline's 27 MiB eden in the
// cache, an AMD EPYC kept 17 MiB on the edge when quiet and not even 11 MiB at load 30), so a
// calibration that takes it from another machine misreads a run at the edge as a machine that
// is slow in the cache. Given runs in the cache, at its edge and beyond it (three heaps or
// more), it is the sweep time (CacheMs, the ramp scaled with it: the cache's size in time)
// whose least-squares rates explain the runs best. Runs that do not tell it (the edge run
// wholly in or out) leave a range of sweep times explaining them equally; the one closest to
// the platform's is kept, so that runs consistent with the stored constant keep it.
func FitSerialCache(p Platform, c Connector, all []RatePoint) (cached, uncached, cacheMs float64, err error) {
	sc, plateau, err := serialCachePlateau(p, c, all)
	if err != nil {
		return 0, 0, 0, err
	}
	pick := plateau[0]
	for _, k := range plateau[1:] {
		if math.Abs(math.Log(k.CacheMs/sc.CacheMs)) < math.Abs(math.Log(pick.CacheMs/sc.CacheMs)) {
			pick = k
		}
	}
	return pick.Cached, pick.Uncached, pick.CacheMs, nil
}

// SerialCacheFit is a cache sweep time (WithSerialCache) and the two rates (WithSerialRates)
// fitted with it.
type SerialCacheFit struct {
	CacheMs  float64 `json:"cacheMs"`
	Cached   float64 `json:"cached"`
	Uncached float64 `json:"uncached"`
}

// SerialCacheSpan is the least and the greatest sweep time that explain the runs as well as
// FitSerialCache's, each with its own rates. Where the runs leave the edge undetermined (a heap
// wholly in the cache, the next wholly out), a profile between them may run in the cache or out
// of it, and the model can claim no more than the range of its predictions at the two ends.
// Towards the greater end the largest run may come onto the cache's ramp, the rate out of the
// cache fitted lower to make up for it. lo == hi where the runs place the edge.
func SerialCacheSpan(p Platform, c Connector, all []RatePoint) (lo, hi SerialCacheFit, err error) {
	_, plateau, err := serialCachePlateau(p, c, all)
	if err != nil {
		return lo, hi, err
	}
	lo, hi = plateau[0].SerialCacheFit, plateau[0].SerialCacheFit
	for _, k := range plateau[1:] {
		if k.CacheMs < lo.CacheMs {
			lo = k.SerialCacheFit
		}
		if k.CacheMs > hi.CacheMs {
			hi = k.SerialCacheFit
		}
	}
	return lo, hi, nil
}

// cacheCandidate is one sweep time tried, the rates fitted with it and their residual.
type cacheCandidate struct {
	SerialCacheFit
	residual float64
}

// serialCachePlateau fits the rates at every sweep time tried (the stored one first) and
// returns the fits as good as the best, within a part in a million (a plateau is flat to
// rounding).
func serialCachePlateau(p Platform, c Connector, all []RatePoint) (*SerialCost, []cacheCandidate, error) {
	sc, runs, err := serialRuns(p, c, all)
	if err != nil {
		return nil, nil, err
	}
	var cands []cacheCandidate
	best := math.Inf(1)
	tries := []float64{sc.CacheMs} // first: where runs do not tell, the stored one stays exactly
	for ms := minCacheMs; ms <= maxCacheMs; ms *= cacheMsStep {
		tries = append(tries, ms)
	}
	for _, ms := range tries {
		x, y, r, e := fitRates(p, sc.withCacheMs(ms), runs)
		if e == nil && x < y {
			// Faster out of the cache than in it: the runs put the edge elsewhere.
			e = fmt.Errorf("the runs give a rate in the cache (%.0f) below the one out of it (%.0f)", x, y)
		}
		if e != nil {
			if err == nil {
				err = e
			}
			continue
		}
		cands = append(cands, cacheCandidate{SerialCacheFit{ms, x, y}, r})
		best = min(best, r)
	}
	if len(cands) == 0 {
		return nil, nil, err
	}
	var plateau []cacheCandidate
	for _, k := range cands {
		if k.residual <= best*(1+1e-6)+1e-12 {
			plateau = append(plateau, k)
		}
	}
	return sc, plateau, nil
}

// The sweep times FitSerialCache tries: from a cache that holds nothing useful to one that
// holds the largest eden the planner considers, in 2% steps (the rates are measured within a
// few percent, so finer steps do not tell runs apart).
const (
	minCacheMs  = 0.25
	maxCacheMs  = 64.0
	cacheMsStep = 1.02
)

// withCacheMs is the cost model with the cache's sweep time set to ms, the ramp scaled with it
// (a cache of a different size fills and empties over a proportionally different range of edens).
func (c *SerialCost) withCacheMs(ms float64) *SerialCost {
	m := *c
	if c.CacheMs > 0 {
		m.CacheRampMs = c.CacheRampMs * ms / c.CacheMs
	}
	m.CacheMs = ms
	return &m
}

// serialRatesLS is the least-squares x = 1/cached, y = 1/uncached with the runs' cache misses
// taken from m: per run a x + b y = 1/rate - gc.
func serialRatesLS(p Platform, m *SerialCost, runs []RatePoint) (x, y float64, err error) {
	var as, bs, rs []float64
	for _, run := range runs {
		_, gc, miss := m.costs(p.EffectiveHeap(GCSerial, run.Xmx), run.JIT)
		f := 1.0
		if run.JIT == JITC1 && m.C1Factor > 0 {
			f = m.C1Factor
		}
		as, bs, rs = append(as, (1-miss)/f), append(bs, miss/f), append(rs, 1/run.MiBPerCPUSecond-gc)
	}
	x, y, ok := lsq.Solve2(as, bs, rs, 1e-9)
	if !ok {
		return 0, 0, fmt.Errorf("the runs need one with the eden in the CPU's cache and one with it out (a small and a large heap); got %d run(s) that do not tell the two apart", len(runs))
	}
	if !(x > 0 && y > 0) {
		return 0, 0, fmt.Errorf("the runs give no positive rates (the collector's modelled cost exceeds what was measured): 1/cached %.3g, 1/uncached %.3g", x, y)
	}
	return x, y, nil
}

// serialRatesResidual is the sum of the runs' squared relative errors under m.
func serialRatesResidual(p Platform, m *SerialCost, runs []RatePoint) float64 {
	var sum float64
	for _, run := range runs {
		got, _, _ := serialCapacity(m, p.EffectiveHeap(GCSerial, run.Xmx), run.JIT, 1, 1)
		d := got/run.MiBPerCPUSecond - 1
		sum += d * d
	}
	return sum
}

// FitSerialPair is the Serial cost model's PairFactor (a slot's pipeline rate per CPU-second
// with another slot beside it, relative to one alone) from the runs of two or more slots,
// given the one-slot rates: per run the model's collector cost is taken off the measured CPU
// seconds per MiB, and the pipeline's modelled one-slot cost over what remains is the factor;
// over several runs, the sums' ratio (a least-squares fit of the costs).
func FitSerialPair(p Platform, c Connector, cached, uncached float64, runs []RatePoint) (float64, error) {
	q, err := p.WithSerialRates(cached, uncached)
	if err != nil {
		return 0, err
	}
	sc := q.jobCalibration(c).Serial
	if sc == nil {
		return 0, fmt.Errorf("platform %s has no Serial cost model for --connector %s", p.Name, c)
	}
	var alone, paired float64
	for _, run := range runs {
		if run.Slots < 2 {
			continue
		}
		if !(run.MiBPerCPUSecond > 0) {
			return 0, fmt.Errorf("-Xmx%s, %d slots: rate %v MiB per CPU-second, want a positive one", JVMSize(run.Xmx), run.Slots, run.MiBPerCPUSecond)
		}
		work, gc, _ := sc.costs(q.EffectiveHeap(GCSerial, run.Xmx), run.JIT)
		alone, paired = alone+work, paired+1/run.MiBPerCPUSecond-gc
	}
	if alone == 0 {
		return 0, fmt.Errorf("no run of two or more slots to price a second slot from")
	}
	if !(paired > 0) {
		return 0, fmt.Errorf("the runs of two or more slots are faster than the collector alone allows: the model's collector cost exceeds what was measured")
	}
	return alone / paired, nil
}
