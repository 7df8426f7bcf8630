package tiny

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// Request asks for the smallest configuration that does a job.
type Request struct {
	Mode      Mode
	Machine   Machine
	Connector Connector
	Submit    Submit
	// Throughput is the rate to sustain (0: none given). Headroom is added on top (0.2 = +20%).
	Throughput Rate
	Headroom   float64
	// Budget caps the process: the estimated resident size of a MiniCluster, Flink's total
	// process memory of a TaskManager. 0: none given.
	Budget int64
	// GC and JIT restrict the search; GCAuto and JITAuto try every option.
	GC      GC
	JIT     JIT
	Threads Threads
	// FlinkVersion selects option names (akka.* up to 1.17, pekko.* after) and, in TaskManager
	// mode, the memory model's profile (2.x: Flink2).
	FlinkVersion string
}

// KeyValue is one Flink option of a plan, in output order.
type KeyValue struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value" yaml:"value"`
}

// Choice is one candidate the planner weighed.
type Choice struct {
	GC               string `json:"gc" yaml:"gc"`
	JIT              string `json:"jit" yaml:"jit"`
	ActiveProcessors int    `json:"cpus" yaml:"cpus"`
	Slots            int    `json:"slots" yaml:"slots"`
	Heap             int64  `json:"heap" yaml:"heap"`
	// Size is what the goal compares: the resident estimate of a MiniCluster, Flink's total
	// process memory of a TaskManager.
	Size     int64 `json:"size" yaml:"size"`
	Resident int64 `json:"resident" yaml:"resident"`
	Capacity Rate  `json:"capacity" yaml:"capacity"`
	Chosen   bool  `json:"chosen,omitempty" yaml:"chosen,omitempty"`
}

// Plan is the smallest configuration found, with its estimate.
type Plan struct {
	Request Request `json:"-" yaml:"-"`
	// Goal says what was optimised, for people.
	Goal string `json:"goal" yaml:"goal"`
	// Target is the throughput the configuration is sized for (with headroom).
	Target   Rate      `json:"target" yaml:"target"`
	Setup    Setup     `json:"-" yaml:"-"`
	Estimate *Estimate `json:"estimate" yaml:"estimate"`
	// JVMFlags are the JVM options; in TaskManager mode the memory flags are Flink's own (from
	// the derived TaskManager) and the rest go to env.java.opts.taskmanager.
	JVMFlags    []string   `json:"jvm_flags" yaml:"jvm_flags"`
	FlinkConfig []KeyValue `json:"flink_config" yaml:"flink_config"`
	// TaskManager is Flink's derivation of the TaskManager configuration (TaskManager mode).
	TaskManager *memory.TaskManager `json:"-" yaml:"-"`
	// Size is the figure the budget is compared with.
	Size       int64    `json:"size" yaml:"size"`
	Considered []Choice `json:"considered" yaml:"considered"`
	Notes      []string `json:"notes" yaml:"notes"`
}

// BudgetError says that no configuration fits the budget, and names the smallest that does.
type BudgetError struct {
	Budget   int64
	Smallest int64
	// What names the smallest configuration.
	What string
	// Reason is "budget" or "throughput" (the target cannot be met within the budget).
	Reason string
}

func (e *BudgetError) Error() string {
	if e.Reason == "throughput" {
		return fmt.Sprintf("the budget of %s cannot sustain the throughput: the smallest configuration that does needs %s (%s); raise the budget to at least %s or lower the throughput",
			HumanSize(e.Budget), HumanSize(e.Smallest), e.What, FlinkSize(ceilMiB(e.Smallest)))
	}
	return fmt.Sprintf("the budget of %s is below what any configuration runs in: the smallest feasible budget is %s (%s); raise the budget to at least %s",
		HumanSize(e.Budget), HumanSize(e.Smallest), e.What, FlinkSize(ceilMiB(e.Smallest)))
}

