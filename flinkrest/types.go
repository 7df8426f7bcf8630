package flinkrest

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/flinktune/flinktune/flinkconf"
)

// This file holds the wire types of the Flink REST endpoints flinktune reads and its simulator
// serves. Field names are exactly Flink's (kebab-case, camelCase and snake_case all occur).
// Decoding tolerates unknown and missing fields; encoding reproduces what Flink sends, so
// omitempty appears only where some Flink version omits the field (see flink-rest-api.md §10).

// Double is a JSON number that may be non-finite. Flink's Jackson mapper writes NaN and
// ±Infinity doubles as the strings "NaN", "Infinity", "-Infinity" (Jackson's default
// WRITE_NAN_AS_STRINGS); a mapper configured otherwise writes bare tokens, which Decode
// turns into strings first. Finite values encode like java.lang.Double#toString ("2.0",
// "1.664090112E9"); a JSON null decodes as NaN.
type Double float64

// Float returns the value; a nil *Double (a field Flink did not send) is NaN.
func (d *Double) Float() float64 {
	if d == nil {
		return math.NaN()
	}
	return float64(*d)
}

// DoublePtr returns a pointer to v as a Double (for optional fields).
func DoublePtr(v float64) *Double { d := Double(v); return &d }

// MarshalJSON implements json.Marshaler.
func (d Double) MarshalJSON() ([]byte, error) {
	f := float64(d)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(`"` + flinkconf.JavaDoubleString(f) + `"`), nil
	}
	return []byte(flinkconf.JavaDoubleString(f)), nil
}

// UnmarshalJSON implements json.Unmarshaler: a number, null (NaN), or a string holding
// "NaN", "Infinity", "-Infinity" or a decimal number.
func (d *Double) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*d = Double(math.NaN())
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	switch s {
	case "NaN", "+NaN", "-NaN":
		*d = Double(math.NaN())
		return nil
	case "Infinity", "+Infinity", "inf", "+inf":
		*d = Double(math.Inf(1))
		return nil
	case "-Infinity", "-inf":
		*d = Double(math.Inf(-1))
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		// Out of range (e.g. 1e999) is still a number: ParseFloat returns ±Inf with the error.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			*d = Double(f)
			return nil
		}
		return fmt.Errorf("flinkrest: %q is not a number", s)
	}
	*d = Double(f)
	return nil
}

// RawJSON is a JSON value kept verbatim. Unlike json.RawMessage, an empty value encodes as
// {} (the 1.x plan's optimizer_properties), never as null.
type RawJSON []byte

// MarshalJSON implements json.Marshaler.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("{}"), nil
	}
	if !json.Valid(r) {
		return nil, fmt.Errorf("flinkrest: RawJSON holds invalid JSON")
	}
	return r, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// ErrorResponse is the error body of every failing call: {"errors": ["message", ...]}.
type ErrorResponse struct {
	Errors []string `json:"errors"`
}

// ---------------------------------------------------------------------------------------
// Cluster

// DashboardConfiguration is GET /config.
type DashboardConfiguration struct {
	RefreshInterval int64             `json:"refresh-interval"`
	TimezoneName    string            `json:"timezone-name"`
	TimezoneOffset  int32             `json:"timezone-offset"`
	FlinkVersion    string            `json:"flink-version"`
	FlinkRevision   string            `json:"flink-revision"`
	Features        DashboardFeatures `json:"features"`
}

// DashboardFeatures are the Web UI feature switches of GET /config.
type DashboardFeatures struct {
	WebSubmit  bool `json:"web-submit"`
	WebCancel  bool `json:"web-cancel"`
	WebRescale bool `json:"web-rescale"`
	WebHistory bool `json:"web-history"`
}

// ClusterOverview is GET /overview (ClusterOverviewWithVersion).
type ClusterOverview struct {
	TaskManagers        int    `json:"taskmanagers"`
	SlotsTotal          int    `json:"slots-total"`
	SlotsAvailable      int    `json:"slots-available"`
	JobsRunning         int    `json:"jobs-running"`
	JobsFinished        int    `json:"jobs-finished"`
	JobsCancelled       int    `json:"jobs-cancelled"`
	JobsFailed          int    `json:"jobs-failed"`
	FlinkVersion        string `json:"flink-version"`
	FlinkCommit         string `json:"flink-commit"`
	TaskManagersBlocked int    `json:"taskmanagers-blocked"`
	SlotsFreeAndBlocked int    `json:"slots-free-and-blocked"`
}

// ---------------------------------------------------------------------------------------
// Jobs

