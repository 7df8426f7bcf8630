package tuning

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

func defaultNetwork(t *testing.T) NetworkParams {
	t.Helper()
	np, err := networkParams(flinkconf.New())
	if err != nil {
		t.Fatal(err)
	}
	return np
}

// The worked example of flink-scheduling.md §D.3/§D.4: source(4) -hash-> agg(8) -forward->
// sink(8), one slot sharing group, 4 slots per TaskManager.
func TestNetworkWorkedExample(t *testing.T) {
	vs := []autoscaler.Vertex{
		{ID: "src", SlotSharingGroup: "default"},
		{ID: "agg", SlotSharingGroup: "default", Inputs: []autoscaler.Edge{{From: "src", Ship: autoscaler.ShipHash}}},
		{ID: "sink", SlotSharingGroup: "default", Inputs: []autoscaler.Edge{{From: "agg", Ship: autoscaler.ShipForward}}},
	}
	p := map[string]int{"src": 4, "agg": 8, "sink": 8}
	plan := planNetwork(vs, p, defaultNetwork(t), 4)
	if plan.Required != 92 || plan.RequiredOnly != 3014656 {
		t.Errorf("required %d buffers = %d bytes, want 92 = 3014656", plan.Required, plan.RequiredOnly)
	}
	if plan.Max != 240 {
		t.Errorf("max %d buffers, want 240 (7.5 MiB)", plan.Max)
	}
	if plan.OperatorBytes != 7864320 {
		t.Errorf("operator formula %d, want 7864320", plan.OperatorBytes)
	}
	// Overdraft: 5 per output partition (src and agg) in each of the 4 slots.
	if plan.Overdraft != 40 || plan.Bytes != roundUpMiB(280*32768) || plan.Bytes != 9<<20 {
		t.Errorf("overdraft %d bytes %d", plan.Overdraft, plan.Bytes)
	}
	per := map[string]VertexBuffers{}
	for _, v := range plan.Vertices {
		per[v.ID] = v
	}
	if per["src"].Required != 9 || per["agg"].Required != 11 || per["sink"].Required != 3 {
		t.Errorf("per task required %+v", per)
	}
	if per["src"].Max != 24 || per["agg"].Max != 26 || per["sink"].Max != 10 {
		t.Errorf("per task max %+v", per)
	}
	if g := per["agg"].Inputs[0]; g.Channels != 4 || g.Required != 9 || g.Max != 16 {
		t.Errorf("agg gate %+v", g)
	}
	if len(plan.WorstSlots) != 4 || len(plan.WorstSlots[0].Vertices) != 3 {
		t.Errorf("worst slots %+v", plan.WorstSlots)
	}
}

// The operator's segments per edge (autoscaler.md §13.8): v1 -> v2 REBALANCE at 25 -> 10.
func TestOperatorNetworkReduceExample(t *testing.T) {
	vs := []autoscaler.Vertex{{ID: "v1"}, {ID: "v2", Inputs: []autoscaler.Edge{{From: "v1", Ship: autoscaler.ShipRebalance}}}}
	plan := planNetwork(vs, map[string]int{"v1": 25, "v2": 10}, defaultNetwork(t), 5)
	if plan.OperatorBytes != 14090240 {
		t.Errorf("operator network %d, want 14090240 (13760 kb)", plan.OperatorBytes)
	}
	// Flink's own count: v1 subtasks have a partition of 10 subpartitions (11 required, 28
	// max), v2 subtasks a gate of 25 channels (51 required, 58 max). A slot hosts one of each.
	if plan.Required != 5*(11+51) || plan.Max != 5*(28+58) {
		t.Errorf("required %d max %d", plan.Required, plan.Max)
	}
}

