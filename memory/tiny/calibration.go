package tiny

// Calibration is what the model fits to measurements on one platform (a machine and a JDK):
// the JVM's native memory the model cannot derive from flags, and each job's throughput.
// Everything else (heap alignment, thread stacks, GC structures, direct buffers, failure
// thresholds) follows from the flags and the platform's page and stack sizes.
type Calibration struct {
	// Name and Source say where the figures come from.
	Name, Source string
	// MetaspaceEmpty is the class metadata of an empty MiniCluster; a job adds JobCalibration's
	// MetaspaceJob and MetaspaceConnector. MiB.
	MetaspaceEmpty float64
	// CodeIdle and CodeJob are the JIT code cache and compiler arenas of an idle cluster and of
	// one running a job (tiered); C1-only compilation keeps CodeC1Factor of them. MiB.
	CodeIdle, CodeJob, CodeC1Factor float64
	// OldTouchedMiB, when positive, is how much of the old generation a generational collector
	// (Serial, Parallel) touches: the heap's resident part is then the young generation (a
	// third of the heap) plus at most this much. 0 is the seed's view: all of it is touched
	// (the seed measured G1 only, which spreads young regions over the whole heap). MiB.
	OldTouchedMiB float64
	// OtherIdle and OtherJob are the rest of the JVM's native memory (symbol tables, class
	// loader data, malloc arenas, the CDS archive on Linux). MiB.
	OtherIdle, OtherJob float64
	// Jobs are the calibrated jobs; a connector missing here is taken from the calibration
	// where it was measured (jobCalibration).
	Jobs map[Connector]JobCalibration
}

// JobCalibration is one job's figures on a platform.
type JobCalibration struct {
	// MetaspaceJob is the class metadata the running job's streaming runtime adds (tasks,
	// operators, serializers) and MetaspaceConnector its connector's. MiB.
	MetaspaceJob, MetaspaceConnector float64
	// HeapFloorMiB is the heap the job needs before it processes anything.
	HeapFloorMiB float64
	// MinHeapMiB, when above the floor, is the smallest heap the job was measured to run in with
	// the linear model's collectors (G1, Parallel): the line through HeapFloorMiB is an
	// extrapolation below it, and the planner does not go there.
	MinHeapMiB float64
	// G1PerHeap is the memory-bound rate per MiB of heap above the floor with G1 and GCWorkers
	// parallel workers, MiB/s; SerialPerHeap is the same with one worker (Serial).
	G1PerHeap     float64
	GCWorkers     int
	SerialPerHeap float64
	// SlotCPU is what one slot's chained pipeline processes per CPU when memory is not the
	// limit, MiB/s; C1-only code reaches C1Factor of it, and Serial collection SerialCPUFactor
	// (0: 1; a collector without concurrent threads and write barriers costs less CPU).
	SlotCPU, C1Factor, SerialCPUFactor float64
	// Serial, when set, replaces the linear heap model above for the Serial collector with costs
	// measured part by part (serialcost.go).
	Serial *SerialCost
}

// seedCalibration is the "Tiny Flink" talk's machine (Apple M1 Max, 10 cores, JDK 17, Flink
// 1.17); constants.go says where each figure comes from.
var seedCalibration = &Calibration{
	Name:           "seed",
	Source:         "the Tiny Flink talk (Flink 1.17 MiniCluster, Apple M1 Max, JDK 17); constants.go",
	MetaspaceEmpty: metaspaceEmpty,
	CodeIdle:       codeIdle, CodeJob: codeJob, CodeC1Factor: codeC1Factor,
	OtherIdle: otherIdle, OtherJob: otherJob,
	Jobs: map[Connector]JobCalibration{
		ConnectorKafka: {
			MetaspaceJob: metaspaceJob, MetaspaceConnector: metaspaceKafka,
			HeapFloorMiB: jobHeapFloorMiB,
			G1PerHeap:    g1ThroughputPerHeap, GCWorkers: seedGCWorkers, SerialPerHeap: g1ThroughputPerHeap * serialThroughputFactor,
			SlotCPU: slotCPUThroughput, C1Factor: c1ThroughputFactor,
		},
	},
}

// calibration is the platform's calibration: its own, else the seed's.
func (p Platform) calibration() *Calibration {
	if p.Cal != nil {
		return p.Cal
	}
	return seedCalibration
}

// jobCalibration is a connector's figures on the platform, else where the job was measured.
func (p Platform) jobCalibration(c Connector) JobCalibration {
	for _, cal := range []*Calibration{p.calibration(), seedCalibration, linuxX64JDK17} {
		if j, ok := cal.Jobs[c]; ok {
			return j
		}
	}
	return JobCalibration{}
}

// CalibrationName names the calibration a platform's estimates use.
func (p Platform) CalibrationName() string { return p.calibration().Name }
