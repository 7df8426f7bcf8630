// Package sim is a deterministic model of a Flink cluster running streaming jobs: TaskManagers
// sized by the memory model and provisioned on demand, the adaptive scheduler's states and
// timers per Flink version (package sim/adaptive), restarts with state restore and replay from
// the last completed checkpoint, record flow through the job graph with backpressure, key skew
// and source partitions, Flink's metrics with seeded noise, TaskManager heap/GC/OOM behaviour,
// faults, and the accounting flinktune bench scores. Package simrest serves Flink's REST API
// over it.
//
// # Driving it
//
// A Sim is a pure struct ticked by its caller: Step advances one scenario tick, AdvanceTo and
// Run many. Time starts at Epoch (or Options.Start); every random draw comes from the scenario
// seed (math/rand/v2 PCG for load noise and fault victims; a stateless hash for metric noise,
// so reading metrics never changes a run); maps are iterated in sorted order. Two runs of the
// same scenario with the same calls are identical bit for bit. A Sim is not safe for
// concurrent use: simrest serializes access with a mutex.
//
// # Cluster
//
// TaskManagers run the cluster configuration (Flink's shipped 1728m process size when no memory
// key is set); their pools come from memory.DeriveTaskManager (Flink1 profile, Flink2 for 2.0).
// The ResourceManager requests TaskManagers for the slots the jobs declare (Σ over slot sharing
// groups of the largest upper bound), within taskManagers.min/max, each registering after
// startupDelay; a TaskManager without allocated slots for idleTimeout is released (newest
// first). Slots are handed to jobs first-fit in registration order; a job returns slots it has
// not used for slot.idle.timeout beyond its declaration. Killed TaskManagers are replaced by
// the same demand. SetTaskManagerConfig replaces every TaskManager with one running a new
// configuration and restarts the jobs once.
//
// # Jobs
//
// Each job has an adaptive (or default) scheduler; see package sim/adaptive for the per-version
// rescale timing. A deployment places slot i of every slot sharing group on the job's slots in
// order (subtask i of every vertex of the group); tasks are DEPLOYING for restart.base, then
// INITIALIZING while state is restored (latest completed checkpoint's size / restoreRate), then
// RUNNING. Only then do records flow; timestamps.RUNNING marks the deployment. A lost
// TaskManager, an OutOfMemoryError, a container kill, too few network buffers or an expired
// checkpoint beyond execution.checkpointing.tolerable-failed-checkpoints is a failure: the
// restart strategy (Flink's defaults per version: fixed-delay before 1.19, exponential-delay
// from 1.19, none without checkpointing) decides the backoff or fails the job. A JobManager
// kill cancels everything; on recovery every job is resubmitted and restores its latest
// checkpoint, with its resource requirements intact.
//
// # Records
//
// Records are integers at the sources: each partition has an end offset (records that
// arrived) and a position (records the job has read). Input = Σ end, processed = Σ position,
// lag = Σ (end − position), so input = processed + lag holds exactly at every tick. A restart
// moves positions back to the offsets stored in the latest completed checkpoint (or to 0
// without one): processed goes down and lag up by the same amount (ReplayedRecords).
//
// Per tick: every source receives rate × (1 + noise·N(0,1)) × tick records, spread evenly over
// its partitions (a source without partitions has one shared virtual partition). Each source
// subtask would read the lag of the partitions the Kafka enumerator assigns it
// ((hash(topic)·31 & 0x7FFFFFFF) % p + partition) % p, up to its capacity
// capacity × scalingEfficiency^log2(p) × (1 − its TaskManager's GC time share). Downstream,
// every vertex's input splits over its subtasks: HASH by the weight of the key groups each owns
// (KeyGroupRangeAssignment; key groups weighted Zipf(keySkew) over a seeded permutation),
// REBALANCE and BROADCAST evenly (BROADCAST multiplies the input by p), FORWARD and RESCALE
// pointwise from the upstream subtasks. A vertex sustains input up to min over subtasks of
// capacity / share (the hottest subtask bounds it); a vertex receiving more slows every source
// feeding it by the ratio (backpressure, one topological pass). What the sources do not read
// stays lag. Multi-input vertices mix their inputs' shares at the sources' full speed, an
// approximation when one source is throttled harder than another.
//
// Busy time is a subtask's records over its capacity; the rest of the second is
// back-pressured if the vertex feeds a bottleneck, else idle (a source reader without
// partitions is always idle).
//
// # Memory
//
// See memmodel.go: live heap from operator base heap, per-record heap × input rate and hashmap
// state × Options.HeapStateFraction (the calibration is documented there); GC time per second
// rising steeply with occupancy; heap OOM, GC overhead limit exceeded, metaspace OOM (with an
// optional warm-up of class loading), direct buffer OOM (directMemory per subtask) and
// container kills, each with the JVM's or Flink's message; RocksDB filling managed memory;
// network buffers checked at deployment (flink-scheduling.md §D.3).
//
// # Metrics
//
// See metrics.go: Flink's names, scopes and units, MeterView and TimerGauge semantics, values as
// of the last MetricFetcher refresh (metrics.fetcher.update-interval, 10 s, on a fixed grid),
// counters reset on every deployment.
//
// # Accounting
//
// Stats reports, per job, what flinktune bench scores (FORMAT.md "What flinktune bench
// reports"); LoadChanges the load segment starts.
package sim
