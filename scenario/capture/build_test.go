package capture

import (
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
)

func obsOf(nodes []flinkrest.PlanNode, window time.Duration) Observation {
	var vs []flinkrest.JobVertex
	for _, n := range nodes {
		vs = append(vs, flinkrest.JobVertex{ID: n.ID, Name: n.ID, Parallelism: 1})
	}
	return Observation{FlinkVersion: "2.2.1", Job: flinkrest.JobDetailsInfo{Name: "j", Vertices: vs, Plan: flinkrest.Plan{Nodes: nodes}},
		First: Sample{At: time.Unix(0, 0)}, Last: Sample{At: time.Unix(0, 0).Add(window)}}
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		obs   Observation
		error string
	}{
		{"no window", obsOf([]flinkrest.PlanNode{{ID: "a"}}, 0), "want a positive window"},
		{"cycle", obsOf([]flinkrest.PlanNode{{ID: "a", Inputs: []flinkrest.PlanInput{{ID: "b"}}}, {ID: "b", Inputs: []flinkrest.PlanInput{{ID: "a"}}}}, time.Second), "cycle"},
		{"unknown input", obsOf([]flinkrest.PlanNode{{ID: "a", Inputs: []flinkrest.PlanInput{{ID: "zz"}}}}, time.Second), "zz is no vertex"},
		{"empty plan", obsOf(nil, time.Second), "no vertices"},
	} {
		if _, err := Build(tc.obs, "x"); err == nil || !strings.Contains(err.Error(), tc.error) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.error)
		}
	}
}

// An idle vertex gets a capacity from its rate and a note; one without records a default;
// a 2.x version maps to the simulator's 2.0 model; Flink's HASH spelling variants ship HASH.
func TestBuildEdges(t *testing.T) {
	obs := obsOf([]flinkrest.PlanNode{{ID: "a"}, {ID: "b", Inputs: []flinkrest.PlanInput{{ID: "a", ShipStrategy: "HASH[0]"}}},
		{ID: "c", Inputs: []flinkrest.PlanInput{{ID: "b", ShipStrategy: "CUSTOM"}}}}, 10*time.Second)
	obs.First.Vertices = map[string]VertexSample{"a": {}, "b": {}, "c": {}}
	obs.Last.Vertices = map[string]VertexSample{"a": {RecordsOut: 100, Busy: 10}, "b": {RecordsIn: 100}, "c": {}}
	tw, err := Build(obs, "edge")
	if err != nil {
		t.Fatal(err)
	}
	y := string(tw.YAML)
	for _, want := range []string{`flinkVersion: "2.0"`, "ship: HASH", "ship: REBALANCE", "capacity: 500", "b: busy 0.0% is too little to measure", "c: no records in the window"} {
		if !strings.Contains(y, want) {
			t.Errorf("twin lacks %q:\n%s", want, y)
		}
	}
}

// A vertex whose busy time per record falls between the window's halves (a job still warming
// up) gets a note; a steady one does not, and neither does a vertex too idle to measure.
func TestBuildNotesUnsteady(t *testing.T) {
	for _, tc := range []struct {
		name     string
		midBusy  float64 // b's accumulated busy ms at the middle sample (of 3000 at the end)
		wantNote bool
	}{
		{"steady", 1500, false},
		{"within tolerance", 1600, false}, // 1.6 vs 1.4 ms per record: 12.5%
		{"warming up", 2000, true},        // 2.0 vs 1.0 ms per record
		{"speeding up", 1000, true},       // 1.0 vs 2.0 ms per record
	} {
		obs := obsOf([]flinkrest.PlanNode{{ID: "a"}, {ID: "b", Inputs: []flinkrest.PlanInput{{ID: "a"}}}}, 10*time.Second)
		obs.First.Vertices = map[string]VertexSample{"a": {}, "b": {}}
		mid := Sample{At: time.Unix(5, 0), Vertices: map[string]VertexSample{
			"a": {RecordsOut: 1000, Busy: 300}, "b": {RecordsIn: 1000, Busy: tc.midBusy}}}
		obs.Mid = &mid
		obs.Last.Vertices = map[string]VertexSample{"a": {RecordsOut: 2000, Busy: 600}, "b": {RecordsIn: 2000, Busy: 3000}}
		tw, err := Build(obs, "warm")
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(string(tw.YAML), "b: busy time per record moved")
		if got != tc.wantNote || strings.Contains(string(tw.YAML), "a: busy time per record") {
			t.Errorf("%s: note on b %v, want %v:\n%s", tc.name, got, tc.wantNote, tw.YAML)
		}
	}
}

// Flink counts numBytesOut per finished network buffer, so the counter steps by up to 32 KiB
// per channel behind the records. A window's delta then misreads the record size (here 1,400
// records of 260 bytes in the window, two channels each a buffer behind at the window's
// start: 307 bytes, 18% over); the tasks' whole life reads it within the lag's share of it.
func TestRecordBytesFromBufferedCounter(t *testing.T) {
	const size, buffer = 260, 32 * 1024
	finished := func(records float64, lagging int) float64 { // bytes counted, lagging channels a buffer behind
		return records*size - float64(lagging*buffer)
	}
	obs := obsOf([]flinkrest.PlanNode{{ID: "a"}, {ID: "b", Inputs: []flinkrest.PlanInput{{ID: "a"}}}}, 20*time.Second)
	obs.First.Vertices = map[string]VertexSample{"a": {RecordsOut: 3500, BytesOut: finished(3500, 2), Busy: 100}, "b": {RecordsIn: 3500}}
	obs.Last.Vertices = map[string]VertexSample{"a": {RecordsOut: 4900, BytesOut: finished(4900, 0), Busy: 200}, "b": {RecordsIn: 4900}}
	window := (obs.Last.Vertices["a"].BytesOut - obs.First.Vertices["a"].BytesOut) / 1400
	tw, err := Build(obs, "bytes")
	if err != nil {
		t.Fatal(err)
	}
	got := tw.Vertices[0].RecordBytes
	if got != size {
		t.Errorf("record size %d bytes, want %d (the window's delta reads %.0f)", got, size, window)
	}
	// A vertex counted a buffer behind at the end reads low by that buffer's share of its life.
	if rb := recordBytes(VertexSample{RecordsOut: 4900, BytesOut: finished(4900, 1)}); rb < size*95/100 || rb >= size {
		t.Errorf("a buffer behind: %d bytes, want within 5%% under %d", rb, size)
	}
	if rb := recordBytes(VertexSample{}); rb != 0 {
		t.Errorf("no records out: %d bytes, want 0", rb)
	}
}
