package tiny

import (
	"fmt"
	"strings"
)

// GC is a HotSpot garbage collector.
type GC int

const (
	// GCAuto: the JVM's ergonomic choice when evaluating a setup, every collector when planning.
	GCAuto GC = iota
	GCSerial
	GCG1
	GCParallel
)

func (g GC) String() string {
	switch g {
	case GCSerial:
		return "serial"
	case GCG1:
		return "g1"
	case GCParallel:
		return "parallel"
	}
	return "auto"
}

// Flag is the JVM flag selecting the collector.
func (g GC) Flag() string {
	switch g {
	case GCSerial:
		return "-XX:+UseSerialGC"
	case GCG1:
		return "-XX:+UseG1GC"
	case GCParallel:
		return "-XX:+UseParallelGC"
	}
	return ""
}

// ParseGC reads auto, serial, g1 or parallel.
func ParseGC(s string) (GC, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return GCAuto, nil
	case "serial":
		return GCSerial, nil
	case "g1":
		return GCG1, nil
	case "parallel":
		return GCParallel, nil
	}
	return GCAuto, fmt.Errorf("unknown collector %q: want auto, serial, g1 or parallel", s)
}

// JIT is the JIT compilation mode.
type JIT int

const (
	// JITAuto: tiered when evaluating (the JVM default), both when planning.
	JITAuto JIT = iota
	// JITTiered is the default C1+C2 tiered compilation.
	JITTiered
	// JITC1 is -XX:TieredStopAtLevel=1: C1 only, less code cache and compiler memory, slower code.
	JITC1
)

func (j JIT) String() string {
	switch j {
	case JITTiered:
		return "tiered"
	case JITC1:
		return "c1"
	}
	return "auto"
}

// ParseJIT reads auto, tiered or c1.
func ParseJIT(s string) (JIT, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return JITAuto, nil
	case "tiered", "c2":
		return JITTiered, nil
	case "c1":
		return JITC1, nil
	}
	return JITAuto, fmt.Errorf("unknown JIT mode %q: want auto, tiered or c1", s)
}

// Connector is the job the process runs.
type Connector int

const (
	// ConnectorKafka is the seed's job: a Kafka source, a filter dropping 1% of the records and a
	// Kafka sink, chained into one task per slot.
	ConnectorKafka Connector = iota
	// ConnectorNone is no job at all: an empty cluster (the seed's first experiment).
	ConnectorNone
	// ConnectorDatagen is the seed's job without Kafka, as flinktune's harness runs it on real
	// Flink (io.flinktune.harness.tiny.TinyJob): a DataGeneratorSource of byte records, the 1%
	// filter and a discarding sink, chained into one task per slot.
	ConnectorDatagen
)

func (c Connector) String() string {
	switch c {
	case ConnectorNone:
		return "none"
	case ConnectorDatagen:
		return "datagen"
	}
	return "kafka"
}

// Title describes the workload for people.
func (c Connector) Title() string {
	switch c {
	case ConnectorNone:
		return "empty cluster (no job)"
	case ConnectorDatagen:
		return "datagen source, filter, discarding sink"
	}
	return "Kafka source and sink"
}

// ParseConnector reads kafka or none.
func ParseConnector(s string) (Connector, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "kafka":
		return ConnectorKafka, nil
	case "none", "empty":
		return ConnectorNone, nil
	case "datagen":
		return ConnectorDatagen, nil
	}
	return ConnectorKafka, fmt.Errorf("unknown connector %q: want kafka (Kafka source and sink, the Tiny Flink talk's job), datagen (datagen source and discarding sink, as flinktune runs it on real Flink) or none (an empty cluster)", s)
}

// Mode is the kind of process sized.
type Mode int

const (
	// MiniCluster is Flink in one JVM: JobManager, REST endpoint and TaskManager together.
	MiniCluster Mode = iota
	// TaskManager is one TaskExecutor process of a small distributed deployment; its memory is
	// configured with Flink's taskmanager.memory.* options and derived exactly as Flink does.
	TaskManager
)

func (m Mode) String() string {
	if m == TaskManager {
		return "taskmanager"
	}
	return "minicluster"
}

// Title names the mode for people.
func (m Mode) Title() string {
	if m == TaskManager {
		return "TaskManager"
	}
	return "MiniCluster"
}

// ParseMode reads minicluster or taskmanager.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "minicluster", "mini", "local":
		return MiniCluster, nil
	case "taskmanager", "tm":
		return TaskManager, nil
	}
	return MiniCluster, fmt.Errorf("unknown mode %q: want minicluster or taskmanager", s)
}

// Submit is how the job reaches the cluster.
type Submit int

const (
	// SubmitLocal hands the job graph to the MiniCluster in the same JVM (MiniCluster#submitJob or
	// a local StreamExecutionEnvironment): no REST client and hardly any REST traffic.
	SubmitLocal Submit = iota
	// SubmitREST submits through the REST API (RemoteStreamEnvironment / RestClusterClient), as
	// the seed does: a REST client lives in the process and every REST worker thread gets started.
	SubmitREST
)

func (s Submit) String() string {
	if s == SubmitREST {
		return "rest"
	}
	return "local"
}

// ParseSubmit reads local or rest.
func ParseSubmit(s string) (Submit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "local":
		return SubmitLocal, nil
	case "rest":
		return SubmitREST, nil
	}
	return SubmitLocal, fmt.Errorf("unknown submission %q: want local (MiniCluster#submitJob) or rest (RemoteStreamEnvironment, as in the Tiny Flink talk)", s)
}

// Threads selects how thread pools are sized.
type Threads int

const (
	// ThreadsMinimal trims Flink's pools and the JVM's CPU-derived pools.
	ThreadsMinimal Threads = iota
	// ThreadsDefault keeps Flink's and the JVM's defaults.
	ThreadsDefault
)

func (t Threads) String() string {
	if t == ThreadsDefault {
		return "default"
	}
	return "minimal"
}

// ParseThreads reads minimal or default.
func ParseThreads(s string) (Threads, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "minimal", "min":
		return ThreadsMinimal, nil
	case "default":
		return ThreadsDefault, nil
	}
	return ThreadsMinimal, fmt.Errorf("unknown thread sizing %q: want minimal or default", s)
}
