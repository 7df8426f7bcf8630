package memory

import (
	"errors"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

// fuzzKeys are the options the derivation reads; fuzz inputs pick among them so that most
// inputs exercise the memory code rather than being ignored keys.
var fuzzKeys = []string{
	"taskmanager.memory.process.size", "taskmanager.memory.flink.size", "taskmanager.memory.task.heap.size",
	"taskmanager.memory.managed.size", "taskmanager.memory.size", "taskmanager.memory.managed.fraction",
	"taskmanager.memory.framework.heap.size", "taskmanager.memory.framework.off-heap.size",
	"taskmanager.memory.task.off-heap.size", "taskmanager.memory.network.min", "taskmanager.memory.network.max",
	"taskmanager.memory.network.fraction", "taskmanager.network.memory.min", "taskmanager.network.memory.fraction",
	"taskmanager.memory.jvm-metaspace.size", "taskmanager.memory.jvm-overhead.min", "taskmanager.memory.jvm-overhead.max",
	"taskmanager.memory.jvm-overhead.fraction", "taskmanager.memory.segment-size", "taskmanager.network.numberOfBuffers",
	"taskmanager.numberOfTaskSlots", "taskmanager.cpu.cores", "taskmanager.heap.size", "taskmanager.heap.mb",
	"jobmanager.memory.process.size", "jobmanager.memory.flink.size", "jobmanager.memory.heap.size",
	"jobmanager.memory.off-heap.size", "jobmanager.memory.jvm-metaspace.size", "jobmanager.memory.jvm-overhead.min",
	"jobmanager.memory.jvm-overhead.max", "jobmanager.memory.jvm-overhead.fraction",
	"jobmanager.memory.enable-jvm-direct-memory-limit", "jobmanager.heap.size", "jobmanager.heap.mb",
}

// fuzzConfig turns "i=value;j=value;..." into a configuration, i indexing fuzzKeys (any other
// text is taken as a key itself).
func fuzzConfig(spec string) *flinkconf.Config {
	raw := map[string]string{}
	for _, part := range strings.Split(spec, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		key := k
		if n := 0; len(k) > 0 && len(k) <= 2 {
			for _, c := range k {
				n = n*10 + int(c-'0')
			}
			if n >= 0 && n < len(fuzzKeys) {
				key = fuzzKeys[n]
			}
		}
		raw[key] = v
	}
	return ConfigFromStrings(raw, "fuzz")
}

var fuzzSeeds = []string{
	"0=1728m",
	"1=1280m;7=0;8=0",
	"2=1024m;3=1024m;1=3g",
	"0=4096m;5=0.0;9=256m;10=256m",
	"0=2g;19=1024;18=64k",
	"1=1g;2=100m;19=10;18=48k",
	"0=2g;21=NaN",
	"0=2g;17=0.99999994",
	"1=9223372036854775807",
	"0=1.5g;22=1g;23=-5",
	"24=1600m;26=1g;33=2g",
	"25=1g;27=0;32=TRUE",
	"26=9223372036854775807b",
	"0=6291456kb;17=0.1614980;23=-5;5=0.857",
	"1=1g;10=9223372036854775807b;9=9223372036854775807b",
}

// FuzzDerive checks, for arbitrary configurations, that the derivation never panics, that every
// failure is a Flink exception, and that every success is internally consistent.
func FuzzDerive(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "")
		f.Add(s, "1g")
	}
	f.Fuzz(func(t *testing.T, spec, envHeap string) {
		cfg := fuzzConfig(spec)
		var env map[string]string
		if envHeap != "" {
			env = map[string]string{EnvTMHeap: envHeap, EnvJMHeap: envHeap}
		}
		for _, p := range []Profile{Flink1, Flink2} {
			tm, err := DeriveTaskManager(cfg, env, p)
			checkOutcome(t, "TaskManager", err)
			if err == nil {
				checkTaskManager(t, tm)
			}
			jm, err := DeriveJobManager(cfg, env, p)
			checkOutcome(t, "JobManager", err)
			if err == nil {
				checkJobManager(t, jm)
			}
		}
	})
}

