package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// manyJobsScenario is a session cluster running n small jobs.
func manyJobsScenario(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `name: many-jobs
duration: 2h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 4, taskmanager.memory.process.size: 4g,
           taskmanager.memory.jvm-metaspace.size: 1g}
  taskManagers: {initial: %d, min: %d, max: %d}
jobs:
`, n/2+1, n/2+1, n+1)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  - name: job-%03d
    config: {execution.checkpointing.interval: 1m}
    vertices:
      - {id: src, name: "Source: in", capacity: 20000, partitions: 8, metaspace: 40m}
      - {id: map, name: "Map: m", capacity: 5000, inputs: [{from: src, ship: REBALANCE}]}
    load:
      - {source: src, at: 0s, rate: %d, noise: 0.02}
`, i, 2000+(i%7)*500)
	}
	return b.String()
}

// BenchmarkRunRSS200Jobs measures the resident memory of `flinktune run` managing 200 jobs
// of a simulated cluster served by `flinktune sim` over HTTP (target: under 60 MB).
func BenchmarkRunRSS200Jobs(b *testing.B) {
	file := filepath.Join(b.TempDir(), "many.yaml")
	if err := os.WriteFile(file, []byte(manyJobsScenario(200)), 0o644); err != nil {
		b.Fatal(err)
	}
	var peak float64
	for i := 0; i < b.N; i++ {
		simProc := start(b, "sim", "--scenario", file, "--listen", "127.0.0.1:0", "--speed", "10", "--status-every", "1h")
		url := simProc.waitLine(b, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`), time.Minute)
		run := start(b, "run", "--flink", url, "--all-jobs", "--interval", "10s", "--data-dir", b.TempDir(), "--parallelism", "16")
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			peak = max(peak, rssMB(b, run.cmd.Process.Pid))
		}
		run.cmd.Process.Kill()
		simProc.cmd.Process.Kill()
	}
	b.ReportMetric(peak, "peak-rss-MB")
}

func rssMB(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(data)
	if m == nil {
		b.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}