// Job states (JobStatus) and task states (ExecutionState) as Flink spells them.
const (
	JobInitializing = "INITIALIZING"
	JobCreated      = "CREATED"
	JobRunning      = "RUNNING"
	JobFailing      = "FAILING"
	JobFailed       = "FAILED"
	JobCancelling   = "CANCELLING"
	JobCanceled     = "CANCELED"
	JobFinished     = "FINISHED"
	JobRestarting   = "RESTARTING"
	JobSuspended    = "SUSPENDED"
	JobReconciling  = "RECONCILING"

	TaskCreated      = "CREATED"
	TaskScheduled    = "SCHEDULED"
	TaskDeploying    = "DEPLOYING"
	TaskRunning      = "RUNNING"
	TaskFinished     = "FINISHED"
	TaskCanceling    = "CANCELING"
	TaskCanceled     = "CANCELED"
	TaskFailed       = "FAILED"
	TaskReconciling  = "RECONCILING"
	TaskInitializing = "INITIALIZING"
)

// JobStatuses lists every JobStatus in Flink's declaration order (keys of "timestamps").
var JobStatuses = []string{JobInitializing, JobCreated, JobRunning, JobFailing, JobFailed,
	JobCancelling, JobCanceled, JobFinished, JobRestarting, JobSuspended, JobReconciling}

// ExecutionStates lists every ExecutionState in Flink's declaration order (keys of
// "status-counts" and vertex "tasks").
var ExecutionStates = []string{TaskCreated, TaskScheduled, TaskDeploying, TaskRunning,
	TaskFinished, TaskCanceling, TaskCanceled, TaskFailed, TaskReconciling, TaskInitializing}

// JobIDsWithStatus is GET /jobs.
type JobIDsWithStatus struct {
	Jobs []JobIDWithStatus `json:"jobs"`
}

// JobIDWithStatus is one entry of GET /jobs.
type JobIDWithStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// MultipleJobsDetails is GET /jobs/overview.
type MultipleJobsDetails struct {
	Jobs []JobDetails `json:"jobs"`
}

// JobDetails is one job of GET /jobs/overview. Tasks counts tasks per lower-case execution
// state plus "total" (keys: total, created, scheduled, deploying, running, finished,
// canceling, canceled, failed, reconciling, initializing).
type JobDetails struct {
	JID              string         `json:"jid"`
	Name             string         `json:"name"`
	State            string         `json:"state"`
	StartTime        int64          `json:"start-time"`
	EndTime          int64          `json:"end-time"`
	Duration         int64          `json:"duration"`
	LastModification int64          `json:"last-modification"`
	Tasks            map[string]int `json:"tasks"`
	// PendingOperators is sent from 2.0 on (recorded from 2.0.1 and 2.2.1).
	PendingOperators *int `json:"pending-operators,omitempty"`
}

// JobDetailsInfo is GET /jobs/{jobid}. Flink's Java client null-checks plan, timestamps
// and status-counts, so they are always sent.
type JobDetailsInfo struct {
	JID         string `json:"jid"`
	Name        string `json:"name"`
	IsStoppable bool   `json:"isStoppable"`
	State       string `json:"state"`
	// JobType (STREAMING or BATCH) arrived around 1.19/1.20; older versions omit it.
	JobType        string           `json:"job-type,omitempty"`
	StartTime      int64            `json:"start-time"`
	EndTime        int64            `json:"end-time"` // -1 while running
	Duration       int64            `json:"duration"`
	MaxParallelism int64            `json:"maxParallelism"` // -1 = unset
	Now            int64            `json:"now"`
	Timestamps     map[string]int64 `json:"timestamps"` // JobStatus -> epoch ms, 0 if never entered
	Vertices       []JobVertex      `json:"vertices"`
	StatusCounts   map[string]int   `json:"status-counts"`
	Plan           Plan             `json:"plan"`
	// StreamGraph and PendingOperators arrived in 2.0 (adaptive batch).
	StreamGraph      *Plan `json:"stream-graph,omitempty"`
	PendingOperators *int  `json:"pending-operators,omitempty"`
	// SchedulerType and ApplicationID arrived after 2.0.
	SchedulerType string `json:"schedulerType,omitempty"`
	ApplicationID string `json:"application-id,omitempty"`
}

// JobVertex is one entry of vertices[] in GET /jobs/{jobid}.
type JobVertex struct {
	ID string `json:"id"`
	// SlotSharingGroupID is sent since 1.19 (absent in 1.18; the autoscaler tolerates null).
	SlotSharingGroupID string `json:"slotSharingGroupId,omitempty"`
	// SlotSharingGroupName arrived after 2.0.
	SlotSharingGroupName string         `json:"slotSharingGroupName,omitempty"`
	Name                 string         `json:"name"`
	MaxParallelism       int            `json:"maxParallelism"`
	Parallelism          int            `json:"parallelism"`
	Status               string         `json:"status"`
	StartTime            int64          `json:"start-time"`
	EndTime              int64          `json:"end-time"`
	Duration             int64          `json:"duration"`
	Tasks                map[string]int `json:"tasks"` // ExecutionState -> count
	Metrics              IOMetricsInfo  `json:"metrics"`
}

