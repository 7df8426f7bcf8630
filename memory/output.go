package memory

import (
	"errors"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// JVMArgs are the JVM memory arguments Flink starts the TaskManager with
// (ProcessMemoryUtils.generateJvmParametersStr).
func (t *TaskManager) JVMArgs() string {
	heap := strconv.FormatInt(t.JVMHeap(), 10)
	return "-Xmx" + heap + " -Xms" + heap +
		" -XX:MaxDirectMemorySize=" + strconv.FormatInt(t.JVMDirect(), 10) +
		" -XX:MaxMetaspaceSize=" + strconv.FormatInt(t.JVMMetaspace, 10)
}

// tmDynamicKeys is the order Flink prints the TaskManager dynamic configs in: the iteration order
// of Java's HashMap for this fixed key set. Only the set matters to Flink.
var tmDynamicKeys = []string{
	"taskmanager.memory.network.min",
	"taskmanager.cpu.cores",
	"taskmanager.memory.task.off-heap.size",
	"taskmanager.memory.jvm-metaspace.size",
	"external-resources",
	"taskmanager.memory.jvm-overhead.min",
	"taskmanager.memory.framework.off-heap.size",
	"taskmanager.memory.network.max",
	"taskmanager.memory.framework.heap.size",
	"taskmanager.memory.managed.size",
	"taskmanager.memory.task.heap.size",
	"taskmanager.numberOfTaskSlots",
	"taskmanager.memory.jvm-overhead.max",
}

func bytesValue(n int64) string { return strconv.FormatInt(n, 10) + "b" }

// DynamicConfigs are the -D options Flink passes to the TaskManager so that it runs with exactly
// the derived sizes (TaskExecutorProcessUtils.generateDynamicConfigsStr). External resources are
// not modelled: "external-resources" is always "none".
func (t *TaskManager) DynamicConfigs() map[string]string {
	return map[string]string{
		"taskmanager.memory.network.min":             bytesValue(t.Network),
		"taskmanager.cpu.cores":                      flinkconf.JavaDoubleString(t.CPUCores),
		"taskmanager.memory.task.off-heap.size":      bytesValue(t.TaskOffHeap),
		"taskmanager.memory.jvm-metaspace.size":      bytesValue(t.JVMMetaspace),
		"external-resources":                         "none",
		"taskmanager.memory.jvm-overhead.min":        bytesValue(t.JVMOverhead),
		"taskmanager.memory.framework.off-heap.size": bytesValue(t.FrameworkOffHeap),
		"taskmanager.memory.network.max":             bytesValue(t.Network),
		"taskmanager.memory.framework.heap.size":     bytesValue(t.FrameworkHeap),
		"taskmanager.memory.managed.size":            bytesValue(t.Managed),
		"taskmanager.memory.task.heap.size":          bytesValue(t.TaskHeap),
		"taskmanager.numberOfTaskSlots":              strconv.Itoa(t.NumSlots),
		"taskmanager.memory.jvm-overhead.max":        bytesValue(t.JVMOverhead),
	}
}

// DynamicConfigsString renders DynamicConfigs as Flink prints them: "-D k=v" joined by spaces,
// in Flink's order.
func (t *TaskManager) DynamicConfigsString() string {
	return assemble(tmDynamicKeys, t.DynamicConfigs())
}

// JVMArgs are the JVM memory arguments Flink starts the JobManager with; the direct-memory limit
// is present only when jobmanager.memory.enable-jvm-direct-memory-limit is true.
func (j *JobManager) JVMArgs() string {
	heap := strconv.FormatInt(j.JVMHeap, 10)
	s := "-Xmx" + heap + " -Xms" + heap
	if j.DirectMemoryLimit {
		s += " -XX:MaxDirectMemorySize=" + strconv.FormatInt(j.OffHeap, 10)
	}
	return s + " -XX:MaxMetaspaceSize=" + strconv.FormatInt(j.JVMMetaspace, 10)
}

var jmDynamicKeys = []string{
	"jobmanager.memory.off-heap.size",
	"jobmanager.memory.jvm-overhead.min",
	"jobmanager.memory.jvm-metaspace.size",
	"jobmanager.memory.heap.size",
	"jobmanager.memory.jvm-overhead.max",
}

// DynamicConfigs are the -D options Flink passes to the JobManager
// (JobManagerProcessUtils.generateDynamicConfigsStr).
func (j *JobManager) DynamicConfigs() map[string]string {
	return map[string]string{
		"jobmanager.memory.off-heap.size":      bytesValue(j.OffHeap),
		"jobmanager.memory.jvm-overhead.min":   bytesValue(j.JVMOverhead),
		"jobmanager.memory.jvm-metaspace.size": bytesValue(j.JVMMetaspace),
		"jobmanager.memory.heap.size":          bytesValue(j.JVMHeap),
		"jobmanager.memory.jvm-overhead.max":   bytesValue(j.JVMOverhead),
	}
}

// DynamicConfigsString renders DynamicConfigs as Flink prints them.
func (j *JobManager) DynamicConfigsString() string {
	return assemble(jmDynamicKeys, j.DynamicConfigs())
}

func assemble(order []string, m map[string]string) string {
	var b strings.Builder
	for i, k := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("-D " + k + "=" + m[k])
	}
	return b.String()
}

