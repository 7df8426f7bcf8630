package operator

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/autoscaler"
)

// Ship strategies as the operator's ShipStrategy enum knows them.
const (
	ShipHash      = "HASH"
	ShipRebalance = "REBALANCE"
	ShipRescale   = "RESCALE"
	ShipForward   = "FORWARD"
	ShipCustom    = "CUSTOM"
	ShipBroadcast = "BROADCAST"
	ShipGlobal    = "GLOBAL"
	ShipShuffle   = "SHUFFLE"
	ShipUnknown   = "UNKNOWN"
)

var shipStrategies = []string{ShipHash, ShipRebalance, ShipRescale, ShipForward, ShipCustom, ShipBroadcast, ShipGlobal, ShipShuffle, ShipUnknown}

// ParseShip is ShipStrategy.of: case-insensitive, anything else is UNKNOWN.
func ParseShip(s string) string {
	for _, k := range shipStrategies {
		if strings.EqualFold(k, s) {
			return k
		}
	}
	return ShipUnknown
}

// Input is one edge into (or out of) a vertex.
type Input struct {
	Vertex string `json:"vertex"`
	Ship   string `json:"ship"`
}

// VertexInfo is the operator's VertexInfo: a job vertex as the autoscaler sees it.
type VertexInfo struct {
	ID                  string
	Inputs              []Input // upstream vertices, in plan order
	Outputs             []Input // downstream vertices, derived
	Parallelism         int
	MaxParallelism      int
	NumSourcePartitions int
	SlotSharingGroup    string // "" when Flink reports none
	Finished            bool
	// Cumulative I/O counters from the job details (IOMetrics); zero for finished vertices.
	NumRecordsIn        int64
	NumRecordsOut       int64
	AccumulatedBusyTime float64
}

// Topology is the operator's JobTopology.
type Topology struct {
	Vertices map[string]*VertexInfo
	// Order is the topological order (Kahn levels, ids sorted within a level).
	Order []string
	// SlotSharingGroups maps each group to its vertices (vertices without a group are left out).
	SlotSharingGroups map[string][]string
	Finished          map[string]bool
}

// NewTopology links the vertices' inputs to outputs and orders them topologically.
func NewTopology(vertices []*VertexInfo) (*Topology, error) {
	t := &Topology{Vertices: map[string]*VertexInfo{}, SlotSharingGroups: map[string][]string{}, Finished: map[string]bool{}}
	for _, v := range vertices {
		if _, dup := t.Vertices[v.ID]; dup {
			return nil, fmt.Errorf("duplicate vertex %s in the job plan", v.ID)
		}
		v.Outputs = nil
		t.Vertices[v.ID] = v
	}
	ids := make([]string, 0, len(vertices))
	for _, v := range vertices {
		ids = append(ids, v.ID)
	}
	slices.Sort(ids)
	for _, id := range ids {
		v := t.Vertices[id]
		for _, in := range v.Inputs {
			up, ok := t.Vertices[in.Vertex]
			if !ok {
				return nil, fmt.Errorf("vertex %s has an input from %s, which is not in the job plan", id, in.Vertex)
			}
			up.Outputs = append(up.Outputs, Input{Vertex: id, Ship: in.Ship})
		}
		if v.SlotSharingGroup != "" {
			t.SlotSharingGroups[v.SlotSharingGroup] = append(t.SlotSharingGroups[v.SlotSharingGroup], id)
		}
		if v.Finished {
			t.Finished[id] = true
		}
	}
	remaining := map[string]int{}
	for _, id := range ids {
		remaining[id] = len(t.Vertices[id].Inputs)
	}
	for len(remaining) > 0 {
		var level []string
		for id, n := range remaining {
			if n == 0 {
				level = append(level, id)
			}
		}
		if len(level) == 0 {
			return nil, fmt.Errorf("the job plan has a cycle")
		}
		slices.Sort(level)
		for _, id := range level {
			delete(remaining, id)
			for _, out := range t.Vertices[id].Outputs {
				remaining[out.Vertex]--
			}
		}
		t.Order = append(t.Order, level...)
	}
	return t, nil
}

// TopologyFromSnapshot builds the topology of a snapshot (without partition counts).
func TopologyFromSnapshot(snap *autoscaler.Snapshot) (*Topology, error) {
	vs := make([]*VertexInfo, 0, len(snap.Vertices))
	for i := range snap.Vertices {
		sv := &snap.Vertices[i]
		v := &VertexInfo{
			ID:               sv.ID,
			Parallelism:      sv.Parallelism,
			MaxParallelism:   sv.MaxParallelism,
			SlotSharingGroup: sv.SlotSharingGroup,
			Finished:         sv.Finished,
		}
		seen := map[string]bool{}
		for _, e := range sv.Inputs {
			if seen[e.From] {
				continue // the operator keeps inputs in a map keyed by upstream vertex
			}
			seen[e.From] = true
			v.Inputs = append(v.Inputs, Input{Vertex: e.From, Ship: ParseShip(e.Ship)})
		}
		if !sv.Finished {
			v.NumRecordsIn, v.NumRecordsOut, v.AccumulatedBusyTime = sv.ReadRecords, sv.WriteRecords, sv.AccumulatedBusyTime
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		return nil, notReady("No nodes found in the plan, job is not ready yet")
	}
	return NewTopology(vs)
}

// Get returns a vertex or nil.
func (t *Topology) Get(id string) *VertexInfo { return t.Vertices[id] }

// IsSource reports whether the vertex has no inputs.
func (t *Topology) IsSource(id string) bool {
	v := t.Vertices[id]
	return v != nil && len(v.Inputs) == 0
}

// inputShips returns the ship strategies of a vertex's inputs.
func (t *Topology) inputShips(id string) []string {
	v := t.Vertices[id]
	out := make([]string, len(v.Inputs))
	for i, in := range v.Inputs {
		out[i] = in.Ship
	}
	return out
}