// candidate is one point of the search space before the heap is chosen.
type candidate struct {
	gc  GC
	jit JIT
	apc int
}

// profile maps a Flink version to the memory model's profile.
func profile(v string) memory.Profile {
	if strings.HasPrefix(v, "2") {
		return memory.Flink2
	}
	return memory.Flink1
}

// validate checks a request before the search.
func (r *Request) validate() error {
	if r.Machine.Platform.PageSize <= 0 {
		return errors.New("no platform given")
	}
	if r.Machine.CPUs <= 0 {
		return fmt.Errorf("CPUs must be positive, got %d", r.Machine.CPUs)
	}
	if r.Headroom < 0 || r.Headroom > 10 || math.IsNaN(r.Headroom) {
		return fmt.Errorf("headroom %v: want a fraction between 0 and 10, e.g. 0.2 for +20%%", r.Headroom)
	}
	if r.Throughput < 0 || math.IsNaN(float64(r.Throughput)) {
		return fmt.Errorf("throughput must not be negative")
	}
	if r.Budget < 0 {
		return fmt.Errorf("budget must not be negative")
	}
	if r.Connector == ConnectorNone && r.Throughput > 0 {
		return errors.New("an empty cluster (connector none) has no job to sustain a throughput; use the kafka connector")
	}
	return nil
}

// candidates lists the search space in a fixed order (the order breaks ties).
func (r *Request) candidates() []candidate {
	// Parallel is tried only on request: the seed measured G1 and Serial only.
	gcs := []GC{GCSerial, GCG1}
	if r.GC != GCAuto {
		gcs = []GC{r.GC}
	}
	jits := []JIT{JITC1, JITTiered}
	if r.JIT != JITAuto {
		jits = []JIT{r.JIT}
	}
	apcs := []int{r.Machine.CPUs}
	if r.Threads == ThreadsMinimal && r.Machine.CPUs > 1 {
		apcs = []int{1, r.Machine.CPUs}
	}
	var out []candidate
	for _, g := range gcs {
		for _, j := range jits {
			for _, a := range apcs {
				out = append(out, candidate{g, j, a})
			}
		}
	}
	return out
}

// Target is the throughput a plan is sized for: the request's with headroom, or 1 MiB/s of
// light load for a job when neither a throughput nor a budget is given.
func (r *Request) Target() Rate {
	if r.Connector == ConnectorNone {
		return 0
	}
	if r.Throughput > 0 {
		return Rate(float64(r.Throughput) * (1 + r.Headroom))
	}
	if r.Budget == 0 {
		return mibps(1)
	}
	return 0
}

// setup builds the setup of a candidate with the given heap and slots, limits not yet set.
func (r *Request) setup(c candidate, heap int64, slots int) Setup {
	s := Setup{
		Mode:    r.Mode,
		Machine: r.Machine,
		JVM: JVM{
			Heap: heap, InitialHeap: heap, GC: c.gc, ThreadStack: recommendedXss, JIT: c.jit,
			ActiveProcessors: c.apc,
		},
		Flink:    Flink{Network: minNetwork, Slots: slots},
		Workload: Workload{Connector: r.Connector, Submit: r.Submit},
	}
	if r.Connector == ConnectorKafka {
		s.JVM.NIOCacheLimit = nioCacheLimit
	}
	if r.Threads == ThreadsMinimal {
		s.Flink.RESTThreads, s.Flink.IOPool, s.Flink.JMIOPool, s.Flink.FuturePool = 1, 2, 2, 2
		s.Flink.RPCMin, s.Flink.RPCMax = 2, 4
	}
	return s
}

// sized is a setup with its estimate, limits and (TaskManager mode) Flink's derivation.
type sized struct {
	c     candidate
	setup Setup
	est   *Estimate
	tm    *memory.TaskManager
	cfg   []KeyValue
	size  int64
}

