package bench

import (
	"fmt"

	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
)

// applyLagObjective hands the scenario's lag objective (slo.maxLag) to the policies, as a user
// who states one would: the bench scores lag against it, so a policy left at another objective
// is measured against a goal it was never given (gen-64 kept 30-60 s of lag for 48 minutes
// "within target utilization" against its default flinktune.lag.max of 1 minute). Only
// flinktune has a lag objective (flinktune.lag.max); the operator's autoscaler has none (its
// backlog-processing.lag-threshold only holds scale-downs) and ignores the key. A --set value
// and a job's own configuration win, as they do for a real user.
// Run calls it with Options.SLOObjective (bench --slo-objective).
func applyLagObjective(cfg *flinkconf.Config, sc *scenario.Scenario) {
	if sc.SLO.MaxLag <= 0 || cfg.IsConfigured(flinktune.OptMaxLag) {
		return
	}
	cfg.Set(flinktune.OptMaxLag.Key, fmt.Sprintf("%dms", max(1, sc.SLO.MaxLag.Milliseconds())))
}
