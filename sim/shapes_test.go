package sim

import (
	"math"
	"testing"
	"time"
)

// The graph shapes flinktune scenario generate writes (chain, two-source join and union,
// fan-out to several sinks, fan-out meeting again): records flow by selectivity along every
// path, a fan-out branch that cannot keep up slows its source (and with it every other
// branch), and a bottleneck on one side of a join slows only that side's source.
func TestGeneratedGraphShapes(t *testing.T) {
	const head = `
duration: 1h
cluster:
  config: {taskmanager.numberOfTaskSlots: 4}
  taskManagers: {initial: 1}
jobs:
  - name: j
    config: {execution.checkpointing.interval: 10s}
    restart: {base: 2s}
`
	tests := []struct {
		name string
		yaml string
		// want: records/s into each vertex in steady state.
		want map[string]float64
	}{
		{"fan-out/fan-in", head + `
    vertices:
      - {id: src, capacity: 100000}
      - {id: a, capacity: 100000, selectivity: 0.5, inputs: [{from: src, ship: REBALANCE}]}
      - {id: b, capacity: 100000, selectivity: 3, inputs: [{from: src, ship: REBALANCE}]}
      - {id: merge, capacity: 100000, selectivity: 0.01, inputs: [{from: a, ship: HASH}, {from: b, ship: HASH}]}
      - {id: sink, capacity: 100000, inputs: [{from: merge, ship: FORWARD}]}
    load: [{source: src, at: 0s, rate: 1000, noise: 0}]
`, map[string]float64{"src": 1000, "a": 1000, "b": 1000, "merge": 3500, "sink": 35}},
		{"fan-out with a slow branch", head + `
    vertices:
      - {id: src, capacity: 100000}
      - {id: fast, capacity: 100000, inputs: [{from: src, ship: REBALANCE}]}
      - {id: slow, capacity: 400, selectivity: 2, inputs: [{from: src, ship: REBALANCE}]}
      - {id: sinkA, capacity: 100000, inputs: [{from: fast, ship: FORWARD}]}
      - {id: sinkB, capacity: 100000, inputs: [{from: slow, ship: FORWARD}]}
    load: [{source: src, at: 0s, rate: 1000, noise: 0}]
`, map[string]float64{"src": 400, "fast": 400, "slow": 400, "sinkA": 400, "sinkB": 800}},
		{"join with one slow side", head + `
    vertices:
      - {id: left, capacity: 100000}
      - {id: right, capacity: 100000}
      - {id: prep, capacity: 300, inputs: [{from: left, ship: REBALANCE}]}
      - {id: join, capacity: 100000, selectivity: 0.5, inputs: [{from: prep, ship: HASH}, {from: right, ship: HASH}]}
      - {id: sink, capacity: 100000, inputs: [{from: join, ship: REBALANCE}]}
    load:
      - {source: left, at: 0s, rate: 1000, noise: 0}
      - {source: right, at: 0s, rate: 500, noise: 0}
`, map[string]float64{"left": 300, "right": 500, "prep": 300, "join": 800, "sink": 400}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.yaml)
			id := s.JobIDs()[0]
			s.AdvanceTo(s.Start().Add(5 * time.Minute))
			for v, want := range tc.want {
				ms, ok := s.SubtaskMetricList(id, VertexID("j", v), 0)
				if !ok {
					t.Fatalf("no metrics of %s", v)
				}
				name := "numRecordsInPerSecond"
				if v == "src" || v == "left" || v == "right" {
					name = "numRecordsOutPerSecond" // a source reads no records from an input
				}
				got := metric(t, ms, name)
				if math.Abs(got-want) > 0.03*want+0.5 {
					t.Errorf("%s: %.1f records/s in, want %.1f", v, got, want)
				}
			}
			st, _ := s.Stats(id)
			if st.InputRecords != st.ProcessedRecords+st.FinalLagRecords {
				t.Errorf("not conserved: %+v", st)
			}
		})
	}
}