// size evaluates a candidate at a heap and slot count and sets the JVM limits from the estimate.
func (r *Request) size(c candidate, heap int64, slots int) (*sized, error) {
	s := r.setup(c, heap, slots)
	e, err := Evaluate(s)
	if err != nil {
		return nil, err
	}
	s = e.Setup
	s.Workload.Throughput = r.Target()
	native := e.Component(CompThreads).Resident + e.Component(CompGC).Resident + e.Component(CompCode).Resident + e.Component(CompOther).Resident
	s.JVM.MaxMetaspace = ceilMiB(int64(float64(e.Metaspace) * (1 + metaspaceMargin)))
	s.JVM.MaxDirect = ceilMiB(int64(float64(e.DirectNeed) * (1 + directMargin)))
	s.JVM.CodeCache = max(minCodeCache, ceilMiB(int64(float64(e.Component(CompCode).Resident)*codeCacheFactor)))
	out := &sized{c: c}
	if r.Mode == TaskManager {
		tm, cfg, err := r.deriveTaskManager(s, e, native)
		if err != nil {
			return nil, err
		}
		s.JVM.Heap, s.JVM.InitialHeap = tm.JVMHeap(), tm.JVMHeap()
		s.JVM.MaxDirect = tm.JVMDirect()
		s.JVM.MaxMetaspace = tm.JVMMetaspace
		out.tm, out.cfg = tm, cfg
	}
	e, err = Evaluate(s)
	if err != nil {
		return nil, err
	}
	out.setup, out.est = e.Setup, e
	out.size = e.Resident
	if out.tm != nil {
		out.size = out.tm.TotalProcess
	}
	return out, nil
}

// deriveTaskManager configures the TaskManager's memory with Flink's options and lets the memory
// package derive it exactly as Flink does, so that the numbers are ones Flink accepts.
func (r *Request) deriveTaskManager(s Setup, e *Estimate, native int64) (*memory.TaskManager, []KeyValue, error) {
	frameworkHeap := ceilMiB(emptyHeapFloor - taskManagerHeapSaving)
	heap := e.HeapCommitted
	frameworkOff := ceilMiB(int64(float64(int64(preNetworkDirect)+int64(s.Flink.Slots)*nettyArenaChunk) * (1 + directMargin)))
	taskOff := ceilMiB(int64(float64(e.DirectNeed-s.Flink.Network-int64(preNetworkDirect)) * (1 + directMargin)))
	overhead := ceilMiB(int64(float64(native) * (1 + overheadMargin)))
	kv := []KeyValue{
		{"taskmanager.memory.framework.heap.size", FlinkSize(frameworkHeap)},
		{"taskmanager.memory.task.heap.size", FlinkSize(heap - frameworkHeap)},
		{"taskmanager.memory.managed.size", "0"},
		{"taskmanager.memory.network.min", FlinkSize(s.Flink.Network)},
		{"taskmanager.memory.network.max", FlinkSize(s.Flink.Network)},
		{"taskmanager.memory.framework.off-heap.size", FlinkSize(frameworkOff)},
		{"taskmanager.memory.task.off-heap.size", FlinkSize(taskOff)},
		{"taskmanager.memory.jvm-metaspace.size", FlinkSize(s.JVM.MaxMetaspace)},
		{"taskmanager.memory.jvm-overhead.min", FlinkSize(overhead)},
		{"taskmanager.memory.jvm-overhead.max", FlinkSize(overhead)},
		{"taskmanager.numberOfTaskSlots", strconv.Itoa(s.Flink.Slots)},
	}
	cfg := flinkconf.New()
	for _, p := range kv {
		cfg.SetFrom(p.Key, p.Value, flinkconf.Origin{Source: "flinktune memory tiny"})
	}
	tm, err := memory.DeriveTaskManager(cfg, nil, profile(r.FlinkVersion))
	if err != nil {
		return nil, nil, fmt.Errorf("Flink rejects the derived TaskManager configuration (a flinktune bug): %w", err)
	}
	return tm, kv, nil
}

