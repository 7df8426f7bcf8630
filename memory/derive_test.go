package memory

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

func flat(t testing.TB, text string) *flinkconf.Config {
	t.Helper()
	c, _ := flinkconf.ParseFlat(strings.NewReader(text), "flink-conf.yaml")
	return c
}

// The worked examples of the reference (§13), read through the flink-conf loader.
func TestTaskManagerWorkedExamples(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name string
		conf string
		env  map[string]string
		want TaskManager
	}{
		{"default config 1728m", "taskmanager.memory.process.size: 1728m\n", nil, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 402653174, Network: 134217730,
			Managed: 536870920, JVMMetaspace: 256 * mib, JVMOverhead: 192 * mib, TotalFlink: 1280 * mib,
			TotalProcess: 1728 * mib, CPUCores: 1, NumSlots: 1}},
		{"flink.size 1280m", "taskmanager.memory.flink.size: 1280m", nil, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 402653174, Network: 134217730,
			Managed: 536870920, JVMMetaspace: 256 * mib, JVMOverhead: 192 * mib, TotalFlink: 1280 * mib,
			TotalProcess: 1728 * mib, CPUCores: 1, NumSlots: 1}},
		{"fine-grained", "taskmanager.memory.task.heap.size: 1024m\ntaskmanager.memory.managed.size: 1024m\ntaskmanager.numberOfTaskSlots: 4", nil, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 1024 * mib, Network: 268435460,
			Managed: 1024 * mib, JVMMetaspace: 256 * mib, JVMOverhead: 328087785, TotalFlink: 2684354564,
			TotalProcess: 3280877805, CPUCores: 4, NumSlots: 4}},
		{"30 GiB process, overhead capped", "taskmanager.memory.process.size: 32212254720\ntaskmanager.cpu.cores: 2.5", nil, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 15166603034, Network: 3087007790,
			Managed: 12348031160, JVMMetaspace: 256 * mib, JVMOverhead: 1024 * mib, TotalFlink: 30870077440,
			TotalProcess: 32212254720, CPUCores: 2.5, NumSlots: 1}},
		{"legacy env FLINK_TM_HEAP", "", map[string]string{"FLINK_TM_HEAP": "1g"}, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 268435448, Network: 107374184,
			Managed: 429496736, JVMMetaspace: 256 * mib, JVMOverhead: 192 * mib, TotalFlink: 1024 * mib,
			TotalProcess: 1543503872, CPUCores: 1, NumSlots: 1}},
		{"legacy network buffers", "taskmanager.memory.flink.size: 1g\ntaskmanager.network.numberOfBuffers: 1024", nil, TaskManager{
			FrameworkHeap: 128 * mib, FrameworkOffHeap: 128 * mib, TaskHeap: 1024*mib - 256*mib - 429496736 - 32*mib, Network: 32 * mib,
			Managed: 429496736, JVMMetaspace: 256 * mib, JVMOverhead: 192 * mib, TotalFlink: 1024 * mib,
			TotalProcess: 1543503872, CPUCores: 1, NumSlots: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := DeriveTaskManager(flat(t, tt.conf), tt.env, Flink1)
			if err != nil {
				t.Fatal(err)
			}
			got := *tm
			got.Sources, got.Steps, got.Profile = nil, nil, 0
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if s := tm.TotalFlink - tm.FrameworkHeap - tm.FrameworkOffHeap - tm.TaskHeap - tm.TaskOffHeap - tm.Managed - tm.Network; s != 0 {
				t.Errorf("pools do not add up to total Flink memory: off by %d", s)
			}
		})
	}
}

func TestJobManagerWorkedExamples(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		conf               string
		heap, off, ovh, tp int64
		args               string
	}{
		{"jobmanager.memory.process.size: 1600m", 1024 * mib, 128 * mib, 192 * mib, 1600 * mib,
			"-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"},
		{"jobmanager.memory.flink.size: 1280m\njobmanager.memory.enable-jvm-direct-memory-limit: TRUE", 1152 * mib, 128 * mib, 192 * mib, 1728 * mib,
			"-Xmx1207959552 -Xms1207959552 -XX:MaxDirectMemorySize=134217728 -XX:MaxMetaspaceSize=268435456"},
		{"jobmanager.memory.heap.size: 1024m", 1024 * mib, 128 * mib, 192 * mib, 1600 * mib,
			"-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"},
		{"jobmanager.heap.mb: 1024\njobmanager.memory.off-heap.size: 131072k\njobmanager.memory.jvm-overhead.min: 131072 kb", 1024 * mib, 128 * mib, 164043892, 1640438900,
			"-Xmx1073741824 -Xms1073741824 -XX:MaxMetaspaceSize=268435456"},
	}
	for _, tt := range tests {
		jm, err := DeriveJobManager(flat(t, tt.conf), nil, Flink1)
		if err != nil {
			t.Errorf("%q: %v", tt.conf, err)
			continue
		}
		if jm.JVMHeap != tt.heap || jm.OffHeap != tt.off || jm.JVMOverhead != tt.ovh || jm.TotalProcess != tt.tp || jm.JVMArgs() != tt.args {
			t.Errorf("%q: got heap %d off %d overhead %d process %d args %q", tt.conf, jm.JVMHeap, jm.OffHeap, jm.JVMOverhead, jm.TotalProcess, jm.JVMArgs())
		}
	}
}