// TaskManagerRecord is a TaskManager in the form of the test vectors' "expect" objects and of
// `flinktune memory --batch` output: snake_case names, bytes as integers.
type TaskManagerRecord struct {
	FrameworkHeap    int64  `json:"framework_heap" yaml:"framework_heap"`
	FrameworkOffHeap int64  `json:"framework_off_heap" yaml:"framework_off_heap"`
	TaskHeap         int64  `json:"task_heap" yaml:"task_heap"`
	TaskOffHeap      int64  `json:"task_off_heap" yaml:"task_off_heap"`
	Network          int64  `json:"network" yaml:"network"`
	Managed          int64  `json:"managed" yaml:"managed"`
	JVMMetaspace     int64  `json:"jvm_metaspace" yaml:"jvm_metaspace"`
	JVMOverhead      int64  `json:"jvm_overhead" yaml:"jvm_overhead"`
	TotalFlink       int64  `json:"total_flink" yaml:"total_flink"`
	TotalProcess     int64  `json:"total_process" yaml:"total_process"`
	JVMHeap          int64  `json:"jvm_heap" yaml:"jvm_heap"`
	JVMDirect        int64  `json:"jvm_direct" yaml:"jvm_direct"`
	CPUCores         string `json:"cpu_cores" yaml:"cpu_cores"`
	NumSlots         int    `json:"num_slots" yaml:"num_slots"`
	JVMArgs          string `json:"jvm_args" yaml:"jvm_args"`
	DynamicConfigs   string `json:"dynamic_configs" yaml:"dynamic_configs"`
}

// Record renders the TaskManager as a vector "expect" record.
func (t *TaskManager) Record() TaskManagerRecord {
	return TaskManagerRecord{
		FrameworkHeap: t.FrameworkHeap, FrameworkOffHeap: t.FrameworkOffHeap,
		TaskHeap: t.TaskHeap, TaskOffHeap: t.TaskOffHeap,
		Network: t.Network, Managed: t.Managed,
		JVMMetaspace: t.JVMMetaspace, JVMOverhead: t.JVMOverhead,
		TotalFlink: t.TotalFlink, TotalProcess: t.TotalProcess,
		JVMHeap: t.JVMHeap(), JVMDirect: t.JVMDirect(),
		CPUCores: flinkconf.JavaDoubleString(t.CPUCores), NumSlots: t.NumSlots,
		JVMArgs: t.JVMArgs(), DynamicConfigs: t.DynamicConfigsString(),
	}
}

// JobManagerRecord is a JobManager in the form of the test vectors' "expect" objects.
type JobManagerRecord struct {
	JVMHeap        int64  `json:"jvm_heap" yaml:"jvm_heap"`
	OffHeap        int64  `json:"off_heap" yaml:"off_heap"`
	JVMMetaspace   int64  `json:"jvm_metaspace" yaml:"jvm_metaspace"`
	JVMOverhead    int64  `json:"jvm_overhead" yaml:"jvm_overhead"`
	TotalFlink     int64  `json:"total_flink" yaml:"total_flink"`
	TotalProcess   int64  `json:"total_process" yaml:"total_process"`
	JVMDirect      int64  `json:"jvm_direct" yaml:"jvm_direct"`
	JVMArgs        string `json:"jvm_args" yaml:"jvm_args"`
	DynamicConfigs string `json:"dynamic_configs" yaml:"dynamic_configs"`
}

