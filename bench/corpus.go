package bench

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// Classes of a candidate policy against a baseline on one scenario (issue 9).
const (
	// ClassDominates: lag-violation ≤ baseline + LagTolerance and parallelism-seconds ≤ baseline.
	ClassDominates = "dominates"
	// ClassTradeOff: better on one of the two, worse on the other.
	ClassTradeOff = "trade-off"
	// ClassLoses: worse on both.
	ClassLoses = "loses"
	// ClassStuck: the candidate left the lag SLO violated without a rescale for at least
	// StuckShare of the run while the baseline acted.
	ClassStuck = "stuck"
)

// Classification thresholds.
const (
	// LagTolerance is how many more lag-violation seconds than the baseline still count as
	// "no worse": one control-loop minute.
	LagTolerance = 60.0
	// StuckShare of the run with the SLO violated and no rescale makes a run stuck.
	StuckShare = 0.25
)

// Case is one scenario of a corpus.
type Case struct {
	Scenario *scenario.Scenario
	// About describes it (shape, load, faults) for reports.
	About string
}

// Comparison is a candidate's result against a baseline's on one scenario.
type Comparison struct {
	Scenario  string  `json:"scenario"`
	Seed      uint64  `json:"seed"`
	About     string  `json:"about,omitempty"`
	Class     string  `json:"class"`
	Diagnosis string  `json:"diagnosis"`
	Candidate *Result `json:"candidate"`
	Baseline  *Result `json:"baseline"`
	// Conserved: input = processed + final lag in both runs.
	Conserved bool `json:"conserved"`
	// MaxSteps is the candidate's most rescales for one load change.
	MaxSteps int `json:"maxSteps"`
	// FewerRescales: the candidate rescaled at most as often as the baseline.
	FewerRescales bool `json:"fewerRescales"`
	// BaselineStuck: the baseline itself was stuck by the same rule (against the candidate).
	BaselineStuck bool `json:"baselineStuck"`
}

// Conserved reports whether the run accounted for every record.
func (r *Result) Conserved() bool { return r.InputRecords == r.ProcessedRecords+r.FinalLagRecords }

// maxSteps is the most rescales for one load change.
func (r *Result) maxSteps() int {
	m := 0
	for _, c := range r.Convergence {
		m = max(m, c.Steps)
	}
	return m
}

// stuck: the policy left the SLO violated without rescaling for StuckShare of the run while
// the other policy rescaled.
func stuck(r, other *Result) bool {
	return r.SimulatedSeconds > 0 && r.UnansweredLagViolationSeconds >= StuckShare*r.SimulatedSeconds && other.Rescales > 0
}

// Classify compares candidate with baseline on one scenario.
func Classify(candidate, baseline *Result) *Comparison {
	c := &Comparison{Scenario: candidate.Scenario, Seed: candidate.Seed, Candidate: candidate, Baseline: baseline,
		Conserved: candidate.Conserved() && baseline.Conserved(), MaxSteps: candidate.maxSteps(),
		FewerRescales: candidate.Rescales <= baseline.Rescales, BaselineStuck: stuck(baseline, candidate)}
	lagOK := candidate.LagViolationSeconds <= baseline.LagViolationSeconds+LagTolerance
	resOK := candidate.ParallelismSeconds <= baseline.ParallelismSeconds
	switch {
	case stuck(candidate, baseline):
		c.Class = ClassStuck
	case lagOK && resOK:
		c.Class = ClassDominates
	case !lagOK && !resOK:
		c.Class = ClassLoses
	default:
		c.Class = ClassTradeOff
	}
	c.Diagnosis = diagnose(c)
	return c
}

// diagnose says in one line what separates the two runs.
func diagnose(c *Comparison) string {
	a, b := c.Candidate, c.Baseline
	lag := fmt.Sprintf("lag-violation %s vs %s", secs(a.LagViolationSeconds), secs(b.LagViolationSeconds))
	ps := fmt.Sprintf("parallelism-seconds %+.0f%%", pct(a.ParallelismSeconds, b.ParallelismSeconds))
	res := fmt.Sprintf("rescales %d vs %d", a.Rescales, b.Rescales)
	s := fmt.Sprintf("%s, %s, %s", lag, ps, res)
	switch c.Class {
	case ClassStuck:
		s = fmt.Sprintf("SLO violated %s (%.0f%% of the run) without a rescale; %s", secs(a.UnansweredLagViolationSeconds),
			100*a.UnansweredLagViolationSeconds/a.SimulatedSeconds, s)
	}
	if c.Class != ClassDominates {
		// What the candidate said most while it fell behind (its most frequent cycle reasons).
		var rs []string
		for _, r := range a.Reasons {
			if len(rs) == 2 {
				break
			}
			rs = append(rs, fmt.Sprintf("%q ×%d", r.Reason, r.Cycles))
		}
		if len(rs) > 0 {
			s += "; " + a.Policy + " said " + strings.Join(rs, ", ")
		}
	}
	if !c.Conserved {
		s += "; RECORDS NOT CONSERVED"
	}
	if a.Oscillations > 0 {
		s += fmt.Sprintf("; %d oscillations", a.Oscillations)
	}
	if a.Flapping > 0 {
		s += fmt.Sprintf(" (%d flapping)", a.Flapping)
	}
	if a.JobLevelOscillations > a.Oscillations {
		s += fmt.Sprintf("; %d job-level oscillations", a.JobLevelOscillations)
	}
	if c.MaxSteps > 2 {
		s += fmt.Sprintf("; %d steps for one load change", c.MaxSteps)
	}
	if a.Memory.OOMKills+a.Memory.ContainerKills > 0 {
		s += fmt.Sprintf("; %d memory kills", a.Memory.OOMKills+a.Memory.ContainerKills)
	}
	return s
}

