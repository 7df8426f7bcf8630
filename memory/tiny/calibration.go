package tiny

import (
	"fmt"
	"math"
)

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

// WithSerialRates is the platform with its Serial cost model's two machine-dependent rates
// replaced: the pipeline's MiB per CPU-second of tiered code with the eden in the CPU's cache
// and out of it. They are what a machine's state changes (measured: out of the cache, 1,450 MiB
// per CPU-second of C1 code on a loaded machine, 2,500 on a quiet one); the model's structure and
// its other constants (the cache's sweep time, the collector's cost per eden, C1's factor, the
// live set) stay. So two runs on the machine, now, calibrate the throughput of every profile.
func (p Platform) WithSerialRates(cached, uncached float64) (Platform, error) {
	if !(cached > 0 && uncached > 0) || math.IsInf(cached, 0) || math.IsInf(uncached, 0) {
		return p, fmt.Errorf("serial rates %v,%v: want two positive MiB per CPU-second, the eden in the cache and out of it", cached, uncached)
	}
	return p.withSerial("rates", func(sc *SerialCost) { sc.CachedMiBps, sc.UncachedMiBps = cached, uncached },
		fmt.Sprintf("rates %.0f/%.0f", cached, uncached),
		fmt.Sprintf("Serial pipeline rates %.0f (eden in the cache) and %.0f (out) MiB per CPU-second, measured on this machine", cached, uncached))
}

// WithSerialPairFactor is the platform with its Serial cost model's PairFactor replaced (a
// slot's pipeline rate per CPU-second beside another slot, relative to one alone): what the
// slots' sharing of the core's caches costs now, measured like the rates (FitSerialPair).
func (p Platform) WithSerialPairFactor(f float64) (Platform, error) {
	if !(f > 0 && f <= 2) {
		return p, fmt.Errorf("serial pair factor %v: want a slot's rate beside another over its rate alone, in (0, 2]", f)
	}
	return p.withSerial("a pair factor", func(sc *SerialCost) { sc.PairFactor = f },
		fmt.Sprintf("pair %.2f", f),
		fmt.Sprintf("a second slot beside the first runs at %.2f of its rate alone, measured on this machine", f))
}

// WithSerialCache is the platform with its Serial cost model's cache sweep time set to ms (the
// ramp scaled with it): where the eden leaves the cache on this machine now, fitted with the
// rates (FitSerialCache).
func (p Platform) WithSerialCache(ms float64) (Platform, error) {
	if !(ms >= minCacheMs && ms <= maxCacheMs) {
		return p, fmt.Errorf("serial cache %v ms: want the sweep time, in milliseconds, an eden stays in the CPU's cache, from %g to %g", ms, minCacheMs, maxCacheMs)
	}
	return p.withSerial("a cache sweep time", func(sc *SerialCost) { *sc = *sc.withCacheMs(ms) },
		fmt.Sprintf("cache %.1f ms", ms),
		fmt.Sprintf("an eden stays in the CPU's cache while the pipeline sweeps it within %.1f ms, fitted on this machine", ms))
}

// withSerial is the platform with set applied to every job's Serial cost model, its
// calibration named and sourced with the measured values (what, name and source).
func (p Platform) withSerial(what string, set func(*SerialCost), name, source string) (Platform, error) {
	base := p.calibration()
	cal := *base
	cal.Jobs = make(map[Connector]JobCalibration, len(base.Jobs))
	n := 0
	for c, j := range base.Jobs {
		if j.Serial != nil {
			sc := *j.Serial
			set(&sc)
			j.Serial = &sc
			n++
		}
		cal.Jobs[c] = j
	}
	if n == 0 {
		return p, fmt.Errorf("platform %s has no Serial cost model to set %s of; use --platform linux-x64-jdk17", p.Name, what)
	}
	cal.Name = base.Name + ", " + name
	cal.Source = base.Source + "; " + source
	p.Cal = &cal
	return p, nil
}
