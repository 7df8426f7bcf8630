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

// A configuration with bad policy and memory-tuning values names all of them, the policy's
// first, and a key both parsers read (job.autoscaler.memory.tuning.overhead) once.
func TestNewNamesEveryBadKey(t *testing.T) {
	const (
		target   = "job.autoscaler.utilization.target"
		overhead = "job.autoscaler.memory.tuning.overhead"
		pct      = "flinktune.memory.tuning.percentile"
	)
	for _, tc := range []struct {
		policy string
		kv     map[string]string
		want   []string // keys named, in order
	}{
		{"operator", map[string]string{"job.autoscaler.enabled": "true", target: "high", pct: "x"}, []string{target, pct}},
		{"operator", map[string]string{"job.autoscaler.enabled": "true", overhead: "lots", pct: "x"}, []string{overhead, pct}},
		{"flinktune", map[string]string{target: "high", overhead: "lots", pct: "x"}, []string{target, overhead, pct}},
		{"operator", map[string]string{pct: "x"}, []string{pct}},
	} {
		_, err := New(tc.policy, flinkconf.FromMap(tc.kv))
		if err == nil {
			t.Errorf("%s %v: no error", tc.policy, tc.kv)
			continue
		}
		msg, at := err.Error(), -1
		for _, k := range tc.want {
			i := strings.Index(msg, k)
			if i <= at {
				t.Errorf("%s %v: %q does not name %s after the keys before it (want %v)", tc.policy, tc.kv, msg, k, tc.want)
			}
			n := strings.Count(msg, k+": invalid value") // flinktune's and the tuner's words
			if n == 0 {
				n = strings.Count(msg, "for key '"+k+"'") // the operator's
			}
			if n != 1 {
				t.Errorf("%s %v: %q names %s %d times, want once", tc.policy, tc.kv, msg, k, n)
			}
			at = i
		}
	}
}
