package policies

import (
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/tuning"
)

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name, tuner string
		native      bool // the policy's own tuner, flinktune's rescue around it
	}{
		{"flinktune", "", false},
		{"FlinkTune", "native", false},
		{"operator", "", true},
		{"operator", "native", true},
		{"operator", "flinktune", false},
	} {
		cfg := flinkconf.New()
		if tc.tuner != "" {
			cfg.Set(OptTuner.Key, tc.tuner)
		}
		p, err := New(tc.name, cfg)
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.name, tc.tuner, err)
		}
		tp, wrapped := p.(*tuning.Policy)
		if !wrapped || tp.Native() != tc.native || !strings.EqualFold(p.Name(), tc.name) {
			t.Errorf("%s/%s: %T named %s", tc.name, tc.tuner, p, p.Name())
		}
	}
	if _, err := New("magic", flinkconf.New()); err == nil || !strings.Contains(err.Error(), "flinktune, operator") {
		t.Errorf("unknown policy: %v", err)
	}
	if _, err := New("operator", flinkconf.FromMap(map[string]string{OptTuner.Key: "vpa"})); err == nil || !strings.Contains(err.Error(), `"vpa"`) {
		t.Errorf("bad tuner: %v", err)
	}
	if _, err := New("operator", flinkconf.FromMap(map[string]string{"job.autoscaler.enabled": "true", "job.autoscaler.utilization.target": "2"})); err == nil {
		t.Error("invalid operator options must fail")
	}
	if !Valid("Operator") || Valid("none") {
		t.Error("Valid")
	}
}
