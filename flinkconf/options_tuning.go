package flinkconf

// Options the memory tuner reads beyond options.go: RocksDB's use of managed memory and the
// per-gate cap on required network buffers (Flink 1.19 defaults).
var (
	RocksDBMemoryManaged = opt("state.backend.rocksdb.memory.managed", TypeBool, "true",
		"RocksDB takes its memory (block cache, write buffers) out of the slot's managed memory.")
	RocksDBFixedPerSlot = opt("state.backend.rocksdb.memory.fixed-per-slot", TypeMemorySize, "",
		"Fixed RocksDB memory per slot; overrides the managed-memory share when set.")
	RocksDBFixedPerTM = opt("state.backend.rocksdb.memory.fixed-per-tm", TypeMemorySize, "",
		"Fixed RocksDB memory shared by all slots of a TaskManager (Flink 1.19+).")
	NetworkRequiredPerGateMax = opt("taskmanager.network.memory.read-buffer.required-per-gate.max", TypeInt, "",
		"Maximum required buffers per input gate; unset means unlimited for streaming and 1000 for batch.")
)

// TuningOptions lists the options above.
var TuningOptions = []Option{RocksDBMemoryManaged, RocksDBFixedPerSlot, RocksDBFixedPerTM, NetworkRequiredPerGateMax}
