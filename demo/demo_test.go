package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/scenario"
)

const short = `
name: short-step
duration: 1h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2, taskmanager.memory.process.size: 2g}
  taskManagers: {initial: 1, min: 1, max: 8, startupDelay: 10s}
jobs:
  - name: etl
    config: {execution.checkpointing.interval: 30s}
    vertices:
      - {id: src, name: "Source: in", capacity: 30000, partitions: 8}
      - {id: map, name: "Map: m", capacity: 6000, inputs: [{from: src, ship: REBALANCE}]}
    load:
      - {source: src, at: 0s, rate: 4000}
      - {source: src, at: 15m, rate: 15000}
`

func TestDemoShowsLiveViewAndComparison(t *testing.T) {
	sc, err := scenario.Parse([]byte(short), "short.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Run(context.Background(), &out, sc, Options{Every: 10 * 60e9}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"simulated Flink REST API at http://127.0.0.1:",
		"input/s", "parallelism", "rescaled: map 1→",
		"operator", "flinktune", "rescales", "flinktune vs operator:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo output lacks %q:\n%s", want, got)
		}
	}
}
