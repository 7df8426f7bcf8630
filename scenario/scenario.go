// Package scenario loads simulator scenarios (scenarios/FORMAT.md): a simulated Flink cluster,
// the streaming jobs on it, the load they receive over time and the faults they meet.
//
// Loading is strict: an unknown field, a duplicate field or a bad value is an error of the form
// "<file>:<line>: ..." naming the field, so a typo never passes silently. A loaded Scenario is
// typed (durations as time.Duration, sizes in bytes), has every default applied and is
// validated (vertex references, cycles, load segments on sources only, forward edges between
// equal parallelism, ...). Flink options the simulator reads are parsed at load time too, so a
// bad value in a config block fails with its line and Flink's own message.
//
// Fields beyond FORMAT.md (the format allows additions):
//   - vertices[].topic: the Kafka topic name in a source's partition metrics (default: the
//     vertex id);
//   - faults[] with rest: slow take delay: <duration> (default 5s);
//   - faults[] with kill: jobmanager take for: <duration>, how long the JobManager and its REST
//     endpoint are down (default 15s);
//   - faults[] names accept '*' globs (e.g. "*.pendingRecords").
//
// A segment's sine starts at its rate going up; a ramp goes linearly from the rate the previous
// segment of that source had at the ramp's start. Heap perRecordPerSecond accepts a plain number
// of bytes (fractions allowed) or a memory size.
package scenario

import (
	"time"
)

// Version is a Flink version the simulator can claim: it selects the adaptive scheduler's
// options and timers and the REST wire shapes of that line.
type Version string

// Supported Flink versions.
const (
	V118 Version = "1.18"
	V119 Version = "1.19"
	V120 Version = "1.20"
	V20  Version = "2.0"
)

// Versions lists the supported versions, oldest first.
var Versions = []Version{V118, V119, V120, V20}

func (v Version) rank() int {
	for i, w := range Versions {
		if v == w {
			return i
		}
	}
	return -1
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return v.rank() >= o.rank() }

// Scenario is a loaded, validated scenario.
type Scenario struct {
	// Name defaults to the file name without extension.
	Name string
	// Source is where the scenario came from (a file path or "builtin:<name>"), for messages.
	Source string
	// Seed drives every random draw of a run.
	Seed         uint64
	Duration     time.Duration
	Tick         time.Duration
	FlinkVersion Version
	Cluster      Cluster
	Jobs         []Job
	Faults       []Fault
	SLO          SLO
	// Autoscaler holds job.autoscaler.* options applied to every job (a job's own config wins).
	Autoscaler map[string]string
}

// Cluster is the simulated Flink cluster.
type Cluster struct {
	// Config is the cluster's Flink configuration, nested YAML keys flattened with dots.
	Config       map[string]string
	TaskManagers TaskManagers
}

// TaskManagers are the provisioning bounds and timings of TaskManagers.
type TaskManagers struct {
	Initial, Min, Max int
	// StartupDelay is the time from requesting a TaskManager to it registering.
	StartupDelay time.Duration
	// IdleTimeout releases a TaskManager without allocated slots after this long
	// (resourcemanager.taskmanager-timeout).
	IdleTimeout time.Duration
}

// Job is one streaming job.
type Job struct {
	Name string
	// Config is the job-level Flink configuration; it overrides Cluster.Config and Autoscaler.
	Config   map[string]string
	Vertices []Vertex
	Load     []LoadSegment
	Restart  Restart
	// Line is where the job is defined, for messages.
	Line int
}

// Vertex returns the vertex with the given id, or nil.
func (j *Job) Vertex(id string) *Vertex {
	for i := range j.Vertices {
		if j.Vertices[i].ID == id {
			return &j.Vertices[i]
		}
	}
	return nil
}

// Restart describes how long a restart takes.
type Restart struct {
	// Base is the fixed part of every (re)start: cancel, schedule, deploy.
	Base time.Duration
	// RestoreRate is the state restored per second, in bytes.
	RestoreRate int64
}

// Ship strategies of an input edge.
const (
	ShipForward   = "FORWARD"
	ShipHash      = "HASH"
	ShipRebalance = "REBALANCE"
	ShipRescale   = "RESCALE"
	ShipBroadcast = "BROADCAST"
)

// Vertex is one job vertex (a chain of operators).
type Vertex struct {
	ID   string
	Name string
	// Parallelism is the initial (configured) parallelism.
	Parallelism int
	// MaxParallelism is resolved: the vertex's own value, else the job's
	// pipeline.max-parallelism, else Flink's default rule.
	MaxParallelism   int
	SlotSharingGroup string
	// Resources is the fine-grained profile of the vertex's slot sharing group, or nil.
	Resources *Resources
	// Capacity is the records per second one subtask processes when 100% busy.
	Capacity float64
	// ScalingEfficiency e gives a per-subtask capacity of Capacity * e^log2(p).
	ScalingEfficiency float64
	// Selectivity is records emitted per record received.
	Selectivity float64
	// Partitions is the number of source partitions, 0 = unlimited.
	Partitions int
	// Topic names the source's Kafka topic in partition metrics (default: the vertex id).
	Topic  string
	Inputs []Input
	// KeySkew is the Zipf exponent of the key distribution over key groups for HASH inputs.
	KeySkew float64
	State   State
	Heap    Heap
	// Metaspace is the class metadata the job's code loads per TaskManager, 0 = unset.
	Metaspace int64
	// MetaspaceWarmup is how long after a deployment the job's classes keep loading (code
	// paths first taken late: checkpointing, failover, rare branches): metaspace use rises
	// linearly from 70 % to all of Metaspace over it. 0 = loaded at once.
	MetaspaceWarmup time.Duration
	// DirectMemory is the direct (off-heap) memory one subtask allocates itself (client
	// buffers, compression): it counts against the JVM's direct limit (framework plus task
	// off-heap and network memory) and the process.
	DirectMemory int64
	// RecordBytes is the serialized size of one record the vertex emits on the network (its
	// numBytesOut per numRecordsOut), 0 = unset (DefaultRecordBytes); see OutRecordBytes.
	RecordBytes int
	// Line is where the vertex is defined, for messages.
	Line int
}

