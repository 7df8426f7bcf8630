package policies

import (
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

func TestCompress(t *testing.T) {
	for _, c := range []struct {
		policy string
		set    map[string]string
		want   map[string]string
	}{
		// flinktune's defaults: window 5 min, scale-down 20 min; a --set value is scaled too.
		{"flinktune", map[string]string{"job.autoscaler.stabilization.interval": "20s", "job.autoscaler.vertex.max-parallelism": "4"},
			map[string]string{"job.autoscaler.metrics.window": "75 s", "job.autoscaler.scale-down.interval": "5 min",
				"job.autoscaler.stabilization.interval": "5 s", "job.autoscaler.vertex.max-parallelism": "4", "flinktune.settle": "525 s",
				"flinktune.demand.fit-span": "22500 ms"}},
		// The operator's own defaults: window 15 min, scale-down 1 h; its REST timeout is a wall-clock bound.
		{"operator", nil, map[string]string{"job.autoscaler.metrics.window": "225 s", "job.autoscaler.scale-down.interval": "15 min"}},
	} {
		cfg := flinkconf.FromMap(c.set)
		if err := Compress(cfg, c.policy, 4); err != nil {
			t.Fatal(err)
		}
		for k, v := range c.want {
			if got, _ := cfg.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", c.policy, k, got, v)
			}
		}
		if cfg.Has("job.autoscaler.flink.rest-client.timeout") {
			t.Errorf("%s: the REST client's timeout was compressed", c.policy)
		}
	}
	if err := Compress(flinkconf.New(), "flinktune", 0.5); err == nil {
		t.Error("factor 0.5 accepted")
	}
}

func TestIsTimelineDuration(t *testing.T) {
	for k, want := range map[string]bool{
		"job.autoscaler.metrics.window":                     true,
		"kubernetes.operator.job.autoscaler.metrics.window": true, // a fallback key
		"flinktune.settle":                                  true,
		"job.autoscaler.vertex.max-parallelism":             false,
		"job.autoscaler.flink.rest-client.timeout":          false,
		"execution.checkpointing.interval":                  false, // Flink's, scaled as a Flink timer
	} {
		if got := IsTimelineDuration(k); got != want {
			t.Errorf("IsTimelineDuration(%s) = %v, want %v", k, got, want)
		}
	}
}