// minimalHeap is the smallest -Xmx (already aligned) that sustains target with the candidate.
func (r *Request) minimalHeap(c candidate, slots int, target Rate) int64 {
	probe := r.setup(c, MiB, slots)
	s, _ := probe.resolved()
	need := runFloor(&s)
	plat := r.Machine.Platform
	if sc := serialCost(plat.jobCalibration(r.Connector), c.gc); sc != nil && s.running() {
		align := plat.HeapAlignment(c.gc, need)
		lo := plat.EffectiveHeap(c.gc, ceilMiB(need))
		if target <= 0 {
			return lo
		}
		if h, ok := serialHeapFor(sc, lo, align, target.MiBps(), c.jit, slots, r.Machine.CPUs); ok {
			return h
		}
		h, _ := bestSerialHeap(sc, lo, 4*GiB, align, c.jit, slots, r.Machine.CPUs)
		return h // short of the target: the estimate says why
	}
	if target > 0 {
		k := throughputPerHeap(r.Machine.Platform.jobCalibration(r.Connector), c.gc, ParallelGCThreads(c.apc))
		need = max(need, heapFloor(&s)+int64(math.Ceil(float64(target)/k)))
	}
	return r.Machine.Platform.EffectiveHeap(c.gc, ceilMiB(need))
}

// slotsFor is the number of slots whose CPU-bound rate covers target.
func slotsFor(jc JobCalibration, target Rate, j JIT, gc GC) int {
	if target <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(target.MiBps()/slotThroughput(jc, j, gc)-1e-9)))
}

// NewPlan finds the smallest configuration for the request: the least memory that sustains the
// throughput, or the most throughput that fits the budget, or the least memory that runs at all.
func NewPlan(r Request) (*Plan, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	target := r.Target()
	best, considered, err := r.bestCandidate(target)
	if err != nil {
		return nil, err
	}
	if err := r.refuse(best, considered, target); err != nil {
		return nil, err
	}
	for i := range considered {
		considered[i].Chosen = considered[i] == choiceOf(best)
	}
	p := &Plan{Request: r, Target: target, Setup: best.setup, Estimate: best.est, TaskManager: best.tm,
		Size: best.size, Considered: considered}
	p.Goal = r.goal()
	p.JVMFlags = r.jvmFlags(best)
	p.FlinkConfig = r.flinkConfig(best)
	p.Notes = r.notes(best)
	return p, nil
}

// maximizing reports whether the request asks for the most throughput within a budget (rather
// than the least memory).
func (r *Request) maximizing() bool {
	return r.Budget > 0 && r.Throughput == 0 && r.Connector != ConnectorNone
}

// better reports whether a is a better configuration than b (nil: none yet): the more
// throughput when maximizing, else the smaller size, ties to the more throughput.
func (r *Request) better(a, b *sized) bool {
	if b == nil {
		return true
	}
	if r.maximizing() && a.est.Capacity != b.est.Capacity {
		return a.est.Capacity > b.est.Capacity
	}
	if a.size != b.size {
		return a.size < b.size
	}
	return a.est.Capacity > b.est.Capacity
}

// bestCandidate sizes every candidate (JIT and collector) for the request and returns the best
// that runs (nil if none) and every one considered, failing ones included.
func (r *Request) bestCandidate(target Rate) (*sized, []Choice, error) {
	var best *sized
	var considered []Choice
	for _, c := range r.candidates() {
		var got *sized
		var err error
		if r.maximizing() {
			got, err = r.mostWithin(c)
		} else {
			slots := slotsFor(r.Machine.Platform.jobCalibration(r.Connector), target, c.jit, c.gc)
			if slots > r.Machine.CPUs {
				continue // each slot needs a CPU at full speed
			}
			got, err = r.size(c, r.minimalHeap(c, slots, target), slots)
		}
		if err != nil {
			return nil, nil, err
		}
		if got == nil {
			continue
		}
		considered = append(considered, choiceOf(got))
		if got.est.Failure != nil {
			continue
		}
		if r.better(got, best) {
			best = got
		}
	}
	return best, considered, nil
}

