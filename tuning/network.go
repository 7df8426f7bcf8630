package tuning

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Network memory is computed from the topology with Flink's own buffer rules
// (flink-scheduling.md §D.3), placed on TaskManagers by the slots they host: with slot
// sharing, slot i of a group hosts subtask i of every vertex of that group, so the slots of a
// group differ in what they host and a TaskManager's need is the sum over its slots.

// NetworkParams are the network options the arithmetic reads.
type NetworkParams struct {
	SegmentSize       int64 `json:"segmentSize"`
	BuffersPerChannel int   `json:"buffersPerChannel"`
	FloatingPerGate   int   `json:"floatingBuffersPerGate"`
	OverdraftPerGate  int   `json:"maxOverdraftBuffersPerGate"`
	// MaxRequiredPerGate caps a gate's required buffers
	// (taskmanager.network.memory.read-buffer.required-per-gate.max); 0 means no cap (streaming).
	MaxRequiredPerGate int `json:"maxRequiredPerGate,omitempty"`
}

// networkParams reads the network options of cfg.
func networkParams(cfg *flinkconf.Config) (NetworkParams, error) {
	var p NetworkParams
	seg, _, e := cfg.MemorySize(flinkconf.TMSegmentSize)
	if e != nil {
		return p, e
	}
	bpc, _, e := cfg.Int(flinkconf.TMBuffersPerChannel)
	if e != nil {
		return p, e
	}
	fl, _, e := cfg.Int(flinkconf.TMFloatingPerGate)
	if e != nil {
		return p, e
	}
	od, _, e := cfg.Int(flinkconf.TMMaxOverdraftPerGate)
	if e != nil {
		return p, e
	}
	mr, ok, e := cfg.Int(flinkconf.NetworkRequiredPerGateMax)
	if e != nil {
		return p, e
	}
	if seg <= 0 || bpc < 0 || fl < 0 || od < 0 {
		return p, fmt.Errorf("network options out of range: segment size %d, buffers per channel %d, floating buffers %d, overdraft %d", seg, bpc, fl, od)
	}
	p = NetworkParams{SegmentSize: seg, BuffersPerChannel: int(bpc), FloatingPerGate: int(fl), OverdraftPerGate: int(od)}
	if ok && mr > 0 {
		p.MaxRequiredPerGate = int(mr)
	}
	return p, nil
}

// Gate is one input gate or output partition of a vertex with its buffer counts.
type Gate struct {
	// Peer is the upstream vertex of an input gate, the downstream vertex of a partition.
	Peer string `json:"peer"`
	Ship string `json:"ship"`
	// Channels: input channels of a gate, subpartitions of a partition.
	Channels int `json:"channels"`
	Required int `json:"required"`
	Max      int `json:"max"`
}

// VertexBuffers are one subtask's buffers of a vertex at its planned parallelism.
type VertexBuffers struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Parallelism int    `json:"parallelism"`
	Group       string `json:"slotSharingGroup,omitempty"`
	Inputs      []Gate `json:"inputs,omitempty"`
	Outputs     []Gate `json:"outputs,omitempty"`
	// Required is what Flink insists on when the subtask starts; Max is with every floating
	// buffer; Overdraft are the extra buffers output partitions may borrow.
	Required  int `json:"required"`
	Max       int `json:"max"`
	Overdraft int `json:"overdraft"`
}

// SlotBuffers is one slot of a slot sharing group: the subtasks it hosts and their buffers.
type SlotBuffers struct {
	Group     string   `json:"slotSharingGroup"`
	Index     int      `json:"index"`
	Vertices  []string `json:"vertices"`
	Required  int      `json:"required"`
	Max       int      `json:"max"`
	Overdraft int      `json:"overdraft"`
}

