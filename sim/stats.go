package sim

import (
	"slices"
	"time"
)

// Stats is the accounting of one job for flinktune bench (FORMAT.md "What flinktune bench
// reports"). Cluster-wide quantities (TaskManager seconds, memory) cover the whole cluster.
type Stats struct {
	JobID            string  `json:"jobId"`
	JobName          string  `json:"jobName"`
	Scenario         string  `json:"scenario"`
	Seed             uint64  `json:"seed"`
	SimulatedSeconds float64 `json:"simulatedSeconds"`
	// Rescales are restarts that applied new resource requirements (a PUT) with a
	// parallelism change.
	Rescales int `json:"rescales"`
	// Restarts counts every restart: rescales, resource-driven rescales, failures, JobManager
	// failovers and TaskManager configuration roll-outs.
	Restarts int `json:"restarts"`
	Failures int `json:"failures"`
	// TaskManagerConfigChanges are roll-outs of a new TaskManager configuration
	// (SetTaskManagerConfig), each also a restart.
	TaskManagerConfigChanges int `json:"taskManagerConfigChanges"`
	// DowntimeSeconds: seconds in which the job did not process (not RUNNING, or its tasks
	// still deploying or restoring state).
	DowntimeSeconds    float64 `json:"downtimeSeconds"`
	SlotSeconds        float64 `json:"slotSeconds"`
	TaskManagerSeconds float64 `json:"taskManagerSeconds"`
	ParallelismSeconds float64 `json:"parallelismSeconds"`
	// MinimalSlotSeconds integrates the fewest slots that sustain the true (noise-free) load
	// at 100% busy: per vertex the smallest p whose capacity (scaling efficiency, key skew,
	// partitions) covers its true input rate, per slot sharing group the largest p, summed.
	MinimalSlotSeconds  float64 `json:"minimalSlotSeconds"`
	LagViolationSeconds float64 `json:"lagViolationSeconds"`
	MaxLagSeconds       float64 `json:"maxLagSeconds"`
	InputRecords        int64   `json:"inputRecords"`
	ProcessedRecords    int64   `json:"processedRecords"`
	FinalLagRecords     int64   `json:"finalLagRecords"`
	// ReplayedRecords were read, then rewound by a restore from a checkpoint.
	ReplayedRecords int64 `json:"replayedRecords"`
	// OOMKills are TaskManagers lost to java.lang.OutOfMemoryError (heap or metaspace);
	// ContainerKills to the container memory limit.
	OOMKills                   int     `json:"oomKills"`
	ContainerKills             int     `json:"containerKills"`
	TaskManagerProcessBytesAvg float64 `json:"taskManagerProcessBytesAvg"`
	HeapUsedMaxRatio           float64 `json:"heapUsedMaxRatio"`

	ParallelismChanges []ParallelismChange `json:"parallelismChanges"`
	Series             []TickSample        `json:"-"`
}

// ParallelismChange is one redeployment with new parallelism.
type ParallelismChange struct {
	Time     time.Time               `json:"time"`
	Vertices map[string]VertexChange `json:"vertices"` // by scenario vertex id
	// Cause: requirements (a PUT), resources (slots came or went), reactive, tm-loss,
	// failure, jobmanager, tm-config.
	Cause string `json:"cause"`
}

// VertexChange is a vertex's parallelism before and after.
type VertexChange struct {
	Old int `json:"old"`
	New int `json:"new"`
}

// TickSample is one tick of the compact series.
type TickSample struct {
	// Seconds since the start.
	T float32
	// LagSeconds is the lag in seconds of input at the current true rate.
	LagSeconds float32
	// Running: the job processed records in this tick.
	Running bool
	// Slots the job held.
	Slots int32
}

type stats struct {
	Rescales, Restarts, Failures, TMConfig int
	Replayed                               int64
	downtime, slotSec, parSec, minSec      float64
	lagViol, maxLag                        float64
	changes                                []ParallelismChange
	series                                 []TickSample
	ssgOf                                  []int // vertex → slot sharing group index
	ssgMin                                 []int // per group, this tick
}

