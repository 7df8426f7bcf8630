package flinkconf

// The Flink options flinktune reads, in one place: keys, types, defaults and fallback keys as
// Flink 1.x declares them (TaskManagerOptions, JobManagerOptions, NettyShuffleEnvironmentOptions,
// JobManagerOptions' adaptive-scheduler keys, ...). Autoscaler options (job.autoscaler.*) are the
// operator's, not Flink's, and live with the autoscaler.

func opt(key string, t Type, def string, desc string, fallbacks ...FallbackKey) Option {
	return Option{Key: key, Type: t, Default: def, HasDefault: def != "", Fallbacks: fallbacks, Description: desc}
}

func deprecated(key string) FallbackKey { return FallbackKey{Key: key, Deprecated: true} }

// TaskManager memory options.
var (
	TMProcessSize         = opt("taskmanager.memory.process.size", TypeMemorySize, "", "Total Process Memory of the TaskExecutor: Total Flink Memory + JVM Metaspace + JVM Overhead.")
	TMFlinkSize           = opt("taskmanager.memory.flink.size", TypeMemorySize, "", "Total Flink Memory: framework and task heap and off-heap, managed and network memory.")
	TMFrameworkHeap       = opt("taskmanager.memory.framework.heap.size", TypeMemorySize, "128m", "JVM heap reserved for the TaskExecutor framework, not for tasks.")
	TMFrameworkOffHeap    = opt("taskmanager.memory.framework.off-heap.size", TypeMemorySize, "128m", "Off-heap (direct) memory reserved for the TaskExecutor framework.")
	TMTaskHeap            = opt("taskmanager.memory.task.heap.size", TypeMemorySize, "", "JVM heap for tasks (user code); derived as the rest of Total Flink Memory if unset.")
	TMTaskOffHeap         = opt("taskmanager.memory.task.off-heap.size", TypeMemorySize, "0", "Off-heap (direct or native) memory for tasks.")
	TMManagedSize         = opt("taskmanager.memory.managed.size", TypeMemorySize, "", "Managed memory (RocksDB, batch sorting and hashing); a fraction of Total Flink Memory if unset.", deprecated("taskmanager.memory.size"))
	TMManagedFraction     = opt("taskmanager.memory.managed.fraction", TypeFloat, "0.4", "Fraction of Total Flink Memory used as managed memory when its size is not set.")
	TMNetworkMin          = opt("taskmanager.memory.network.min", TypeMemorySize, "64m", "Minimum network (shuffle) memory.", deprecated("taskmanager.network.memory.min"))
	TMNetworkMax          = opt("taskmanager.memory.network.max", TypeMemorySize, "9223372036854775807b", "Maximum network (shuffle) memory; unbounded by default.", deprecated("taskmanager.network.memory.max"))
	TMNetworkFraction     = opt("taskmanager.memory.network.fraction", TypeFloat, "0.1", "Fraction of Total Flink Memory used as network memory, within [min, max].", deprecated("taskmanager.network.memory.fraction"))
	TMMetaspace           = opt("taskmanager.memory.jvm-metaspace.size", TypeMemorySize, "256m", "JVM Metaspace (class metadata) limit.")
	TMOverheadMin         = opt("taskmanager.memory.jvm-overhead.min", TypeMemorySize, "192m", "Minimum JVM overhead (thread stacks, code cache, GC structures).")
	TMOverheadMax         = opt("taskmanager.memory.jvm-overhead.max", TypeMemorySize, "1g", "Maximum JVM overhead.")
	TMOverheadFraction    = opt("taskmanager.memory.jvm-overhead.fraction", TypeFloat, "0.1", "Fraction of Total Process Memory reserved as JVM overhead, within [min, max].")
	TMSegmentSize         = opt("taskmanager.memory.segment-size", TypeMemorySize, "32kb", "Size of memory buffers (network buffers, managed memory pages).")
	TMNumberOfBuffers     = opt("taskmanager.network.numberOfBuffers", TypeInt, "2048", "Legacy: number of network buffers; used only when no network min/max/fraction is set.")
	TMNumberOfTaskSlots   = opt("taskmanager.numberOfTaskSlots", TypeInt, "1", "Task slots per TaskManager.")
	TMCPUCores            = opt("taskmanager.cpu.cores", TypeDouble, "", "CPU cores of the TaskExecutor; defaults to the number of slots.")
	TMLegacyHeapSize      = opt("taskmanager.heap.size", TypeMemorySize, "", "Flink 1.x legacy heap size, mapped to total Flink memory by standalone start-up scripts.")
	TMLegacyHeapMB        = opt("taskmanager.heap.mb", TypeInt, "", "Flink 1.x legacy heap size in MiB.")
	TMBuffersPerChannel   = opt("taskmanager.network.memory.buffers-per-channel", TypeInt, "2", "Exclusive network buffers per input channel.")
	TMFloatingPerGate     = opt("taskmanager.network.memory.floating-buffers-per-gate", TypeInt, "8", "Floating network buffers per input gate.")
	TMMaxBuffersChannel   = opt("taskmanager.network.memory.max-buffers-per-channel", TypeInt, "10", "Maximum buffers per output subpartition.")
	TMMaxOverdraftPerGate = opt("taskmanager.network.memory.max-overdraft-buffers-per-gate", TypeInt, "5", "Overdraft buffers per gate.")
)

