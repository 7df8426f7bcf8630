package bench

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
)

// The scenario's slo.maxLag reaches flinktune as flinktune.lag.max, unless the user set the
// key (--set here; a job's own configuration is merged over this base by the controller).
func TestLagObjectiveFromSLO(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxLag time.Duration
		set    []string
		want   time.Duration
	}{
		{"slo 30s", 30 * time.Second, nil, 30 * time.Second},
		{"slo 5m", 5 * time.Minute, nil, 5 * time.Minute},
		{"compressed 625ms", 625 * time.Millisecond, nil, 625 * time.Millisecond},
		{"--set wins", 30 * time.Second, []string{"flinktune.lag.max=2min"}, 2 * time.Minute},
		{"no slo: default", 0, nil, flinktune.DefaultOptions().MaxLag},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := flinkconf.New()
			if err := cfg.ApplyOverrides(tc.set); err != nil {
				t.Fatal(err)
			}
			applyLagObjective(cfg, &scenario.Scenario{SLO: scenario.SLO{MaxLag: tc.maxLag}})
			o, err := flinktune.ParseOptions(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if o.MaxLag != tc.want {
				t.Errorf("flinktune.lag.max = %s, want %s", o.MaxLag, tc.want)
			}
		})
	}
}
