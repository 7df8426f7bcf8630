package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/scenario/generate"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/spf13/cobra"
)

// corpusFlags are bench's robustness-corpus options.
type corpusFlags struct {
	generate int
	seed     uint64
	workers  int
	worst    int
	sweep    string
}

func (c *corpusFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&c.generate, "generate", 0, "run a generated corpus of this many scenarios (flinktune scenario generate), classing each")
	f.Uint64Var(&c.seed, "seed", 1, "with --generate: seed of the first generated scenario")
	f.IntVar(&c.workers, "workers", 0, "with --generate: runs at a time (default: the number of CPUs)")
	f.IntVar(&c.worst, "worst", 10, "with --generate: list this many worst scenarios for the candidate")
	f.StringVar(&c.sweep, "sweep", "", "KEY=V1,V2,...: run the baseline policy at each value of KEY against the candidate's defaults (over --generate, --scenario, or the built-in examples)")
}

// cases loads the --scenario files and the generated corpus.
func (c *corpusFlags) cases(scenarioArgs []string) ([]bench.Case, error) {
	var cases []bench.Case
	for _, arg := range scenarioArgs {
		sc, err := scenarios.Load(arg)
		if err != nil {
			return nil, usageError{err}
		}
		cases = append(cases, bench.Case{Scenario: sc, About: "given"})
	}
	corpus, err := generate.Corpus(c.seed, c.generate)
	if err != nil {
		return nil, err
	}
	for _, g := range corpus {
		sc, err := g.Scenario()
		if err != nil {
			return nil, fmt.Errorf("generated scenario %s does not load (a generator bug): %w", g.Name, err)
		}
		cases = append(cases, bench.Case{Scenario: sc, About: g.Describe()})
	}
	return cases, nil
}

// policyPair is --policy BASELINE --policy CANDIDATE, by default operator and flinktune.
func policyPair(policyArgs []string, flag string) (baseline, candidate string, err error) {
	if len(policyArgs) == 0 {
		return "operator", "flinktune", nil
	}
	if len(policyArgs) != 2 {
		return "", "", usagef("%s compares two policies: give --policy BASELINE --policy CANDIDATE (default operator and flinktune)", flag)
	}
	for _, p := range policyArgs {
		if !policies.Valid(p) {
			return "", "", usagef("--policy %q: want one of %s", p, strings.Join(policies.Names(), ", "))
		}
	}
	return policyArgs[0], policyArgs[1], nil
}

