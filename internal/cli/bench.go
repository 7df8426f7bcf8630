package cli

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var (
		scenarioArgs, policyArgs, sets []string
		output, interval, dataDir      string
		reportPath                     string
		logLevel                       string
		sloObjective                   string
		corpus                         corpusFlags
		real                           flinkBenchFlags
	)
	cmd := &cobra.Command{
		Use:   "bench --scenario FILE|NAME [--policy NAME]...",
		Short: "Score scaling policies side by side on the simulator",
		Long: `Run each policy against a scenario on the embedded simulator, in lockstep and
deterministically: the control loop talks Flink's REST API to the simulated cluster
every --interval of simulated time, exactly as flinktune run talks to a real one.

Reported per policy (scenarios/FORMAT.md): rescales, restarts, downtime, slot-,
TaskManager- and parallelism-seconds against the minimal slot-seconds, lag-violation
seconds and worst lag, conservation of records, oscillations (a vertex reversing
its own change within slo.settle) and flapping (those no load change explains: the
vertex's sources stayed within their range of the settle before, FORMAT.md),
convergence per load change, and TaskManager memory.

With both the operator and flinktune policies, the table ends with a verdict on
flinktune's targets: at most half the rescales, no more lag violations, no more
parallelism-seconds, no oscillation, at most two steps per load change.
With --generate K (seeds --seed, --seed+1, ...; see flinktune scenario generate)
the second policy is scored against the first on every generated scenario (and any
--scenario), runs going on concurrently, and each scenario is classed: dominates
(lag-violation at most 60 s above the baseline's and parallelism-seconds at most
the baseline's), trade-off, loses (worse on both), or stuck (the SLO violated
without a rescale for 25% of the run while the baseline rescaled). The summary
gives the class shares, rescales, steps per load change, oscillations (the target
counts flapping) and conservation against issue 9's targets, and the worst scenarios.

With --sweep KEY=V1,V2,... the first policy runs at each value of KEY (under every
job's configuration) and the second with its defaults, over --generate, --scenario
or the built-in examples; a setting dominates when its lag-violation seconds and
parallelism-seconds, summed over the scenarios, are both at least 5% lower (lag
no higher is enough when the second policy's is within 60 s per scenario).
Built-in scenarios: ` + strings.Join(scenarios.Names(), ", ") + `.` + benchFlinkHelp,
		Example: `  flinktune bench --scenario wordcount-ramp
  flinktune bench --scenario kafka-diurnal --policy operator --policy flinktune --output json
  flinktune bench --scenario my.yaml --set job.autoscaler.memory.tuning.enabled=true
  flinktune bench --scenario wordcount-ramp --report report.html
  flinktune bench --generate 200 --seed 1 --output json > corpus.json
  flinktune bench --sweep job.autoscaler.target.utilization=0.5,0.6,0.7,0.8,0.9 --generate 20
  flinktune bench --on flink --versions 1.20.5,2.2.1 --out results.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if real.on != "sim" {
				return real.onFlink(cmd)
			}
			slo, err := bench.ParseSLOObjective(sloObjective)
			if err != nil {
				return usagef("%v", err)
			}
			if cmd.Flags().Changed("generate") || corpus.sweep != "" {
				if reportPath != "" {
					return usagef("--report draws --scenario runs; with --generate or --sweep use --output json")
				}
				every, err := time.ParseDuration(interval)
				if err != nil || every <= 0 {
					return usagef("--interval %q: want a duration such as 10s", interval)
				}
				if err := checkOutput(output, "table", "json"); err != nil {
					return err
				}
				if corpus.sweep != "" {
					return runSweep(cmd, corpus, scenarioArgs, policyArgs, output, bench.Options{Interval: every, Set: sets, SLOObjective: slo})
				}
				return runCorpus(cmd, corpus, scenarioArgs, policyArgs, output, bench.Options{Interval: every, Set: sets, SLOObjective: slo})
			}
			if len(scenarioArgs) == 0 {
				return usagef("--scenario is required (a file or one of %s)", strings.Join(scenarios.Names(), ", "))
			}
			if len(policyArgs) == 0 {
				policyArgs = []string{"operator", "flinktune"}
			}
			for _, p := range policyArgs {
				if !policies.Valid(p) {
					return usagef("--policy %q: want one of %s", p, strings.Join(policies.Names(), ", "))
				}
			}
			if err := checkOutput(output, "table", "json", "yaml"); err != nil {
				return err
			}
			every, err := time.ParseDuration(interval)
			if err != nil || every <= 0 {
				return usagef("--interval %q: want a duration such as 10s", interval)
			}
			var logger *slog.Logger
			if cmd.Flags().Changed("log-level") {
				if logger, err = newLogger(cmd, "text", logLevel); err != nil {
					return err
				}
			}
			// Every scenario and option is checked before the first (long) run starts.
			var scs []*scenario.Scenario
			for _, arg := range scenarioArgs {
				sc, err := scenarios.Load(arg)
				if err != nil {
					return usageError{err}
				}
				if _, err := withOverrides(nil, sets); err != nil {
					return err
				}
				for i := range sc.Jobs {
					cfg, _ := withOverrides(sc.JobConfig(&sc.Jobs[i]), sets)
					if err := checkOptions(fmt.Sprintf("scenario %s, job %s (with --set)", sc.Name, sc.Jobs[i].Name), cfg, policyArgs...); err != nil {
						return err
					}
				}
				scs = append(scs, sc)
			}
			var all [][]*bench.Result
			var runs [][]dashboard.ReportRun
			for _, sc := range scs {
				fmt.Fprintf(cmd.ErrOrStderr(), "running %s with %s ...\n", sc.Name, strings.Join(policyArgs, " and "))
				opts := bench.Options{Interval: every, Set: sets, DataDir: dataDir, Logger: logger, SLOObjective: slo}
				var results []*bench.Result
				if reportPath != "" {
					var rr []dashboard.ReportRun
					results, rr, err = runForReport(cmd.Context(), sc, policyArgs, opts)
					runs = append(runs, rr)
				} else {
					results, err = bench.RunAll(cmd.Context(), sc, policyArgs, opts)
				}
				if err != nil {
					return err
				}
				for _, r := range results {
					fmt.Fprintf(cmd.ErrOrStderr(), "  %s: %.1fs\n", r.Policy, r.WallSeconds)
				}
				all = append(all, results)
			}
			if reportPath != "" {
				if err := writeBenchReport(reportPath, scs, all, runs); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "report: %s (open it in a browser; it works offline)\n", reportPath)
			}
			out := cmd.OutOrStdout()
			if output != "table" {
				// One document: every result of every scenario, a list even for one.
				list := []*bench.Result{}
				for _, results := range all {
					list = append(list, results...)
				}
				return writeDoc(out, output, list)
			}
			for i, results := range all {
				if i > 0 {
					fmt.Fprintln(out)
				}
				if err := bench.Table(out, results); err != nil {
					return err
				}
				printVerdict(cmd, results)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&scenarioArgs, "scenario", nil, "scenario file or built-in name (repeatable)")
	f.StringArrayVar(&policyArgs, "policy", nil, "policy to run (repeatable; default: operator and flinktune)")
	f.StringVarP(&output, "output", "o", "table", "table, json or yaml (one list of results, one per scenario and policy)")
	f.StringVar(&interval, "interval", "10s", "control-loop interval in simulated time")
	f.StringArrayVar(&sets, "set", nil, "key=value under every job's configuration (repeatable)")
	f.StringVar(&sloObjective, "slo-objective", string(bench.SLOStricter), "when each scenario's slo.maxLag becomes flinktune's lag objective (flinktune.lag.max): stricter (where it is stricter than the 1-minute default), always or off; --set and the job's config win")
	f.StringVar(&dataDir, "data-dir", "", "keep each run's controller store in DIR/<scenario>-<policy> (read it with flinktune events --data-dir)")
	f.StringVar(&reportPath, "report", "", "also write a self-contained HTML report (charts of each policy's run, the table, the scoring) to this file")
	f.StringVar(&logLevel, "log-level", "", "log the control loop on stderr: debug (every job cycle and its reason), info, warn or error")
	corpus.register(cmd)
	real.register(cmd)
	return cmd
}

// printVerdict checks flinktune's targets against the operator baseline when both ran.
func printVerdict(cmd *cobra.Command, results []*bench.Result) {
	var base, cand *bench.Result
	for _, r := range results {
		switch r.Policy {
		case "operator":
			base = r
		case "flinktune":
			cand = r
		}
	}
	if base == nil || cand == nil {
		return
	}
	lines, pass := bench.Verdict(cand, base)
	fmt.Fprintln(cmd.OutOrStdout())
	fmt.Fprintln(cmd.OutOrStdout(), "flinktune vs operator:")
	for _, l := range lines {
		fmt.Fprintln(cmd.OutOrStdout(), "  "+l)
	}
	if pass {
		fmt.Fprintln(cmd.OutOrStdout(), "  all targets met")
	}
}
