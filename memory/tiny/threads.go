package tiny

import "math"

// ThreadKind says which stack size applies to a thread and how deep it typically runs.
type ThreadKind int

const (
	// KindJava threads run Java code; -Xss sizes their stacks.
	KindJava ThreadKind = iota
	// KindVM threads are the VM's own (VM Thread, service threads); VMThreadStackSize.
	KindVM
	// KindGC threads are GC workers; VMThreadStackSize.
	KindGC
	// KindC1 and KindC2 are JIT compiler threads; CompilerThreadStackSize.
	KindC1
	KindC2
)

func (k ThreadKind) String() string {
	return [...]string{"java", "vm", "gc", "c1", "c2"}[k]
}

// ThreadGroup is one pool of threads of the process.
type ThreadGroup struct {
	Name string `json:"name" yaml:"name"`
	// Control is the option or flag that sizes the pool ("" if nothing does).
	Control string     `json:"control,omitempty" yaml:"control,omitempty"`
	Kind    ThreadKind `json:"-" yaml:"-"`
	// Count is the number of threads started; Max the pool's size where it starts them lazily.
	Count int `json:"count" yaml:"count"`
	Max   int `json:"max,omitempty" yaml:"max,omitempty"`
	// PerThread is the resident memory of one thread: touched stack plus native bookkeeping.
	PerThread int64 `json:"per_thread" yaml:"per_thread"`
}

// heapPerGCThread is HotSpot's HeapSizePerGCThread on 64-bit (ScaleForWordSize(32M)): dynamic
// GC worker counts start one worker per that much heap.
const heapPerGCThread = 43 * 1024 * 1024

// inventory lists the threads of the process (Flink 1.17, JDK 17). Pools that start threads on
// demand are counted as they end up: the seed's Kafka job has ~100 threads, the heavy hitters
// being the REST server's Netty workers (20 = 2 × CPUs), Pekko/Akka (10), the common fork-join
// pool (~10), I/O (4) and the REST cluster client (4).
func inventory(s *Setup, heap int64) []ThreadGroup {
	t := &threadList{s: s, n: s.JVM.ActiveProcessors, job: s.running(), mini: s.Mode == MiniCluster}
	// The JVM itself (JDK 17): main, VM Thread, Reference Handler, Finalizer, Signal Dispatcher,
	// Service Thread, Monitor Deflation Thread, Common-Cleaner, Notification Thread and
	// VM Periodic Task Thread.
	t.add("JVM (main, VM Thread, reference handling, service threads)", "", KindVM, 10, 0)
	t.compilers()
	t.gcWorkers(heap)
	t.restEndpoint()
	t.rpcAndServices()
	t.tasks()
	t.sizeStacks()
	return t.out
}

// threadList collects a process's thread groups.
type threadList struct {
	s    *Setup
	n    int  // active processors
	job  bool // a job runs (pools started on demand are counted as under load)
	mini bool // a MiniCluster: JobManager and TaskManager in one process
	out  []ThreadGroup
}

// add lists a pool of count threads started (none: not listed) of maxCount at most (0 or not
// above count: a fixed pool).
func (t *threadList) add(name, control string, kind ThreadKind, count, maxCount int) {
	if count <= 0 {
		return
	}
	if maxCount <= count {
		maxCount = 0
	}
	t.out = append(t.out, ThreadGroup{Name: name, Control: control, Kind: kind, Count: count, Max: maxCount})
}

// compilers lists the JIT compiler threads: they start on demand
// (UseDynamicNumberOfCompilerThreads), all under load, one per compiler when idle.
func (t *threadList) compilers() {
	c1, c2, total := CompilerThreads(t.n)
	if t.s.JVM.JIT == JITC1 {
		started := 1
		if t.job {
			started = min(total, 2)
		}
		t.add("C1 compiler", "-XX:TieredStopAtLevel=1, -XX:ActiveProcessorCount", KindC1, started, total)
		return
	}
	sc1, sc2 := 1, 1
	if t.job {
		sc1, sc2 = c1, c2
	}
	t.add("C1 compiler", "-XX:ActiveProcessorCount", KindC1, sc1, c1)
	t.add("C2 compiler", "-XX:ActiveProcessorCount", KindC2, sc2, c2)
}

// gcWorkers lists the GC's threads: workers also start on demand, one per 43 MiB of heap (at
// least two) once collections get busy.
func (t *threadList) gcWorkers(heap int64) {
	p := ParallelGCThreads(t.n)
	workers := 1
	if t.job {
		workers = min(p, max(2, int(math.Ceil(float64(heap)/heapPerGCThread))))
	}
	switch t.s.JVM.GC {
	case GCG1:
		t.add("G1 GC workers", "-XX:ParallelGCThreads (CPUs)", KindGC, workers, p)
		t.add("G1 marking (Main Marker, Conc#0)", "-XX:ConcGCThreads", KindGC, 2, 1+ConcGCThreads(t.n))
		refine := 1
		if t.job {
			refine = min(p, 2)
		}
		t.add("G1 refinement", "-XX:G1ConcRefinementThreads", KindGC, refine, p)
		t.add("G1 Service", "", KindGC, 1, 0)
	case GCParallel:
		t.add("Parallel GC workers", "-XX:ParallelGCThreads (CPUs)", KindGC, workers, p)
	}
}

// restSubmit reports whether a MiniCluster's job is submitted through its REST endpoint.
func (t *threadList) restSubmit() bool {
	return t.mini && t.job && t.s.Workload.Submit == SubmitREST
}