// DefaultRecordBytes is a record's size on the network when a vertex sets none: a few hundred
// bytes, like an event of a real job, so that a 32 KiB network buffer holds about a hundred
// records rather than thousands (sim/CALIBRATION.md §3).
const DefaultRecordBytes = 256

// MinRecordBytes is the smallest record the real-Flink harness can send: an 8-byte value plus
// Flink's 8 bytes of array and record length.
const MinRecordBytes = 16

// OutRecordBytes is the serialized size of one record the vertex emits.
func (v *Vertex) OutRecordBytes() int {
	if v.RecordBytes > 0 {
		return v.RecordBytes
	}
	return DefaultRecordBytes
}

// IsSource reports whether the vertex has no inputs.
func (v *Vertex) IsSource() bool { return len(v.Inputs) == 0 }

// StateBytes is the vertex's total keyed state at parallelism p.
func (v *Vertex) StateBytes(p int) int64 {
	if v.State.Bytes > 0 {
		return v.State.Bytes
	}
	return v.State.BytesPerSubtask * int64(p)
}

// Input is one input edge of a vertex.
type Input struct {
	From string
	Ship string
}

// Resources is a fine-grained resource profile (cpu cores, bytes).
type Resources struct {
	CPU         float64
	TaskHeap    int64
	TaskOffHeap int64
	Managed     int64
}

// State is a vertex's keyed state: per subtask or in total (at most one is set).
type State struct {
	BytesPerSubtask int64
	Bytes           int64
	// Keys is how many distinct keys the state is spread over, evenly (0: the real job's
	// default). The simulator models bytes only; on real Flink few keys mean large values,
	// allocated in large steps.
	Keys int64
}

// Heap is the JVM heap a vertex's operators use.
type Heap struct {
	// Base is the heap one subtask holds regardless of load, in bytes.
	Base int64
	// PerRecordPerSecond is live heap in bytes per record/s of a subtask's throughput.
	PerRecordPerSecond float64
}

// Shape is how a load segment moves the rate.
type Shape int

// Load segment shapes.
const (
	ShapeStep Shape = iota
	ShapeRamp
	ShapeSine
	ShapeSpike
)

func (s Shape) String() string { return [...]string{"step", "ramp", "sine", "spike"}[s] }

// LoadSegment is a source's input rate from At until the next segment of the same source.
type LoadSegment struct {
	Source string
	At     time.Duration
	Rate   float64
	Shape  Shape
	// Ramp is the duration of a linear ramp from the previous rate (ShapeRamp).
	Ramp time.Duration
	// SinePeriod and SineAmplitude shape Rate*(1+A*sin(2π(t-At)/period)) (ShapeSine).
	SinePeriod    time.Duration
	SineAmplitude float64
	// SpikeFor and SpikeFactor multiply Rate by the factor for a while (ShapeSpike).
	SpikeFor    time.Duration
	SpikeFactor float64
	// Noise is the standard deviation of multiplicative Gaussian noise per tick.
	Noise float64
	// Backlog is lag present at the start (segments at 0 only), in records.
	Backlog int64
	Line    int
}

// FaultKind is what a fault does.
type FaultKind int

// Fault kinds.
const (
	KillTaskManager FaultKind = iota
	KillJobManager
	RESTFault
	MetricsMissing
)

func (k FaultKind) String() string {
	return [...]string{"kill taskmanager", "kill jobmanager", "rest", "metrics missing"}[k]
}

// REST fault modes.
const (
	RESTUnavailable = "unavailable"
	RESTSlow        = "slow"
	RESTErrors      = "errors"
)

// Fault is one scheduled fault.
type Fault struct {
	Kind FaultKind
	At   time.Duration
	// For is how long REST and metrics faults last; for a JobManager kill, how long the
	// JobManager (and its REST endpoint) is down.
	For time.Duration
	// Count is the number of TaskManagers killed.
	Count int
	// REST is unavailable, slow or errors.
	REST string
	// Rate is the fraction of REST calls affected.
	Rate float64
	// Delay is how late a slow REST call answers.
	Delay time.Duration
	// Names are the metric names that vanish ('*' matches any run of characters).
	Names []string
	Line  int
}

// Active reports whether a timed fault is in effect at t.
func (f *Fault) Active(t time.Duration) bool { return t >= f.At && t < f.At+f.For }

// SLO holds the service objectives the benchmark scores against.
type SLO struct {
	// MaxLag is the lag, in seconds of input at the current rate, above which a second
	// counts as a violation.
	MaxLag time.Duration
	// Settle is the window in which a reversal of direction counts as an oscillation.
	Settle time.Duration
}

// JobConfig is the job's effective configuration: the cluster's, then the scenario's
// autoscaler options, then the job's own keys.
func (s *Scenario) JobConfig(j *Job) map[string]string {
	m := make(map[string]string, len(s.Cluster.Config)+len(s.Autoscaler)+len(j.Config))
	for k, v := range s.Cluster.Config {
		m[k] = v
	}
	for k, v := range s.Autoscaler {
		m[k] = v
	}
	for k, v := range j.Config {
		m[k] = v
	}
	return m
}