// JobManager memory options.
var (
	JMProcessSize       = opt("jobmanager.memory.process.size", TypeMemorySize, "", "Total Process Memory of the JobManager.")
	JMFlinkSize         = opt("jobmanager.memory.flink.size", TypeMemorySize, "", "Total Flink Memory of the JobManager: JVM heap + off-heap.")
	JMHeapSize          = opt("jobmanager.memory.heap.size", TypeMemorySize, "", "JVM heap of the JobManager.")
	JMOffHeapSize       = opt("jobmanager.memory.off-heap.size", TypeMemorySize, "128m", "Off-heap memory of the JobManager.")
	JMMetaspace         = opt("jobmanager.memory.jvm-metaspace.size", TypeMemorySize, "256m", "JVM Metaspace limit of the JobManager.")
	JMOverheadMin       = opt("jobmanager.memory.jvm-overhead.min", TypeMemorySize, "192m", "Minimum JVM overhead of the JobManager.")
	JMOverheadMax       = opt("jobmanager.memory.jvm-overhead.max", TypeMemorySize, "1g", "Maximum JVM overhead of the JobManager.")
	JMOverheadFraction  = opt("jobmanager.memory.jvm-overhead.fraction", TypeFloat, "0.1", "Fraction of Total Process Memory reserved as JVM overhead.")
	JMDirectMemoryLimit = opt("jobmanager.memory.enable-jvm-direct-memory-limit", TypeBool, "false", "Whether to pass -XX:MaxDirectMemorySize (= off-heap) to the JobManager JVM.")
	JMLegacyHeapSize    = opt("jobmanager.heap.size", TypeMemorySize, "", "Flink 1.x legacy JobManager heap size.")
	JMLegacyHeapMB      = opt("jobmanager.heap.mb", TypeInt, "", "Flink 1.x legacy JobManager heap size in MiB.")
)

// Scheduling, parallelism and cluster options.
var (
	Scheduler                    = opt("jobmanager.scheduler", TypeString, "Default", "Scheduler: Default or Adaptive (case-insensitive).")
	SchedulerMode                = opt("scheduler-mode", TypeString, "", "REACTIVE enables reactive mode (adaptive scheduler, all slots used).")
	ParallelismDefault           = opt("parallelism.default", TypeInt, "1", "Default parallelism of jobs.")
	PipelineMaxParallelism       = opt("pipeline.max-parallelism", TypeInt, "-1", "Maximum parallelism (number of key groups) of jobs; -1 means Flink's default rule.")
	ResourceWaitTimeout          = opt("jobmanager.adaptive-scheduler.resource-wait-timeout", TypeDuration, "5 min", "How long the adaptive scheduler waits for the minimum resources.", FallbackKey{Key: "jobmanager.adaptive-scheduler.submission.resource-wait-timeout"})
	ResourceStabilizationTimeout = opt("jobmanager.adaptive-scheduler.resource-stabilization-timeout", TypeDuration, "10 s", "How long resources must be stable (sufficient, not desired) before the job starts.", FallbackKey{Key: "jobmanager.adaptive-scheduler.submission.resource-stabilization-timeout"})
	MinParallelismIncrease       = opt("jobmanager.adaptive-scheduler.min-parallelism-increase", TypeInt, "1", "Minimum parallelism increase before a running job scales up (up to 1.20).")
	ScalingIntervalMin           = opt("jobmanager.adaptive-scheduler.scaling-interval.min", TypeDuration, "30 s", "Cooldown after a rescale (1.19, 1.20).", FallbackKey{Key: "jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling"})
	ScalingIntervalMax           = opt("jobmanager.adaptive-scheduler.scaling-interval.max", TypeDuration, "", "Force a rescale on sufficient resources after this (1.19, 1.20); unset disables.")
	ExecutingStabilization       = opt("jobmanager.adaptive-scheduler.executing.resource-stabilization-timeout", TypeDuration, "60 s", "2.x: sufficient resources must be stable this long before a running job rescales.")
	RescaleTriggerMaxDelay       = opt("jobmanager.adaptive-scheduler.rescale-trigger.max-delay", TypeDuration, "", "2.x: maximum wait for a checkpoint before rescaling; default 3 checkpoint intervals.", deprecated("jobmanager.adaptive-scheduler.max-delay-for-scale-trigger"))
	RescaleMaxCheckpointFailures = opt("jobmanager.adaptive-scheduler.rescale-trigger.max-checkpoint-failures", TypeInt, "2", "Consecutive failed checkpoints that also trigger a pending rescale.", deprecated("jobmanager.adaptive-scheduler.scale-on-failed-checkpoints-count"))
	CheckpointingInterval        = opt("execution.checkpointing.interval", TypeDuration, "", "Checkpoint interval; unset disables checkpointing.")
	StateBackend                 = opt("state.backend.type", TypeString, "hashmap", "State backend: hashmap (heap) or rocksdb (managed memory).", deprecated("state.backend"))
	EvenlySpreadOutSlots         = opt("cluster.evenly-spread-out-slots", TypeBool, "false", "Spread slots evenly over TaskManagers instead of first fit.")
	TaskManagerTimeout           = opt("resourcemanager.taskmanager-timeout", TypeDuration, "30 s", "An idle TaskManager is released after this.")
	RedundantTaskManagers        = opt("slotmanager.redundant-taskmanager-num", TypeInt, "0", "Redundant TaskManagers kept for fast failover.")
	SlotIdleTimeout              = opt("slot.idle.timeout", TypeDuration, "50 s", "Idle slots are returned after this.")
	RestartStrategy              = opt("restart-strategy.type", TypeString, "", "Restart strategy: fixed-delay, exponential-delay, failure-rate, none.", deprecated("restart-strategy"))
)

