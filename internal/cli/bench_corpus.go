package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

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
}

func (c *corpusFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.IntVar(&c.generate, "generate", 0, "run a generated corpus of this many scenarios (flinktune scenario generate), classing each")
	f.Uint64Var(&c.seed, "seed", 1, "with --generate: seed of the first generated scenario")
	f.IntVar(&c.workers, "workers", 0, "with --generate: runs at a time (default: the number of CPUs)")
	f.IntVar(&c.worst, "worst", 10, "with --generate: list this many worst scenarios for the candidate")
}

// runCorpus runs the generated scenarios (and any --scenario) with a baseline and a candidate
// policy and prints each scenario's class and the summary.
func runCorpus(cmd *cobra.Command, cf corpusFlags, scenarioArgs, policyArgs []string, output string, opts bench.Options) error {
	if cf.generate < 0 {
		return usagef("--generate %d: want a number of scenarios ≥ 1", cf.generate)
	}
	if len(policyArgs) == 0 {
		policyArgs = []string{"operator", "flinktune"}
	}
	if len(policyArgs) != 2 {
		return usagef("--generate compares two policies: give --policy BASELINE --policy CANDIDATE (default operator and flinktune)")
	}
	var cases []bench.Case
	for _, arg := range scenarioArgs {
		sc, err := scenarios.Load(arg)
		if err != nil {
			return usageError{err}
		}
		cases = append(cases, bench.Case{Scenario: sc, About: "given"})
	}
	corpus, err := generate.Corpus(cf.seed, cf.generate)
	if err != nil {
		return err
	}
	for _, g := range corpus {
		sc, err := g.Scenario()
		if err != nil {
			return fmt.Errorf("generated scenario %s does not load (a generator bug): %w", g.Name, err)
		}
		cases = append(cases, bench.Case{Scenario: sc, About: g.Describe()})
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
	fmt.Fprintf(w, "  rescales <= %s's: %.1f%%; at most 2 steps per load change: %.1f%%; oscillating: %d; not conserved: %d; %s stuck: %d\n",
		s.Baseline, 100*s.FewerRescalesShare, 100*s.StepsShare, s.Oscillating, s.NotConserved, s.Baseline, s.BaselineStuck)
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
