// Package autoscaler holds what every scaling policy shares: the raw per-cycle snapshot of a
// job as read from Flink's REST API, the policy interface, decisions and events. Policies live
// in subpackages and never import the HTTP layer; the collector that fills a Snapshot from
// Flink's REST API lives outside (package collect).
package autoscaler

import (
	"math"
	"strings"
	"time"
)

// Aggregate is one metric aggregated over subtasks or TaskManagers, as Flink's REST API
// returns it. An aggregate Flink did not return is NaN.
type Aggregate struct {
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Avg  float64 `json:"avg"`
	Sum  float64 `json:"sum"`
	Skew float64 `json:"skew"`
}

// Missing is an Aggregate with every field absent.
func Missing() Aggregate {
	n := math.NaN()
	return Aggregate{Min: n, Max: n, Avg: n, Sum: n, Skew: n}
}

// Ship strategies as they appear in Flink's job plan (anything else maps to Unknown).
const (
	ShipForward   = "FORWARD"
	ShipHash      = "HASH"
	ShipRebalance = "REBALANCE"
	ShipRescale   = "RESCALE"
	ShipBroadcast = "BROADCAST"
	ShipUnknown   = "UNKNOWN"
)

// Edge is one input of a vertex.
type Edge struct {
	From string `json:"from"` // upstream vertex id
	Ship string `json:"ship"` // ship strategy, upper case
}

// Vertex is one job vertex (a chain of operators) with its cumulative I/O counters from
// GET /jobs/{id} and the subtask-aggregated metrics from .../subtasks/metrics.
type Vertex struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Parallelism      int    `json:"parallelism"`
	MaxParallelism   int    `json:"maxParallelism"`
	SlotSharingGroup string `json:"slotSharingGroup,omitempty"`
	Finished         bool   `json:"finished,omitempty"`
	Inputs           []Edge `json:"inputs,omitempty"`

	// Cumulative counters since the tasks started (IOMetricsInfo).
	ReadRecords         int64   `json:"readRecords"`
	WriteRecords        int64   `json:"writeRecords"`
	AccumulatedBusyTime float64 `json:"accumulatedBusyTime"`

	// MetricNames is the names-only listing of the vertex's subtask metrics (discovery of
	// source operator names, pendingRecords and Kafka/Pulsar partitions).
	MetricNames []string `json:"metricNames,omitempty"`
	// Metrics are the aggregated values of the names the collector queried.
	Metrics map[string]Aggregate `json:"metrics,omitempty"`
}

// IsSource reports whether the vertex has no inputs.
func (v *Vertex) IsSource() bool { return len(v.Inputs) == 0 }

// SourceRecordsIn is the records a source vertex consumed: its source operators'
// numRecordsIn (a source task's own read-records is 0), else their numRecordsOut, else the
// vertex's write-records.
func (v *Vertex) SourceRecordsIn() float64 {
	in, out := 0.0, 0.0
	for name, a := range v.Metrics {
		if !strings.HasPrefix(name, "Source__") || math.IsNaN(a.Sum) {
			continue
		}
		switch {
		case strings.HasSuffix(name, ".numRecordsIn"):
			in += a.Sum
		case strings.HasSuffix(name, ".numRecordsOut"):
			out += a.Sum
		}
	}
	switch {
	case in > 0:
		return in
	case out > 0:
		return out
	}
	return float64(v.WriteRecords)
}

