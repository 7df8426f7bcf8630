// Package memory derives TaskManager and JobManager memory pools, JVM arguments and dynamic
// configs from a Flink configuration exactly as Flink does, failing where Flink fails with
// Flink's exception class and message.
package memory

import (
	"errors"

	"github.com/flinktune/flinktune/flinkconf"
)

// Profile selects which Flink line's semantics to reproduce.
type Profile int

const (
	// Flink1 is the 1.17–1.20 line: legacy heap keys and FLINK_*_HEAP are honoured.
	Flink1 Profile = iota
	// Flink2 ignores legacy heap keys and environment variables and reports JobManager errors
	// without the "JobManager memory configuration failed: " prefix.
	Flink2
)

// TaskManager holds every pool of a TaskExecutor's memory, in bytes.
type TaskManager struct {
	FrameworkHeap    int64
	FrameworkOffHeap int64
	TaskHeap         int64
	TaskOffHeap      int64
	Network          int64
	Managed          int64
	JVMMetaspace     int64
	JVMOverhead      int64
	TotalFlink       int64
	TotalProcess     int64
	CPUCores         float64
	NumSlots         int
}

// JVMHeap is framework heap plus task heap (-Xmx and -Xms).
func (t *TaskManager) JVMHeap() int64 { return t.FrameworkHeap + t.TaskHeap }

// JVMDirect is framework off-heap plus task off-heap plus network (-XX:MaxDirectMemorySize).
func (t *TaskManager) JVMDirect() int64 { return t.FrameworkOffHeap + t.TaskOffHeap + t.Network }

// JobManager holds every pool of a JobManager's memory, in bytes.
type JobManager struct {
	JVMHeap      int64
	OffHeap      int64
	JVMMetaspace int64
	JVMOverhead  int64
	TotalFlink   int64
	TotalProcess int64
	// DirectMemoryLimit is jobmanager.memory.enable-jvm-direct-memory-limit.
	DirectMemoryLimit bool
}

var errNotImplemented = errors.New("memory derivation not implemented yet")

// DeriveTaskManager computes a TaskManager's memory from cfg. env holds FLINK_TM_HEAP if set
// (the real process environment is never read). A Flink failure is a *flinkconf.Exception.
func DeriveTaskManager(cfg *flinkconf.Config, env map[string]string, p Profile) (*TaskManager, error) {
	return nil, errNotImplemented
}

// DeriveJobManager computes a JobManager's memory from cfg; env may hold FLINK_JM_HEAP.
func DeriveJobManager(cfg *flinkconf.Config, env map[string]string, p Profile) (*JobManager, error) {
	return nil, errNotImplemented
}
