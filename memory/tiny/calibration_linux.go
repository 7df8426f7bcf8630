package tiny

// linuxX64JDK17 is fitted to measurements on flinktune's CI machine: x86-64 Linux, 2 CPUs
// shared with other jobs, OpenJDK 17.0.15 (Debian), Flink 1.20.5, the datagen job of
// io.flinktune.harness.tiny.TinyJob (testdata/real-linux-x64-jdk17.md holds the fit and the
// held-out checks). The fit: ten single runs with the seed's Flink options (8m network,
// managed 0, one slot) and JVM defaults otherwise: G1 at -Xmx30m to -Xmx160m, Serial at 35m and
// 100m, C1 only at 50m; then 23 Serial runs of the planner's kind of profile for SerialCost.
// Held out, within 15% for resident size and throughput in three runs: the planner's profiles.
var linuxX64JDK17 = &Calibration{
	Name:   "linux-x64-jdk17",
	Source: "measured: Flink 1.20.5 MiniCluster, OpenJDK 17.0.15, x86-64 Linux, 2 CPUs (testdata/real-linux-x64-jdk17.md)",
	// The Metaspace pool's committed size (JMX) with a job running: 44.2 MiB tiered, 41.9 MiB
	// C1 only; the split between the empty cluster and the job is the seed's.
	MetaspaceEmpty: metaspaceEmpty,
	// The code heaps' committed size (JMX) with a job running: 11.6 MiB tiered, 6.6 MiB C1 only.
	CodeIdle: codeIdle, CodeJob: 11.6, CodeC1Factor: 0.57,
	// Serial at -Xmx35m and -Xmx100m: 65 MiB more heap, 12 MiB more resident.
	OldTouchedMiB: 14,
	// The residual of VmRSS over the other parts (median over the G1 runs); glibc's per-thread
	// malloc arenas and the CDS archive's mapping make it larger than on the seed's macOS.
	OtherIdle: otherIdle, OtherJob: 60,
	Jobs: map[Connector]JobCalibration{
		ConnectorDatagen: {
			MetaspaceJob: 44.2 - metaspaceEmpty,
			// Rate per CPU-second the process got: G1 779, 1111 and 1382 MiB/s at 30, 35 and
			// 40m (a line through (17 MiB, 0) with 60 MiB/s per MiB), about 1,950 from 70m on;
			// Serial 4,018 at 35m and 4,535 at 100m; C1 only 1,975 at 50m.
			HeapFloorMiB: 17, MinHeapMiB: 30,
			G1PerHeap: 60, GCWorkers: 2, SerialPerHeap: 250,
			SlotCPU: 1950, C1Factor: 1.0, SerialCPUFactor: 2.3,
			// Serial, measured part by part (testdata/real-linux-x64-jdk17.md): 24 runs of the
			// planner's kind of profile (-Xms = -Xmx, one active processor, 256k stacks), C1
			// only and tiered, one and two slots, -Xmx18m to -Xmx340m.
			Serial: &SerialCost{
				// Tiered: 5,200 MiB per CPU-second of the pipeline's own threads with the eden in
				// the cache (32-140m), ~2,300 out of it (300m); C1 only 3,300 and ~1,450: 0.635.
				CachedMiBps: 5200, UncachedMiBps: 2300, C1Factor: 0.635,
				// C1: cached up to 27 MiB of eden, 13% out at 32, 44% at 37, ~100% from 53:
				// a sweep of 8.9 ms, ramp 5.2 ms. Tiered: cached at 37, 25% at 53, out at 80.
				CacheMs: 8.9, CacheRampMs: 5.2,
				// ~1 ms of collector CPU per eden of records in the cache (0.9-1.06 on 8 runs),
				// 2.1-2.5 out of it.
				YoungMs: 1.0, YoungUncachedMs: 2.3,
				// One slot thrashes at 24m and runs at 28m: old - live >= eden puts the live set
				// in (9.6, 11.2] MiB; the upper end, so that 28m is the floor. Two slots thrash at
				// 24m and run at 32m: (9.6, 12.8]; a further slot's 1 MiB is an assumption.
				LiveMiB: 11.2, SlotLiveMiB: 1,
				// No PairFactor: the rates above were fitted on two-slot runs (the test
				// calibrates one-slot rates and a pair factor with --serial-rates instead).
			},
		},
	},
}