// Snapshot is everything one collection cycle read about one job. Time is the collector's
// clock (the operator keys samples by it, not by Flink's timestamps).
type Snapshot struct {
	Time         time.Time `json:"time"`
	Cluster      string    `json:"cluster,omitempty"` // REST endpoint the job runs on
	JobID        string    `json:"jobId"`
	JobName      string    `json:"jobName,omitempty"`
	FlinkVersion string    `json:"flinkVersion,omitempty"`
	// Status is the effective job status: RUNNING only if the job and all its tasks run
	// (or finished), as the standalone autoscaler's JobStatusUtils decides.
	Status string `json:"status"`
	// RunningSince is timestamps.RUNNING: it moves on every restart and rescale.
	RunningSince time.Time `json:"runningSince"`
	Vertices     []Vertex  `json:"vertices"`

	// TaskManagerMetrics are aggregates over all TaskManagers
	// (Status.JVM.Memory.Heap.Used, ...Heap.Max, Status.Flink.Memory.Managed.Used,
	// Status.JVM.Memory.Metaspace.Used, Status.JVM.GarbageCollector.All.TimeMsPerSecond).
	TaskManagerMetrics map[string]Aggregate `json:"taskManagerMetrics,omitempty"`
	// SlotsTotal and SlotsAvailable come from the JobManager's taskSlotsTotal and
	// taskSlotsAvailable gauges; -1 when missing.
	SlotsTotal      int `json:"slotsTotal"`
	SlotsAvailable  int `json:"slotsAvailable"`
	NumTaskManagers int `json:"numTaskManagers"`

	// JobManagerMetrics are JobManager gauges (Status.JVM.Memory.Heap.Used/Max,
	// Status.JVM.Memory.Metaspace.Used/Max, Status.JVM.GarbageCollector.All.TimeMsPerSecond), NaN or
	// absent when not collected.
	JobManagerMetrics map[string]float64 `json:"jobManagerMetrics,omitempty"`
	// NumRestarts is the job's numRestarts gauge; -1 when missing.
	NumRestarts int `json:"numRestarts"`
	// LastCheckpointDuration is the job's lastCheckpointDuration gauge; 0 when unknown. A restart
	// rewinds the sources to where the last completed checkpoint was triggered, so the records
	// replayed grow with it (and with the checkpoint interval in Config).
	LastCheckpointDuration time.Duration `json:"lastCheckpointDuration,omitempty"`
	// LastCheckpointSize and LastCheckpointFullSize are the job's lastCheckpointSize (bytes the
	// last checkpoint wrote: an incremental one writes only what changed) and
	// lastCheckpointFullSize (the whole state it refers to, what a restore reads) gauges; 0 when
	// unknown.
	LastCheckpointSize     int64 `json:"lastCheckpointSize,omitempty"`
	LastCheckpointFullSize int64 `json:"lastCheckpointFullSize,omitempty"`
	// CompletedCheckpoints is the job's numberOfCompletedCheckpoints gauge; 0 when unknown or
	// none completed. A step up between two snapshots says a checkpoint has just completed.
	CompletedCheckpoints int64 `json:"completedCheckpoints,omitempty"`
	// Exceptions are the most recent entries of the job's exception history, newest first
	// (collected when the job restarted since the previous cycle).
	Exceptions []JobException `json:"exceptions,omitempty"`

	// Config is the job's effective configuration (GET /jobs/{id}/jobmanager/config), where
	// job.autoscaler.* options and jobmanager.scheduler come from.
	Config map[string]string `json:"config,omitempty"`
	// Requirements are the current per-vertex bounds (GET /jobs/{id}/resource-requirements).
	Requirements map[string]Bounds `json:"requirements,omitempty"`
}

// Bounds is a vertex's parallelism range in the adaptive scheduler's resource requirements.
type Bounds struct {
	Lower int `json:"lowerBound"`
	Upper int `json:"upperBound"`
}

// Vertex returns the vertex with the given id, or nil.
func (s *Snapshot) Vertex(id string) *Vertex {
	for i := range s.Vertices {
		if s.Vertices[i].ID == id {
			return &s.Vertices[i]
		}
	}
	return nil
}

// JobException is one entry of a job's exception history (GET /jobs/{id}/exceptions).
type JobException struct {
	Time        time.Time `json:"time"`
	Name        string    `json:"name"` // exception class, e.g. java.lang.OutOfMemoryError
	Message     string    `json:"message,omitempty"`
	TaskManager string    `json:"taskManager,omitempty"`
}

// FirstLine is a message's first line, cut to at most limit bytes: Flink's exception texts and
// REST errors carry whole stack traces, which fit neither an event key nor a chart label.
func FirstLine(s string, limit int) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}
