package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/demo"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var (
		scenarioArg, policy, baseline string
		speed                         = speedFlag{factor: 1800, allowMax: true}
		every                         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch flinktune autoscale a simulated Flink job, then compare with the operator",
		Long: `Run a built-in scenario on the embedded Flink simulator, with no cluster needed.
The simulator serves Flink's REST API on a loopback port; flinktune's control loop
talks HTTP to it exactly as it would to a JobManager and rescales the job in place
through PUT /jobs/<id>/resource-requirements. You see the input rate, lag, slots and
per-vertex parallelism as simulated time runs, and every rescale as it lands.

Meanwhile the Flink Kubernetes Operator's autoscaler (a faithful port) runs the same
scenario, and the demo ends with both side by side.
Built-in scenarios: ` + strings.Join(scenarios.Names(), ", ") + `.`,
		Example: `  flinktune demo
  flinktune demo --scenario kafka-diurnal --speed max
  flinktune demo --scenario taskmanager-loss --every 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := scenarios.Load(scenarioArg)
			if err != nil {
				return usageError{err}
			}
			for _, p := range []string{policy, baseline} {
				if !policies.Valid(p) {
					return usagef("policy %q: want one of %s", p, strings.Join(policies.Names(), ", "))
				}
			}
			for i := range sc.Jobs {
				cfg, _ := withOverrides(sc.JobConfig(&sc.Jobs[i]), nil)
				if err := checkOptions(fmt.Sprintf("scenario %s, job %s", sc.Name, sc.Jobs[i].Name), cfg, policy, baseline); err != nil {
					return err
				}
			}
			if every <= 0 {
				return usagef("--every %v: want a positive duration of simulated time, e.g. 15m", every)
			}
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), sc, demo.Options{
				Speed: speed.factor, Every: every, Policy: policy, Baseline: baseline,
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarioArg, "scenario", "wordcount-ramp", "built-in scenario name or scenario file")
	f.StringVar(&policy, "policy", "flinktune", "policy shown live")
	f.StringVar(&baseline, "baseline", "operator", "policy it is compared with")
	f.Var(&speed, "speed", "time scale: simulated seconds per wall second at most (scenarios/FORMAT.md), or max: as fast as the machine runs")
	f.DurationVar(&every, "every", 15*time.Minute, "simulated time between status lines")
	return cmd
}