// IOMetricsInfo are cumulative I/O counters since the tasks started; times in ms.
// AccumulatedBusyTime is a double and can be NaN.
type IOMetricsInfo struct {
	ReadBytes                    int64  `json:"read-bytes"`
	ReadBytesComplete            bool   `json:"read-bytes-complete"`
	WriteBytes                   int64  `json:"write-bytes"`
	WriteBytesComplete           bool   `json:"write-bytes-complete"`
	ReadRecords                  int64  `json:"read-records"`
	ReadRecordsComplete          bool   `json:"read-records-complete"`
	WriteRecords                 int64  `json:"write-records"`
	WriteRecordsComplete         bool   `json:"write-records-complete"`
	AccumulatedBackpressuredTime int64  `json:"accumulated-backpressured-time"`
	AccumulatedIdleTime          int64  `json:"accumulated-idle-time"`
	AccumulatedBusyTime          Double `json:"accumulated-busy-time"`
}

// JobPlanInfo is GET /jobs/{jobid}/plan.
type JobPlanInfo struct {
	Plan Plan `json:"plan"`
}

// Plan is the JobGraph as JSON (JsonPlanGenerator): chained tasks, edges as inputs on the
// consumer, nodes in no particular order.
type Plan struct {
	JID   string     `json:"jid"`
	Name  string     `json:"name"`
	Type  string     `json:"type"` // STREAMING or BATCH
	Nodes []PlanNode `json:"nodes"`
}

// UnmarshalJSON accepts the plan as an object and, defensively, as a string holding the
// object (how Flink's own Java client carries RawJson).
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Plan(v)
	return nil
}

// PlanNode is one job vertex of the plan.
type PlanNode struct {
	ID               string `json:"id"`
	Parallelism      int    `json:"parallelism"`
	Operator         string `json:"operator"`
	OperatorStrategy string `json:"operator_strategy"`
	Description      string `json:"description"` // HTML: "\n" is "<br/>"
	// Inputs is nil for a source in 1.x (no "inputs" key) and empty in 2.x ("inputs": []);
	// omitzero keeps that difference when encoding.
	Inputs []PlanInput `json:"inputs,omitzero"`
	// OptimizerProperties is {} in 1.x; 2.x declares it a string.
	OptimizerProperties RawJSON `json:"optimizer_properties"`
	// JobVertexID links a stream-graph node to its job vertex (2.0 stream-graph only).
	JobVertexID string `json:"job_vertex_id,omitempty"`
}

// IsSource reports whether the node has no inputs (absent or empty).
func (n *PlanNode) IsSource() bool { return len(n.Inputs) == 0 }

// PlanInput is one input edge of a plan node.
type PlanInput struct {
	Num          int    `json:"num"`
	ID           string `json:"id"`            // upstream vertex id
	ShipStrategy string `json:"ship_strategy"` // FORWARD, HASH, REBALANCE, RESCALE, BROADCAST, ...
	Exchange     string `json:"exchange"`      // pipelined_bounded, blocking, hybrid_full, ...
	// LocalStrategy and Caching are optional.
	LocalStrategy string `json:"local_strategy,omitempty"`
	Caching       string `json:"caching,omitempty"`
}

// JobStatusInfo is GET /jobs/{jobid}/status.
type JobStatusInfo struct {
	Status string `json:"status"`
}

// JobVertexDetailsInfo is GET /jobs/{jobid}/vertices/{vertexid}.
type JobVertexDetailsInfo struct {
	ID             string                    `json:"id"`
	Name           string                    `json:"name"`
	MaxParallelism int                       `json:"maxParallelism"`
	Parallelism    int                       `json:"parallelism"`
	Now            int64                     `json:"now"`
	Subtasks       []SubtaskExecutionAttempt `json:"subtasks"`
	Aggregated     AggregatedTaskDetailsInfo `json:"aggregated"`
}

