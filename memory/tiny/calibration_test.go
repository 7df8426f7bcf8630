package tiny

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// The calibration points: every quantitative statement of the "Tiny Flink" talk (Robert Metzger,
// Berlin Buzzwords 2023; Flink 1.17, MiniCluster, Apple M1 Max with 10 cores), one test each.
// Estimates must hold within 15%; thresholds (starts / does not start, out of memory or not) and
// formulas are exact. The slide numbers refer to the talk's transcript.

const tolerance = 0.15

// seedOOM is slide 6's exception, verbatim.
const seedOOM = `Exception in thread "main" java.lang.OutOfMemoryError: Could not allocate enough memory segments for NetworkBufferPool (required (MB): 64, allocated (MB): 61, missing (MB): 3). Cause: Direct buffer memory. The direct out-of-memory error has occurred. This can mean two things: either job(s) require(s) a larger size of JVM direct memory or there is a direct memory leak. The direct memory can be allocated by user code or some of its dependencies. In this case 'taskmanager.memory.task.off-heap.size' configuration option should be increased. Flink framework and its dependencies also consume the direct memory, mostly for network communication. The most of network memory is managed by Flink and should not result in out-of-memory error. In certain special cases, in particular for jobs with high parallelism, the framework may require more direct memory which is not managed by Flink. In this case 'taskmanager.memory.framework.off-heap.size' configuration option should be increased. If the error persists then there is probably a direct memory leak in user code or some of its dependencies which has to be investigated and fixed. The task executor has to be shutdown...`

// seedMachine is slide 10's hardware: a 10-core Apple M1 Max.
func seedMachine(t testing.TB) Machine {
	t.Helper()
	p, err := ParsePlatform("macos-arm64")
	if err != nil {
		t.Fatal(err)
	}
	return Machine{Platform: p, CPUs: 10}
}

// seedKafka is the talk's PassthroughKafka job (Kafka source, 1% filter, Kafka sink, submitted
// through a RemoteStreamEnvironment) with JVM defaults and the given heap and network memory.
func seedKafka(t testing.TB, heap, network int64) Setup {
	return Setup{Machine: seedMachine(t), JVM: JVM{Heap: heap}, Flink: Flink{Network: network},
		Workload: Workload{Connector: ConnectorKafka, Submit: SubmitREST}}
}

// seedEmpty is the talk's BasicMiniCluster: no job.
func seedEmpty(t testing.TB, heap, network int64) Setup {
	return Setup{Machine: seedMachine(t), JVM: JVM{Heap: heap}, Flink: Flink{Network: network},
		Workload: Workload{Connector: ConnectorNone}}
}