// runSweep runs the baseline at every value of the swept option against the candidate's
// defaults and says whether any setting dominates them.
func runSweep(cmd *cobra.Command, cf corpusFlags, scenarioArgs, policyArgs []string, output string, opts bench.Options) error {
	key, list, ok := strings.Cut(cf.sweep, "=")
	values := strings.Split(list, ",")
	if !ok || key == "" || list == "" || slices.Contains(values, "") {
		return usagef("--sweep %q: want KEY=V1,V2,... (e.g. job.autoscaler.target.utilization=0.5,0.6,0.7,0.8,0.9)", cf.sweep)
	}
	baseline, candidate, err := policyPair(policyArgs, "--sweep")
	if err != nil {
		return err
	}
	if len(scenarioArgs) == 0 && cf.generate == 0 {
		scenarioArgs = scenarios.Names()
	}
	cases, err := cf.cases(scenarioArgs)
	if err != nil {
		return err
	}
	errOut := cmd.ErrOrStderr()
	fmt.Fprintf(errOut, "sweeping %s over %d values: %s at each against %s's defaults on %d scenarios ...\n", key, len(values), baseline, candidate, len(cases))
	sw, err := bench.RunSweep(cmd.Context(), cases, key, values, bench.CorpusOptions{Options: opts, Baseline: baseline, Candidate: candidate,
		Workers: cf.workers, Ran: func(done, total int, r *bench.Result, setting string) {
			fmt.Fprintf(errOut, "[%d/%d] %s %s (%s): lag-violation %.0fs, parallelism-seconds %.0f\n", done, total, r.Scenario, r.Policy, setting, r.LagViolationSeconds, r.ParallelismSeconds)
		}})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(sw)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s over %d scenarios\tlag-violation s\tparallelism-seconds\trescales\tdominates (both ≥ %.0f%% better)\tscenarios dominated\t\n", sw.Key, sw.Scenarios, 100*bench.SweepMargin)
	fmt.Fprintf(tw, "%s defaults\t%.0f\t%.0f\t%d\t-\t-\t\n", sw.Candidate, sw.CandidateLagViolationSeconds, sw.CandidateParallelismSeconds, sw.CandidateRescales)
	for _, p := range sw.Points {
		fmt.Fprintf(tw, "%s %s\t%.0f\t%.0f\t%d\t%v\t%d\t\n", sw.Baseline, p.Value, p.LagViolationSeconds, p.ParallelismSeconds, p.Rescales, p.Dominates, p.ScenariosDominated)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if sw.AnyDominates {
		fmt.Fprintf(out, "\na setting of %s dominates %s's defaults\n", sw.Baseline, sw.Candidate)
	} else {
		fmt.Fprintf(out, "\nno setting of %s dominates %s's defaults\n", sw.Baseline, sw.Candidate)
	}
	return nil
}

// runCorpus runs the generated scenarios (and any --scenario) with a baseline and a candidate
// policy and prints each scenario's class and the summary.
func runCorpus(cmd *cobra.Command, cf corpusFlags, scenarioArgs, policyArgs []string, output string, opts bench.Options) error {
	if cf.generate < 0 {
		return usagef("--generate %d: want a number of scenarios ≥ 1", cf.generate)
	}
	baseline, candidate, err := policyPair(policyArgs, "--generate")
	if err != nil {
		return err
	}
	policyArgs = []string{baseline, candidate}
	cases, err := cf.cases(scenarioArgs)
	if err != nil {
		return err
	}
	errOut := cmd.ErrOrStderr()
	fmt.Fprintf(errOut, "running %d scenarios with %s (candidate) and %s (baseline) ...\n", len(cases), policyArgs[1], policyArgs[0])
	cs, err := bench.RunCorpus(cmd.Context(), cases, bench.CorpusOptions{Options: opts, Baseline: policyArgs[0], Candidate: policyArgs[1],
		Workers: cf.workers, Done: func(done, total int, c *bench.Comparison) {
			fmt.Fprintf(errOut, "[%d/%d] %s: %s (%s)\n", done, total, c.Scenario, c.Class, c.Diagnosis)
		}})
	if err != nil {
		return err
	}
	sum := bench.Summarize(cs)
	out := cmd.OutOrStdout()
	if output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Summary   bench.Summary       `json:"summary"`
			Scenarios []*bench.Comparison `json:"scenarios"`
		}{sum, cs})
	}
	return corpusTable(out, cs, sum, cf.worst)
}

func corpusTable(w io.Writer, cs []*bench.Comparison, s bench.Summary, worst int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tclass\trescales\tlag-violation\tparallelism-s\tabout")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%d / %d\t%.0f / %.0f\t%.0f / %.0f\t%s\n", c.Scenario, c.Class,
			c.Candidate.Rescales, c.Baseline.Rescales, c.Candidate.LagViolationSeconds, c.Baseline.LagViolationSeconds,
			c.Candidate.ParallelismSeconds, c.Baseline.ParallelismSeconds, c.About)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := float64(max(s.Scenarios, 1))
	fmt.Fprintf(w, "\n%s vs %s over %d scenarios (columns: %s / %s):\n", s.Candidate, s.Baseline, s.Scenarios, s.Candidate, s.Baseline)
	for _, k := range []string{bench.ClassDominates, bench.ClassTradeOff, bench.ClassLoses, bench.ClassStuck} {
		fmt.Fprintf(w, "  %-10s %4d  %5.1f%%\n", k, s.Classes[k], 100*float64(s.Classes[k])/n)
	}
	fmt.Fprintf(w, "  rescales <= %s's: %.1f%%; at most 2 steps per load change: %.1f%%; oscillating: %d (job-level %d; flapping %d); not conserved: %d; %s stuck: %d\n",
		s.Baseline, 100*s.FewerRescalesShare, 100*s.StepsShare, s.Oscillating, s.OscillatingJobLevel, s.Flapping, s.NotConserved, s.Baseline, s.BaselineStuck)
	fmt.Fprintf(w, "  totals: rescales %d / %d, lag-violation %.0fs / %.0fs, parallelism-seconds %.0f / %.0f\n",
		s.CandidateRescales, s.BaselineRescales, s.CandidateLagViolationSeconds, s.BaselineLagViolationSeconds,
		s.CandidateParallelismSeconds, s.BaselineParallelismSeconds)
	fmt.Fprintln(w, "targets:")
	for _, t := range s.Targets {
		mark := "ok  "
		if !t.Met {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, t.Name)
	}
	if worst > 0 {
		fmt.Fprintln(w, "worst for the candidate:")
		for i, c := range bench.Worst(cs) {
			if i == worst || c.Class == bench.ClassDominates {
				break
			}
			fmt.Fprintf(w, "  %s [%s] %s: %s\n", c.Scenario, c.Class, c.About, c.Diagnosis)
		}
	}
	return nil
}