func pct(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * (a - b) / b
}

// CorpusOptions tune RunCorpus.
type CorpusOptions struct {
	Options
	// Candidate and Baseline policies (default flinktune and operator).
	Candidate, Baseline string
	// Workers run concurrently (default: the number of CPUs).
	Workers int
	// Done, if set, is called after each scenario (in completion order, serialized).
	Done func(done, total int, c *Comparison)
	// Ran, if set, is called after each run of a sweep (serialized) with the setting it ran.
	Ran func(done, total int, r *Result, setting string)
}

// withDefaults fills what a caller left unset: flinktune against the operator, a run per core.
func (o CorpusOptions) withDefaults() CorpusOptions {
	if o.Candidate == "" {
		o.Candidate = "flinktune"
	}
	if o.Baseline == "" {
		o.Baseline = "operator"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	return o
}

// RunCorpus runs both policies on every case, Workers runs at a time, and classifies each
// scenario. The comparisons are in the order of cases.
func RunCorpus(ctx context.Context, cases []Case, opts CorpusOptions) ([]*Comparison, error) {
	opts = opts.withDefaults()
	policies := [2]string{opts.Candidate, opts.Baseline}
	results := make([][2]*Result, len(cases))
	out := make([]*Comparison, len(cases))
	var (
		mu   sync.Mutex
		done int
	)
	// Run r is case r/2 with policies[r%2]: both policies of a scenario run close together.
	err := forEach(ctx, 2*len(cases), opts.Workers, func(ctx context.Context, r int) error {
		i, side := r/2, r%2
		res, err := Run(ctx, cases[i].Scenario, policies[side], opts.Options)
		if err != nil {
			return fmt.Errorf("%s with %s: %w", cases[i].Scenario.Name, policies[side], err)
		}
		mu.Lock()
		defer mu.Unlock()
		results[i][side] = res
		if results[i][1-side] == nil {
			return nil
		}
		c := Classify(results[i][0], results[i][1])
		c.About = cases[i].About
		out[i] = c
		done++
		if opts.Done != nil {
			opts.Done(done, len(cases), c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Summary aggregates a corpus: class counts and the shares issue 9's "Done when" uses.
type Summary struct {
	Candidate string         `json:"candidate"`
	Baseline  string         `json:"baseline"`
	Scenarios int            `json:"scenarios"`
	Classes   map[string]int `json:"classes"`
	// DominatesShare = dominates / scenarios (target ≥ 0.8).
	DominatesShare float64 `json:"dominatesShare"`
	// FewerRescalesShare: scenarios with candidate rescales ≤ baseline's (target ≥ 0.9).
	FewerRescalesShare float64 `json:"fewerRescalesShare"`
	// StepsShare: scenarios with at most 2 steps for every load change (target ≥ 0.95).
	StepsShare float64 `json:"stepsShare"`
	// NotConserved, Oscillating: scenarios where records were lost or the candidate
	// oscillated (targets 0).
	NotConserved int `json:"notConserved"`
	Oscillating  int `json:"oscillating"`
	// Flapping: scenarios with an oscillation no load change explains (Result.Flapping);
	// Oscillating counts every reversal within settle, an answer to a new load too. Both are
	// targets (0).
	Flapping int `json:"flapping"`
	// OscillatingJobLevel: scenarios with a job-level oscillation (the older count, for
	// comparison with earlier runs; not a target).
	OscillatingJobLevel int `json:"oscillatingJobLevel"`
	// BaselineStuck: scenarios where the baseline was stuck by the same rule.
	BaselineStuck int `json:"baselineStuck"`
	// Totals of both policies over the corpus.
	CandidateLagViolationSeconds float64 `json:"candidateLagViolationSeconds"`
	BaselineLagViolationSeconds  float64 `json:"baselineLagViolationSeconds"`
	CandidateParallelismSeconds  float64 `json:"candidateParallelismSeconds"`
	BaselineParallelismSeconds   float64 `json:"baselineParallelismSeconds"`
	CandidateRescales            int     `json:"candidateRescales"`
	BaselineRescales             int     `json:"baselineRescales"`
	// Targets lists each "Done when" criterion with whether it holds.
	Targets []Target `json:"targets"`
}

// Target is one criterion of the summary.
type Target struct {
	Name string `json:"name"`
	Met  bool   `json:"met"`
}

// flapTarget is issue 9's oscillation target restricted to the reversals no load change
// explains; the target on every reversal (Result.Oscillations) is reported before it.
const flapTarget = "0 oscillations no load change explains (flapping)"

// Summarize aggregates comparisons.
func Summarize(cs []*Comparison) Summary {
	s := Summary{Scenarios: len(cs), Classes: map[string]int{ClassDominates: 0, ClassTradeOff: 0, ClassLoses: 0, ClassStuck: 0}}
	fewer, steps := 0, 0
	for _, c := range cs {
		s.Candidate, s.Baseline = c.Candidate.Policy, c.Baseline.Policy
		s.Classes[c.Class]++
		if c.FewerRescales {
			fewer++
		}
		if c.MaxSteps <= 2 {
			steps++
		}
		if !c.Conserved {
			s.NotConserved++
		}
		if c.Candidate.Oscillations > 0 {
			s.Oscillating++
		}
		if c.Candidate.JobLevelOscillations > 0 {
			s.OscillatingJobLevel++
		}
		if c.Candidate.Flapping > 0 {
			s.Flapping++
		}
		if c.BaselineStuck {
			s.BaselineStuck++
		}
		s.CandidateLagViolationSeconds += c.Candidate.LagViolationSeconds
		s.BaselineLagViolationSeconds += c.Baseline.LagViolationSeconds
		s.CandidateParallelismSeconds += c.Candidate.ParallelismSeconds
		s.BaselineParallelismSeconds += c.Baseline.ParallelismSeconds
		s.CandidateRescales += c.Candidate.Rescales
		s.BaselineRescales += c.Baseline.Rescales
	}
	if n := float64(len(cs)); n > 0 {
		s.DominatesShare = float64(s.Classes[ClassDominates]) / n
		s.FewerRescalesShare = float64(fewer) / n
		s.StepsShare = float64(steps) / n
	}
	s.Targets = []Target{
		{"never stuck", s.Classes[ClassStuck] == 0},
		{"records conserved in every run", s.NotConserved == 0},
		// Issue 9's target as written counts every reversal within settle; flapping, beside
		// it, counts those no load change explains, so a reader sees which kind is left.
		{"0 oscillations", s.Oscillating == 0},
		{flapTarget, s.Flapping == 0},
		{"at most 2 steps per load change in >= 95% of scenarios", s.StepsShare >= 0.95},
		{"dominates in >= 80% of scenarios", s.DominatesShare >= 0.8},
		{"loses in none", s.Classes[ClassLoses] == 0},
		{"rescales <= baseline's in >= 90% of scenarios", s.FewerRescalesShare >= 0.9},
	}
	return s
}

// Worst orders comparisons from the worst for the candidate: stuck, loses, trade-off, then
// by the candidate's excess lag-violation seconds and parallelism-seconds.
func Worst(cs []*Comparison) []*Comparison {
	rank := map[string]int{ClassStuck: 0, ClassLoses: 1, ClassTradeOff: 2, ClassDominates: 3}
	out := append([]*Comparison(nil), cs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if rank[a.Class] != rank[b.Class] {
			return rank[a.Class] < rank[b.Class]
		}
		return badness(a) > badness(b)
	})
	return out
}

// badness is the candidate's excess over the baseline: lag-violation as a share of the run
// plus relative parallelism-seconds.
func badness(c *Comparison) float64 {
	run := math.Max(c.Candidate.SimulatedSeconds, 1)
	return (c.Candidate.LagViolationSeconds-c.Baseline.LagViolationSeconds)/run + pct(c.Candidate.ParallelismSeconds, c.Baseline.ParallelismSeconds)/100
}

// unanswered sums the lag-violation seconds of episodes (lag above maxLag, downtime
// included) in which the policy did not rescale at all.
func unanswered(series []sim.TickSample, changes []sim.ParallelismChange, start time.Time, maxLag time.Duration) float64 {
	total := 0.0
	ep, epStart, epLen := false, 0.0, 0.0
	prev := 0.0
	flush := func(end float64) {
		if !ep {
			return
		}
		acted := false
		for _, c := range changes {
			t := c.Time.Sub(start).Seconds()
			if t >= epStart && t <= end {
				acted = true
				break
			}
		}
		if !acted {
			total += epLen
		}
		ep, epLen = false, 0
	}
	for _, s := range series {
		t := float64(s.T)
		dt := t - prev
		if dt <= 0 {
			dt = 1
		}
		prev = t
		if float64(s.LagSeconds) > maxLag.Seconds() || (!s.Running && ep) {
			if !ep {
				ep, epStart = true, t
			}
			if float64(s.LagSeconds) > maxLag.Seconds() {
				epLen += dt
			}
			continue
		}
		flush(t)
	}
	flush(math.Inf(1))
	return total
}
