package local

import (
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

const specScenario = `
name: spec
duration: 10s
cluster:
  config: {taskmanager.numberOfTaskSlots: 2, jobmanager.memory.process.size: 2g}
jobs:
  - name: j
    config: {state.backend.type: rocksdb, job.autoscaler.target.utilization: "0.6"}
    vertices:
      - {id: agg, parallelism: 2, capacity: 400, selectivity: 0.5, state: {bytesPerSubtask: 1m}, inputs: [{from: work, ship: HASH}]}
      - {id: work, parallelism: 3, capacity: 100, recordBytes: 1k, inputs: [{from: src, ship: REBALANCE}], slotSharingGroup: heavy}
      - {id: src, name: "Source: log", capacity: 5000, partitions: 6}
    load:
      - {source: src, at: 0, rate: 100, backlog: 500}
      - {source: src, at: 4s, rate: 300}
      - {source: src, at: 6s, rate: 100, ramp: 2s}
`

// TestScenarioSpecStateKeys: state.keys spreads the state over that many keys (large values,
// so that a heap too small fails at one large allocation), the default over specKeys.
func TestScenarioSpecStateKeys(t *testing.T) {
	for _, tc := range []struct {
		state           string
		keys, perKeyMiB int64
	}{
		{"{bytes: 160m}", specKeys, 0}, // 160 KiB a key
		{"{bytes: 160m, keys: 16}", 16, 10},
		{"{bytesPerSubtask: 32m, keys: 4}", 4, 16}, // 2 subtasks
	} {
		y := strings.Replace(specScenario, "state: {bytesPerSubtask: 1m}", "state: "+tc.state, 1)
		sc, err := scenario.Parse([]byte(y), "spec")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ScenarioSpec(sc, 0, time.UnixMilli(0))
		if err != nil {
			t.Fatal(err)
		}
		agg := spec.Vertices[2]
		if agg.Keys != tc.keys || agg.StateBytesPerKey>>20 != tc.perKeyMiB || agg.Keys*agg.StateBytesPerKey>>20 != sc.Jobs[0].Vertices[0].StateBytes(2)>>20 {
			t.Errorf("state %s: %d keys × %d B, want %d keys × %d MiB", tc.state, agg.Keys, agg.StateBytesPerKey, tc.keys, tc.perKeyMiB)
		}
	}
}

func TestScenarioSpec(t *testing.T) {
	sc, err := scenario.Parse([]byte(specScenario), "spec")
	if err != nil {
		t.Fatal(err)
	}
	origin := time.UnixMilli(1_700_000_000_000)
	spec, err := ScenarioSpec(sc, 0, origin)
	if err != nil {
		t.Fatal(err)
	}
	if spec.OriginMs != origin.UnixMilli() {
		t.Errorf("originMs %d", spec.OriginMs)
	}
	var order []string
	for _, v := range spec.Vertices {
		order = append(order, v.ID)
	}
	if got := strings.Join(order, ","); got != "src,work,agg" {
		t.Errorf("order %s, want inputs first: src,work,agg", got)
	}
	if spec.Config["state.backend.type"] != "rocksdb" || spec.Config["execution.checkpointing.interval"] != "5s" {
		t.Errorf("job config %v", spec.Config)
	}
	for k := range spec.Config {
		if strings.HasPrefix(k, "job.autoscaler.") || strings.HasPrefix(k, "taskmanager.") {
			t.Errorf("job config carries cluster/autoscaler key %s", k)
		}
	}
	src, work, agg := spec.Vertices[0], spec.Vertices[1], spec.Vertices[2]
	if src.ServiceNanos != 200_000 || work.ServiceNanos != 10_000_000 || agg.ServiceNanos != 2_500_000 {
		t.Errorf("service times %d %d %d", src.ServiceNanos, work.ServiceNanos, agg.ServiceNanos)
	}
	if src.Partitions != 6 || work.SlotSharingGroup != "heavy" || agg.SlotSharingGroup != "default" {
		t.Errorf("partitions %d, groups %q %q", src.Partitions, work.SlotSharingGroup, agg.SlotSharingGroup)
	}
	if agg.Keys != specKeys || agg.StateBytesPerKey != 2<<20/specKeys || work.Keys != 0 {
		t.Errorf("keyed state: agg %d keys × %d B, work %d keys", agg.Keys, agg.StateBytesPerKey, work.Keys)
	}
	if src.RecordBytes != scenario.DefaultRecordBytes || work.RecordBytes != 1024 || agg.RecordBytes != scenario.DefaultRecordBytes {
		t.Errorf("record bytes %d %d %d, want the default, work's 1024, the default", src.RecordBytes, work.RecordBytes, agg.RecordBytes)
	}
	if agg.Selectivity != 0.5 || len(agg.Inputs) != 1 || agg.Inputs[0] != (SpecInput{From: "work", Ship: "HASH"}) {
		t.Errorf("agg %+v", agg)
	}
	if src.Load == nil || src.Load.Backlog != 500 || work.Load != nil {
		t.Fatalf("loads: src %+v, work %+v", src.Load, work.Load)
	}
	rate := func(ms float64) float64 {
		for _, p := range src.Load.Points {
			if p[0] == ms {
				return p[1]
			}
		}
		t.Fatalf("no point at %v ms in %v", ms, src.Load.Points)
		return 0
	}
	// A step stays a step (points on both sides), a ramp is sampled.
	for _, c := range []struct{ ms, want float64 }{{0, 100}, {3999, 100}, {4000, 300}, {5999, 300}, {6000, 300}, {7000, 200}, {8000, 100}, {10000, 100}} {
		if got := rate(c.ms); got != c.want {
			t.Errorf("rate at %v ms = %v, want %v", c.ms, got, c.want)
		}
	}
	for i := 1; i < len(src.Load.Points); i++ {
		if src.Load.Points[i][0] <= src.Load.Points[i-1][0] {
			t.Fatalf("points not increasing at %d: %v", i, src.Load.Points)
		}
	}
	if _, err := ScenarioSpec(sc, 1, origin); err == nil {
		t.Error("job 1 of a one-job scenario: no error")
	}
	conf := ScenarioClusterConfig(sc)
	if conf["taskmanager.numberOfTaskSlots"] != "2" || conf["jobmanager.memory.process.size"] != "" || conf["taskmanager.network.memory.buffer-debloat.enabled"] != "true" {
		t.Errorf("cluster config %v", conf)
	}
}
