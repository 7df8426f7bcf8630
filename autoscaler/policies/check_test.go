package policies

import (
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   map[string]string
		want  []string // substrings of the error; none: valid
		names []string
	}{
		{"defaults", nil, nil, nil},
		{"valid values", map[string]string{"job.autoscaler.utilization.target": "0.6", "flinktune.settle": "10m",
			"flinktune.memory.tuning.percentile": "0.99", "flinktune.policy": "operator", "job.autoscaler.enabled": "false",
			"kubernetes.operator.job.autoscaler.metrics.window": "10m", "pipeline.max-parallelism": "128",
			"job.autoscaler.metrics.custom-evaluator.mine.class": "com.example.Mine"}, nil, nil},
		{"misspelt key", map[string]string{"job.autoscaler.utilisation.target": "0.6"},
			[]string{"unknown option job.autoscaler.utilisation.target: did you mean job.autoscaler.utilization.target?"}, nil},
		{"misspelt flinktune key", map[string]string{"flinktune.memory.tunning.percentile": "0.9"},
			[]string{"did you mean flinktune.memory.tuning.percentile?"}, nil},
		{"unknown key far from any", map[string]string{"flinktune.whatever": "1"}, []string{"unknown option flinktune.whatever: no policy reads it"}, nil},
		{"not a number", map[string]string{"job.autoscaler.utilization.target": "high"}, []string{"job.autoscaler.utilization.target", `"high"`}, nil},
		{"out of range, autoscaler not yet enabled", map[string]string{"job.autoscaler.utilization.target": "7"},
			[]string{"job.autoscaler.utilization.target", "[0.0, 1.0]"}, []string{"operator"}},
		{"bad duration", map[string]string{"job.autoscaler.metrics.window": "ten minutes"}, []string{"job.autoscaler.metrics.window"}, nil},
		{"bad tuner", map[string]string{"flinktune.memory.tuner": "mine"}, []string{"flinktune.memory.tuner"}, nil},
		{"bad policy", map[string]string{"flinktune.policy": "greedy"}, []string{`flinktune.policy: invalid value "greedy"`}, nil},
		{"bad enabled", map[string]string{"job.autoscaler.enabled": "yes please"}, []string{"job.autoscaler.enabled"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(flinkconf.FromMap(tc.set), tc.names...)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