// SubtaskExecutionAttempt is one subtask of JobVertexDetailsInfo
// (SubtaskExecutionAttemptDetailsInfo).
type SubtaskExecutionAttempt struct {
	Subtask int    `json:"subtask"`
	Status  string `json:"status"`
	Attempt int    `json:"attempt"`
	// Endpoint ("ip:port") is newer than 1.19; Host was removed in 2.0.
	Endpoint       string           `json:"endpoint,omitempty"`
	Host           string           `json:"host,omitempty"`
	StartTime      int64            `json:"start-time"`
	EndTime        int64            `json:"end-time"`
	Duration       int64            `json:"duration"`
	Metrics        IOMetricsInfo    `json:"metrics"`
	TaskManagerID  string           `json:"taskmanager-id"`
	StatusDuration map[string]int64 `json:"status-duration"`
	// OtherConcurrentAttempts appears only with speculative execution.
	OtherConcurrentAttempts []SubtaskExecutionAttempt `json:"other-concurrent-attempts,omitempty"`
}

// AggregatedTaskDetailsInfo aggregates IO metrics and state durations over subtasks:
// name -> {min, max, avg, sum, median, p25, p75, p95}.
type AggregatedTaskDetailsInfo struct {
	Metrics        map[string]map[string]int64 `json:"metrics"`
	StatusDuration map[string]map[string]int64 `json:"status-duration"`
}

// JobVertexBackPressureInfo is GET /jobs/{jobid}/vertices/{vertexid}/backpressure.
type JobVertexBackPressureInfo struct {
	Status            string                    `json:"status"`            // ok or deprecated
	BackpressureLevel string                    `json:"backpressureLevel"` // ok, low, high
	EndTimestamp      int64                     `json:"end-timestamp"`
	Subtasks          []SubtaskBackPressureInfo `json:"subtasks"`
}

// SubtaskBackPressureInfo is one subtask of JobVertexBackPressureInfo; ratios are fractions of 1.
type SubtaskBackPressureInfo struct {
	Subtask                 int                       `json:"subtask"`
	AttemptNumber           int                       `json:"attempt-number"`
	BackpressureLevel       string                    `json:"backpressureLevel"`
	Ratio                   Double                    `json:"ratio"`
	IdleRatio               Double                    `json:"idleRatio"`
	BusyRatio               Double                    `json:"busyRatio"`
	OtherConcurrentAttempts []SubtaskBackPressureInfo `json:"other-concurrent-attempts,omitempty"`
}

// JobConfigInfo is GET /jobs/{jobid}/config. The wire uses jid/name/execution-config, not
// the Java field names the OpenAPI spec shows. ExecutionConfig is absent when the job's
// execution config is unavailable (archived jobs).
type JobConfigInfo struct {
	JID             string               `json:"jid"`
	Name            string               `json:"name"`
	ExecutionConfig *ExecutionConfigInfo `json:"execution-config,omitempty"`
}

// ExecutionConfigInfo is the execution config of GET /jobs/{jobid}/config.
type ExecutionConfigInfo struct {
	// ExecutionMode was removed in 2.0.
	ExecutionMode   string            `json:"execution-mode,omitempty"`
	RestartStrategy string            `json:"restart-strategy"`
	JobParallelism  int               `json:"job-parallelism"`
	ObjectReuseMode bool              `json:"object-reuse-mode"`
	UserConfig      map[string]string `json:"user-config"`
}

// ---------------------------------------------------------------------------------------
// Metrics

// MetricName is one entry of a names-only metric listing (a metric endpoint without "get").
type MetricName struct {
	ID string `json:"id"`
}

// Metric is one entry of a non-aggregated metric answer: the value is always a string.
type Metric struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// Float parses the value as Java's Double.parseDouble would ("NaN" and "Infinity" included).
func (m Metric) Float() (float64, error) {
	f, e := flinkconf.ParseJavaDouble(m.Value)
	if e != nil {
		return math.NaN(), fmt.Errorf("metric %s: value %q is not a number", m.ID, m.Value)
	}
	return f, nil
}

// AggregatedMetric is one entry of an aggregated metric answer (subtasks, TaskManagers or
// jobs). Only requested aggregates are sent (nil = absent); skew exists since 1.20.
type AggregatedMetric struct {
	ID   string  `json:"id"`
	Min  *Double `json:"min,omitempty"`
	Max  *Double `json:"max,omitempty"`
	Avg  *Double `json:"avg,omitempty"`
	Sum  *Double `json:"sum,omitempty"`
	Skew *Double `json:"skew,omitempty"`
}

// Aggregation modes of the "agg" query parameter.
const (
	AggMin  = "min"
	AggMax  = "max"
	AggAvg  = "avg"
	AggSum  = "sum"
	AggSkew = "skew" // Flink 1.20+
)

// ---------------------------------------------------------------------------------------
// TaskManagers

// TaskManagersInfo is GET /taskmanagers.
type TaskManagersInfo struct {
	TaskManagers []TaskManagerInfo `json:"taskmanagers"`
}