// NetworkPlan is the network arithmetic for one parallelism layout.
type NetworkPlan struct {
	Params       NetworkParams   `json:"params"`
	SlotsPerTM   int             `json:"slotsPerTaskManager"`
	Vertices     []VertexBuffers `json:"vertices"`
	WorstSlots   []SlotBuffers   `json:"worstTaskManagerSlots"`
	Required     int             `json:"requiredBuffers"`  // on the worst TaskManager
	Max          int             `json:"maxBuffers"`       // with floating buffers
	Overdraft    int             `json:"overdraftBuffers"` // overdraft of its partitions
	Bytes        int64           `json:"bytes"`            // proposed network memory
	RequiredOnly int64           `json:"requiredBytes"`    // Flink's hard minimum
	// Headroom: the network memory also covers every vertex at HeadroomParallelism (the
	// target times the headroom option, within the max parallelism), which needs
	// HeadroomBytes; Bytes is the larger of the two.
	HeadroomParallelism map[string]int `json:"headroomParallelism,omitempty"`
	HeadroomBytes       int64          `json:"headroomBytes,omitempty"`
	// OperatorBytes is what the operator's formula (flink-scheduling.md §D.4) gives for the
	// same layout: maxima of every vertex times the slots per TaskManager.
	OperatorBytes int64 `json:"operatorBytes"`
}