// Adaptive batch scheduler options (1.17+ keys, 1.15/1.16 keys as deprecated fallbacks).
var (
	BatchAutoParallelismEnabled = opt("execution.batch.adaptive.auto-parallelism.enabled", TypeBool, "true", "Let the adaptive batch scheduler decide parallelism.")
	BatchMinParallelism         = opt("execution.batch.adaptive.auto-parallelism.min-parallelism", TypeInt, "1", "Lower bound of decided parallelism.", deprecated("jobmanager.adaptive-batch-scheduler.min-parallelism"))
	BatchMaxParallelism         = opt("execution.batch.adaptive.auto-parallelism.max-parallelism", TypeInt, "128", "Upper bound of decided parallelism.", deprecated("jobmanager.adaptive-batch-scheduler.max-parallelism"))
	BatchAvgDataVolumePerTask   = opt("execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task", TypeMemorySize, "16m", "Data volume each task should process.", deprecated("jobmanager.adaptive-batch-scheduler.avg-data-volume-per-task"))
	BatchDefaultSourceParallel  = opt("execution.batch.adaptive.auto-parallelism.default-source-parallelism", TypeInt, "", "Parallelism of sources; unset uses the upper bound (1.19+).", deprecated("jobmanager.adaptive-batch-scheduler.default-source-parallelism"))
)

// KnownOptions lists every option above, for help texts and misspelling detection.
var KnownOptions = []Option{
	TMProcessSize, TMFlinkSize, TMFrameworkHeap, TMFrameworkOffHeap, TMTaskHeap, TMTaskOffHeap,
	TMManagedSize, TMManagedFraction, TMNetworkMin, TMNetworkMax, TMNetworkFraction, TMMetaspace,
	TMOverheadMin, TMOverheadMax, TMOverheadFraction, TMSegmentSize, TMNumberOfBuffers,
	TMNumberOfTaskSlots, TMCPUCores, TMLegacyHeapSize, TMLegacyHeapMB, TMBuffersPerChannel,
	TMFloatingPerGate, TMMaxBuffersChannel, TMMaxOverdraftPerGate,
	JMProcessSize, JMFlinkSize, JMHeapSize, JMOffHeapSize, JMMetaspace, JMOverheadMin, JMOverheadMax,
	JMOverheadFraction, JMDirectMemoryLimit, JMLegacyHeapSize, JMLegacyHeapMB,
	Scheduler, SchedulerMode, ParallelismDefault, PipelineMaxParallelism, ResourceWaitTimeout,
	ResourceStabilizationTimeout, MinParallelismIncrease, ScalingIntervalMin, ScalingIntervalMax,
	ExecutingStabilization, RescaleTriggerMaxDelay, RescaleMaxCheckpointFailures, CheckpointingInterval,
	StateBackend, EvenlySpreadOutSlots, TaskManagerTimeout, RedundantTaskManagers, SlotIdleTimeout,
	RestartStrategy, BatchAutoParallelismEnabled, BatchMinParallelism, BatchMaxParallelism,
	BatchAvgDataVolumePerTask, BatchDefaultSourceParallel,
}
