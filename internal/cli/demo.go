package cli

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/demo"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/store"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var (
		scenarioArg, policy, baseline string
		speed                         = speedFlag{factor: 1800, allowMax: true}
		every                         time.Duration
		listen                        string
		hold                          time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch flinktune autoscale a simulated Flink job, then compare with the operator",
		Long: `Run a built-in scenario on the embedded Flink simulator, with no cluster needed.
The simulator serves Flink's REST API on a loopback port; flinktune's control loop
talks HTTP to it exactly as it would to a JobManager and rescales the job in place
through PUT /jobs/<id>/resource-requirements. You see the input rate, lag, slots and
per-vertex parallelism as simulated time runs, and every rescale as it lands.
The demo prints the URL of the live dashboard (--listen): the same page as
flinktune run --listen, with the job's charts, rescale markers and their reasons.

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
			if listen != "" {
				if err := checkListen("--listen", listen); err != nil {
					return err
				}
			}
			// The whole run is kept (the demo's control loop cycles every 10 s of simulated time).
			rec := dashboard.NewRecorder(int(time.Duration(sc.Duration)/(10*time.Second)) + 2)
			var srv *http.Server
			serve := func(st *store.Store) (string, error) {
				if listen == "" {
					return "", errors.New("--listen is empty")
				}
				s, url, err := dashboard.Serve(listen, rec, st)
				srv = s
				return url + "#w=all", err // the whole run: simulated hours pass in seconds
			}
			err = demo.Run(cmd.Context(), cmd.OutOrStdout(), sc, demo.Options{
				Speed: speed.factor, Every: every, Policy: policy, Baseline: baseline,
				Observer: rec, Serve: serve,
			})
			if srv != nil {
				if err == nil && hold > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "\ndashboard stays up for %s (--hold)\n", hold)
					select {
					case <-time.After(hold):
					case <-cmd.Context().Done():
					}
				}
				srv.Close()
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarioArg, "scenario", "wordcount-ramp", "built-in scenario name or scenario file")
	f.StringVar(&policy, "policy", "flinktune", "policy shown live")
	f.StringVar(&baseline, "baseline", "operator", "policy it is compared with")
	f.Var(&speed, "speed", "time scale: simulated seconds per wall second at most (scenarios/FORMAT.md), or max: as fast as the machine runs")
	f.DurationVar(&every, "every", 15*time.Minute, "simulated time between status lines")
	f.StringVar(&listen, "listen", "127.0.0.1:0", "address of the live dashboard (empty: none)")
	f.DurationVar(&hold, "hold", 0, "keep the dashboard up this long after the demo ends (wall time)")
	return cmd
}