// Failures the vectors do not cover, derived from Flink's code paths.
func TestEdgeFailures(t *testing.T) {
	tests := []struct {
		name   string
		conf   string
		env    map[string]string
		jm     bool
		p      Profile
		want   string
		causes []string
	}{
		{name: "segment-size parse error is not wrapped",
			conf:   "taskmanager.memory.flink.size: 1g\ntaskmanager.network.numberOfBuffers: 10\ntaskmanager.memory.segment-size: 32 kilo",
			want:   "IllegalArgumentException: Could not parse value '32 kilo' for key 'taskmanager.memory.segment-size'.",
			causes: []string{"IllegalArgumentException: Memory size unit 'kilo' does not match any of the recognized units: " + flinkconf.MemoryUnitsHelp}},
		{name: "segment-size beyond int", conf: "taskmanager.memory.flink.size: 1g\ntaskmanager.network.numberOfBuffers: 1\ntaskmanager.memory.segment-size: 4g",
			want: "IllegalArgumentException: Cannot downcast long value 4294967296 to integer."},
		{name: "negative buffers", conf: "taskmanager.memory.flink.size: 1g\ntaskmanager.network.numberOfBuffers: -1",
			want: "IllegalArgumentException: bytes must be >= 0"},
		{name: "segment size not a power of two in the consistency check",
			conf: "taskmanager.memory.flink.size: 1g\ntaskmanager.memory.task.heap.size: 100m\ntaskmanager.network.numberOfBuffers: 1\ntaskmanager.memory.segment-size: 48k",
			want: "IllegalConfigurationException: TaskManager memory configuration failed: If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration.",
			causes: []string{
				"IllegalConfigurationException: If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived Network Memory is inconsistent with its configuration.",
				"IllegalConfigurationException: Invalid configuration value for taskmanager.memory.segment-size : 49152 - Memory segment size must be a power of 2."}},
		{name: "NaN cpu cores", conf: "taskmanager.memory.process.size: 2g\ntaskmanager.cpu.cores: NaN",
			want: `NumberFormatException: Character N is neither a decimal digit number, decimal point, nor "e" notation exponential mark.`},
		{name: "slots unparsable after cpu cores", conf: "taskmanager.memory.process.size: 2g\ntaskmanager.cpu.cores: 2\ntaskmanager.numberOfTaskSlots: two",
			want: "IllegalArgumentException: Could not parse value 'two' for key 'taskmanager.numberOfTaskSlots'.", causes: []string{`NumberFormatException: For input string: "two"`}},
		{name: "total process overflows", conf: "taskmanager.memory.flink.size: 9223372036000000000b\ntaskmanager.memory.jvm-metaspace.size: 0\ntaskmanager.memory.jvm-overhead.max: 9223372036854775807b",
			want: "ArithmeticException: long overflow"},
		{name: "legacy env unparsable", env: map[string]string{"FLINK_TM_HEAP": "1.5g"},
			want: "IllegalConfigurationException: TaskManager failed to map legacy JVM heap option to the new one: Cannot read total process memory size from environment variable value 1.5g.",
			causes: []string{"IllegalConfigurationException: Cannot read total process memory size from environment variable value 1.5g.",
				"IllegalArgumentException: Memory size unit '.5g' does not match any of the recognized units: " + flinkconf.MemoryUnitsHelp}},
		{name: "legacy heap.size unparsable", conf: "taskmanager.heap.size: lots",
			want: "IllegalConfigurationException: TaskManager failed to map legacy JVM heap option to the new one: Cannot read memory size from config option 'taskmanager.heap.size'.",
			causes: []string{"IllegalConfigurationException: Cannot read memory size from config option 'taskmanager.heap.size'.",
				"IllegalArgumentException: Could not parse value 'lots' for key 'taskmanager.heap.size'.",
				"NumberFormatException: text does not start with a number"}},
		{name: "legacy heap.mb not an int is not wrapped", jm: true, conf: "jobmanager.heap.mb: 1g",
			want: "IllegalArgumentException: Could not parse value '1g' for key 'jobmanager.heap.mb'.", causes: []string{`NumberFormatException: For input string: "1g"`}},
		{name: "flink2 ignores legacy keys", jm: true, p: Flink2, conf: "jobmanager.heap.mb: -1",
			want: "IllegalConfigurationException: Either required fine-grained memory (jobmanager.memory.heap.size), or Total Flink Memory size (Key: 'jobmanager.memory.flink.size' , default: null (fallback keys: [])), or Total Process Memory size (Key: 'jobmanager.memory.process.size' , default: null (fallback keys: [])) need to be configured explicitly."},
		{name: "JM heap plus off-heap overflow", jm: true, conf: "jobmanager.memory.heap.size: 9223372036854775807b",
			want: "ArithmeticException: long overflow"},
		{name: "JM overhead fraction NaN", jm: true, conf: "jobmanager.memory.process.size: 2g\njobmanager.memory.jvm-overhead.fraction: NaN",
			want: "IllegalConfigurationException: JobManager memory configuration failed: Inconsistently configured Key: 'jobmanager.memory.jvm-overhead.fraction' , default: 0.1 (fallback keys: []) (NaN) and its min (192.000mb (201326592 bytes)), max (1024.000mb (1073741824 bytes)) value",
			causes: []string{"IllegalConfigurationException: Inconsistently configured Key: 'jobmanager.memory.jvm-overhead.fraction' , default: 0.1 (fallback keys: []) (NaN) and its min (192.000mb (201326592 bytes)), max (1024.000mb (1073741824 bytes)) value",
				"IllegalArgumentException: fraction must be in range [0, 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.jm {
				_, err = DeriveJobManager(flat(t, tt.conf), tt.env, tt.p)
			} else {
				_, err = DeriveTaskManager(flat(t, tt.conf), tt.env, tt.p)
			}
			if err == nil {
				t.Fatal("derivation succeeded, want failure")
			}
			var ex *flinkconf.Exception
			if !errors.As(err, &ex) {
				t.Fatalf("error %T is not a *flinkconf.Exception", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			rec := ErrorRecordOf(err)
			if strings.Join(rec.Causes, "\n") != strings.Join(tt.causes, "\n") {
				t.Errorf("causes\n got %q\nwant %q", rec.Causes, tt.causes)
			}
		})
	}
}

// Sources and steps must explain the numbers they accompany.
func TestSources(t *testing.T) {
	cfg := flat(t, "# Flink's default\ntaskmanager.memory.process.size: 1728m\ntaskmanager.network.memory.min: 32m\n")
	tm, err := DeriveTaskManager(cfg, nil, Flink1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]SourceKind{
		PoolTotalProcess: SourceConfig, PoolJVMMetaspace: SourceDefault, PoolJVMOverhead: SourceFraction,
		PoolTotalFlink: SourceRemainder, PoolFrameworkHeap: SourceDefault, PoolFrameworkOffHeap: SourceDefault,
		PoolTaskOffHeap: SourceDefault, PoolManaged: SourceFraction, PoolNetwork: SourceFraction,
		PoolTaskHeap: SourceRemainder, PoolJVMHeap: SourceSum, PoolJVMDirect: SourceSum,
	}
	for pool, kind := range want {
		if got := tm.Sources[pool].Kind; got != kind {
			t.Errorf("%s: source %v, want %v", pool, got, kind)
		}
	}
	if got := tm.Sources[PoolTotalProcess].Origin.String(); got != "flink-conf.yaml:2" {
		t.Errorf("process size origin %q", got)
	}
	ovh := tm.Sources[PoolJVMOverhead].Fraction
	if ovh.Capped != CapMin || ovh.Product != 181193935 || ovh.Min != 192<<20 {
		t.Errorf("overhead fraction %+v", ovh)
	}
	net := tm.Sources[PoolNetwork].Fraction
	if net.MinSrc.Key != "taskmanager.network.memory.min" || net.MinSrc.Option != "taskmanager.memory.network.min" {
		t.Errorf("network min should name the deprecated key it was read from: %+v", net.MinSrc)
	}
	if got := tm.Sources[PoolJVMOverhead].Short(); got != "0.1 of Total Process Memory, raised to min 192 MiB" {
		t.Errorf("overhead short source %q", got)
	}
	// Every pool value appears as a step, in Flink's order: process size first, task heap last.
	var order []string
	for _, s := range tm.Steps {
		if s.Kind == StepValue {
			order = append(order, s.Pool)
		}
	}
	if strings.Join(order, ",") != "total_process,jvm_metaspace,jvm_overhead,total_flink,framework_heap,framework_off_heap,task_off_heap,managed,network,task_heap,jvm_heap,jvm_direct" {
		t.Errorf("step order %v", order)
	}
	for _, s := range tm.Steps {
		if s.Pool == PoolTaskHeap && s.String() != "Task Heap = 384.0 MiB (402653174 bytes): Total Flink Memory − Framework Heap − Framework Off-Heap − Task Off-Heap − Managed Memory − Network" {
			t.Errorf("task heap step %q", s)
		}
	}

	// A legacy key names itself and the option it was mapped to.
	tm, err = DeriveTaskManager(flat(t, "taskmanager.heap.size: 1g"), nil, Flink1)
	if err != nil {
		t.Fatal(err)
	}
	if got := tm.Sources[PoolTotalFlink].Short(); got != "legacy taskmanager.heap.size: 1g (flink-conf.yaml:1), mapped to taskmanager.memory.flink.size" {
		t.Errorf("legacy source %q", got)
	}
}

func TestTraceStopsAtFailure(t *testing.T) {
	_, steps, err := TraceTaskManager(flat(t, "taskmanager.memory.process.size: 300m"), nil, Flink1)
	if err == nil {
		t.Fatal("300m process memory cannot hold 256m metaspace + 192m overhead")
	}
	if len(steps) == 0 || steps[0].Kind != StepMode {
		t.Fatalf("steps before the failure are kept: %v", steps)
	}
	if last := steps[len(steps)-1]; last.Pool != PoolJVMOverhead {
		t.Errorf("last step before E2 should be the overhead, got %v", last)
	}
}

func TestParseProfile(t *testing.T) {
	for in, want := range map[string]Profile{"flink1": Flink1, "FLINK2": Flink2, "2.x": Flink2, "1": Flink1} {
		if got, err := ParseProfile(in); err != nil || got != want {
			t.Errorf("ParseProfile(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseProfile("flink3"); err == nil || !strings.Contains(err.Error(), "flink1") {
		t.Errorf("ParseProfile(flink3) error %v should list the accepted profiles", err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 512: "512 B", 1024: "1 KiB", 1811939328: "1728 MiB", 1 << 30: "1 GiB",
		402653174: "384.0 MiB", 536870920: "512.0 MiB", math.MaxInt64: "unbounded", 3 << 40: "3 TiB",
	} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestConfigFromStrings(t *testing.T) {
	c := ConfigFromStrings(map[string]string{" a ": " 1g\t", "b": "   ", "c": "", "": "x"}, "test")
	if c.Len() != 1 {
		t.Fatalf("keys %v, want only a", c.Keys())
	}
	if v, _ := c.Get("a"); v != "1g" {
		t.Errorf("a = %q", v)
	}
}

// Map and the JSON encoding of the records must agree, so that programs see the same names.
func TestRecordMapsMatchJSON(t *testing.T) {
	tm, err := DeriveTaskManager(flat(t, "taskmanager.memory.process.size: 1728m"), nil, Flink1)
	if err != nil {
		t.Fatal(err)
	}
	jm, err := DeriveJobManager(flat(t, "jobmanager.memory.process.size: 1600m"), nil, Flink1)
	if err != nil {
		t.Fatal(err)
	}
	_, ferr := DeriveJobManager(flat(t, "jobmanager.memory.process.size: 1m"), nil, Flink1)
	for _, pair := range [][2]any{
		{tm.Record(), tm.Record().Map()},
		{jm.Record(), jm.Record().Map()},
		{ErrorRecordOf(ferr), ErrorRecordOf(ferr).Map()},
	} {
		if a, b := normalize(t, pair[0]), normalize(t, pair[1]); !reflect.DeepEqual(a, b) {
			t.Errorf("record JSON %v\n  differs from Map %v", a, b)
		}
	}
}

// Flink 2.x removed the legacy network-buffers path (TaskExecutorFlinkMemoryUtils has no
// getNetworkMemorySizeWithLegacyConfig in 2.2.1): taskmanager.network.numberOfBuffers is
// ignored and network memory is the fraction of total Flink memory, as BashJavaUtils 2.2.1
// prints for this configuration; 1.x still uses buffers × segment size.
func TestFlink2IgnoresLegacyNetworkBuffers(t *testing.T) {
	conf := "taskmanager.memory.process.size: 1301m\ntaskmanager.network.numberOfBuffers: 3309"
	tm1, err := DeriveTaskManager(flat(t, conf), nil, Flink1)
	if err != nil {
		t.Fatal(err)
	}
	if tm1.Network != 3309*32*1024 {
		t.Errorf("flink1 network = %d, want %d (buffers × 32 KiB)", tm1.Network, 3309*32*1024)
	}
	tm2, err := DeriveTaskManager(flat(t, conf), nil, Flink2)
	if err != nil {
		t.Fatal(err)
	}
	const want = "-Xmx312999930 -Xms312999930 -XX:MaxDirectMemorySize=223661262 -XX:MaxMetaspaceSize=268435456"
	if got := tm2.JVMArgs(); got != want || tm2.Network != 89443534 {
		t.Errorf("flink2: %s network %d, want %s network 89443534", got, tm2.Network, want)
	}
}
