package tiny

import (
	"fmt"
	"math"
	"strconv"

	"github.com/flinktune/flinktune/flinkconf"
)

// Component names, in the order estimates list them.
const (
	CompHeap      = "heap"
	CompMetaspace = "metaspace"
	CompThreads   = "threads"
	CompDirect    = "direct"
	CompGC        = "gc"
	CompCode      = "code"
	CompOther     = "other"
)

// Component is one part of the process's memory.
type Component struct {
	Name  string `json:"name" yaml:"name"`
	Title string `json:"title" yaml:"title"`
	// Resident is the estimated resident size (RSS) in bytes.
	Resident int64 `json:"resident" yaml:"resident"`
	// Committed is what JDK 17's Native Memory Tracking reports as committed; it differs from
	// Resident for G1's structures, which are committed up front but mostly never touched.
	Committed int64 `json:"committed" yaml:"committed"`
	// Detail says how the figure was obtained.
	Detail string `json:"detail" yaml:"detail"`
}

// Failure is a setup that does not do the job: the JVM does not start, or it cannot keep up.
type Failure struct {
	// Phase is "startup" (the process dies while starting) or "load" (it fails or falls behind
	// under the requested throughput).
	Phase string `json:"phase" yaml:"phase"`
	// Exception is the Java exception the process dies with, nil when it merely falls behind.
	Exception *flinkconf.Exception `json:"-" yaml:"-"`
	// Message is the exception as Java prints it ("java.lang.OutOfMemoryError: ..."), or what
	// happens when there is no exception.
	Message string `json:"message" yaml:"message"`
	// Why explains the failure in the model's terms; Fix says what to change.
	Why string `json:"why" yaml:"why"`
	Fix string `json:"fix" yaml:"fix"`
}

