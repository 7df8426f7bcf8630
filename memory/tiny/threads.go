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
	n := s.JVM.ActiveProcessors
	job := s.running()
	mini := s.Mode == MiniCluster
	slots := s.Flink.Slots
	var out []ThreadGroup
	add := func(name, control string, kind ThreadKind, count, maxCount int) {
		if count <= 0 {
			return
		}
		if maxCount <= count {
			maxCount = 0
		}
		out = append(out, ThreadGroup{Name: name, Control: control, Kind: kind, Count: count, Max: maxCount})
	}

	// The JVM itself (JDK 17): main, VM Thread, Reference Handler, Finalizer, Signal Dispatcher,
	// Service Thread, Monitor Deflation Thread, Common-Cleaner, Notification Thread and
	// VM Periodic Task Thread.
	add("JVM (main, VM Thread, reference handling, service threads)", "", KindVM, 10, 0)

	// JIT compilers start on demand (UseDynamicNumberOfCompilerThreads): all under load, one
	// per compiler when idle.
	c1, c2, total := CompilerThreads(n)
	if s.JVM.JIT == JITC1 {
		started := 1
		if job {
			started = min(total, 2)
		}
		add("C1 compiler", "-XX:TieredStopAtLevel=1, -XX:ActiveProcessorCount", KindC1, started, total)
	} else {
		sc1, sc2 := 1, 1
		if job {
			sc1, sc2 = c1, c2
		}
		add("C1 compiler", "-XX:ActiveProcessorCount", KindC1, sc1, c1)
		add("C2 compiler", "-XX:ActiveProcessorCount", KindC2, sc2, c2)
	}

	// GC workers also start on demand: one per 43 MiB of heap (at least two) once collections
	// get busy.
	p := ParallelGCThreads(n)
	workers := 1
	if job {
		workers = min(p, max(2, int(math.Ceil(float64(heap)/heapPerGCThread))))
	}
	switch s.JVM.GC {
	case GCG1:
		add("G1 GC workers", "-XX:ParallelGCThreads (CPUs)", KindGC, workers, p)
		add("G1 marking (Main Marker, Conc#0)", "-XX:ConcGCThreads", KindGC, 2, 1+ConcGCThreads(n))
		refine := 1
		if job {
			refine = min(p, 2)
		}
		add("G1 refinement", "-XX:G1ConcRefinementThreads", KindGC, refine, p)
		add("G1 Service", "", KindGC, 1, 0)
	case GCParallel:
		add("Parallel GC workers", "-XX:ParallelGCThreads (CPUs)", KindGC, workers, p)
	}

	rpcCap := min(max(int(math.Ceil(float64(n)*s.Flink.RPCFactor)), s.Flink.RPCMin), s.Flink.RPCMax)
	rpcKeys := "pekko.fork-join-executor.parallelism-min/-factor/-max"
	rest := mini && job && s.Workload.Submit == SubmitREST

	if mini {
		// The REST endpoint: Netty's event loops default to 2 × CPUs and start as connections
		// arrive; a REST client (RemoteStreamEnvironment) opens a connection per request.
		add("REST server Netty boss", "", KindJava, 1, 0)
		restWorkers := 0
		if rest {
			restWorkers = 2 * n
		} else if job {
			restWorkers = 1
		}
		add("REST server Netty workers", "-XX:ActiveProcessorCount (Netty: 2 × CPUs)", KindJava, restWorkers, 2*n)
		handlers := 0
		if rest {
			handlers = s.Flink.RESTThreads
		} else if job {
			handlers = 1
		}
		add("REST handlers", OptRESTThreads.Key, KindJava, handlers, s.Flink.RESTThreads)
	}
	// The RPC system's fork-join dispatcher spawns about half its parallelism (seed: 10 of 20).
	add("RPC dispatcher (Pekko/Akka)", rpcKeys, KindJava, (rpcCap+1)/2, rpcCap)
	add("RPC scheduler", "", KindJava, 1, 0)
	if !mini {
		// A TaskManager talks to the JobManager over Pekko's remoting (Netty server and client
		// socket worker pools, 1 to 2 threads each).
		add("RPC remoting (Netty)", "pekko.server-socket-worker-pool.*, pekko.client-socket-worker-pool.*", KindJava, 2, 4)
	}
	add("Metric query service", "", KindJava, 2, 0)
	commonCap := max(n-1, 1)
	common := min(commonCap, 2)
	if job {
		common = commonCap
	}
	add("ForkJoinPool.commonPool", "-XX:ActiveProcessorCount (CPUs - 1)", KindJava, common, commonCap)
	if mini {
		add("Cluster I/O (mini-cluster-io)", OptClusterIOPool.Key, KindJava, min(s.Flink.IOPool, 4), s.Flink.IOPool)
		if job {
			add("JobManager I/O (jobmanager-io)", OptJMIOPool.Key, KindJava, min(s.Flink.JMIOPool, 2), s.Flink.JMIOPool)
			add("JobManager futures (jobmanager-future)", OptFuturePool.Key, KindJava, min(s.Flink.FuturePool, 2), s.Flink.FuturePool)
		}
		add("BLOB server", "", KindJava, 1, 0)
	}
	if rest {
		// RestClusterClient: a fixed I/O pool of 4, its Netty event loop and a retry scheduler.
		add("REST cluster client I/O", "submit with MiniCluster#submitJob instead", KindJava, 4, 0)
		add("REST client Netty, retry scheduler", "submit with MiniCluster#submitJob instead", KindJava, 2, 0)
	}
	add("Metric registry, delay scheduler", "", KindJava, 2, 0)
	tmIO := 1
	if job {
		tmIO = 2
	}
	add("TaskManager I/O (flink-taskexecutor-io)", OptClusterIOPool.Key, KindJava, min(s.Flink.IOPool, tmIO), s.Flink.IOPool)
	add("Shuffle Netty server", "taskmanager.network.netty.server.numThreads", KindJava, 1, 0)
	if job {
		add("Tasks (one chained task per slot)", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
		add("Processing-time timers", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
		add("Closeable reaper", "", KindJava, 1, 0)
		if s.Workload.Connector == ConnectorKafka {
			add("Kafka source split fetchers", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
			add("Kafka producer network threads", "taskmanager.numberOfTaskSlots", KindJava, slots, 0)
			if mini {
				add("Source coordinator and Kafka admin client", "", KindJava, 3, 0)
			}
		}
	}

	plat := s.Machine.Platform
	guard := plat.guardZone()
	for i := range out {
		var touched, size int64
		switch out[i].Kind {
		case KindJava:
			touched, size = javaStackTouched, s.JVM.ThreadStack
		case KindVM, KindGC:
			touched, size = vmStackTouched, plat.VMThreadStackSize
		case KindC1:
			touched, size = c1StackTouched, plat.CompilerThreadStackSize
		case KindC2:
			touched, size = c2StackTouched, plat.CompilerThreadStackSize
		}
		out[i].PerThread = min(touched, max(size-guard, plat.PageSize)) + threadNative
	}
	return out
}
