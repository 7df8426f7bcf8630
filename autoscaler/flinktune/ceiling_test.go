package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// drainJob is a source -> filter -> keyed window chain at 50,000/s with 120 M records of lag
// (200,000/s to drain within catch-up): the window gets a tenth of the records.
func drainJob(winMaxP int) *evaluation {
	src := vertexInfo{ID: "src", P: 10, Source: true}
	flt := vertexInfo{ID: "flt", P: 10, Inputs: []string{"src"}}
	win := vertexInfo{ID: "win", P: 10, MaxP: winMaxP, HashInput: true, Inputs: []string{"flt"}}
	all := map[string]bool{"src": true}
	return &evaluation{
		order: []vertexInfo{src, flt, win},
		models: map[string]*vertexModel{
			"src": {info: src, perSubtask: 20000, known: true, hot: 1},
			"flt": {info: flt, perSubtask: 5000, known: true, hot: 1},
			"win": {info: win, perSubtask: 1000, known: true, hot: 1},
		},
		demand:   map[string]float64{"src": 50000, "flt": 50000, "win": 5000},
		peak:     map[string]float64{"src": 50000, "flt": 50000, "win": 5000},
		forecast: map[string]float64{"src": 50000, "flt": 50000, "win": 5000},
		catchUp:  map[string]float64{"src": 200000, "flt": 200000, "win": 20000},
		feeds:    map[string]map[string]bool{"src": all, "flt": all, "win": all},
		lagSecOf: map[string]float64{"src": 2400},
		ingest:   50000,
	}
}

// A vertex that cannot be sized for the lag it must drain (here the window at its max
// parallelism of 16: 16,000/s of its 25,000/s) holds the job's catch-up at 160,000/s of source
// input; the filter is sized for that (160,000/0.95/5,000: 34 subtasks), not for the 250,000/s
// the lag alone asks (53 and more), and the source keeps its 10.
func TestDrainBoundedByCappedVertex(t *testing.T) {
	e := drainJob(16)
	p := New(DefaultOptions())
	p.st.Downtimes = []float64{60}
	sz := p.size(e, srcCapacity(e, nil))
	if got := sz.up["win"]; got != 16 {
		t.Fatalf("window sized %d, want its max parallelism 16", got)
	}
	if got := sz.up["flt"]; got != 34 {
		t.Errorf("filter sized %d, want 34 (the rate the capped window lets the source read)", got)
	}
	if got := sz.up["src"]; got != 10 {
		t.Errorf("source sized %d, want 10 (it reads 200,000/s already)", got)
	}
	// Nothing capped: the drain is sized for the whole lag, as before.
	e = drainJob(128)
	if got := p.size(e, srcCapacity(e, nil)).up["flt"]; got < 53 {
		t.Errorf("uncapped filter sized %d, want at least 53", got)
	}
}

// A target not reached with no slot free teaches the slot ceiling, and later scale-ups stay
// within it (two slot sharing groups: the other group's 4 slots stay taken). More slots in
// the cluster than then lift it.
func TestSlotCeilingLearnedAndApplied(t *testing.T) {
	p := New(DefaultOptions())
	p.st.Downtimes = []float64{60}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.st.LastChange, p.st.AppliedAt = t0, t0
	p.st.RunningSince = t0.Add(-time.Hour)
	p.st.Target = map[string]int{"win": 40}
	infos := []vertexInfo{{ID: "src", P: 4, SlotSharing: "a"}, {ID: "win", P: 20, SlotSharing: "b"}}
	snap := &autoscaler.Snapshot{Time: t0.Add(6 * time.Minute), RunningSince: t0.Add(time.Minute), Status: "RUNNING",
		SlotsTotal: 24, SlotsAvailable: 0,
		Vertices: []autoscaler.Vertex{{ID: "src", Parallelism: 4}, {ID: "win", Parallelism: 20}}}
	p.restarted(snap) // the rescale's restart, a minute after it was applied
	p.noteSlotCeiling(snap, infos)
	if p.st.SlotCeiling != 24 {
		t.Fatalf("ceiling %d, want 24 (the slots the job holds)", p.st.SlotCeiling)
	}

	e := drainJob(128)
	for i := range e.order {
		e.order[i].SlotSharing = "b"
		e.models[e.order[i].ID].info.SlotSharing = "b"
	}
	e.order = append([]vertexInfo{{ID: "other", P: 4, SlotSharing: "a", Source: true}}, e.order...)
	e.models["other"] = &vertexModel{info: e.order[0], perSubtask: 1000, known: true, hot: 1}
	e.demand["other"], e.forecast["other"], e.peak["other"] = 1, 1, 1
	e.feeds["other"] = map[string]bool{"other": true}
	sz := p.size(e, srcCapacity(e, nil))
	for _, id := range []string{"src", "flt", "win"} {
		if sz.up[id] > 20 {
			t.Errorf("%s sized %d, above the 24-slot ceiling less the other group's 4", id, sz.up[id])
		}
	}
	if sz.up["src"] != 10 {
		t.Errorf("source sized %d, want 10: the window capped at 20 holds the catch-up", sz.up["src"])
	}

	snap.SlotsTotal, snap.SlotsAvailable = 30, 6
	p.noteSlotCeiling(snap, infos)
	if p.st.SlotCeiling != 0 {
		t.Errorf("ceiling %d kept after the cluster grew", p.st.SlotCeiling)
	}

	// A TaskManager lost 20 minutes after the rescale: the job restarts below its target with
	// no slot free while the replacement comes, which says nothing of the cluster's size.
	snap.SlotsTotal, snap.SlotsAvailable = 20, 0
	snap.RunningSince, snap.Time = t0.Add(20*time.Minute), t0.Add(21*time.Minute)
	snap.Vertices[1].Parallelism = 16
	p.restarted(snap)
	p.noteSlotCeiling(snap, infos)
	if p.st.SlotCeiling != 0 {
		t.Errorf("ceiling %d learned from a failure's restart", p.st.SlotCeiling)
	}
}