// restEndpoint lists a MiniCluster's REST endpoint: Netty's event loops default to 2 × CPUs and
// start as connections arrive; a REST client (RemoteStreamEnvironment) opens a connection per
// request.
func (t *threadList) restEndpoint() {
	if !t.mini {
		return
	}
	rest := t.restSubmit()
	t.add("REST server Netty boss", "", KindJava, 1, 0)
	restWorkers := 0
	if rest {
		restWorkers = 2 * t.n
	} else if t.job {
		restWorkers = 1
	}
	t.add("REST server Netty workers", "-XX:ActiveProcessorCount (Netty: 2 × CPUs)", KindJava, restWorkers, 2*t.n)
	handlers := 0
	if rest {
		handlers = t.s.Flink.RESTThreads
	} else if t.job {
		handlers = 1
	}
	t.add("REST handlers", OptRESTThreads.Key, KindJava, handlers, t.s.Flink.RESTThreads)
}

// rpcAndServices lists the RPC system, the metric services, the common pool and a MiniCluster's
// I/O pools, BLOB server and REST cluster client.
func (t *threadList) rpcAndServices() {
	s := t.s
	rpcCap := min(max(int(math.Ceil(float64(t.n)*s.Flink.RPCFactor)), s.Flink.RPCMin), s.Flink.RPCMax)
	rpcKeys := "pekko.fork-join-executor.parallelism-min/-factor/-max"
	// The RPC system's fork-join dispatcher spawns about half its parallelism (seed: 10 of 20).
	t.add("RPC dispatcher (Pekko/Akka)", rpcKeys, KindJava, (rpcCap+1)/2, rpcCap)
	t.add("RPC scheduler", "", KindJava, 1, 0)
	if !t.mini {
		// A TaskManager talks to the JobManager over Pekko's remoting (Netty server and client
		// socket worker pools, 1 to 2 threads each).
		t.add("RPC remoting (Netty)", "pekko.server-socket-worker-pool.*, pekko.client-socket-worker-pool.*", KindJava, 2, 4)
	}
	t.add("Metric query service", "", KindJava, 2, 0)
	commonCap := max(t.n-1, 1)
	common := min(commonCap, 2)
	if t.job {
		common = commonCap
	}
	t.add("ForkJoinPool.commonPool", "-XX:ActiveProcessorCount (CPUs - 1)", KindJava, common, commonCap)
	if t.mini {
		t.add("Cluster I/O (mini-cluster-io)", OptClusterIOPool.Key, KindJava, min(s.Flink.IOPool, 4), s.Flink.IOPool)
		if t.job {
			t.add("JobManager I/O (jobmanager-io)", OptJMIOPool.Key, KindJava, min(s.Flink.JMIOPool, 2), s.Flink.JMIOPool)
			t.add("JobManager futures (jobmanager-future)", OptFuturePool.Key, KindJava, min(s.Flink.FuturePool, 2), s.Flink.FuturePool)
		}
		t.add("BLOB server", "", KindJava, 1, 0)
	}
	if t.restSubmit() {
		// RestClusterClient: a fixed I/O pool of 4, its Netty event loop and a retry scheduler.
		t.add("REST cluster client I/O", "submit with MiniCluster#submitJob instead", KindJava, 4, 0)
		t.add("REST client Netty, retry scheduler", "submit with MiniCluster#submitJob instead", KindJava, 2, 0)
	}
	t.add("Metric registry, delay scheduler", "", KindJava, 2, 0)
}

// tasks lists the TaskManager's own threads: I/O, the shuffle server and, with a job running,
// one task per slot with its timers and the connector's threads.
func (t *threadList) tasks() {
	s := t.s
	slots := s.Flink.Slots
	tmIO := 1
	if t.job {
		tmIO = 2
	}
	t.add("TaskManager I/O (flink-taskexecutor-io)", OptClusterIOPool.Key, KindJava, min(s.Flink.IOPool, tmIO), s.Flink.IOPool)
	t.add("Shuffle Netty server", "taskmanager.network.netty.server.numThreads", KindJava, 1, 0)
	if !t.job {
		return
	}
	t.add("Tasks (one chained task per slot)", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
	t.add("Processing-time timers", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
	t.add("Closeable reaper", "", KindJava, 1, 0)
	if s.Workload.Connector == ConnectorKafka {
		t.add("Kafka source split fetchers", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
		t.add("Kafka producer network threads", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
		if t.mini {
			t.add("Source coordinator and Kafka admin client", "", KindJava, 3, 0)
		}
	}
}

// sizeStacks sets each group's resident memory per thread: the stack it touches (within its
// stack size less the guard zone, at least a page) plus native bookkeeping.
func (t *threadList) sizeStacks() {
	plat := t.s.Machine.Platform
	guard := plat.guardZone()
	for i := range t.out {
		var touched, size int64
		switch t.out[i].Kind {
		case KindJava:
			touched, size = javaStackTouched, t.s.JVM.ThreadStack
		case KindVM, KindGC:
			touched, size = vmStackTouched, plat.VMThreadStackSize
		case KindC1:
			touched, size = c1StackTouched, plat.CompilerThreadStackSize
		case KindC2:
			touched, size = c2StackTouched, plat.CompilerThreadStackSize
		}
		t.out[i].PerThread = min(touched, max(size-guard, plat.PageSize)) + threadNative
	}
}