func evaluate(t testing.TB, s Setup) *Estimate {
	t.Helper()
	e, err := Evaluate(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// within checks got against the seed's figure with the 15% tolerance.
func within(t *testing.T, what string, got, want float64) {
	t.Helper()
	dev := (got - want) / want
	if math.Abs(dev) > tolerance {
		t.Errorf("%s: model %.3g, seed %.3g (%+.1f%%, tolerance ±%.0f%%)", what, got, want, dev*100, tolerance*100)
	} else {
		t.Logf("%s: model %.4g, seed %.4g (%+.1f%%)", what, got, want, dev*100)
	}
}

// thousandKB converts bytes to the unit of the seed's NMT figures: jcmd prints KB, and the slide
// reads 106,496 KB as "106mb".
func thousandKB(n int64) float64 { return float64(n) / 1024 / 1000 }

func TestCalibrationSlide6StartupThreshold(t *testing.T) {
	// "JVM doesn't start with -Xmx60m, but it does with -Xmx65m" (default network memory, 64 MB).
	fail := evaluate(t, seedKafka(t, 60*MiB, 0))
	if fail.Failure == nil || fail.Failure.Phase != "startup" {
		t.Fatalf("-Xmx60m must not start, got failure %+v", fail.Failure)
	}
	if got := `Exception in thread "main" ` + fail.Failure.Message; got != seedOOM {
		t.Errorf("the exception differs from the seed's:\n got %s\nwant %s", got, seedOOM)
	}
	if fail.DirectLimit != 64*MiB {
		t.Errorf("direct limit for -Xmx60m on the seed's machine = %s, want 64 MiB (Runtime.maxMemory of the 8 MiB-aligned heap)", HumanSize(fail.DirectLimit))
	}
	ok := evaluate(t, seedKafka(t, 65*MiB, 0))
	if ok.Failure != nil {
		t.Errorf("-Xmx65m must start: %s", ok.Failure.Message)
	}
	// The threshold itself: everything up to 64m fails, everything from 65m starts.
	for h := int64(56); h <= 72; h++ {
		e := evaluate(t, seedKafka(t, h*MiB, 0))
		if starts := e.Failure == nil; starts != (h >= 65) {
			t.Errorf("-Xmx%dm starts = %v", h, starts)
		}
	}
}

func TestCalibrationSlide7NetworkLowersHeap(t *testing.T) {
	// "Reduce network buffer size from 64mb to 8mb allows setting -Xmx20m."
	if e := evaluate(t, seedEmpty(t, 20*MiB, 64*MiB)); e.Failure == nil {
		t.Error("-Xmx20m with 64 MB of network memory must not start")
	}
	if e := evaluate(t, seedEmpty(t, 20*MiB, 8*MiB)); e.Failure != nil {
		t.Errorf("-Xmx20m with 8 MB of network memory must start: %s", e.Failure.Message)
	}
}

func TestCalibrationSlide8EmptyCluster(t *testing.T) {
	// "20mb heap space are sufficient to run an empty Flink cluster. Final process size is ~80mb."
	e := evaluate(t, seedEmpty(t, 20*MiB, 8*MiB))
	if e.Failure != nil {
		t.Fatalf("must start: %s", e.Failure.Message)
	}
	within(t, "empty MiniCluster process size (MB)", toMiB(e.Resident), 80)
}

func TestCalibrationSlide9KafkaJob(t *testing.T) {
	// "MiniCluster with Kafka source and sink: Configured Heap -Xmx35m, Approx Process Size 190mb."
	e := evaluate(t, seedKafka(t, 35*MiB, 8*MiB))
	if e.Failure != nil {
		t.Fatalf("-Xmx35m must run the Kafka job: %s", e.Failure.Message)
	}
	within(t, "Kafka MiniCluster process size (MB)", toMiB(e.Resident), 190)
}

func TestCalibrationSlide11Throughput(t *testing.T) {
	// Heap limit | Throughput | Real memory
	// 35 mb | Out of Memory under light load (3mb/s) | -
	// 50 mb | 25 mb/s | 200 mb
	// 100 mb | 97 mb/s | 260 mb
	light := seedKafka(t, 35*MiB, 8*MiB)
	light.Workload.Throughput = mibps(3)
	e := evaluate(t, light)
	if e.Failure == nil || e.Failure.Exception == nil || e.Failure.Exception.Message != "Java heap space" || e.Failure.Phase != "load" {
		t.Errorf("35 MB under 3 MB/s must run out of heap, got %+v", e.Failure)
	}
	for _, row := range []struct {
		heapMB, throughput, real float64
	}{{50, 25, 200}, {100, 97, 260}} {
		s := seedKafka(t, int64(row.heapMB)*MiB, 8*MiB)
		s.Workload.Throughput = mibps(row.throughput)
		e := evaluate(t, s)
		if e.Failure != nil {
			t.Errorf("%v MB must sustain %v MB/s: %s", row.heapMB, row.throughput, e.Failure.Message)
		}
		within(t, fmt.Sprintf("throughput at -Xmx%vm (MB/s)", row.heapMB), e.Capacity.MiBps(), row.throughput)
		within(t, fmt.Sprintf("real memory at -Xmx%vm (MB)", row.heapMB), toMiB(e.Resident), row.real)
	}
}

func TestCalibrationSlide13NativeMemory(t *testing.T) {
	// NMT of the Kafka job at -Xmx100m: "Heap (106mb) Thread (27mb) Metaspace (56mb)", "We have
	// ~100 threads", "GC is using 56mb", Serial GC "reduces to 390" (KB: a card table alone is
	// 200 KB for this heap), "GC structures and fewer threads".
	e := evaluate(t, seedKafka(t, 100*MiB, 8*MiB))
	if got := e.Component(CompHeap).Committed; got != 106496*KiB {
		t.Errorf("NMT heap = %d KB, want exactly 106496 KB (-Xmx100m aligned to 8 MiB)", got/KiB)
	}
	within(t, "NMT Java Heap (thousand KB)", thousandKB(e.Component(CompHeap).Committed), 106)
	within(t, "NMT Thread (thousand KB)", thousandKB(e.Component(CompThreads).Committed), 27)
	within(t, "NMT Metaspace (thousand KB)", thousandKB(e.Component(CompMetaspace).Committed), 56)
	within(t, "NMT GC with G1 (thousand KB)", thousandKB(e.Component(CompGC).Committed), 56)
	within(t, "threads", float64(e.ThreadCount), 100)

	serial := seedKafka(t, 100*MiB, 8*MiB)
	serial.JVM.GC = GCSerial
	es := evaluate(t, serial)
	within(t, "NMT GC with Serial (KB)", float64(es.Component(CompGC).Committed)/float64(KiB), 390)
	if es.ThreadCount >= e.ThreadCount {
		t.Errorf("Serial GC must run fewer threads: %d vs G1's %d", es.ThreadCount, e.ThreadCount)
	}

	// "Reduce thread stack size from default 1mb to 256kb: -Xss256k" shrinks the thread memory.
	small := seedKafka(t, 100*MiB, 8*MiB)
	small.JVM.ThreadStack = 256 * KiB
	ex := evaluate(t, small)
	if ex.Component(CompThreads).Resident >= e.Component(CompThreads).Resident {
		t.Errorf("-Xss256k must reduce thread memory: %s vs %s", HumanSize(ex.Component(CompThreads).Resident), HumanSize(e.Component(CompThreads).Resident))
	}
}

func TestCalibrationSlide16ThreadHeavyHitters(t *testing.T) {
	// "Heavy hitters: Flink rest server worker (20), Akka (10), Common pool (10), Io threads (4),
	// Restcluster client (4)".
	e := evaluate(t, seedKafka(t, 100*MiB, 8*MiB))
	count := func(name string) int {
		for _, g := range e.Threads {
			if g.Name == name {
				return g.Count
			}
		}
		t.Fatalf("no thread group %q", name)
		return 0
	}
	for _, c := range []struct {
		name  string
		want  int
		exact bool
	}{
		{"REST server Netty workers", 20, true},
		{"RPC dispatcher (Pekko/Akka)", 10, true},
		{"ForkJoinPool.commonPool", 10, false}, // the JDK's parallelism is CPUs - 1 = 9
		{"Cluster I/O (mini-cluster-io)", 4, true},
		{"REST cluster client I/O", 4, true},
	} {
		got := count(c.name)
		if c.exact && got != c.want {
			t.Errorf("%s: %d threads, seed %d", c.name, got, c.want)
		}
		within(t, c.name+" threads", float64(got), float64(c.want))
	}
}

func TestCalibrationSlide14Conclusions(t *testing.T) {
	// "We can scale Flink down to a process size of ~250mb. One MiniCluster is still able to
	// process ~100mb/s."
	s := seedKafka(t, 100*MiB, 8*MiB)
	e := evaluate(t, s)
	within(t, "process size at ~100 MB/s (MB)", toMiB(e.Resident), 250)
	within(t, "throughput of that process (MB/s)", e.Capacity.MiBps(), 100)

	// And the inverse through the planner, on the seed's machine: 250 MB buys ~100 MB/s, and
	// ~100 MB/s fits in ~250 MB (tuned flags only do better).
	base := Request{Machine: seedMachine(t), Connector: ConnectorKafka, Submit: SubmitREST}
	b := base
	b.Budget = 250 * MiB
	p, err := NewPlan(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Estimate.Capacity.MiBps() < 100*(1-tolerance) {
		t.Errorf("a 250 MB budget sustains only %s", p.Estimate.Capacity)
	}
	tp := base
	tp.Throughput = mibps(100)
	p, err = NewPlan(tp)
	if err != nil {
		t.Fatal(err)
	}
	if toMiB(p.Size) > 250*(1+tolerance) {
		t.Errorf("100 MB/s needs %s, more than the seed's ~250 MB", HumanSize(p.Size))
	}
}

func TestCalibrationSlide3DefaultClusterMinimum(t *testing.T) {
	// "Minimum Flink cluster size (with the K8s operator and Flink config defaults):
	// 650mb + 1024mb = 1.67gb": the smallest JobManager and TaskManager process sizes Flink's own
	// memory derivation accepts with default options.
	smallest := func(key string, derive func(*flinkconf.Config) error) int64 {
		lo, hi := int64(1), int64(4096) // MiB; derive fails at lo and succeeds at hi
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			cfg := flinkconf.New()
			cfg.Set(key, fmt.Sprintf("%dm", mid))
			if derive(cfg) == nil {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	tm := smallest("taskmanager.memory.process.size", func(c *flinkconf.Config) error {
		_, err := memory.DeriveTaskManager(c, nil, memory.Flink1)
		return err
	})
	jm := smallest("jobmanager.memory.process.size", func(c *flinkconf.Config) error {
		_, err := memory.DeriveJobManager(c, nil, memory.Flink1)
		return err
	})
	within(t, "smallest default TaskManager (MB)", float64(tm), 1024)
	within(t, "smallest default JobManager (MB)", float64(jm), 650)
	within(t, "smallest default cluster (MB)", float64(tm+jm), 1670)
}

func TestCalibrationSlide10Machine(t *testing.T) {
	// The seed's machine is an Apple M1 Max: 16 KiB pages, so the JVM aligns the heap to 8 MiB
	// (card size 512 × page size); -Xmx100m is the NMT's 106,496 KB heap, -Xmx35m a 40 MiB one.
	m := seedMachine(t)
	for _, c := range []struct{ xmx, want int64 }{{20, 24}, {35, 40}, {50, 56}, {60, 64}, {65, 72}, {100, 104}} {
		if got := m.Platform.EffectiveHeap(GCG1, c.xmx*MiB); got != c.want*MiB {
			t.Errorf("-Xmx%dm on macos-arm64 = %s, want %d MiB", c.xmx, HumanSize(got), c.want)
		}
	}
	if ParallelGCThreads(10) != 9 || ConcGCThreads(10) != 2 {
		t.Errorf("GC threads on 10 CPUs: parallel %d (want 9), concurrent %d (want 2)", ParallelGCThreads(10), ConcGCThreads(10))
	}
}

func TestCalibrationMessagesNameTheFix(t *testing.T) {
	// The failing seed setup says how to fix it, with the seed's own fixes: 8m network memory, or
	// -Xmx65m.
	e := evaluate(t, seedKafka(t, 60*MiB, 0))
	for _, want := range []string{"8m", "-Xmx to at least 65m", "MaxDirectMemorySize to at least 70m"} {
		if !strings.Contains(e.Failure.Fix, want) {
			t.Errorf("fix %q does not mention %q", e.Failure.Fix, want)
		}
	}
}
