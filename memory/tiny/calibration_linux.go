package tiny

// linuxX64JDK17 is fitted to measurements on flinktune's CI machine: x86-64 Linux, 2 CPUs
// shared with other jobs, OpenJDK 17.0.15 (Debian), Flink 1.20.5, the datagen job of
// io.flinktune.harness.tiny.TinyJob (memory/tiny/testdata/real-linux-x64-jdk17.md).
var linuxX64JDK17 = &Calibration{
	Name:           "linux-x64-jdk17",
	Source:         "measured: Flink 1.20.5 MiniCluster, OpenJDK 17.0.15, x86-64 Linux, 2 CPUs (testdata/real-linux-x64-jdk17.md)",
	MetaspaceEmpty: metaspaceEmpty,
	CodeIdle:       codeIdle, CodeJob: codeJob, CodeC1Factor: codeC1Factor,
	OtherIdle: otherIdle, OtherJob: otherJob,
	Jobs: map[Connector]JobCalibration{
		ConnectorDatagen: {
			MetaspaceJob: metaspaceJob,
			HeapFloorMiB: jobHeapFloorMiB,
			G1PerHeap:    g1ThroughputPerHeap, GCWorkers: 2, SerialPerHeap: g1ThroughputPerHeap * serialThroughputFactor,
			SlotCPU: slotCPUThroughput, C1Factor: c1ThroughputFactor,
		},
	},
}
