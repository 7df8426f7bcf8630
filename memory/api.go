// Package memory derives TaskManager and JobManager memory pools, JVM arguments and dynamic
// configs from a Flink configuration exactly as Flink does, failing where Flink fails with
// Flink's exception class and message.
//
// The derivation reproduces Flink's standalone start-up path (BashJavaUtils GET_TM_RESOURCE_PARAMS
// and GET_JM_RESOURCE_PARAMS): legacy heap mapping, the three configuration modes (fine-grained,
// total Flink memory, total process memory), fractions of float32 options widened to double and
// multiplied with exact decimal arithmetic, min/max capping, and every consistency check in
// Flink's order. Besides the numbers, every result records where each pool came from (Sources)
// and the ordered derivation (Steps), so explanations read the same data the numbers came from.
package memory

import (
	"fmt"
	"strings"

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

// String returns the profile's name as ParseProfile accepts it.
func (p Profile) String() string {
	switch p {
	case Flink1:
		return "flink1"
	case Flink2:
		return "flink2"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// ParseProfile maps "flink1" (also "1", "1.x") and "flink2" (also "2", "2.x") to a Profile.
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "flink1", "1", "1.x", "flink-1":
		return Flink1, nil
	case "flink2", "2", "2.x", "flink-2":
		return Flink2, nil
	}
	return Flink1, fmt.Errorf("unknown profile %q: want flink1 (Flink 1.17-1.20, the default) or flink2 (Flink 2.x)", s)
}

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

	// Profile is the semantics the values were derived with.
	Profile Profile
	// Sources says, for every pool (keyed by the Pool* names), where its value came from.
	Sources map[string]Source
	// Steps is the derivation in Flink's order.
	Steps []Step
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

	// Profile is the semantics the values were derived with.
	Profile Profile
	// Sources says, for every pool (keyed by the Pool* names), where its value came from.
	Sources map[string]Source
	// Steps is the derivation in Flink's order.
	Steps []Step
}

// JVMDirect is the JobManager's direct memory, its off-heap memory. It is passed to the JVM as
// -XX:MaxDirectMemorySize only when DirectMemoryLimit is set.
func (j *JobManager) JVMDirect() int64 { return j.OffHeap }

// DeriveTaskManager computes a TaskManager's memory from cfg. env holds FLINK_TM_HEAP if set
// (the real process environment is never read). A Flink failure is a *flinkconf.Exception.
func DeriveTaskManager(cfg *flinkconf.Config, env map[string]string, p Profile) (*TaskManager, error) {
	tm, _, err := TraceTaskManager(cfg, env, p)
	return tm, err
}

// DeriveJobManager computes a JobManager's memory from cfg; env may hold FLINK_JM_HEAP.
func DeriveJobManager(cfg *flinkconf.Config, env map[string]string, p Profile) (*JobManager, error) {
	jm, _, err := TraceJobManager(cfg, env, p)
	return jm, err
}

// TraceTaskManager is DeriveTaskManager that also returns the derivation steps taken, including
// those before a failure, for explanations. On success steps equals tm.Steps.
func TraceTaskManager(cfg *flinkconf.Config, env map[string]string, p Profile) (tm *TaskManager, steps []Step, err error) {
	if cfg == nil {
		cfg = flinkconf.New()
	}
	d := newDeriver(cfg, p)
	tm, ex := d.taskManager(env)
	if ex != nil {
		return nil, d.steps, ex
	}
	return tm, d.steps, nil
}

// TraceJobManager is DeriveJobManager that also returns the derivation steps taken, including
// those before a failure.
func TraceJobManager(cfg *flinkconf.Config, env map[string]string, p Profile) (jm *JobManager, steps []Step, err error) {
	if cfg == nil {
		cfg = flinkconf.New()
	}
	d := newDeriver(cfg, p)
	jm, ex := d.jobManager(env)
	if ex != nil {
		return nil, d.steps, ex
	}
	return jm, d.steps, nil
}