// The operator's calculateNetworkSegmentNumber vectors (testdata/vectors/operator-autoscaler.jsonl).
func TestOperatorSegmentVectors(t *testing.T) {
	f, err := os.Open("../testdata/vectors/operator-autoscaler.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	n := 0
	for sc.Scan() {
		var probe struct {
			Inputs struct {
				Fn string `json:"fn"`
			} `json:"inputs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &probe); err != nil {
			t.Fatal(err)
		}
		if probe.Inputs.Fn != "calculateNetworkSegmentNumber" {
			continue
		}
		var v struct {
			Name   string `json:"name"`
			Inputs struct {
				Fn       string `json:"fn"`
				Cur      int    `json:"currentParallelism"`
				Other    int    `json:"connectedParallelism"`
				Ship     string `json:"shipStrategy"`
				BPC      int    `json:"buffersPerChannel"`
				Floating int    `json:"floatingBuffers"`
			} `json:"inputs"`
			Expect struct {
				Segments int `json:"segments"`
			} `json:"expect"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		if v.Inputs.Fn != "calculateNetworkSegmentNumber" {
			continue
		}
		n++
		in := v.Inputs
		if got := operatorSegments(in.Cur, in.Other, in.Ship, in.BPC, in.Floating); got != v.Expect.Segments {
			t.Errorf("%s: %d segments, want %d", v.Name, got, v.Expect.Segments)
		}
	}
	if n != 5 {
		t.Errorf("%d vectors, want 5", n)
	}
}

func TestNetworkSlotSharingGroups(t *testing.T) {
	// Two groups: a heavy pair (a -> b, all-to-all at 6) and a light sink in its own group.
	vs := []autoscaler.Vertex{
		{ID: "a", SlotSharingGroup: "g1"},
		{ID: "b", SlotSharingGroup: "g1", Inputs: []autoscaler.Edge{{From: "a", Ship: autoscaler.ShipHash}}},
		{ID: "c", SlotSharingGroup: "g2", Inputs: []autoscaler.Edge{{From: "b", Ship: autoscaler.ShipForward}}},
	}
	p := map[string]int{"a": 6, "b": 6, "c": 2}
	plan := planNetwork(vs, p, defaultNetwork(t), 2)
	// g1 slots hold a and b (a's partition of 6: 7; b's gate of 6 channels: 13; b's forward
	// partition to c, ceil(2/6) = 1 subpartition: 2); g2 slots hold c (gate of ceil(6/2) = 3
	// channels: 7). The worst 2-slot TaskManager holds two g1 slots: 2 × 22.
	if plan.Required != 44 {
		t.Errorf("required %d, want 44", plan.Required)
	}
	for _, s := range plan.WorstSlots {
		if s.Group != "g1" {
			t.Errorf("worst slots %+v", plan.WorstSlots)
		}
	}
	// Pointwise channel counts.
	if got := channels(2, 6, autoscaler.ShipForward); got != 3 {
		t.Errorf("forward 6 -> 2: %d channels", got)
	}
	if got := channels(6, 2, autoscaler.ShipRescale); got != 1 {
		t.Errorf("rescale 2 -> 6: %d channels", got)
	}
	// Finished vertices host nothing.
	vs[2].Finished = true
	if plan := planNetwork(vs, p, defaultNetwork(t), 2); len(plan.Vertices) != 2 {
		t.Errorf("finished vertex planned: %+v", plan.Vertices)
	}
}

func TestNetworkHeadroomAndRequiredCap(t *testing.T) {
	vs := []autoscaler.Vertex{{ID: "a", MaxParallelism: 10}, {ID: "b", MaxParallelism: 128, Inputs: []autoscaler.Edge{{From: "a", Ship: autoscaler.ShipHash}}}}
	p := map[string]int{"a": 8, "b": 8}
	plan := planNetwork(vs, p, defaultNetwork(t), 4)
	base := plan.Bytes
	plan.withHeadroom(vs, p, 2)
	if plan.HeadroomParallelism["a"] != 10 || plan.HeadroomParallelism["b"] != 16 || plan.Bytes < base || plan.Bytes != plan.HeadroomBytes {
		t.Errorf("headroom %v bytes %d (base %d)", plan.HeadroomParallelism, plan.Bytes, base)
	}
	cfg := flinkconf.FromMap(map[string]string{flinkconf.NetworkRequiredPerGateMax.Key: "5"})
	np, err := networkParams(cfg)
	if err != nil {
		t.Fatal(err)
	}
	capped := planNetwork(vs, p, np, 4)
	for _, v := range capped.Vertices {
		for _, g := range v.Inputs {
			if g.Required != 5 {
				t.Errorf("capped gate %+v", g)
			}
		}
	}
	if _, err := networkParams(flinkconf.FromMap(map[string]string{flinkconf.TMBuffersPerChannel.Key: "x"})); err == nil {
		t.Error("bad buffers-per-channel accepted")
	}
}