// TaskManagerInfo is one TaskManager of GET /taskmanagers. IDs are free-form (pod names
// on Kubernetes), not 32 hex characters as the OpenAPI spec claims.
type TaskManagerInfo struct {
	ID   string `json:"id"`
	Path string `json:"path"` // pekko.tcp://flink@ip:6122/user/rpc/taskmanager_0
	// DataPort and JmxPort (-1 = none).
	DataPort int `json:"dataPort"`
	JmxPort  int `json:"jmxPort"`
	// TimeSinceLastHeartbeat is, despite its name, the epoch ms of the last heartbeat.
	TimeSinceLastHeartbeat int64                           `json:"timeSinceLastHeartbeat"`
	SlotsNumber            int                             `json:"slotsNumber"`
	FreeSlots              int                             `json:"freeSlots"`
	TotalResource          ResourceProfileInfo             `json:"totalResource"`
	FreeResource           ResourceProfileInfo             `json:"freeResource"`
	Hardware               HardwareDescription             `json:"hardware"`
	MemoryConfiguration    TaskExecutorMemoryConfiguration `json:"memoryConfiguration"`
	Blocked                bool                            `json:"blocked,omitempty"` // Flink omits it unless true
}

// TaskManagerDetailsInfo is GET /taskmanagers/{taskmanagerid}.
type TaskManagerDetailsInfo struct {
	TaskManagerInfo
	AllocatedSlots []SlotInfo             `json:"allocatedSlots"`
	Metrics        TaskManagerMetricsInfo `json:"metrics"`
}

// ResourceProfileInfo is a resource profile; memory values are MiB.
type ResourceProfileInfo struct {
	CPUCores          Double            `json:"cpuCores"`
	TaskHeapMemory    int               `json:"taskHeapMemory"`
	TaskOffHeapMemory int               `json:"taskOffHeapMemory"`
	ManagedMemory     int               `json:"managedMemory"`
	NetworkMemory     int               `json:"networkMemory"`
	ExtendedResources map[string]Double `json:"extendedResources"`
}

// MarshalJSON writes extendedResources as {} when empty, as Flink does.
func (r ResourceProfileInfo) MarshalJSON() ([]byte, error) {
	type plain ResourceProfileInfo
	if r.ExtendedResources == nil {
		r.ExtendedResources = map[string]Double{}
	}
	return json.Marshal(plain(r))
}

// HardwareDescription is the hardware of a TaskManager's host.
type HardwareDescription struct {
	CPUCores       int   `json:"cpuCores"`
	PhysicalMemory int64 `json:"physicalMemory"`
	FreeMemory     int64 `json:"freeMemory"`
	ManagedMemory  int64 `json:"managedMemory"`
}

// TaskExecutorMemoryConfiguration is the TaskManager memory model in bytes.
type TaskExecutorMemoryConfiguration struct {
	FrameworkHeap      int64 `json:"frameworkHeap"`
	TaskHeap           int64 `json:"taskHeap"`
	FrameworkOffHeap   int64 `json:"frameworkOffHeap"`
	TaskOffHeap        int64 `json:"taskOffHeap"`
	NetworkMemory      int64 `json:"networkMemory"`
	ManagedMemory      int64 `json:"managedMemory"`
	JVMMetaspace       int64 `json:"jvmMetaspace"`
	JVMOverhead        int64 `json:"jvmOverhead"`
	TotalFlinkMemory   int64 `json:"totalFlinkMemory"`
	TotalProcessMemory int64 `json:"totalProcessMemory"`
}

// SlotInfo is one allocated slot of TaskManagerDetailsInfo.
type SlotInfo struct {
	JobID    string              `json:"jobId"`
	Resource ResourceProfileInfo `json:"resource"`
}