// refuse says why the request has no plan: a rate that needs more CPUs than the machine has, a
// budget below the smallest configuration that runs, or one below what the throughput needs.
func (r *Request) refuse(best *sized, considered []Choice, target Rate) error {
	if best == nil && len(considered) == 0 && target > 0 {
		jc := r.Machine.Platform.jobCalibration(r.Connector)
		need := slotsFor(jc, target, JITTiered, GCG1)
		return fmt.Errorf("%s needs %d slots, one CPU each at ~%s (%s with C1 only), but the machine has %d CPU(s); give --cpus %d or split the job over several processes",
			target, need, mibps(slotThroughput(jc, JITTiered, GCG1)), mibps(slotThroughput(jc, JITC1, GCG1)), r.Machine.CPUs, need)
	}
	if best == nil && r.Budget > 0 {
		smallest, err := r.smallest()
		if err != nil {
			return err
		}
		if smallest == nil {
			return errors.New("no configuration runs this workload (a flinktune bug)")
		}
		return &BudgetError{Budget: r.Budget, Smallest: smallest.size, What: describe(smallest), Reason: "budget"}
	}
	if best == nil {
		return errors.New("no configuration runs this workload (a flinktune bug)")
	}
	if r.Budget > 0 && best.size > r.Budget {
		reason := "budget"
		if r.Throughput > 0 {
			reason = "throughput"
		}
		return &BudgetError{Budget: r.Budget, Smallest: best.size, What: describe(best), Reason: reason}
	}
	return nil
}

// mostWithin finds, for one candidate, the slots and the largest heap whose size fits the
// budget and that sustain the most throughput; nil if even the smallest heap does not fit.
func (r *Request) mostWithin(c candidate) (*sized, error) {
	align := r.Machine.Platform.HeapAlignment(c.gc, 64*MiB)
	var best *sized
	for slots := 1; slots <= min(maxSlots, r.Machine.CPUs); slots++ {
		// Even within a budget a job has to keep up with light load (1 MiB/s).
		lo := r.minimalHeap(c, slots, mibps(1))
		first, err := r.size(c, lo, slots)
		if err != nil {
			return nil, err
		}
		if first.size > r.Budget {
			break // more slots only need more
		}
		// The size grows with the heap: binary search the last aligned heap that fits.
		hi := lo + alignUp(r.Budget, align)
		for hi-lo > align {
			mid := lo + (hi-lo)/2/align*align
			got, err := r.size(c, mid, slots)
			if err != nil {
				return nil, err
			}
			if got.size <= r.Budget {
				lo = mid
			} else {
				hi = mid
			}
		}
		// Past the CPU's cache a bigger eden is slower: the most capacity may be below the
		// largest heap that fits.
		if sc := serialCost(r.Machine.Platform.jobCalibration(r.Connector), c.gc); sc != nil {
			lo, _ = bestSerialHeap(sc, first.setup.JVM.Heap, lo, align, c.jit, slots, r.Machine.CPUs)
		}
		got, err := r.size(c, lo, slots)
		if err != nil {
			return nil, err
		}
		if best != nil && got.est.Capacity <= best.est.Capacity {
			break // another slot no longer helps
		}
		best = got
	}
	return best, nil
}

// smallest is the smallest configuration that runs the workload at all (1 MiB/s for a job).
func (r *Request) smallest() (*sized, error) {
	q := *r
	q.Budget, q.Throughput = 0, 0
	var best *sized
	for _, c := range q.candidates() {
		got, err := q.size(c, q.minimalHeap(c, 1, q.Target()), 1)
		if err != nil {
			return nil, err
		}
		if got.est.Failure == nil && (best == nil || got.size < best.size) {
			best = got
		}
	}
	return best, nil
}