// Record renders the JobManager as a vector "expect" record.
func (j *JobManager) Record() JobManagerRecord {
	return JobManagerRecord{
		JVMHeap: j.JVMHeap, OffHeap: j.OffHeap,
		JVMMetaspace: j.JVMMetaspace, JVMOverhead: j.JVMOverhead,
		TotalFlink: j.TotalFlink, TotalProcess: j.TotalProcess,
		JVMDirect: j.OffHeap, JVMArgs: j.JVMArgs(), DynamicConfigs: j.DynamicConfigsString(),
	}
}

// ErrorRecord is a Flink failure in the form of the test vectors' "expect" objects.
type ErrorRecord struct {
	// Error is "<SimpleClassName>: <message>" of the top-level exception.
	Error        string   `json:"error" yaml:"error"`
	ErrorClass   string   `json:"error_class" yaml:"error_class"`
	ErrorMessage string   `json:"error_message" yaml:"error_message"`
	Causes       []string `json:"causes" yaml:"causes"`
}

// ErrorRecordOf renders err; a *flinkconf.Exception keeps its class and cause chain.
func ErrorRecordOf(err error) ErrorRecord {
	var ex *flinkconf.Exception
	if !errors.As(err, &ex) {
		return ErrorRecord{Error: err.Error(), ErrorMessage: err.Error(), Causes: []string{}}
	}
	r := ErrorRecord{Error: ex.Error(), ErrorClass: ex.Class, ErrorMessage: ex.Message, Causes: []string{}}
	for _, c := range ex.Causes() {
		r.Causes = append(r.Causes, c.Error())
	}
	return r
}

// ExpectTaskManager renders a derivation result as a vector "expect" map: the record's fields on
// success, the error fields on failure.
func ExpectTaskManager(tm *TaskManager, err error) map[string]any {
	if err != nil {
		return ErrorRecordOf(err).Map()
	}
	return tm.Record().Map()
}

// ExpectJobManager renders a JobManager derivation result as a vector "expect" map.
func ExpectJobManager(jm *JobManager, err error) map[string]any {
	if err != nil {
		return ErrorRecordOf(err).Map()
	}
	return jm.Record().Map()
}

// Map returns the record's fields by their JSON names.
func (r TaskManagerRecord) Map() map[string]any {
	return map[string]any{
		"framework_heap": r.FrameworkHeap, "framework_off_heap": r.FrameworkOffHeap,
		"task_heap": r.TaskHeap, "task_off_heap": r.TaskOffHeap,
		"network": r.Network, "managed": r.Managed,
		"jvm_metaspace": r.JVMMetaspace, "jvm_overhead": r.JVMOverhead,
		"total_flink": r.TotalFlink, "total_process": r.TotalProcess,
		"jvm_heap": r.JVMHeap, "jvm_direct": r.JVMDirect,
		"cpu_cores": r.CPUCores, "num_slots": r.NumSlots,
		"jvm_args": r.JVMArgs, "dynamic_configs": r.DynamicConfigs,
	}
}

// Map returns the record's fields by their JSON names.
func (r JobManagerRecord) Map() map[string]any {
	return map[string]any{
		"jvm_heap": r.JVMHeap, "off_heap": r.OffHeap,
		"jvm_metaspace": r.JVMMetaspace, "jvm_overhead": r.JVMOverhead,
		"total_flink": r.TotalFlink, "total_process": r.TotalProcess,
		"jvm_direct": r.JVMDirect, "jvm_args": r.JVMArgs, "dynamic_configs": r.DynamicConfigs,
	}
}

// Map returns the record's fields by their JSON names.
func (r ErrorRecord) Map() map[string]any {
	causes := make([]any, len(r.Causes))
	for i, c := range r.Causes {
		causes[i] = c
	}
	return map[string]any{"error": r.Error, "error_class": r.ErrorClass, "error_message": r.ErrorMessage, "causes": causes}
}
