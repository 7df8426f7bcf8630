package tiny

import "fmt"

// Machine is where the JVM runs.
type Machine struct {
	Platform Platform
	// CPUs is the number of CPUs the JVM would see without -XX:ActiveProcessorCount.
	CPUs int
}

// JVM holds the JVM options that shape the footprint. Zero values mean the JVM's default.
type JVM struct {
	// Heap is -Xmx (required).
	Heap int64 `json:"heap" yaml:"heap"`
	// InitialHeap is -Xms; the model assumes the heap is committed in full either way.
	InitialHeap int64 `json:"initial_heap,omitempty" yaml:"initial_heap,omitempty"`
	GC          GC    `json:"-" yaml:"-"`
	// ThreadStack is -Xss; 0 is the platform's ThreadStackSize.
	ThreadStack int64 `json:"thread_stack,omitempty" yaml:"thread_stack,omitempty"`
	// MaxMetaspace is -XX:MaxMetaspaceSize; 0 is unlimited.
	MaxMetaspace int64 `json:"max_metaspace,omitempty" yaml:"max_metaspace,omitempty"`
	// MaxDirect is -XX:MaxDirectMemorySize; 0 means unset: the limit is Runtime.maxMemory().
	MaxDirect int64 `json:"max_direct,omitempty" yaml:"max_direct,omitempty"`
	// CodeCache is -XX:ReservedCodeCacheSize; 0 is the default (240 MiB with tiered compilation).
	CodeCache int64 `json:"code_cache,omitempty" yaml:"code_cache,omitempty"`
	JIT       JIT   `json:"-" yaml:"-"`
	// ActiveProcessors is -XX:ActiveProcessorCount; 0 is the machine's CPUs.
	ActiveProcessors int `json:"active_processors,omitempty" yaml:"active_processors,omitempty"`
	// NIOCacheLimit is -Djdk.nio.maxCachedBufferSize; 0 is unlimited.
	NIOCacheLimit int64 `json:"nio_cache_limit,omitempty" yaml:"nio_cache_limit,omitempty"`
	// Ignored are flags the model does not interpret.
	Ignored []string `json:"ignored,omitempty" yaml:"ignored,omitempty"`
}

// Flink holds the Flink options that shape the footprint. Zero values mean Flink's default.
type Flink struct {
	// Network is taskmanager.memory.network.min = max; 0 is the MiniCluster's 64 MiB.
	Network int64 `json:"network" yaml:"network"`
	// Slots is taskmanager.numberOfTaskSlots; 0 is 1. The job runs with parallelism = slots.
	Slots int `json:"slots" yaml:"slots"`
	// RESTThreads is rest.server.numThreads; 0 is 4.
	RESTThreads int `json:"rest_threads,omitempty" yaml:"rest_threads,omitempty"`
	// IOPool is cluster.io-pool.size and JMIOPool jobmanager.io-pool.size; 0 is 4 × CPUs.
	IOPool   int `json:"io_pool,omitempty" yaml:"io_pool,omitempty"`
	JMIOPool int `json:"jm_io_pool,omitempty" yaml:"jm_io_pool,omitempty"`
	// FuturePool is jobmanager.future-pool.size; 0 is the number of CPUs.
	FuturePool int `json:"future_pool,omitempty" yaml:"future_pool,omitempty"`
	// RPCMin, RPCFactor and RPCMax are pekko.fork-join-executor.parallelism-*; 0 is 8, 2.0, 64.
	RPCMin    int     `json:"rpc_min,omitempty" yaml:"rpc_min,omitempty"`
	RPCFactor float64 `json:"rpc_factor,omitempty" yaml:"rpc_factor,omitempty"`
	RPCMax    int     `json:"rpc_max,omitempty" yaml:"rpc_max,omitempty"`
}

// Workload is what the process does.
type Workload struct {
	Connector Connector
	// Throughput is the rate the job must sustain; 0 is idle.
	Throughput Rate
	Submit     Submit
}

// Setup is one complete configuration to estimate.
type Setup struct {
	Mode     Mode
	Machine  Machine
	JVM      JVM
	Flink    Flink
	Workload Workload
}

// resolved returns s with every default filled in, so that the model reads plain values.
func (s Setup) resolved() (Setup, error) {
	if s.Machine.Platform.PageSize <= 0 {
		return s, fmt.Errorf("no platform given")
	}
	if s.Machine.CPUs <= 0 {
		return s, fmt.Errorf("CPUs must be positive, got %d", s.Machine.CPUs)
	}
	if s.JVM.Heap <= 0 {
		return s, fmt.Errorf("the heap (-Xmx) must be positive")
	}
	j := &s.JVM
	if j.ActiveProcessors <= 0 {
		j.ActiveProcessors = s.Machine.CPUs
	}
	if j.GC == GCAuto {
		j.GC = DefaultGC(j.ActiveProcessors)
	}
	if j.JIT == JITAuto {
		j.JIT = JITTiered
	}
	if j.ThreadStack <= 0 {
		j.ThreadStack = s.Machine.Platform.ThreadStackSize
	}
	f := &s.Flink
	n := j.ActiveProcessors
	if f.Network <= 0 {
		f.Network = defaultNetwork
	}
	if f.Slots <= 0 {
		f.Slots = 1
	}
	if f.Slots > maxSlots {
		return s, fmt.Errorf("%d slots: at most %d are modelled", f.Slots, maxSlots)
	}
	if f.RESTThreads <= 0 {
		f.RESTThreads = 4
	}
	if f.IOPool <= 0 {
		f.IOPool = 4 * n
	}
	if f.JMIOPool <= 0 {
		f.JMIOPool = 4 * n
	}
	if f.FuturePool <= 0 {
		f.FuturePool = n
	}
	if f.RPCMin <= 0 {
		f.RPCMin = 8
	}
	if f.RPCFactor <= 0 {
		f.RPCFactor = 2.0
	}
	if f.RPCMax <= 0 {
		f.RPCMax = 64
	}
	if s.Workload.Connector == ConnectorNone {
		s.Workload.Throughput = 0
	}
	return s, nil
}

// running reports whether a job runs.
func (s *Setup) running() bool { return s.Workload.Connector != ConnectorNone }