// TaskManagerMetricsInfo are the memory metrics of TaskManagerDetailsInfo (bytes, counts).
type TaskManagerMetricsInfo struct {
	HeapUsed         int64 `json:"heapUsed"`
	HeapCommitted    int64 `json:"heapCommitted"`
	HeapMax          int64 `json:"heapMax"`
	NonHeapUsed      int64 `json:"nonHeapUsed"`
	NonHeapCommitted int64 `json:"nonHeapCommitted"`
	NonHeapMax       int64 `json:"nonHeapMax"`
	DirectCount      int64 `json:"directCount"`
	DirectUsed       int64 `json:"directUsed"`
	DirectMax        int64 `json:"directMax"`
	MappedCount      int64 `json:"mappedCount"`
	MappedUsed       int64 `json:"mappedUsed"`
	MappedMax        int64 `json:"mappedMax"`
	// MemorySegmentsAvailable/Total were removed in 2.0.
	MemorySegmentsAvailable             *int64                 `json:"memorySegmentsAvailable,omitempty"`
	MemorySegmentsTotal                 *int64                 `json:"memorySegmentsTotal,omitempty"`
	NettyShuffleMemorySegmentsAvailable int64                  `json:"nettyShuffleMemorySegmentsAvailable"`
	NettyShuffleMemorySegmentsUsed      int64                  `json:"nettyShuffleMemorySegmentsUsed"`
	NettyShuffleMemorySegmentsTotal     int64                  `json:"nettyShuffleMemorySegmentsTotal"`
	NettyShuffleMemoryAvailable         int64                  `json:"nettyShuffleMemoryAvailable"`
	NettyShuffleMemoryUsed              int64                  `json:"nettyShuffleMemoryUsed"`
	NettyShuffleMemoryTotal             int64                  `json:"nettyShuffleMemoryTotal"`
	GarbageCollectors                   []GarbageCollectorInfo `json:"garbageCollectors"`
}

// GarbageCollectorInfo is one JVM garbage collector of a TaskManager.
type GarbageCollectorInfo struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
	Time  int64  `json:"time"`
}

// ---------------------------------------------------------------------------------------
// Configuration

// ConfigurationInfo is GET /jobmanager/config and GET /jobs/{jobid}/jobmanager/config.
type ConfigurationInfo []ConfigurationEntry

// ConfigurationEntry is one key/value pair of ConfigurationInfo.
type ConfigurationEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Map returns the entries as a map (a later duplicate key wins).
func (c ConfigurationInfo) Map() map[string]string {
	m := make(map[string]string, len(c))
	for _, e := range c {
		m[e.Key] = e.Value
	}
	return m
}

// ---------------------------------------------------------------------------------------
// Resource requirements (adaptive scheduler, Flink 1.18+)

// JobResourceRequirements is the GET response and PUT request of
// /jobs/{jobid}/resource-requirements: vertex id -> requirements.
type JobResourceRequirements map[string]JobVertexResourceRequirements

// JobVertexResourceRequirements holds one vertex's parallelism bounds.
type JobVertexResourceRequirements struct {
	Parallelism ParallelismBounds `json:"parallelism"`
}

// ParallelismBounds is a parallelism range; -1 in a PUT means 1 (lower) or the vertex max
// parallelism (upper).
type ParallelismBounds struct {
	LowerBound int `json:"lowerBound"`
	UpperBound int `json:"upperBound"`
}

// ---------------------------------------------------------------------------------------
// Checkpoints

// Checkpoint status values and class names (the "className" discriminator).
const (
	CheckpointInProgress = "IN_PROGRESS"
	CheckpointCompleted  = "COMPLETED"
	CheckpointFailed     = "FAILED"

	ClassCompleted  = "completed"
	ClassFailed     = "failed"
	ClassInProgress = "in_progress"
)

// CheckpointingStatistics is GET /jobs/{jobid}/checkpoints.
type CheckpointingStatistics struct {
	Counts  CheckpointCounts            `json:"counts"`
	Summary CheckpointStatisticsSummary `json:"summary"`
	Latest  LatestCheckpoints           `json:"latest"`
	History []CheckpointStatistics      `json:"history"` // newest first
}

