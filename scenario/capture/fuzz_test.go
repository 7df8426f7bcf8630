package capture

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
)

// FuzzBuild feeds Build what a Flink REST API might answer, decoded from JSON: plans with
// cycles, unknown inputs and odd ship strategies, counters going backwards, NaN and huge
// numbers. Build must never panic, and a twin it returns must load with one vertex per plan
// node and a positive capacity each.
func FuzzBuild(f *testing.F) {
	seed := Observation{
		FlinkVersion: "1.20.5",
		Job: flinkrest.JobDetailsInfo{JID: "j", Name: "job", MaxParallelism: 128,
			Vertices: []flinkrest.JobVertex{{ID: "a", Name: "Source: a", Parallelism: 1, SlotSharingGroupID: "g1"},
				{ID: "b", Name: "b", Parallelism: 2, MaxParallelism: 128, SlotSharingGroupID: "g2"}},
			Plan: flinkrest.Plan{Nodes: []flinkrest.PlanNode{{ID: "a", Parallelism: 1},
				{ID: "b", Parallelism: 2, Inputs: []flinkrest.PlanInput{{ID: "a", ShipStrategy: "HASH"}}}}}},
		TaskManagers: 1, Slots: 2,
		First: Sample{At: time.UnixMilli(1000), Vertices: map[string]VertexSample{"a": {RecordsOut: 10}, "b": {RecordsIn: 10, RecordsOut: 5}}},
		Last: Sample{At: time.UnixMilli(31000), Vertices: map[string]VertexSample{"a": {RecordsOut: 3010, Busy: 900, Pending: 40},
			"b": {RecordsIn: 3010, RecordsOut: 1505, Busy: 30000}}},
		TotalState: 1 << 20,
	}
	b, _ := json.Marshal(seed)
	f.Add(b)
	f.Add([]byte(`{"Job":{"plan":{"nodes":[{"id":"x","inputs":[{"id":"x"}]}]}},"Last":{"At":"2020-01-01T00:00:01Z"}}`))
	f.Add([]byte(`{"Job":{"plan":{"nodes":[{"id":"x","inputs":[{"id":"y","ship_strategy":"CUSTOM"}]}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var obs Observation
		if json.Unmarshal(data, &obs) != nil {
			return
		}
		tw, err := Build(obs, obs.Job.Name)
		if err != nil {
			return
		}
		sc, err := scenario.Parse(tw.YAML, "twin.yaml")
		if err != nil {
			t.Fatalf("Build returned a twin that does not load: %v\n%s", err, tw.YAML)
		}
		if n := len(sc.Jobs[0].Vertices); n != len(obs.Job.Plan.Nodes) {
			t.Fatalf("twin has %d vertices, the plan %d", n, len(obs.Job.Plan.Nodes))
		}
		for _, v := range sc.Jobs[0].Vertices {
			if !(v.Capacity > 0) {
				t.Fatalf("vertex %s capacity %v", v.ID, v.Capacity)
			}
		}
	})
}