func choiceOf(s *sized) Choice {
	return Choice{GC: s.c.gc.String(), JIT: s.c.jit.String(), ActiveProcessors: s.c.apc, Slots: s.setup.Flink.Slots,
		Heap: s.setup.JVM.Heap, Size: s.size, Resident: s.est.Resident, Capacity: s.est.Capacity}
}

func describe(s *sized) string {
	return fmt.Sprintf("%s GC, %s JIT, %d CPU(s), %d slot(s), -Xmx%s", s.c.gc, s.c.jit, s.c.apc, s.setup.Flink.Slots, JVMSize(s.setup.JVM.Heap))
}

func (r *Request) goal() string {
	switch {
	case r.Connector == ConnectorNone && r.Budget > 0:
		return fmt.Sprintf("the smallest empty cluster, within a budget of %s", HumanSize(r.Budget))
	case r.Connector == ConnectorNone:
		return "the smallest empty cluster"
	case r.Throughput > 0:
		g := fmt.Sprintf("the least memory that sustains %s (+%s%% headroom: %s)", r.Throughput, trimFloat(r.Headroom*100, 1), r.Target())
		if r.Budget > 0 {
			g += fmt.Sprintf(", within %s", HumanSize(r.Budget))
		}
		return g
	case r.Budget > 0:
		return fmt.Sprintf("the most throughput within a budget of %s", HumanSize(r.Budget))
	}
	return "the least memory that runs the job under light load (1 MiB/s; give --throughput or --budget)"
}

// jvmFlags are the JVM options of the chosen setup.
func (r *Request) jvmFlags(b *sized) []string {
	j := b.setup.JVM
	var f []string
	if b.tm == nil {
		f = append(f, "-Xmx"+JVMSize(j.Heap), "-Xms"+JVMSize(j.Heap))
	}
	f = append(f, "-Xss"+JVMSize(j.ThreadStack), j.GC.Flag())
	if b.tm == nil {
		f = append(f, "-XX:MaxMetaspaceSize="+JVMSize(j.MaxMetaspace), "-XX:MaxDirectMemorySize="+JVMSize(j.MaxDirect))
	}
	f = append(f, "-XX:ReservedCodeCacheSize="+JVMSize(j.CodeCache))
	if j.JIT == JITC1 {
		f = append(f, "-XX:TieredStopAtLevel=1")
	}
	if j.ActiveProcessors != r.Machine.CPUs {
		f = append(f, "-XX:ActiveProcessorCount="+strconv.Itoa(j.ActiveProcessors))
	}
	if j.NIOCacheLimit > 0 {
		f = append(f, "-Djdk.nio.maxCachedBufferSize="+strconv.FormatInt(j.NIOCacheLimit, 10))
	}
	return f
}

// flinkConfig lists the Flink options of the chosen setup.
func (r *Request) flinkConfig(b *sized) []KeyValue {
	f := b.setup.Flink
	var kv []KeyValue
	if b.tm != nil {
		kv = append(kv, b.cfg...)
		kv = append(kv, KeyValue{"env.java.opts.taskmanager", strings.Join(r.jvmFlags(b), " ")})
	} else {
		kv = append(kv,
			KeyValue{"taskmanager.memory.network.min", FlinkSize(f.Network)},
			KeyValue{"taskmanager.memory.network.max", FlinkSize(f.Network)},
			KeyValue{"taskmanager.memory.managed.size", "0"},
			KeyValue{"taskmanager.numberOfTaskSlots", strconv.Itoa(f.Slots)},
		)
	}
	if r.Connector != ConnectorNone {
		kv = append(kv, KeyValue{"parallelism.default", strconv.Itoa(f.Slots)})
	}
	if r.Threads == ThreadsMinimal {
		if b.tm == nil {
			kv = append(kv,
				KeyValue{OptRESTThreads.Key, strconv.Itoa(f.RESTThreads)},
				KeyValue{OptClusterIOPool.Key, strconv.Itoa(f.IOPool)},
				KeyValue{OptJMIOPool.Key, strconv.Itoa(f.JMIOPool)},
				KeyValue{OptFuturePool.Key, strconv.Itoa(f.FuturePool)},
			)
		} else {
			kv = append(kv, KeyValue{OptClusterIOPool.Key, strconv.Itoa(f.IOPool)})
		}
		kv = append(kv,
			KeyValue{rpcKey(OptRPCParallelismMin, r.FlinkVersion), strconv.Itoa(f.RPCMin)},
			KeyValue{rpcKey(OptRPCParallelismMax, r.FlinkVersion), strconv.Itoa(f.RPCMax)},
		)
	}
	return kv
}

