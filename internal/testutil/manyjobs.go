package testutil

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ManyJobsScenario is a session cluster running n small two-vertex jobs for duration (e.g.
// "2h"): the load of the memory benchmarks of `flinktune run`.
func ManyJobsScenario(n int, duration string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `name: many-jobs
duration: %s
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 4, taskmanager.memory.process.size: 4g,
           taskmanager.memory.jvm-metaspace.size: 1g}
  taskManagers: {initial: %d, min: %d, max: %d}
jobs:
`, duration, n/2+1, n/2+1, n+1)
	for i := range n {
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

var vmRSS = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)

// RSSMB is the resident memory of process pid in MiB, from /proc.
func RSSMB(tb testing.TB, pid int) float64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	m := vmRSS.FindSubmatch(data)
	if m == nil {
		tb.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}