// CheckpointCounts are the checkpoint counters.
type CheckpointCounts struct {
	Restored   int64 `json:"restored"`
	Total      int64 `json:"total"`
	InProgress int   `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
}

// CheckpointStatisticsSummary summarizes completed checkpoints.
type CheckpointStatisticsSummary struct {
	CheckpointedSize  StatsSummary `json:"checkpointed_size"`
	StateSize         StatsSummary `json:"state_size"`
	EndToEndDuration  StatsSummary `json:"end_to_end_duration"`
	AlignmentBuffered StatsSummary `json:"alignment_buffered"`
	ProcessedData     StatsSummary `json:"processed_data"`
	PersistedData     StatsSummary `json:"persisted_data"`
}

// StatsSummary is min/max/avg plus percentiles (NaN without data).
type StatsSummary struct {
	Min  int64  `json:"min"`
	Max  int64  `json:"max"`
	Avg  int64  `json:"avg"`
	P50  Double `json:"p50"`
	P90  Double `json:"p90"`
	P95  Double `json:"p95"`
	P99  Double `json:"p99"`
	P999 Double `json:"p999"`
}

// LatestCheckpoints are the latest checkpoints of each kind; null when there is none.
type LatestCheckpoints struct {
	Completed *CheckpointStatistics         `json:"completed"`
	Savepoint *CheckpointStatistics         `json:"savepoint"`
	Failed    *CheckpointStatistics         `json:"failed"`
	Restored  *RestoredCheckpointStatistics `json:"restored"`
}

// CheckpointStatistics is one checkpoint. ClassName selects the subtype: "completed" adds
// external_path and discarded, "failed" adds failure_timestamp and failure_message,
// "in_progress" adds nothing. Encoding writes only the subtype's fields.
type CheckpointStatistics struct {
	ClassName   string `json:"className"`
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	IsSavepoint bool   `json:"is_savepoint"`
	// SavepointFormat is null for checkpoints.
	SavepointFormat         *string                             `json:"savepointFormat"`
	TriggerTimestamp        int64                               `json:"trigger_timestamp"`
	LatestAckTimestamp      int64                               `json:"latest_ack_timestamp"`
	CheckpointedSize        int64                               `json:"checkpointed_size"`
	StateSize               int64                               `json:"state_size"`
	EndToEndDuration        int64                               `json:"end_to_end_duration"`
	AlignmentBuffered       int64                               `json:"alignment_buffered"`
	ProcessedData           int64                               `json:"processed_data"`
	PersistedData           int64                               `json:"persisted_data"`
	NumSubtasks             int                                 `json:"num_subtasks"`
	NumAcknowledgedSubtasks int                                 `json:"num_acknowledged_subtasks"`
	CheckpointType          string                              `json:"checkpoint_type"` // CHECKPOINT, UNALIGNED_CHECKPOINT, SAVEPOINT, SYNC_SAVEPOINT
	Tasks                   map[string]TaskCheckpointStatistics `json:"tasks"`

	// Completed only; ExternalPath is null when the checkpoint is not externalized.
	ExternalPath *string `json:"external_path,omitempty"`
	Discarded    bool    `json:"discarded,omitempty"`
	// Failed only.
	FailureTimestamp int64   `json:"failure_timestamp,omitempty"`
	FailureMessage   *string `json:"failure_message,omitempty"`
}

// MarshalJSON writes the fields of the subtype named by ClassName.
func (c CheckpointStatistics) MarshalJSON() ([]byte, error) {
	type plain CheckpointStatistics
	p := plain(c)
	if p.Tasks == nil {
		p.Tasks = map[string]TaskCheckpointStatistics{}
	}
	switch c.ClassName {
	case ClassCompleted:
		type completed struct {
			plain
			ExternalPath *string `json:"external_path"`
			Discarded    bool    `json:"discarded"`
		}
		return json.Marshal(completed{p, c.ExternalPath, c.Discarded})
	case ClassFailed:
		type failed struct {
			plain
			FailureTimestamp int64   `json:"failure_timestamp"`
			FailureMessage   *string `json:"failure_message"`
		}
		return json.Marshal(failed{p, c.FailureTimestamp, c.FailureMessage})
	default:
		p.ExternalPath, p.Discarded, p.FailureTimestamp, p.FailureMessage = nil, false, 0, nil
		return json.Marshal(p)
	}
}

// TaskCheckpointStatistics is one vertex's share of a checkpoint.
type TaskCheckpointStatistics struct {
	ID                      int64  `json:"id"`
	Status                  string `json:"status"`
	LatestAckTimestamp      int64  `json:"latest_ack_timestamp"`
	CheckpointedSize        int64  `json:"checkpointed_size"`
	StateSize               int64  `json:"state_size"`
	EndToEndDuration        int64  `json:"end_to_end_duration"`
	AlignmentBuffered       int64  `json:"alignment_buffered"`
	ProcessedData           int64  `json:"processed_data"`
	PersistedData           int64  `json:"persisted_data"`
	NumSubtasks             int    `json:"num_subtasks"`
	NumAcknowledgedSubtasks int    `json:"num_acknowledged_subtasks"`
}

// RestoredCheckpointStatistics is the checkpoint or savepoint the job restored from.
type RestoredCheckpointStatistics struct {
	ID               int64   `json:"id"`
	RestoreTimestamp int64   `json:"restore_timestamp"`
	IsSavepoint      bool    `json:"is_savepoint"`
	ExternalPath     *string `json:"external_path"`
}

// ---------------------------------------------------------------------------------------
// Exceptions

// JobExceptionsInfoWithHistory is GET /jobs/{jobid}/exceptions. The top-level fields other
// than ExceptionHistory are deprecated but still sent (2.0 included); RootException and
// Timestamp are null when the job never failed.
type JobExceptionsInfoWithHistory struct {
	RootException    *string                  `json:"root-exception"`
	Timestamp        *int64                   `json:"timestamp"`
	AllExceptions    []ExecutionExceptionInfo `json:"all-exceptions"`
	Truncated        bool                     `json:"truncated"`
	ExceptionHistory JobExceptionHistory      `json:"exceptionHistory"`
}

// ExecutionExceptionInfo is one entry of the deprecated all-exceptions list.
type ExecutionExceptionInfo struct {
	Exception     string `json:"exception"`
	Task          string `json:"task"`
	Location      string `json:"location"`
	Timestamp     int64  `json:"timestamp"`
	TaskManagerID string `json:"taskManagerId"`
}

// JobExceptionHistory is the failure history, newest first.
type JobExceptionHistory struct {
	Entries   []RootExceptionInfo `json:"entries"`
	Truncated bool                `json:"truncated"`
}

// ExceptionInfo is one failure. Task fields are absent for global failures.
type ExceptionInfo struct {
	ExceptionName string `json:"exceptionName"`
	Stacktrace    string `json:"stacktrace"`
	Timestamp     int64  `json:"timestamp"`
	TaskName      string `json:"taskName,omitempty"`
	Location      string `json:"location,omitempty"`
	// Endpoint is the newer name of Location.
	Endpoint      string            `json:"endpoint,omitempty"`
	TaskManagerID string            `json:"taskManagerId,omitempty"`
	FailureLabels map[string]string `json:"failureLabels"`
}

// RootExceptionInfo is a failure with the failures that happened concurrently.
type RootExceptionInfo struct {
	ExceptionInfo
	ConcurrentExceptions []ExceptionInfo `json:"concurrentExceptions"`
}

// ---------------------------------------------------------------------------------------
// Savepoints, checkpoints and other asynchronous operations

// Savepoint formats.
const (
	FormatCanonical = "CANONICAL"
	FormatNative    = "NATIVE"
)

// SavepointTriggerRequest is the body of POST /jobs/{jobid}/savepoints.
type SavepointTriggerRequest struct {
	TargetDirectory string `json:"target-directory,omitempty"`
	CancelJob       bool   `json:"cancel-job"`
	FormatType      string `json:"formatType,omitempty"`
	TriggerID       string `json:"triggerId,omitempty"`
}

// StopWithSavepointRequest is the body of POST /jobs/{jobid}/stop.
type StopWithSavepointRequest struct {
	TargetDirectory string `json:"targetDirectory,omitempty"`
	Drain           bool   `json:"drain"`
	FormatType      string `json:"formatType,omitempty"`
	TriggerID       string `json:"triggerId,omitempty"`
}

// CheckpointTriggerRequest is the body of POST /jobs/{jobid}/checkpoints.
type CheckpointTriggerRequest struct {
	CheckpointType string `json:"checkpointType,omitempty"` // CONFIGURED, FULL, INCREMENTAL
	TriggerID      string `json:"triggerId,omitempty"`
}

// TriggerResponse is the 202 answer of an asynchronous trigger.
type TriggerResponse struct {
	RequestID string `json:"request-id"`
}

// Queue states of an asynchronous operation.
const (
	QueueInProgress = "IN_PROGRESS"
	QueueCompleted  = "COMPLETED"
)

// AsynchronousOperationResult is the status of an asynchronous operation:
// {"status": {"id": "IN_PROGRESS"}, "operation": null} until it completes.
type AsynchronousOperationResult[T any] struct {
	Status    QueueStatus `json:"status"`
	Operation *T          `json:"operation"`
}

// QueueStatus is IN_PROGRESS or COMPLETED.
type QueueStatus struct {
	ID string `json:"id"`
}

// SavepointInfo is the outcome of a savepoint: a location or a failure cause.
type SavepointInfo struct {
	Location     string               `json:"location,omitempty"`
	FailureCause *SerializedThrowable `json:"failure-cause,omitempty"`
}

// CheckpointInfo is the outcome of a triggered checkpoint.
type CheckpointInfo struct {
	CheckpointID *int64               `json:"checkpointId,omitempty"`
	FailureCause *SerializedThrowable `json:"failureCause,omitempty"`
}

// SavepointStatus is GET /jobs/{jobid}/savepoints/{triggerid}.
type SavepointStatus = AsynchronousOperationResult[SavepointInfo]

// CheckpointStatus is GET /jobs/{jobid}/checkpoints/{triggerid}.
type CheckpointStatus = AsynchronousOperationResult[CheckpointInfo]

// SerializedThrowable is a Java exception as the REST API carries it.
type SerializedThrowable struct {
	Class               string `json:"class"`
	StackTrace          string `json:"stack-trace"`
	SerializedThrowable string `json:"serialized-throwable"`
}
