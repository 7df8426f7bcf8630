package scenario

import (
	"strings"
	"testing"
	"time"
)

const compressYAML = `
name: c
duration: 10m
flinkVersion: "1.20"
cluster:
  config:
    metrics.fetcher.update-interval: 2s
  taskManagers: {initial: 2, startupDelay: 30s, idleTimeout: 1m}
autoscaler:
  job.autoscaler.metrics.window: 1m
  job.autoscaler.vertex.max-parallelism: 4
slo: {maxLag: 20s, settle: 10m}
jobs:
  - name: j
    config:
      execution.checkpointing.interval: 10s
    restart: {base: 10s, restoreRate: 100mb}
    vertices:
      - {id: src, parallelism: 1, capacity: 5000, partitions: 4}
      - {id: work, parallelism: 1, capacity: 100, inputs: [{from: src, ship: REBALANCE}]}
    load:
      - {source: src, at: 0, rate: 60, backlog: 1500}
      - {source: src, at: 60s, rate: 180, ramp: 20s}
faults:
  - {at: 2m, rest: slow, rate: 0.5, delay: 3s, for: 1m}
`

func TestCompress(t *testing.T) {
	s, err := Parse([]byte(compressYAML), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	isDur := func(k string) bool { return k == "job.autoscaler.metrics.window" }
	c, err := s.Compress(4, isDur)
	if err != nil {
		t.Fatal(err)
	}
	j, cj := &s.Jobs[0], &c.Jobs[0]
	for _, x := range []struct {
		name      string
		got, want any
	}{
		{"duration", c.Duration, 150 * time.Second},
		{"load at", cj.Load[1].At, 15 * time.Second},
		{"ramp", cj.Load[1].Ramp, 5 * time.Second},
		{"rate (not scaled)", cj.Load[1].Rate, 180.0},
		{"backlog (not scaled)", cj.Load[0].Backlog, int64(1500)},
		{"capacity (not scaled)", cj.Vertices[1].Capacity, 100.0},
		{"restart base", cj.Restart.Base, 2500 * time.Millisecond},
		{"restore rate", cj.Restart.RestoreRate, j.Restart.RestoreRate * 4},
		{"startup delay", c.Cluster.TaskManagers.StartupDelay, 7500 * time.Millisecond},
		{"idle timeout", c.Cluster.TaskManagers.IdleTimeout, 15 * time.Second},
		{"maxLag", c.SLO.MaxLag, 5 * time.Second},
		{"settle", c.SLO.Settle, 150 * time.Second},
		{"fault at", c.Faults[0].At, 30 * time.Second},
		{"fault for", c.Faults[0].For, 15 * time.Second},
		{"fault delay (wall clock)", c.Faults[0].Delay, 3 * time.Second},
		{"tick (resolution)", c.Tick, s.Tick},
		{"window", c.Autoscaler["job.autoscaler.metrics.window"], "15 s"},
		{"max-parallelism (not a duration)", c.Autoscaler["job.autoscaler.vertex.max-parallelism"], "4"},
		{"checkpoint interval (job)", cj.Config["execution.checkpointing.interval"], "2500 ms"},
		{"fetcher (set)", c.Cluster.Config["metrics.fetcher.update-interval"], "500 ms"},
		{"cooldown (1.20 default 30 s)", c.Cluster.Config["jobmanager.adaptive-scheduler.scaling-interval.min"], "7500 ms"},
		{"stabilization (default 10 s)", c.Cluster.Config["jobmanager.adaptive-scheduler.resource-stabilization-timeout"], "2500 ms"},
		{"resource wait (default 5 min)", c.Cluster.Config["jobmanager.adaptive-scheduler.resource-wait-timeout"], "75 s"},
	} {
		if x.got != x.want {
			t.Errorf("%s: got %v, want %v", x.name, x.got, x.want)
		}
	}
	// The original is untouched.
	if s.Jobs[0].Load[1].At != time.Minute || s.Autoscaler["job.autoscaler.metrics.window"] != "1m" ||
		s.Cluster.Config["metrics.fetcher.update-interval"] != "2s" || s.Jobs[0].Config["execution.checkpointing.interval"] != "10s" {
		t.Error("Compress changed the original scenario")
	}
}

func TestCompressFlinkTimersPerVersion(t *testing.T) {
	got, err := CompressFlinkTimers(map[string]string{"jobmanager.adaptive-scheduler.scaling-interval.min": "10s"}, V20, 2)
	if err != nil {
		t.Fatal(err)
	}
	const p = "jobmanager.adaptive-scheduler."
	want := map[string]string{
		"metrics.fetcher.update-interval":               "5 s",
		p + "submission.resource-wait-timeout":          "150 s",
		p + "submission.resource-stabilization-timeout": "5 s",
		p + "scaling-interval.min":                      "5 s", // set under its deprecated name: scaled there
		p + "executing.resource-stabilization-timeout":  "30 s",
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestCompressRejectsBadFactors(t *testing.T) {
	s, err := Parse([]byte(compressYAML), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []float64{0, 0.5, -2, 1001} {
		if _, err := s.Compress(f, nil); err == nil || !strings.Contains(err.Error(), "between 1 and 1000") {
			t.Errorf("factor %v: err %v", f, err)
		}
	}
	if _, err := CompressFlinkTimers(map[string]string{"metrics.fetcher.update-interval": "soon"}, V120, 2); err == nil ||
		!strings.Contains(err.Error(), "metrics.fetcher.update-interval") {
		t.Errorf("bad duration: err %v", err)
	}
}