func (st *stats) init(j *job) {
	var groups []string
	for _, v := range j.vs {
		if !slices.Contains(groups, v.sv.SlotSharingGroup) {
			groups = append(groups, v.sv.SlotSharingGroup)
		}
	}
	for _, v := range j.vs {
		st.ssgOf = append(st.ssgOf, slices.Index(groups, v.sv.SlotSharingGroup))
	}
	st.ssgMin = make([]int, len(groups))
}

// account integrates this tick into the statistics.
func (s *Sim) account(dt float64Duration) {
	s.tmSeconds += float64(len(s.tms)) * dt.s
	for _, tm := range s.tms {
		s.tmProcessBytesT += float64(tm.mem.TotalProcess) * dt.s
	}
	for _, j := range s.jobs {
		st := &j.st
		running := j.processing()
		if !running {
			st.downtime += dt.s
		}
		held := j.heldSlots()
		st.slotSec += float64(held) * dt.s
		if j.exec != nil {
			par := 0
			for _, v := range j.vs {
				par += v.p
			}
			st.parSec += float64(par) * dt.s
		}
		// Minimal slots for the true load.
		clear(st.ssgMin)
		for vi, v := range j.vs {
			rate := 0.0
			for si, sv := range j.srcs {
				rate += v.trueCoef[si] * j.vs[sv].src.trueRate
			}
			g := st.ssgOf[vi]
			st.ssgMin[g] = max(st.ssgMin[g], v.minCap.minParallelism(rate))
		}
		minSlots := 0
		for _, n := range st.ssgMin {
			minSlots += n
		}
		st.minSec += float64(minSlots) * dt.s
		lag := j.lagSeconds()
		st.maxLag = max(st.maxLag, lag)
		if lag > s.sc.SLO.MaxLag.Seconds() {
			st.lagViol += dt.s
		}
		if !s.opts.NoSeries {
			st.series = append(st.series, TickSample{T: float32(s.Elapsed().Seconds()), LagSeconds: float32(lag), Running: running, Slots: int32(held)})
		}
	}
}

// lagSeconds is the largest source lag in seconds of input at the true rate (at least 1 r/s).
func (j *job) lagSeconds() float64 {
	m := 0.0
	for _, vi := range j.srcs {
		src := j.vs[vi].src
		m = max(m, float64(src.lag())/max(src.trueRate, 1))
	}
	return m
}

// Stats returns the accounting of the job with the given id (false if unknown).
func (s *Sim) Stats(jobID string) (Stats, bool) {
	j := s.job(jobID)
	if j == nil {
		return Stats{}, false
	}
	st := &j.st
	out := Stats{
		JobID: j.id, JobName: j.name, Scenario: s.sc.Name, Seed: s.sc.Seed,
		SimulatedSeconds:         s.Elapsed().Seconds(),
		Rescales:                 st.Rescales,
		Restarts:                 st.Restarts,
		Failures:                 st.Failures,
		TaskManagerConfigChanges: st.TMConfig,
		DowntimeSeconds:          st.downtime,
		SlotSeconds:              st.slotSec,
		TaskManagerSeconds:       s.tmSeconds,
		ParallelismSeconds:       st.parSec,
		MinimalSlotSeconds:       st.minSec,
		LagViolationSeconds:      st.lagViol,
		MaxLagSeconds:            st.maxLag,
		ReplayedRecords:          st.Replayed,
		OOMKills:                 s.oomKills,
		ContainerKills:           s.containerKills,
		HeapUsedMaxRatio:         s.heapRatioMax,
		ParallelismChanges:       slices.Clone(st.changes),
		Series:                   st.series,
	}
	if s.tmSeconds > 0 {
		out.TaskManagerProcessBytesAvg = s.tmProcessBytesT / s.tmSeconds
	}
	for _, vi := range j.srcs {
		src := j.vs[vi].src
		out.InputRecords += src.input()
		out.ProcessedRecords += src.processed()
		out.FinalLagRecords += src.lag()
	}
	return out, true
}

// LoadChanges returns the times at which the job's load changes (segment starts, spike ends
// and the turning points of sine loads), sorted, without duplicates.
func (s *Sim) LoadChanges(jobID string) []time.Time {
	j := s.job(jobID)
	if j == nil {
		return nil
	}
	var out []time.Time
	for _, vi := range j.srcs {
		for _, at := range j.vs[vi].src.curve.changes(s.end.Sub(s.start)) {
			out = append(out, s.start.Add(at))
		}
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.Compact(out)
}