// FuzzDeriveFlinkConf feeds arbitrary flink-conf.yaml text through the loader and both derivations.
func FuzzDeriveFlinkConf(f *testing.F) {
	f.Add("taskmanager.memory.process.size: 1728m\njobmanager.memory.process.size: 1600m\n")
	f.Add("taskmanager.memory.flink.size: 1g # comment\ntaskmanager.memory.managed.fraction: 0x1p-3\n")
	f.Add("jobmanager.memory.heap.size: 1g\njobmanager.memory.flink.size: 1100m\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg, _ := flinkconf.ParseFlat(strings.NewReader(text), "fuzz")
		for _, p := range []Profile{Flink1, Flink2} {
			tm, err := DeriveTaskManager(cfg, nil, p)
			checkOutcome(t, "TaskManager", err)
			if err == nil {
				checkTaskManager(t, tm)
			}
			jm, err := DeriveJobManager(cfg, nil, p)
			checkOutcome(t, "JobManager", err)
			if err == nil {
				checkJobManager(t, jm)
			}
		}
	})
}

var knownClasses = map[string]bool{
	flinkconf.ClassIllegalConfiguration: true, flinkconf.ClassIllegalArgument: true,
	flinkconf.ClassArithmetic: true, flinkconf.ClassNumberFormat: true,
}

func checkOutcome(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var ex *flinkconf.Exception
	if !errors.As(err, &ex) {
		t.Fatalf("%s: error %T %v is not a Flink exception", what, err, err)
	}
	if !knownClasses[ex.Class] {
		t.Fatalf("%s: unexpected exception class %s: %v", what, ex.Class, err)
	}
}

func checkTaskManager(t *testing.T, tm *TaskManager) {
	t.Helper()
	for name, v := range map[string]int64{"framework heap": tm.FrameworkHeap, "framework off-heap": tm.FrameworkOffHeap,
		"task heap": tm.TaskHeap, "task off-heap": tm.TaskOffHeap, "managed": tm.Managed, "network": tm.Network,
		"metaspace": tm.JVMMetaspace, "overhead": tm.JVMOverhead} {
		if v < 0 {
			t.Fatalf("negative %s %d", name, v)
		}
	}
	flink := tm.FrameworkHeap + tm.FrameworkOffHeap + tm.TaskHeap + tm.TaskOffHeap + tm.Managed + tm.Network
	if flink != tm.TotalFlink || tm.TotalFlink+tm.JVMMetaspace+tm.JVMOverhead != tm.TotalProcess {
		t.Fatalf("pools do not add up: %+v", tm)
	}
	if !(tm.CPUCores > 0) {
		t.Fatalf("cpu cores %v", tm.CPUCores)
	}
	if len(tm.DynamicConfigs()) != 13 || tm.JVMArgs() == "" {
		t.Fatal("incomplete outputs")
	}
	for pool := range tm.Sources {
		_ = tm.Sources[pool].Short()
	}
	for _, s := range tm.Steps {
		_ = s.String()
	}
}

func checkJobManager(t *testing.T, jm *JobManager) {
	t.Helper()
	if jm.JVMHeap <= 0 && jm.OffHeap <= 0 && jm.TotalFlink != 0 {
		t.Fatalf("inconsistent %+v", jm)
	}
	if jm.JVMHeap < 0 || jm.OffHeap < 0 || jm.JVMMetaspace < 0 || jm.JVMOverhead < 0 {
		t.Fatalf("negative pool %+v", jm)
	}
	if jm.JVMHeap+jm.OffHeap != jm.TotalFlink || jm.TotalFlink+jm.JVMMetaspace+jm.JVMOverhead != jm.TotalProcess {
		t.Fatalf("pools do not add up: %+v", jm)
	}
	for _, s := range jm.Steps {
		_ = s.String()
	}
}
