package tiny

import (
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

func platform(t testing.TB, name string) Platform {
	t.Helper()
	p, err := ParsePlatform(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHeapAlignment(t *testing.T) {
	linux, mac := platform(t, "linux-x64"), platform(t, "macos-arm64")
	tests := []struct {
		p         Platform
		gc        GC
		xmx, want int64
	}{
		{linux, GCG1, 60 * MiB, 60 * MiB},
		{linux, GCG1, 65 * MiB, 66 * MiB},
		{linux, GCSerial, 35 * MiB, 36 * MiB},
		{linux, GCG1, 20*MiB + 1, 22 * MiB},
		{mac, GCG1, 60 * MiB, 64 * MiB},
		{mac, GCSerial, 100 * MiB, 104 * MiB},
		{mac, GCG1, 8 * MiB, 8 * MiB},
		// Large heaps: G1's region size takes over from the card table constraint.
		{linux, GCG1, 8*GiB + MiB, 8*GiB + 4*MiB},
	}
	for _, tt := range tests {
		if got := tt.p.EffectiveHeap(tt.gc, tt.xmx); got != tt.want {
			t.Errorf("%s %s -Xmx%s: %s, want %s", tt.p.Name, tt.gc, JVMSize(tt.xmx), HumanSize(got), HumanSize(tt.want))
		}
	}
}

func TestMaxMemory(t *testing.T) {
	if got := MaxMemory(GCG1, 64*MiB); got != 64*MiB {
		t.Errorf("G1: %d", got)
	}
	// Serial and Parallel leave one survivor space out: young = heap/3, survivor = young/10.
	if got := MaxMemory(GCSerial, 72*MiB); got != 72*MiB-24*MiB/10 {
		t.Errorf("Serial: %s", HumanSize(got))
	}
}

func TestJVMErgonomics(t *testing.T) {
	for _, c := range []struct{ cpus, parallel, conc, compilers int }{
		{1, 1, 1, 2}, {2, 2, 1, 2}, {4, 4, 1, 3}, {8, 8, 2, 4}, {10, 9, 2, 4}, {16, 13, 3, 12}, {64, 43, 11, 18},
	} {
		_, _, total := CompilerThreads(c.cpus)
		if p := ParallelGCThreads(c.cpus); p != c.parallel {
			t.Errorf("ParallelGCThreads(%d) = %d, want %d", c.cpus, p, c.parallel)
		}
		if g := ConcGCThreads(c.cpus); g != c.conc {
			t.Errorf("ConcGCThreads(%d) = %d, want %d", c.cpus, g, c.conc)
		}
		if total != c.compilers {
			t.Errorf("CICompilerCount(%d) = %d, want %d", c.cpus, total, c.compilers)
		}
	}
	if DefaultGC(1) != GCSerial || DefaultGC(2) != GCG1 {
		t.Error("the JVM picks Serial on one CPU and G1 on a server-class machine")
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		rec  int64
		want Rate
		err  string
	}{
		{"25mb/s", 0, mibps(25), ""},
		{"25 MB/s", 0, mibps(25), ""},
		{"25MiB/s", 0, mibps(25), ""},
		{"25m", 0, mibps(25), ""},
		{"0.5 mb/s", 0, mibps(0.5), ""},
		{"512kb/s", 0, Rate(512 * KiB), ""},
		{"1g/s", 0, Rate(GiB), ""},
		{"100 bytes/sec", 0, 100, ""},
		{"20000rec/s", 1024, Rate(20000 * 1024), ""},
		{"2000 records/s", 512, Rate(2000 * 512), ""},
		{"10mbps", 0, mibps(10), ""},
		{"", 0, 0, "is empty"},
		{"fast", 0, 0, "does not start with a number"},
		{"25", 0, 0, "has no unit"},
		{"25 furlongs/s", 0, 0, `unknown unit "furlongs"`},
		{"1.2.3mb/s", 0, 0, "does not start with a number"},
		{"100rec/s", 0, 0, "record size"},
		{"99999999999g/s", 0, 0, "larger than 1 PiB/s"},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in, tt.rec)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseRate(%q) error %v, want it to contain %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseJVMFlags(t *testing.T) {
	j, err := ParseJVMFlags("-Xmx72m -Xms72m -Xss256k -XX:+UseSerialGC -XX:MaxMetaspaceSize=72m -XX:MaxDirectMemorySize=17m " +
		"-XX:ReservedCodeCacheSize=24m -XX:TieredStopAtLevel=1 -XX:ActiveProcessorCount=1 -Djdk.nio.maxCachedBufferSize=262144 -XX:+ExitOnOutOfMemoryError")
	if err != nil {
		t.Fatal(err)
	}
	want := JVM{Heap: 72 * MiB, InitialHeap: 72 * MiB, GC: GCSerial, ThreadStack: 256 * KiB, MaxMetaspace: 72 * MiB, MaxDirect: 17 * MiB,
		CodeCache: 24 * MiB, JIT: JITC1, ActiveProcessors: 1, NIOCacheLimit: 262144, Ignored: []string{"-XX:+ExitOnOutOfMemoryError"}}
	if j.Heap != want.Heap || j.InitialHeap != want.InitialHeap || j.GC != want.GC || j.ThreadStack != want.ThreadStack ||
		j.MaxMetaspace != want.MaxMetaspace || j.MaxDirect != want.MaxDirect || j.CodeCache != want.CodeCache || j.JIT != want.JIT ||
		j.ActiveProcessors != want.ActiveProcessors || j.NIOCacheLimit != want.NIOCacheLimit || len(j.Ignored) != 1 {
		t.Errorf("got %+v\nwant %+v", j, want)
	}
	if j, err := ParseJVMFlags("-XX:ThreadStackSize=1048576 -Xss1g"); err != nil || j.ThreadStack != 1<<30 {
		t.Errorf("the largest stack the JVM takes: %+v %v", j, err)
	}
	if j, err := ParseJVMFlags("-XX:ThreadStackSize=512"); err != nil || j.ThreadStack != 512*KiB {
		t.Errorf("ThreadStackSize counts KiB: %+v %v", j, err)
	}
	for _, bad := range []struct{ in, err string }{
		{"-Xmx60x", "invalid size"},
		{"-Xmx", "missing size"},
		{"-Xmx1.5g", "invalid size"},
		{"-XX:+UseSerialGC -XX:+UseG1GC", "Multiple garbage collectors"},
		{"-Xms2g -Xmx1g", "initial heap larger"},
		{"-Xss64k", "at least 136k"},
		{"-XX:TieredStopAtLevel=0", "levels 1 to 3"},
		{"-XX:ActiveProcessorCount=0", "positive number"},
		{"-Xmx99999999999999999g", "too large"},
		// HotSpot's bounds (OpenJDK 17): beyond them kb·KiB overflowed to a negative stack
		// (2^53 KiB) or wrapped to a small one.
		{"-XX:ThreadStackSize=1048577", "intx ThreadStackSize=1048577 is outside the allowed range [ 0 ... 1048576 ]"},
		{"-XX:ThreadStackSize=9007199254740992", "outside the allowed range"},
		{"-XX:ThreadStackSize=8000000t", "outside the allowed range"},
		{"-Xss1025m", "exceeds the maximum representable size"},
	} {
		if _, err := ParseJVMFlags(bad.in); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ParseJVMFlags(%q) = %v, want an error containing %q", bad.in, err, bad.err)
		}
	}
}

func TestFlinkFromConfig(t *testing.T) {
	cfg := func(kv ...string) *flinkconf.Config {
		c := flinkconf.New()
		for i := 0; i < len(kv); i += 2 {
			c.Set(kv[i], kv[i+1])
		}
		return c
	}
	tests := []struct {
		cfg     *flinkconf.Config
		network int64
		err     string
	}{
		{cfg(), 64 * MiB, ""},
		{cfg("taskmanager.memory.network.min", "8m", "taskmanager.memory.network.max", "8m"), 8 * MiB, ""},
		{cfg("taskmanager.memory.network.max", "16m"), 16 * MiB, ""},
		{cfg("taskmanager.memory.network.min", "16m"), 16 * MiB, ""},
		{cfg("taskmanager.network.memory.min", "4m"), 4 * MiB, ""}, // deprecated key
		{cfg("taskmanager.memory.network.min", "16m", "taskmanager.memory.network.max", "32m"), 32 * MiB, ""},
		{cfg("taskmanager.memory.network.min", "32m", "taskmanager.memory.network.max", "16m"), 0, "is larger than"},
		{cfg("taskmanager.memory.network.min", "lots"), 0, "Could not parse value"},
		{cfg("taskmanager.memory.network.max", "1k"), 0, "smaller than one 32 KiB buffer"},
		{cfg("rest.server.numThreads", "0"), 0, "not a positive number"},
		{cfg("akka.fork-join-executor.parallelism-factor", "-1"), 0, "not a positive factor"},
	}
	for i, tt := range tests {
		f, err := FlinkFromConfig(tt.cfg)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("#%d: error %v, want %q", i, err, tt.err)
			}
			continue
		}
		if err != nil || f.Network != tt.network {
			t.Errorf("#%d: network %s, %v; want %s", i, HumanSize(f.Network), err, HumanSize(tt.network))
		}
	}
	f, err := FlinkFromConfig(cfg("taskmanager.numberOfTaskSlots", "3", "rest.server.numThreads", "1", "cluster.io-pool.size", "2",
		"akka.fork-join-executor.parallelism-min", "2", "pekko.fork-join-executor.parallelism-max", "4"))
	if err != nil || f.Slots != 3 || f.RESTThreads != 1 || f.IOPool != 2 || f.RPCMin != 2 || f.RPCMax != 4 {
		t.Errorf("thread options: %+v, %v", f, err)
	}
}

func TestTaskManagerFromConfig(t *testing.T) {
	c := flinkconf.New()
	c.Set("taskmanager.memory.process.size", "1728m")
	j, f, tm, err := TaskManagerFromConfig(c, JVM{GC: GCSerial}, memory.Flink1)
	if err != nil {
		t.Fatal(err)
	}
	if j.Heap != tm.JVMHeap() || j.MaxDirect != tm.JVMDirect() || j.MaxMetaspace != tm.JVMMetaspace || f.Network != tm.Network || j.GC != GCSerial {
		t.Errorf("setup does not follow Flink's derivation: %+v %+v", j, f)
	}
	if _, _, _, err := TaskManagerFromConfig(c, JVM{Heap: MiB}, memory.Flink1); err == nil {
		t.Error("-Xmx must be refused in taskmanager mode")
	}
	bad := flinkconf.New()
	bad.Set("taskmanager.memory.process.size", "100m")
	if _, _, _, err := TaskManagerFromConfig(bad, JVM{}, memory.Flink1); err == nil {
		t.Error("Flink rejects a 100m TaskManager")
	}
}

// TestEvaluateMonotoneInHeap: more heap never lowers the throughput and never shrinks the process.
func TestEvaluateMonotoneInHeap(t *testing.T) {
	for _, plat := range PlatformNames() {
		for _, gc := range []GC{GCSerial, GCG1, GCParallel} {
			var prev *Estimate
			for h := int64(16); h <= 512; h += 3 {
				e := evaluate(t, Setup{Machine: Machine{platform(t, plat), 4}, JVM: JVM{Heap: h * MiB, GC: gc},
					Flink: Flink{Network: 8 * MiB}, Workload: Workload{Connector: ConnectorKafka}})
				if prev != nil && (e.Capacity < prev.Capacity || e.Resident < prev.Resident) {
					t.Fatalf("%s %s -Xmx%dm: capacity %s resident %s after %s %s", plat, gc, h, e.Capacity, HumanSize(e.Resident), prev.Capacity, HumanSize(prev.Resident))
				}
				prev = e
			}
		}
	}
}

func TestEvaluateComponentsAddUp(t *testing.T) {
	e := evaluate(t, Setup{Machine: Machine{platform(t, "linux-x64"), 2}, JVM: JVM{Heap: 64 * MiB}, Workload: Workload{Connector: ConnectorKafka}})
	var sum, com int64
	for i, c := range e.Components {
		if c.Name != SortedComponentNames[i] {
			t.Errorf("component %d is %s, want %s", i, c.Name, SortedComponentNames[i])
		}
		if c.Resident <= 0 || c.Committed < c.Resident || c.Detail == "" {
			t.Errorf("component %+v", c)
		}
		sum += c.Resident
		com += c.Committed
	}
	if sum != e.Resident || com != e.Committed {
		t.Errorf("totals %d/%d, components %d/%d", e.Resident, e.Committed, sum, com)
	}
	var threads int
	for _, g := range e.Threads {
		threads += g.Count
	}
	if threads != e.ThreadCount {
		t.Errorf("thread count %d, groups %d", e.ThreadCount, threads)
	}
}

func TestEvaluateFailures(t *testing.T) {
	linux := Machine{platform(t, "linux-x64"), 2}
	tests := []struct {
		name  string
		s     Setup
		phase string
		msg   string
	}{
		{"network pool", Setup{Machine: linux, JVM: JVM{Heap: 60 * MiB}}, "startup", "NetworkBufferPool (required (MB): 64, allocated (MB): 57, missing (MB): 7)"},
		{"explicit direct limit", Setup{Machine: linux, JVM: JVM{Heap: 200 * MiB, MaxDirect: 16 * MiB}}, "startup", "NetworkBufferPool"},
		{"metaspace", Setup{Machine: linux, JVM: JVM{Heap: 200 * MiB, MaxMetaspace: 32 * MiB}}, "startup", "java.lang.OutOfMemoryError: Metaspace"},
		{"heap floor", Setup{Machine: linux, JVM: JVM{Heap: 30 * MiB}, Flink: Flink{Network: 8 * MiB}}, "startup", "Java heap space"},
		{"kafka buffers", Setup{Machine: linux, JVM: JVM{Heap: 200 * MiB, MaxDirect: 11 * MiB}, Flink: Flink{Network: 8 * MiB}}, "load", "Cannot reserve 1048576 bytes of direct buffer memory"},
		{"heap under load", Setup{Machine: linux, JVM: JVM{Heap: 64 * MiB}, Flink: Flink{Network: 8 * MiB}, Workload: Workload{Throughput: mibps(50)}}, "load", "Java heap space"},
		{"cpu", Setup{Machine: linux, JVM: JVM{Heap: 512 * MiB}, Flink: Flink{Network: 8 * MiB}, Workload: Workload{Throughput: mibps(150)}}, "load", "falls behind"},
	}
	for _, tt := range tests {
		e := evaluate(t, tt.s)
		if e.Failure == nil || e.Failure.Phase != tt.phase || !strings.Contains(e.Failure.Message, tt.msg) || e.Failure.Why == "" || e.Failure.Fix == "" {
			t.Errorf("%s: failure %+v, want %s %q", tt.name, e.Failure, tt.phase, tt.msg)
		}
	}
	// The fix of a heap failure under load is enough heap.
	e := evaluate(t, tests[5].s)
	fix := e.Failure.Fix[strings.LastIndex(e.Failure.Fix, " ")+1:]
	heap, err := ParseJVMSize(fix)
	if err != nil {
		t.Fatal(err)
	}
	s := tests[5].s
	s.JVM.Heap = heap
	if e := evaluate(t, s); e.Failure != nil {
		t.Errorf("following the fix (-Xmx%s) still fails: %s", fix, e.Failure.Message)
	}
}

func TestEvaluateRejectsNonsense(t *testing.T) {
	m := Machine{platform(t, "linux-x64"), 2}
	for _, s := range []Setup{
		{Machine: m},
		{Machine: Machine{Platform: m.Platform}, JVM: JVM{Heap: MiB}},
		{JVM: JVM{Heap: MiB}, Machine: Machine{CPUs: 1}},
		{Machine: m, JVM: JVM{Heap: 64 * MiB}, Flink: Flink{Slots: maxSlots + 1}},
	} {
		if _, err := Evaluate(s); err == nil {
			t.Errorf("Evaluate(%+v) should fail", s)
		}
	}
}

func TestHumanAndJVMSizes(t *testing.T) {
	for _, c := range []struct {
		n           int64
		human, flag string
	}{
		{72 * MiB, "72 MiB", "72m"}, {2621440, "2.5 MiB", "2560k"}, {390 * KiB, "390 KiB", "390k"},
		{GiB, "1 GiB", "1g"}, {100, "100 B", "100"}, {0, "0 B", "0"},
	} {
		if h := HumanSize(c.n); h != c.human {
			t.Errorf("HumanSize(%d) = %q, want %q", c.n, h, c.human)
		}
		if f := JVMSize(c.n); f != c.flag {
			t.Errorf("JVMSize(%d) = %q, want %q", c.n, f, c.flag)
		}
	}
	if FlinkSize(0) != "0" || mibps(25).String() != "25 MiB/s" || Rate(512*KiB).String() != "512 KiB/s" {
		t.Error("FlinkSize / Rate.String")
	}
}

func TestParseEnums(t *testing.T) {
	if _, err := ParsePlatform("windows"); err == nil || !strings.Contains(err.Error(), "linux-x64") {
		t.Errorf("unknown platform error should list the platforms: %v", err)
	}
	if p, err := ParsePlatform("seed"); err != nil || p.Name != "macos-arm64" {
		t.Errorf("seed alias: %v %v", p, err)
	}
	for _, s := range []string{"serial", "g1", "parallel", "auto"} {
		if g, err := ParseGC(s); err != nil || g.String() != s {
			t.Errorf("ParseGC(%q) = %v, %v", s, g, err)
		}
	}
	for _, s := range []string{"c1", "tiered", "auto"} {
		if j, err := ParseJIT(s); err != nil || j.String() != s {
			t.Errorf("ParseJIT(%q) = %v, %v", s, j, err)
		}
	}
	for _, bad := range []func() error{
		func() error { _, err := ParseGC("zgc"); return err },
		func() error { _, err := ParseJIT("graal"); return err },
		func() error { _, err := ParseConnector("pulsar"); return err },
		func() error { _, err := ParseMode("jobmanager"); return err },
		func() error { _, err := ParseSubmit("carrier pigeon"); return err },
		func() error { _, err := ParseThreads("many"); return err },
	} {
		if bad() == nil {
			t.Error("an unknown value must be refused")
		}
	}
}