// Estimate is the model's verdict on a setup.
type Estimate struct {
	// Setup is the setup with every default resolved.
	Setup Setup `json:"-" yaml:"-"`
	// HeapCommitted is -Xmx rounded up to the heap alignment.
	HeapCommitted int64 `json:"heap_committed" yaml:"heap_committed"`
	// DirectLimit is the JVM's direct memory limit; DirectLimitSource says where it comes from.
	DirectLimit       int64  `json:"direct_limit" yaml:"direct_limit"`
	DirectLimitSource string `json:"direct_limit_source" yaml:"direct_limit_source"`
	// DirectNeed is the direct memory the process allocates.
	DirectNeed int64 `json:"direct_need" yaml:"direct_need"`
	// Metaspace is the class metadata the process loads.
	Metaspace  int64         `json:"-" yaml:"-"`
	Components []Component   `json:"components" yaml:"components"`
	Threads    []ThreadGroup `json:"threads" yaml:"threads"`
	// ThreadCount is the number of threads.
	ThreadCount int `json:"thread_count" yaml:"thread_count"`
	// Resident is the estimated process size (RSS); Committed the NMT total.
	Resident  int64 `json:"resident" yaml:"resident"`
	Committed int64 `json:"committed" yaml:"committed"`
	// HeapFloor is the heap the workload needs before it processes anything.
	HeapFloor int64 `json:"heap_floor" yaml:"heap_floor"`
	// ThroughputPerHeap is the sustainable rate per byte of heap above the floor (bytes/s per
	// byte); MemoryBound and CPUBound are the two limits, Capacity the smaller one.
	ThroughputPerHeap float64 `json:"-" yaml:"-"`
	MemoryBound       Rate    `json:"memory_bound" yaml:"memory_bound"`
	CPUBound          Rate    `json:"cpu_bound" yaml:"cpu_bound"`
	Capacity          Rate    `json:"capacity" yaml:"capacity"`
	// ThroughputHow explains the throughput when the calibration measured its costs part by part
	// (SerialCost); empty for the linear heap model.
	ThroughputHow string `json:"throughput_how,omitempty" yaml:"throughput_how,omitempty"`
	// Failure is set when the setup does not do the job.
	Failure  *Failure `json:"failure,omitempty" yaml:"failure,omitempty"`
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// Component returns the named component (zero if absent).
func (e *Estimate) Component(name string) Component {
	for _, c := range e.Components {
		if c.Name == name {
			return c
		}
	}
	return Component{}
}

// Evaluate estimates a setup: its resident size by component, its threads, the throughput it
// sustains, and whether it starts at all. It is a pure function of the setup.
func Evaluate(s Setup) (*Estimate, error) {
	s, err := s.resolved()
	if err != nil {
		return nil, err
	}
	e := &Estimate{Setup: s}
	e.HeapCommitted = s.Machine.Platform.EffectiveHeap(s.JVM.GC, s.JVM.Heap)
	e.addHeap()
	e.addMetaspace()
	e.addThreads()
	e.addDirect()
	gcRes, gcCom, gcDetail := gcStructures(s.JVM.GC, e.HeapCommitted, ParallelGCThreads(s.JVM.ActiveProcessors))
	e.add(CompGC, "GC structures", gcRes, gcCom, gcDetail)
	e.addCode()
	cal := s.Machine.Platform.calibration()
	other := cal.OtherIdle
	if s.running() {
		other = cal.OtherJob
	}
	e.add(CompOther, "Other JVM native", mib(other), mib(other), "symbol and string tables, class loader data, arenas, malloc overhead")
	for _, c := range e.Components {
		e.Resident += c.Resident
		e.Committed += c.Committed
	}
	e.estimateThroughput()
	e.Failure = e.failure()
	return e, nil
}

// addHeap: the heap is committed in full (-Xms defaults to a 64th of the machine's memory,
// more than these heaps) and touched in full once the young generation has cycled through it.
func (e *Estimate) addHeap() {
	s, heap := e.Setup, e.HeapCommitted
	cal := s.Machine.Platform.calibration()
	heapRes := heap
	hd := heapDetail(s, heap)
	if cal.OldTouchedMiB > 0 && s.JVM.GC != GCG1 {
		young := heap / 3
		heapRes = young + min(heap-young, mib(cal.OldTouchedMiB))
		hd = fmt.Sprintf("-Xmx%s (%s), committed; resident: the young generation %s and %s of the old one (%s calibration)",
			JVMSize(s.JVM.Heap), HumanSize(heap), HumanSize(young), HumanSize(heapRes-young), cal.Name)
	}
	e.add(CompHeap, "Java heap", heapRes, heap, hd)
}

// addMetaspace: Flink's runtime classes, the job's and the Kafka connector's when they run; a
// TaskManager loads no JobManager or REST classes.
func (e *Estimate) addMetaspace() {
	s := e.Setup
	cal := s.Machine.Platform.calibration()
	jc := s.Machine.Platform.jobCalibration(s.Workload.Connector)
	meta := cal.MetaspaceEmpty
	detail := fmt.Sprintf("Flink runtime %s MiB", trimFloat(cal.MetaspaceEmpty, 1))
	if s.running() {
		meta += jc.MetaspaceJob
		detail += fmt.Sprintf(" + job runtime %s MiB", trimFloat(jc.MetaspaceJob, 1))
	}
	if s.Workload.Connector == ConnectorKafka && jc.MetaspaceConnector > 0 {
		meta += jc.MetaspaceConnector
		detail += fmt.Sprintf(" + Kafka connector %s MiB", trimFloat(jc.MetaspaceConnector, 1))
	}
	if s.Mode == TaskManager {
		meta -= metaspaceTaskManagerSaving
		detail += fmt.Sprintf(" - JobManager and REST %s MiB", trimFloat(metaspaceTaskManagerSaving, 1))
	}
	e.Metaspace = mib(meta)
	e.add(CompMetaspace, "Metaspace", e.Metaspace, e.Metaspace, detail+" of class metadata")
}

// addThreads: each thread's touched stack and native structures, over the thread inventory.
func (e *Estimate) addThreads() {
	e.Threads = inventory(&e.Setup, e.HeapCommitted)
	var threadBytes int64
	for _, g := range e.Threads {
		e.ThreadCount += g.Count
		threadBytes += int64(g.Count) * g.PerThread
	}
	e.add(CompThreads, "Thread stacks", threadBytes, threadBytes, fmt.Sprintf("%d threads: touched stack (at most -Xss %s minus guard pages) + %s native each",
		e.ThreadCount, JVMSize(e.Setup.JVM.ThreadStack), HumanSize(threadNative)))
}

// addDirect: the network buffer pool is allocated and zeroed at start-up; Kafka clients hold
// NIO buffers besides.
func (e *Estimate) addDirect() {
	s := e.Setup
	kafkaClients := 0
	if s.Workload.Connector == ConnectorKafka {
		kafkaClients = 2 * s.Flink.Slots // split fetcher and producer per slot
		if s.Mode != TaskManager {
			kafkaClients++ // the enumerator's admin client runs in the JobManager
		}
	}
	direct := s.Flink.Network + int64(preNetworkDirect) + int64(kafkaClients)*kafkaClientDirect
	e.DirectNeed = direct
	dd := fmt.Sprintf("network buffers %s + Flink/JDK start-up %s", HumanSize(s.Flink.Network), HumanSize(int64(preNetworkDirect)))
	if kafkaClients > 0 {
		dd += fmt.Sprintf(" + %d Kafka client NIO buffers × %s", kafkaClients, HumanSize(kafkaClientDirect))
	}
	e.add(CompDirect, "Direct buffers", direct, direct, dd)
}

// addCode: JIT code and compiler arenas, with a warning when the code cache cannot hold them.
func (e *Estimate) addCode() {
	s, j := e.Setup, e.Setup.JVM
	cal := s.Machine.Platform.calibration()
	code := cal.CodeIdle
	if s.running() {
		code = cal.CodeJob
	}
	cd := "JIT code and compiler arenas, tiered C1+C2"
	if j.JIT == JITC1 {
		code *= cal.CodeC1Factor
		cd = "JIT code and compiler arenas, C1 only (-XX:TieredStopAtLevel=1)"
	}
	if s.running() {
		cd += ", job running"
	} else {
		cd += ", idle"
	}
	e.add(CompCode, "Code cache", mib(code), mib(code), cd)
	if j.CodeCache > 0 && j.CodeCache < mib(code) {
		e.Warnings = append(e.Warnings, fmt.Sprintf("-XX:ReservedCodeCacheSize=%s is below the ~%s of code this workload compiles: the JVM stops compiling once it is full (\"CodeCache is full. Compiler has been disabled.\") and the job slows down",
			JVMSize(j.CodeCache), HumanSize(mib(code))))
	}
}

// estimateThroughput: memory-bound by the heap above the floor, CPU-bound by the slots.
func (e *Estimate) estimateThroughput() {
	s, j, heap := e.Setup, e.Setup.JVM, e.HeapCommitted
	jc := s.Machine.Platform.jobCalibration(s.Workload.Connector)
	slots, job := s.Flink.Slots, s.running()
	e.HeapFloor = runFloor(&s)
	e.ThroughputPerHeap = throughputPerHeap(jc, j.GC, ParallelGCThreads(j.ActiveProcessors))
	if sc := serialCost(jc, j.GC); job && sc != nil {
		c, cpu, gc := serialCapacity(sc, heap, j.JIT, slots, s.Machine.CPUs)
		e.Capacity, e.CPUBound, e.MemoryBound = mibps(c), mibps(cpu), mibps(gc)
		work, gcs, miss := sc.costs(heap, j.JIT)
		work = sc.slotWork(work, min(slots, s.Machine.CPUs))
		e.ThroughputHow = fmt.Sprintf("%d slot(s) on %d CPU(s) at %.0f MiB per CPU-second: the pipeline %.3f ms per MiB (eden %.1f MiB, %.0f%% out of the cache) + young collections %.3f ms per MiB (Serial, %s calibration)",
			min(slots, s.Machine.CPUs), s.Machine.CPUs, 1/(work+gcs), work*1000, serialEdenMiB(heap), miss*100, gcs*1000, s.Machine.Platform.calibration().Name)
	} else if job {
		free := max(heap-heapFloor(&s), 0)
		e.MemoryBound = Rate(e.ThroughputPerHeap * float64(free))
		// Each slot's chained pipeline keeps about one CPU busy at full speed.
		e.CPUBound = mibps(float64(min(slots, s.Machine.CPUs)) * slotThroughput(jc, j.JIT, j.GC))
		e.Capacity = min(e.MemoryBound, e.CPUBound)
	}
}

func (e *Estimate) add(name, title string, resident, committed int64, detail string) {
	e.Components = append(e.Components, Component{Name: name, Title: title, Resident: resident, Committed: committed, Detail: detail})
}

func heapDetail(s Setup, heap int64) string {
	d := "-Xmx" + JVMSize(s.JVM.Heap)
	if heap != s.JVM.Heap {
		d += fmt.Sprintf(" rounded up to %s (%s heap alignment on %s)", HumanSize(heap),
			HumanSize(s.Machine.Platform.HeapAlignment(s.JVM.GC, s.JVM.Heap)), s.Machine.Platform.Name)
	}
	d += ", committed and touched in full"
	if heap >= 256*MiB {
		d += " (an upper bound when a large heap sees little load)"
	}
	return d
}

// serialCost is the job's part-by-part Serial cost model, if calibrated and the collector is Serial.
func serialCost(jc JobCalibration, gc GC) *SerialCost {
	if gc == GCSerial {
		return jc.Serial
	}
	return nil
}

// heapFloor is the heap a workload needs before it processes anything (with a Serial cost model:
// the smallest heap that does not thrash).
func heapFloor(s *Setup) int64 {
	var f int64
	if sc := serialCost(s.Machine.Platform.jobCalibration(s.Workload.Connector), s.JVM.GC); sc != nil && s.running() {
		f = sc.floor(s.Flink.Slots)
	} else if s.running() {
		f = mib(s.Machine.Platform.jobCalibration(s.Workload.Connector).HeapFloorMiB) + int64(s.Flink.Slots-1)*slotHeap
	} else {
		f = emptyHeapFloor
	}
	if s.Mode == TaskManager {
		f -= taskManagerHeapSaving
	}
	return f
}

// runFloor is the smallest heap the model lets a workload run in: the heap floor, or the
// smallest heap measured where the floor is an extrapolation (JobCalibration.MinHeapMiB).
func runFloor(s *Setup) int64 {
	f := heapFloor(s)
	jc := s.Machine.Platform.jobCalibration(s.Workload.Connector)
	if s.running() && serialCost(jc, s.JVM.GC) == nil && jc.MinHeapMiB > 0 {
		f = max(f, mib(jc.MinHeapMiB))
	}
	return f
}

// throughputPerHeap is the sustainable rate per byte of heap above the floor. Young collections
// copy the live young objects; their frequency is the allocation rate over the free heap, so the
// rate a collector keeps up with grows with the free heap and with its parallel workers. The
// calibration fixes G1 with its workers (the seed: 9) and one worker (Serial, or any collector
// on one CPU); workers in between interpolate in 1 - 1/workers.
func throughputPerHeap(jc JobCalibration, gc GC, workers int) float64 {
	single := jc.SerialPerHeap
	if gc == GCSerial || workers <= 1 || jc.GCWorkers <= 1 {
		return single
	}
	w := min(workers, jc.GCWorkers)
	share := (1 - 1/float64(w)) / (1 - 1/float64(jc.GCWorkers))
	return single + (jc.G1PerHeap-single)*share
}

// slotThroughput is one slot's CPU-bound rate in MiB/s.
func slotThroughput(jc JobCalibration, j JIT, gc GC) float64 {
	if sc := serialCost(jc, gc); sc != nil {
		return sc.bestSlotRate(j)
	}
	r := jc.SlotCPU
	if j == JITC1 {
		r *= jc.C1Factor
	}
	if gc == GCSerial && jc.SerialCPUFactor > 0 {
		r *= jc.SerialCPUFactor
	}
	return r
}

// gcStructures estimates the collector's native memory: resident, NMT-committed, explanation.
func gcStructures(gc GC, heap int64, workers int) (resident, committed int64, detail string) {
	cards := heap / cardSize
	old := heap - heap/3
	switch gc {
	case GCSerial:
		// Card table and the old generation's block offset table, plus fixed bookkeeping.
		c := cards + old/cardSize + serialGCFixed
		return c, c, "Serial: card table + block offset table (no worker threads, no marking structures)"
	case GCParallel:
		// Card table, block offset table and the compaction's mark bitmap and block table, plus
		// two task queues per worker.
		tables := cards + old/cardSize + cards
		bitmap := heap / 32
		queues := int64(workers) * 2 * g1TaskQueue
		committed = tables + bitmap + queues + g1Misc/2
		resident = tables + bitmap/4 + int64(workers)*2*g1QueueTouched + g1Misc/2
		return resident, committed, fmt.Sprintf("Parallel: card and offset tables, mark bitmap, %d task queues of 1 MiB", 2*workers)
	}
	// G1 (JDK 17): a 32 MiB marking stack and two task queues per worker, committed up front but
	// hardly touched; two mark bitmaps (1/64 of the heap each); card table, block offset table and
	// card counts (1/512 each).
	queues := int64(2 * workers)
	tables := 3 * cards
	bitmaps := heap / 32
	committed = g1MarkStack + queues*g1TaskQueue + bitmaps + tables + g1Misc
	resident = tables + bitmaps/4 + queues*g1QueueTouched + g1Misc
	return resident, committed, fmt.Sprintf("G1: marking stack %s and %d task queues of %s (committed, mostly untouched), mark bitmaps, card and offset tables",
		HumanSize(g1MarkStack), queues, HumanSize(g1TaskQueue))
}

// directLimit is the JVM's direct memory limit and where it comes from.
func (e *Estimate) directLimit() (int64, string) {
	j := e.Setup.JVM
	if j.MaxDirect > 0 {
		return j.MaxDirect, "-XX:MaxDirectMemorySize=" + JVMSize(j.MaxDirect)
	}
	return MaxMemory(j.GC, e.HeapCommitted), "Runtime.maxMemory(), because -XX:MaxDirectMemorySize is unset"
}

// failure checks, in the order the process would hit them, whether the setup does the job.
func (e *Estimate) failure() *Failure {
	s := e.Setup
	j := s.JVM
	limit, source := e.directLimit()
	e.DirectLimit, e.DirectLimitSource = limit, source
	pre := int64(preNetworkDirect)
	network := s.Flink.Network

	// 1. The network buffer pool allocates all its segments while the TaskManager starts.
	if pre+network > limit {
		segments := network / segmentSize
		got := max((limit-pre)/segmentSize, 0)
		ex := NetworkBufferPoolOOM(network, got*segmentSize)
		return &Failure{
			Phase:     "startup",
			Exception: ex,
			Message:   javaForm(ex),
			Why: fmt.Sprintf("the direct memory limit is %s (%s); %s are in use before the network buffer pool allocates its %d segments of 32 KiB (%s), so only %d fit",
				HumanSize(limit), source, HumanSize(pre), segments, HumanSize(network), got),
			Fix: fmt.Sprintf("lower taskmanager.memory.network.min/max (the Tiny Flink talk runs with 8m), or set -XX:MaxDirectMemorySize to at least %s, or raise -Xmx to at least %s",
				JVMSize(ceilMiB(e.DirectNeed)), JVMSize(e.minHeapForDirect())),
		}
	}
	// 2. Class loading.
	if j.MaxMetaspace > 0 && j.MaxMetaspace < e.Metaspace {
		ex := flinkconf.NewException("java.lang.OutOfMemoryError", "Metaspace", nil)
		return &Failure{Phase: "startup", Exception: ex, Message: javaForm(ex),
			Why: fmt.Sprintf("the workload loads ~%s of class metadata but -XX:MaxMetaspaceSize is %s", HumanSize(e.Metaspace), JVMSize(j.MaxMetaspace)),
			Fix: fmt.Sprintf("set -XX:MaxMetaspaceSize to at least %s", JVMSize(ceilMiB(e.Metaspace)))}
	}
	// 3. The heap must hold the workload's live set before any record flows.
	if sc := serialCost(s.Machine.Platform.jobCalibration(s.Workload.Connector), j.GC); sc != nil && s.running() && e.HeapCommitted < e.HeapFloor {
		return &Failure{Phase: "load", Message: "the collector thrashes: every collection is a full one (GC takes nearly all the CPU)",
			Why: sc.describeThrash(e.HeapCommitted, s.Flink.Slots),
			Fix: fmt.Sprintf("raise -Xmx to at least %s", JVMSize(ceilMiB(e.HeapFloor)))}
	}
	if e.HeapCommitted < e.HeapFloor {
		ex := flinkconf.NewException("java.lang.OutOfMemoryError", "Java heap space", nil)
		what := "the empty cluster"
		if s.running() {
			what = "the job"
		}
		return &Failure{Phase: "startup", Exception: ex, Message: javaForm(ex),
			Why: fmt.Sprintf("%s needs ~%s of heap before it processes anything; -Xmx%s gives %s", what, HumanSize(e.HeapFloor), JVMSize(j.Heap), HumanSize(e.HeapCommitted)),
			Fix: fmt.Sprintf("raise -Xmx to at least %s", JVMSize(ceilMiB(e.HeapFloor)))}
	}
	// 4. Connector buffers on top of the network pool.
	if e.DirectNeed > limit {
		reserved := pre + network
		ex := flinkconf.NewException("java.lang.OutOfMemoryError", fmt.Sprintf("Cannot reserve %d bytes of direct buffer memory (allocated: %d, limit: %d)",
			kafkaClientDirect, reserved, limit), nil)
		return &Failure{Phase: "load", Exception: ex, Message: javaForm(ex),
			Why: fmt.Sprintf("the Kafka clients' NIO buffers need %s of direct memory beyond the network pool, and the limit (%s) leaves %s",
				HumanSize(e.DirectNeed-reserved), source, HumanSize(max(limit-reserved, 0))),
			Fix: fmt.Sprintf("set -XX:MaxDirectMemorySize to at least %s", JVMSize(ceilMiB(e.DirectNeed)))}
	}
	// 5. The requested throughput.
	if target := s.Workload.Throughput; target > 0 && target > e.Capacity {
		return e.throughputShortfall(target)
	}
	return nil
}

// throughputShortfall says why the setup cannot sustain the requested rate: the heap (the
// collector cannot keep up) or the CPUs (too few slots).
func (e *Estimate) throughputShortfall(target Rate) *Failure {
	s := e.Setup
	j := s.JVM
	if sc := serialCost(s.Machine.Platform.jobCalibration(s.Workload.Connector), j.GC); sc != nil {
		return e.serialShortfall(sc, target)
	}
	if e.MemoryBound <= e.CPUBound {
		ex := flinkconf.NewException("java.lang.OutOfMemoryError", "Java heap space", nil)
		need := e.HeapFloor + int64(math.Ceil(float64(target)/e.ThroughputPerHeap))
		return &Failure{Phase: "load", Exception: ex, Message: javaForm(ex),
			Why: fmt.Sprintf("at %s the collector cannot keep up: %s of heap sustain ~%s (%s per MiB above the %s the job needs)",
				target, HumanSize(e.HeapCommitted), e.MemoryBound, Rate(e.ThroughputPerHeap*float64(MiB)), HumanSize(e.HeapFloor)),
			Fix: fmt.Sprintf("raise -Xmx to at least %s", JVMSize(ceilMiB(need)))}
	}
	jc := s.Machine.Platform.jobCalibration(s.Workload.Connector)
	slots := int(math.Ceil(target.MiBps() / slotThroughput(jc, j.JIT, j.GC)))
	fix := fmt.Sprintf("set taskmanager.numberOfTaskSlots (and the job's parallelism) to %d", slots)
	if slots > s.Machine.CPUs {
		fix = fmt.Sprintf("run %d slots on at least %d CPUs, or split the job over several processes", slots, slots)
	}
	return &Failure{Phase: "load", Message: "the job falls behind (backpressure, growing consumer lag)",
		Why: fmt.Sprintf("%d slot(s) on %d CPU(s) process ~%s when memory is not the limit (~%s per slot and CPU); %s needs %d",
			s.Flink.Slots, s.Machine.CPUs, e.CPUBound, mibps(slotThroughput(jc, j.JIT, j.GC)), target, slots),
		Fix: fix}
}

// minHeapForDirect is the smallest -Xmx (whole MiB) whose default direct memory limit,
// Runtime.maxMemory(), holds everything the process allocates directly.
func (e *Estimate) minHeapForDirect() int64 {
	j, plat := e.Setup.JVM, e.Setup.Machine.Platform
	h := ceilMiB(j.Heap)
	for MaxMemory(j.GC, plat.EffectiveHeap(j.GC, h)) < e.DirectNeed {
		h += MiB
	}
	return h
}

// javaForm renders an exception as a JVM prints an uncaught one.
func javaForm(ex *flinkconf.Exception) string {
	return ex.Class + ": " + ex.Message
}

// tmDirectOOM is Flink's TaskManagerExceptionUtils message that replaces the JDK's direct
// out-of-memory message inside a TaskManager.
const tmDirectOOM = "Direct buffer memory. The direct out-of-memory error has occurred. This can mean two things: either job(s) require(s) " +
	"a larger size of JVM direct memory or there is a direct memory leak. The direct memory can be " +
	"allocated by user code or some of its dependencies. In this case 'taskmanager.memory.task.off-heap.size' configuration option should be " +
	"increased. Flink framework and its dependencies also consume the direct memory, mostly for network " +
	"communication. The most of network memory is managed by Flink and should not result in out-of-memory " +
	"error. In certain special cases, in particular for jobs with high parallelism, the framework may " +
	"require more direct memory which is not managed by Flink. In this case 'taskmanager.memory.framework.off-heap.size' configuration option " +
	"should be increased. If the error persists then there is probably a direct memory leak in user code or " +
	"some of its dependencies which has to be investigated and fixed. The task executor has to be shutdown..."

// NetworkBufferPoolOOM is the error Flink's NetworkBufferPool throws when its segments do not fit
// into direct memory: required and allocated sizes are floored to MB, the cause is the JDK's
// direct out-of-memory error as Flink enriches it.
func NetworkBufferPoolOOM(required, allocated int64) *flinkconf.Exception {
	reqMB, allocMB := required>>20, allocated>>20
	return flinkconf.NewException("java.lang.OutOfMemoryError",
		"Could not allocate enough memory segments for NetworkBufferPool (required (MB): "+strconv.FormatInt(reqMB, 10)+
			", allocated (MB): "+strconv.FormatInt(allocMB, 10)+", missing (MB): "+strconv.FormatInt(reqMB-allocMB, 10)+
			"). Cause: "+tmDirectOOM, nil)
}