// notes are the caveats of the chosen setup.
func (r *Request) notes(b *sized) []string {
	j := b.setup.JVM
	var n []string
	if r.Mode == MiniCluster && r.Connector != ConnectorNone && r.Submit == SubmitLocal {
		n = append(n, "Submit the job to the MiniCluster directly (MiniCluster#submitJob or a local StreamExecutionEnvironment): a RemoteStreamEnvironment, as in the Tiny Flink talk, adds a REST client (6 threads) and starts 2 × CPUs REST worker threads.")
	}
	if r.Mode == MiniCluster {
		n = append(n, "In a MiniCluster the JVM flags are the memory configuration: local execution reads network and managed memory, and ignores (with a warning) the process, Flink, framework, metaspace and overhead sizes.")
	}
	if r.Mode == TaskManager {
		n = append(n, "The memory options are Flink's own: Flink derives -Xmx, -Xms, -XX:MaxDirectMemorySize and -XX:MaxMetaspaceSize from them; the other JVM flags go to env.java.opts.taskmanager.",
			"The JobManager is a separate process; size it with `flinktune memory --mode jm`.")
	}
	if r.Connector == ConnectorKafka {
		n = append(n, "-Djdk.nio.maxCachedBufferSize keeps the JDK from caching a fetch-sized temporary direct buffer per Kafka I/O thread.")
	}
	n = append(n, "Heap state only: managed memory is 0 (RocksDB and batch operators need managed memory) and checkpointing is not modelled (the Tiny Flink talk ran without it).",
		"-Xss256k (as in the Tiny Flink talk): deep recursion in user code risks a StackOverflowError.")
	if cal := r.Machine.Platform.calibration(); cal != seedCalibration {
		n = append(n, fmt.Sprintf("Calibration %s (%s): resident sizes were predicted within 15%% on held-out profiles; throughputs were not (near the heap floor and with large young generations the real rate is lower).", cal.Name, cal.Source))
	} else {
		if j.GC == GCSerial {
			n = append(n, "Serial GC collects with one thread: the model takes 70% of G1's throughput per MiB of heap (the Tiny Flink talk only says it \"reduces the throughput\").")
		}
		if j.JIT == JITC1 {
			n = append(n, "C1-only code is slower: the model takes 75% of the tiered CPU-bound rate per slot.")
		}
	}
	if r.Target() > mibps(97) {
		n = append(n, "The throughput is beyond the Tiny Flink talk's largest point (97 MB/s at -Xmx100m): the figures are extrapolated.")
	}
	if strings.HasPrefix(r.Machine.Platform.Name, "linux") {
		n = append(n, "On glibc, MALLOC_ARENA_MAX=2 in the environment keeps per-thread malloc arenas from inflating the resident size (not modelled).")
	}
	n = append(n, "Verify on the real process: -XX:NativeMemoryTracking=summary and jcmd <pid> VM.native_memory summary, as in the Tiny Flink talk; the estimate's calibration tolerance is 15%.")
	return n
}

// SortedComponentNames is the order of components in estimates.
var SortedComponentNames = []string{CompHeap, CompMetaspace, CompThreads, CompDirect, CompGC, CompCode, CompOther}
