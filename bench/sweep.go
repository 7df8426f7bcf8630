package bench

import (
	"context"
	"fmt"
	"sync"
)

// SweepMargin is how much better on both totals a baseline setting must be to dominate the
// candidate's defaults (issue 9: 5%).
const SweepMargin = 0.05

// SweepPoint is the baseline policy at one setting, summed over the scenarios.
type SweepPoint struct {
	Value               string  `json:"value"`
	LagViolationSeconds float64 `json:"lagViolationSeconds"`
	ParallelismSeconds  float64 `json:"parallelismSeconds"`
	Rescales            int     `json:"rescales"`
	// Dominates: both totals at least SweepMargin below the candidate's.
	Dominates bool `json:"dominates"`
	// ScenariosDominated counts scenarios where this setting alone beats the candidate by the
	// margin on both.
	ScenariosDominated int `json:"scenariosDominated"`
}

// Sweep is a Pareto comparison: the baseline at every value of one option against the
// candidate with its defaults, over the same scenarios.
type Sweep struct {
	Key                          string       `json:"key"`
	Candidate                    string       `json:"candidate"`
	Baseline                     string       `json:"baseline"`
	Scenarios                    int          `json:"scenarios"`
	CandidateLagViolationSeconds float64      `json:"candidateLagViolationSeconds"`
	CandidateParallelismSeconds  float64      `json:"candidateParallelismSeconds"`
	CandidateRescales            int          `json:"candidateRescales"`
	Points                       []SweepPoint `json:"points"`
	// AnyDominates: some setting of the baseline dominates the candidate's defaults.
	AnyDominates bool `json:"anyDominates"`
}

// betterBy reports whether a is at least margin below b (never when b is 0).
func betterBy(a, b, margin float64) bool { return b > 0 && a <= (1-margin)*b }

// lagBetter: lag-violation a (baseline) is SweepMargin below b (candidate), or no worse when
// the candidate's is within LagTolerance per scenario: a candidate with (almost) no lag
// violation must not be undominatable on that account alone.
func lagBetter(a, b float64, scenarios int) bool {
	return betterBy(a, b, SweepMargin) || a <= b && b <= LagTolerance*float64(scenarios)
}

// RunSweep runs the candidate once per case with opts.Set, and the baseline once per case
// and value with key=value added, Workers runs at a time.
func RunSweep(ctx context.Context, cases []Case, key string, values []string, opts CorpusOptions) (*Sweep, error) {
	opts = opts.withDefaults()
	// Run r: r/len(cases) == 0 is the candidate, else the baseline at values[r/len(cases)-1].
	n := len(cases) * (1 + len(values))
	results := make([]*Result, n)
	var (
		mu   sync.Mutex
		done int
	)
	err := forEach(ctx, n, opts.Workers, func(ctx context.Context, r int) error {
		sc, k := cases[r%len(cases)].Scenario, r/len(cases)
		o, policy := opts.Options, opts.Candidate
		if k > 0 {
			policy = opts.Baseline
			o.Set = append(append([]string(nil), opts.Set...), key+"="+values[k-1])
		}
		res, err := Run(ctx, sc, policy, o)
		if err != nil {
			return fmt.Errorf("%s with %s: %w", sc.Name, policy, err)
		}
		results[r] = res
		if opts.Ran != nil {
			setting := "defaults"
			if k > 0 {
				setting = key + "=" + values[k-1]
			}
			mu.Lock()
			done++
			opts.Ran(done, n, res, setting)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cand, base := results[:len(cases)], make([][]*Result, len(values))
	for k := range values {
		base[k] = results[(k+1)*len(cases) : (k+2)*len(cases)]
	}
	sw := sweepOf(key, values, cand, base)
	sw.Candidate, sw.Baseline = opts.Candidate, opts.Baseline
	return sw, nil
}

// sweepOf sums the candidate's results and the baseline's at each value (base[k][i]: value k,
// scenario i) and decides which settings dominate.
func sweepOf(key string, values []string, cand []*Result, base [][]*Result) *Sweep {
	sw := &Sweep{Key: key, Scenarios: len(cand)}
	for _, c := range cand {
		sw.CandidateLagViolationSeconds += c.LagViolationSeconds
		sw.CandidateParallelismSeconds += c.ParallelismSeconds
		sw.CandidateRescales += c.Rescales
	}
	for k, v := range values {
		p := SweepPoint{Value: v}
		for i, c := range cand {
			b := base[k][i]
			p.LagViolationSeconds += b.LagViolationSeconds
			p.ParallelismSeconds += b.ParallelismSeconds
			p.Rescales += b.Rescales
			if lagBetter(b.LagViolationSeconds, c.LagViolationSeconds, 1) && betterBy(b.ParallelismSeconds, c.ParallelismSeconds, SweepMargin) {
				p.ScenariosDominated++
			}
		}
		p.Dominates = lagBetter(p.LagViolationSeconds, sw.CandidateLagViolationSeconds, len(cand)) &&
			betterBy(p.ParallelismSeconds, sw.CandidateParallelismSeconds, SweepMargin)
		sw.AnyDominates = sw.AnyDominates || p.Dominates
		sw.Points = append(sw.Points, p)
	}
	return sw
}

// forEach calls fn(i) for i in [0, n), workers at a time; the first error cancels the rest.
func forEach(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
