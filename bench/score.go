// Package bench runs scaling policies against the simulator in lockstep and scores them
// with the fields of scenarios/FORMAT.md ("What flinktune bench reports").
package bench

import (
	"math"
	"time"

	"github.com/flinktune/flinktune/sim"
)

// Convergence describes how a policy reacted to one load change.
type Convergence struct {
	// At is the load change, in seconds since the start.
	At float64 `json:"at"`
	// Steps are the rescales the policy applied until the configuration stayed put.
	Steps int `json:"steps"`
	// Seconds from the load change until the last of those rescales and lag back under
	// slo.maxLag; -1 if that did not happen before the next load change or the end.
	Seconds float64 `json:"seconds"`
	// Settled is false when Seconds is -1.
	Settled bool `json:"settled"`
}

// Memory are the memory fields of a result.
type Memory struct {
	OOMKills                   int     `json:"oomKills"`
	ContainerKills             int     `json:"containerKills"`
	TaskManagerProcessBytesAvg float64 `json:"taskManagerProcessBytesAvg"`
	HeapUsedMaxRatio           float64 `json:"heapUsedMaxRatio"`
}

// Result is one policy's score on one scenario (all jobs of the scenario summed).
type Result struct {
	Scenario            string  `json:"scenario"`
	Policy              string  `json:"policy"`
	Seed                uint64  `json:"seed"`
	SimulatedSeconds    float64 `json:"simulatedSeconds"`
	Rescales            int     `json:"rescales"`
	Restarts            int     `json:"restarts"`
	DowntimeSeconds     float64 `json:"downtimeSeconds"`
	SlotSeconds         float64 `json:"slotSeconds"`
	TaskManagerSeconds  float64 `json:"taskManagerSeconds"`
	ParallelismSeconds  float64 `json:"parallelismSeconds"`
	MinimalSlotSeconds  float64 `json:"minimalSlotSeconds"`
	LagViolationSeconds float64 `json:"lagViolationSeconds"`
	// UnansweredLagViolationSeconds are lag-violation seconds in episodes (lag continuously
	// above slo.maxLag) in which the policy did not rescale at all.
	UnansweredLagViolationSeconds float64 `json:"unansweredLagViolationSeconds"`
	MaxLagSeconds                 float64 `json:"maxLagSeconds"`
	InputRecords                  int64   `json:"inputRecords"`
	ProcessedRecords              int64   `json:"processedRecords"`
	FinalLagRecords               int64   `json:"finalLagRecords"`
	// Oscillations are rescales in which some vertex reverses its own previous parallelism
	// change within slo.settle (per vertex, as the operator judges a scaling ineffective).
	Oscillations int `json:"oscillations"`
	// JobLevelOscillations are rescales whose job-total subtask direction reverses the
	// previous rescale's within settle (the older, coarser count, reported beside it).
	JobLevelOscillations int `json:"jobLevelOscillations"`
	// Flapping are the oscillations no load change explains: the reversing vertex's sources
	// stayed, between its two changes, within the range of the settle before the first, by
	// more than their noise (flapping.go).
	Flapping    int           `json:"flapping"`
	Convergence []Convergence `json:"convergence"`
	Memory      Memory        `json:"memory"`
	// MemoryConfigChanges are TaskManager memory roll-outs applied by memory tuning (each a
	// restart, counted in rescales too).
	MemoryConfigChanges int `json:"memoryConfigChanges"`
	// TaskManagerMemoryGiBHours integrates the TaskManagers' process memory over time: what
	// the cluster's memory costs.
	TaskManagerMemoryGiBHours float64 `json:"taskManagerMemoryGiBHours"`
	// Reasons are the policy's most frequent reasons for its cycles' decisions (numbers as N,
	// vertices as <id>), most frequent first.
	Reasons []Reason `json:"reasons,omitempty"`
	// WallSeconds is how long the run took (not deterministic; omitted from comparisons).
	WallSeconds float64 `json:"wallSeconds"`
}

// policyChanges are the parallelism changes a policy caused (new resource requirements).
func policyChanges(st sim.Stats) []sim.ParallelismChange {
	var out []sim.ParallelismChange
	for _, c := range st.ParallelismChanges {
		if c.Cause == "requirements" {
			out = append(out, c)
		}
	}
	return out
}

// direction of a change: +1 if it adds parallelism overall, -1 if it removes, 0 if neither.
func direction(c sim.ParallelismChange) int {
	d := 0
	for _, v := range c.Vertices {
		d += v.New - v.Old
	}
	return sign(d)
}

// jobLevelOscillations counts changes whose job-total direction reverses the previous
// change's within settle, even when no single vertex reverses (one vertex down, later another
// up counts).
func jobLevelOscillations(changes []sim.ParallelismChange, settle time.Duration) int {
	n := 0
	var prev *sim.ParallelismChange
	for i := range changes {
		c := &changes[i]
		d := direction(*c)
		if d == 0 {
			continue
		}
		if prev != nil && direction(*prev) == -d && c.Time.Sub(prev.Time) < settle {
			n++
		}
		prev = c
	}
	return n
}

// oscillations counts changes in which at least one vertex reverses the direction of its
// own previous change within settle. A scale-down of one vertex followed by a scale-up of
// another is not an oscillation: each vertex moved once.
func oscillations(changes []sim.ParallelismChange, settle time.Duration) int {
	return reversals(changes, settle, nil)
}

func sign(d int) int {
	switch {
	case d > 0:
		return 1
	case d < 0:
		return -1
	}
	return 0
}

// convergence scores each load change: the policy's rescales until the next load change,
// and when the last of them was done and the lag was back under maxLag.
func convergence(start time.Time, loads []time.Time, end time.Time, changes []sim.ParallelismChange, series []sim.TickSample, maxLag time.Duration) []Convergence {
	out := make([]Convergence, 0, len(loads))
	for i, at := range loads {
		until := end
		if i+1 < len(loads) {
			until = loads[i+1]
		}
		c := Convergence{At: at.Sub(start).Seconds(), Seconds: -1}
		last := at
		for _, ch := range changes {
			if !ch.Time.Before(at) && ch.Time.Before(until) {
				c.Steps++
				last = ch.Time
			}
		}
		from, to := last.Sub(start).Seconds(), until.Sub(start).Seconds()
		for _, s := range series {
			t := float64(s.T)
			if t < from || t >= to {
				continue
			}
			if s.Running && float64(s.LagSeconds) <= maxLag.Seconds() {
				c.Seconds = math.Round(t - c.At)
				c.Settled = true
				break
			}
		}
		out = append(out, c)
	}
	return out
}