// pointwise reports whether an edge connects each subtask to a few peers, not to all.
func pointwise(ship string) bool {
	return ship == autoscaler.ShipForward || ship == autoscaler.ShipRescale
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// channels is the channel count of a gate of a vertex with parallelism own fed by peer
// subtasks (or the subpartitions of a partition with peer consumers). A FORWARD edge between
// different parallelisms runs like RESCALE (the pointwise pattern).
func channels(own, peer int, ship string) int {
	if pointwise(ship) {
		return max(1, ceilDiv(peer, own))
	}
	return peer
}

// planNetwork computes the buffers of every vertex at parallelism p and the worst
// TaskManager with slotsPerTM slots.
func planNetwork(vertices []autoscaler.Vertex, p map[string]int, np NetworkParams, slotsPerTM int) *NetworkPlan {
	plan := &NetworkPlan{Params: np, SlotsPerTM: slotsPerTM}
	var opSegments int
	plan.Vertices, opSegments = vertexBuffers(vertices, p, np)
	plan.OperatorBytes = int64(opSegments) * np.SegmentSize * int64(slotsPerTM)
	slots := groupSlots(plan.Vertices, slotsPerTM)
	// The worst TaskManager holds the slotsPerTM slots with the most buffers (an upper bound
	// for any placement of whole slots).
	slices.SortStableFunc(slots, func(a, b SlotBuffers) int {
		return cmp.Or(cmp.Compare(b.Max+b.Overdraft, a.Max+a.Overdraft), cmp.Compare(b.Required, a.Required))
	})
	if len(slots) > slotsPerTM {
		slots = slots[:slotsPerTM]
	}
	plan.WorstSlots = slots
	for _, s := range slots {
		plan.Required += s.Required
		plan.Max += s.Max
		plan.Overdraft += s.Overdraft
	}
	plan.RequiredOnly = int64(plan.Required) * np.SegmentSize
	plan.Bytes = roundUpMiB(int64(plan.Max+plan.Overdraft) * np.SegmentSize)
	return plan
}

// vertexBuffers sizes each unfinished vertex's input and output gates at parallelism p (at
// least 1): their channels, the buffers Flink requires and the most they can take. It also
// returns the segments the operator formula counts (operatorSegments), for the comparison.
func vertexBuffers(vertices []autoscaler.Vertex, p map[string]int, np NetworkParams) ([]VertexBuffers, int) {
	par := func(id string) int { return max(1, p[id]) }
	outputs := map[string][]autoscaler.Edge{} // upstream -> edges to downstream (From = downstream)
	for _, v := range vertices {
		for _, e := range v.Inputs {
			outputs[e.From] = append(outputs[e.From], autoscaler.Edge{From: v.ID, Ship: e.Ship})
		}
	}
	bpc, fl := np.BuffersPerChannel, np.FloatingPerGate
	var out []VertexBuffers
	var opSegments int
	for _, v := range vertices {
		if v.Finished {
			continue
		}
		vb := VertexBuffers{ID: v.ID, Name: v.Name, Parallelism: par(v.ID), Group: v.SlotSharingGroup}
		for _, e := range v.Inputs {
			c := channels(par(v.ID), par(e.From), e.Ship)
			req := c*bpc + 1
			if np.MaxRequiredPerGate > 0 {
				req = min(req, np.MaxRequiredPerGate)
			}
			g := Gate{Peer: e.From, Ship: e.Ship, Channels: c, Required: req, Max: c*bpc + fl}
			vb.Inputs = append(vb.Inputs, g)
			vb.Required += g.Required
			vb.Max += g.Max
			opSegments += operatorSegments(par(v.ID), par(e.From), e.Ship, bpc, fl)
		}
		for _, e := range outputs[v.ID] {
			s := channels(par(v.ID), par(e.From), e.Ship)
			g := Gate{Peer: e.From, Ship: e.Ship, Channels: s, Required: s + 1, Max: s*bpc + fl}
			vb.Outputs = append(vb.Outputs, g)
			vb.Required += g.Required
			vb.Max += g.Max
			vb.Overdraft += np.OverdraftPerGate
			opSegments += operatorSegments(par(v.ID), par(e.From), e.Ship, bpc, fl)
		}
		out = append(out, vb)
	}
	return out, opSegments
}

// groupSlots lists the slots of each sharing group (sorted by name) with the buffers of what
// they host: slot i hosts subtask i of every vertex with parallelism > i. Slot i hosts a
// subset of what slot i-1 hosts, so a group's first slotsPerTM slots are its heaviest and
// the others are left out.
func groupSlots(vertices []VertexBuffers, slotsPerTM int) []SlotBuffers {
	groups := map[string][]*VertexBuffers{}
	var order []string
	for i := range vertices {
		vb := &vertices[i]
		if _, ok := groups[vb.Group]; !ok {
			order = append(order, vb.Group)
		}
		groups[vb.Group] = append(groups[vb.Group], vb)
	}
	slices.Sort(order)
	var slots []SlotBuffers
	for _, g := range order {
		maxP := 0
		for _, vb := range groups[g] {
			maxP = max(maxP, vb.Parallelism)
		}
		for i := 0; i < min(maxP, slotsPerTM); i++ {
			s := SlotBuffers{Group: g, Index: i}
			for _, vb := range groups[g] {
				if vb.Parallelism > i {
					s.Vertices = append(s.Vertices, vb.ID)
					s.Required += vb.Required
					s.Max += vb.Max
					s.Overdraft += vb.Overdraft
				}
			}
			slots = append(slots, s)
		}
	}
	return slots
}

// withHeadroom extends the plan to cover every vertex at factor × its parallelism (at most its
// max parallelism when known).
func (plan *NetworkPlan) withHeadroom(vertices []autoscaler.Vertex, p map[string]int, factor float64) {
	if factor <= 1 {
		return
	}
	hp := make(map[string]int, len(p))
	for _, v := range vertices {
		x, ok := p[v.ID]
		if !ok {
			continue
		}
		y := int(math.Ceil(float64(x) * factor))
		if v.MaxParallelism > 0 {
			y = min(y, max(x, v.MaxParallelism))
		}
		hp[v.ID] = y
	}
	h := planNetwork(vertices, hp, plan.Params, plan.SlotsPerTM)
	plan.HeadroomParallelism, plan.HeadroomBytes = hp, h.Bytes
	plan.Bytes = max(plan.Bytes, h.Bytes)
}

// operatorSegments is the operator's calculateNetworkSegmentNumber (flink-scheduling.md §D.4).
func operatorSegments(own, other int, ship string, bpc, floating int) int {
	if own == other && ship == autoscaler.ShipForward {
		return bpc + floating
	}
	if ship == autoscaler.ShipForward || ship == autoscaler.ShipRescale {
		return int(math.Ceil(float64(other)/float64(own)))*bpc + floating
	}
	return other*bpc + floating
}

const mib = 1 << 20

// roundUpMiB rounds n up to a whole MiB (keeps rendered sizes short: "13 mb").
func roundUpMiB(n int64) int64 {
	if n <= 0 {
		return 0
	}
	if n > math.MaxInt64-mib {
		return math.MaxInt64 / mib * mib // saturate: n + mib - 1 would wrap negative
	}
	return (n + mib - 1) / mib * mib
}
