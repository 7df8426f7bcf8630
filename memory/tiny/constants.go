package tiny

// The model's constants. Each says where it comes from:
//
//   - seed: fitted to a figure of the "Tiny Flink" talk (Robert Metzger, Flink 1.17.0/1.17.1
//     MiniCluster, Apple M1 Max with 10 cores, JDK 17 — the enriched "Direct buffer memory"
//     message and the mincore-based NMT thread figures fit JDK 17); calibration_test.go holds
//     every seed figure as a test;
//   - jvm / flink / kafka: a documented default of HotSpot (JDK 17), Flink 1.17 or the Kafka
//     client;
//   - assumption: the seed is silent; a typical value, stated as such.
//
// The seed's NMT figures ("Heap 106mb", "GC 56mb", ...) are thousands of KB as jcmd prints them:
// -Xmx100m on the seed's machine is a 104 MiB = 106,496 KB heap.
const (
	// preNetworkDirect is direct memory in use before Flink allocates the network buffer pool
	// (JDK NIO temporary buffers, RPC and blob server start-up). seed: with -Xmx60m the limit is
	// 64 MiB (60m aligned to 8 MiB) and the pool got 61 of its 64 MiB, so 2 to 3 MiB were taken.
	preNetworkDirect = 2.5 * 1024 * 1024

	// kafkaClientDirect is the resident NIO temporary direct buffer of one Kafka client I/O
	// thread. kafka: max.partition.fetch.bytes and max.request.size default to 1 MiB; the JDK
	// copies socket reads of heap buffers through a direct buffer of that size.
	kafkaClientDirect = 1024 * 1024

	// nettyArenaChunk is one Netty arena chunk of Flink's shuffle NettyBufferPool (page 8 KiB,
	// max order 9); a TaskManager with remote channels allocates one per arena, and Flink creates
	// one arena per slot (taskmanager.network.netty.num-arenas = -1). flink.
	nettyArenaChunk = 4 * 1024 * 1024

	// jobHeapFloorMiB is the heap the seed's Kafka job needs before it can process anything (live
	// set plus the smallest workable young generation). seed, with g1ThroughputPerHeap: 50 MB
	// heap (56 MiB effective) sustains 25 MB/s and 100 MB (104 MiB) 97 MB/s, a straight line
	// through (39.33 MiB, 0).
	jobHeapFloorMiB = 39.33
	// emptyHeapFloor is the heap an empty MiniCluster needs. assumption; seed: 20 MB suffice.
	emptyHeapFloor = 16 * 1024 * 1024
	// slotHeap is the extra working heap of each further slot running the job (a Kafka reader's
	// fetch buffers, a producer's batches). assumption.
	slotHeap = 4 * 1024 * 1024
	// taskManagerHeapSaving is what a TaskManager process does not hold compared with a
	// MiniCluster (dispatcher, JobMaster, REST handlers). assumption.
	taskManagerHeapSaving = 3 * 1024 * 1024

	// g1ThroughputPerHeap is the sustainable rate per MiB of heap above the floor with G1 and its
	// 9 parallel workers on 10 CPUs, in MiB/s. seed: (97-25)/(104-56) = 1.5.
	g1ThroughputPerHeap = 1.5
	// seedGCWorkers is ParallelGCThreads on the seed's 10 CPUs.
	seedGCWorkers = 9
	// serialThroughputFactor scales g1ThroughputPerHeap for single-threaded collection (Serial,
	// or any collector with one GC worker). assumption; seed: Serial GC "reduces the throughput".
	serialThroughputFactor = 0.7
	// slotCPUThroughput is what one slot's chained Kafka pipeline processes when memory is not the
	// limit, in MiB/s. seed: "one MiniCluster is still able to process ~100mb/s" with one slot.
	slotCPUThroughput = 100.0
	// c1ThroughputFactor scales slotCPUThroughput for C1-only compiled code. assumption.
	c1ThroughputFactor = 0.75

	// Metaspace (committed, resident), in MiB.
	// metaspaceEmpty: an empty MiniCluster (Flink runtime, Pekko/Akka and Scala, Netty, Jackson).
	// seed: fitted so that the empty cluster's process is ~80 MB.
	metaspaceEmpty = 24.0
	// metaspaceJob: the streaming runtime a running job adds (tasks, operators, serializers).
	// metaspaceKafka: the Kafka connector and client. seed: their sum with metaspaceEmpty is the
	// NMT "Metaspace 56mb" (56,000 KB); the split between the two is an assumption.
	metaspaceJob   = 14.0
	metaspaceKafka = 16.69
	// metaspaceTaskManagerSaving: classes of the dispatcher, JobMaster and REST endpoint, absent
	// from a TaskManager. assumption.
	metaspaceTaskManagerSaving = 4.0

	// Thread stacks: the touched (resident) part of a stack, and the native memory of each
	// thread (JavaThread, handle and resource areas).
	// javaStackTouched: a Java thread that ran Flink, Netty, Pekko or Kafka code. seed: NMT
	// "Thread 27mb" (27,000 KB) for the Kafka job's ~100 threads.
	javaStackTouched = 320 * 1024
	// vmStackTouched: VM, service and GC threads (shallow native frames). assumption.
	vmStackTouched = 32 * 1024
	// c2StackTouched, c1StackTouched: JIT compiler threads (C2 recurses deeply). assumption.
	c2StackTouched = 256 * 1024
	c1StackTouched = 96 * 1024
	// threadNative: per-thread native bookkeeping. assumption (NMT "Thread (malloc=...)" is
	// typically 10-20 KB per thread).
	threadNative = 16 * 1024

	// Code cache and compiler arenas, in MiB. seed: with the "other" figures below, fitted to the
	// Kafka job's process sizes (190, 200 and 260 MB at heaps of 35, 50 and 100 MB) and the empty
	// cluster's 80 MB; C1 only keeps codeC1Factor of it (no profiled tier-3 code, no C2 arenas).
	// assumption for the C1 factor.
	codeIdle     = 6.0
	codeJob      = 30.0
	codeC1Factor = 0.4
	// Other JVM native memory (symbol and string tables, class loader data, modules, arenas,
	// malloc overhead), in MiB. seed: fitted as above.
	otherIdle = 6.0
	otherJob  = 21.0

	// G1's native structures (JDK 17 defaults). jvm:
	// g1MarkStack: MarkStackSize 4M entries × 8 bytes, committed up front (mostly never touched).
	g1MarkStack = 32 * 1024 * 1024
	// g1TaskQueue: TASKQUEUE_SIZE 128K entries × 8 bytes, one per parallel worker for evacuation
	// and one per worker for marking.
	g1TaskQueue = 1024 * 1024
	// g1Misc: region tables, remembered-set containers, policy data. assumption.
	g1Misc = 1024 * 1024
	// g1QueueTouched: the part of a task queue actually used by a small heap. assumption.
	g1QueueTouched = 32 * 1024
	// serialGCFixed: Serial's generation and space bookkeeping. seed: with the card table and
	// block offset table of a 104 MiB heap this is the "390" (KB) Serial reduces GC to.
	serialGCFixed = 40 * 1024
)

// Recommendation margins. assumption: a tiny configuration has to survive the model's own
// uncertainty (the calibration tolerance is 15%).
const (
	metaspaceMargin = 0.30 // -XX:MaxMetaspaceSize over the estimate
	directMargin    = 0.25 // -XX:MaxDirectMemorySize over the estimate
	codeCacheFactor = 2.0  // -XX:ReservedCodeCacheSize over the estimated code
	overheadMargin  = 0.25 // Flink's JVM overhead over the estimated native memory (TaskManager mode)
	minCodeCache    = 16 * 1024 * 1024
	minNetwork      = 8 * 1024 * 1024 // seed: network min/max 8m, the smallest it ran with
	defaultNetwork  = 64 * 1024 * 1024
	recommendedXss  = 256 * 1024 // seed: -Xss256k
	nioCacheLimit   = 256 * 1024 // -Djdk.nio.maxCachedBufferSize: keep at most 256 KiB per cached temporary buffer
	maxSlots        = 64
	segmentSize     = 32 * 1024 // taskmanager.memory.segment-size
)
