package bench

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
)

// The scenario's slo.maxLag reaches flinktune as flinktune.lag.max as the mode says: by default
// where it is stricter than flinktune's own default, unless the user set the key (--set here; a
// job's own configuration is merged over this base by the controller).
func TestLagObjectiveFromSLO(t *testing.T) {
	def := flinktune.DefaultOptions().MaxLag
	for _, tc := range []struct {
		name   string
		mode   SLOObjective
		maxLag time.Duration
		set    []string
		want   time.Duration
	}{
		{"stricter: slo 30s", SLOStricter, 30 * time.Second, nil, 30 * time.Second},
		{"stricter: slo 5m keeps the default", SLOStricter, 5 * time.Minute, nil, def},
		{"stricter: slo equal to the default", SLOStricter, def, nil, def},
		{"zero value is stricter", "", 30 * time.Second, nil, 30 * time.Second},
		{"stricter: compressed 625ms", SLOStricter, 625 * time.Millisecond, nil, 625 * time.Millisecond},
		{"always: slo 5m", SLOAlways, 5 * time.Minute, nil, 5 * time.Minute},
		{"always: slo 30s", SLOAlways, 30 * time.Second, nil, 30 * time.Second},
		{"off: slo 30s keeps the default", SLOOff, 30 * time.Second, nil, def},
		{"--set wins", SLOAlways, 30 * time.Second, []string{"flinktune.lag.max=2min"}, 2 * time.Minute},
		{"--set wins over stricter", SLOStricter, 30 * time.Second, []string{"flinktune.lag.max=45s"}, 45 * time.Second},
		{"no slo: default", SLOAlways, 0, nil, def},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := flinkconf.New()
			if err := cfg.ApplyOverrides(tc.set); err != nil {
				t.Fatal(err)
			}
			applyLagObjective(cfg, &scenario.Scenario{SLO: scenario.SLO{MaxLag: tc.maxLag}}, tc.mode)
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

func TestParseSLOObjective(t *testing.T) {
	for in, want := range map[string]SLOObjective{"": SLOStricter, "stricter": SLOStricter, "always": SLOAlways, "off": SLOOff} {
		if got, err := ParseSLOObjective(in); err != nil || got != want {
			t.Errorf("ParseSLOObjective(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSLOObjective("true"); err == nil || err.Error() != `--slo-objective "true": want stricter, always or off` {
		t.Errorf("ParseSLOObjective(\"true\"): %v", err)
	}
}
