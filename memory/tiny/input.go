package tiny

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// ParseJVMFlags reads JVM options ("-Xmx60m -XX:+UseSerialGC ...") as the JVM would, keeping
// those the model does not use in Ignored. Errors name the flag and what the JVM accepts.
func ParseJVMFlags(text string) (JVM, error) {
	var j JVM
	var gcs []string
	for _, f := range strings.Fields(text) {
		size := func(prefix string) (int64, error) {
			n, err := ParseJVMSize(strings.TrimPrefix(f, prefix))
			if err != nil {
				return 0, fmt.Errorf("JVM flag %s: %v", f, err)
			}
			return n, nil
		}
		var err error
		switch {
		case strings.HasPrefix(f, "-Xmx"):
			j.Heap, err = size("-Xmx")
		case strings.HasPrefix(f, "-Xms"):
			j.InitialHeap, err = size("-Xms")
		case strings.HasPrefix(f, "-Xss"):
			j.ThreadStack, err = size("-Xss")
			if err == nil && j.ThreadStack > maxThreadStackKiB*KiB {
				err = fmt.Errorf("JVM flag %s: the JVM accepts at most 1g (\"Invalid thread stack size: %s The specified size exceeds the maximum representable size.\")", f, f)
			}
		case strings.HasPrefix(f, "-XX:ThreadStackSize="):
			var kb int64
			kb, err = size("-XX:ThreadStackSize=")
			// The flag counts KiB; bounded as HotSpot bounds it (which also keeps kb·KiB
			// from overflowing into a negative or a wrapped stack size).
			if err == nil && kb > maxThreadStackKiB {
				err = fmt.Errorf("JVM flag %s: the JVM accepts 0 to %d (KiB) (\"intx ThreadStackSize=%d is outside the allowed range [ 0 ... %d ]\")", f, maxThreadStackKiB, kb, maxThreadStackKiB)
			}
			j.ThreadStack = kb * KiB
		case strings.HasPrefix(f, "-XX:MaxMetaspaceSize="):
			j.MaxMetaspace, err = size("-XX:MaxMetaspaceSize=")
		case strings.HasPrefix(f, "-XX:MaxDirectMemorySize="):
			j.MaxDirect, err = size("-XX:MaxDirectMemorySize=")
		case strings.HasPrefix(f, "-XX:ReservedCodeCacheSize="):
			j.CodeCache, err = size("-XX:ReservedCodeCacheSize=")
		case f == "-XX:+UseSerialGC", f == "-XX:+UseG1GC", f == "-XX:+UseParallelGC":
			gcs = append(gcs, f)
		case strings.HasPrefix(f, "-XX:TieredStopAtLevel="):
			v := strings.TrimPrefix(f, "-XX:TieredStopAtLevel=")
			switch v {
			case "1", "2", "3":
				j.JIT = JITC1
			case "4":
				j.JIT = JITTiered
			default:
				err = fmt.Errorf("JVM flag %s: the model knows levels 1 to 3 (C1 only) and 4 (tiered)", f)
			}
		case strings.HasPrefix(f, "-XX:ActiveProcessorCount="):
			n, perr := strconv.Atoi(strings.TrimPrefix(f, "-XX:ActiveProcessorCount="))
			if perr != nil || n < 1 || n > 1<<16 {
				err = fmt.Errorf("JVM flag %s: want a positive number of CPUs", f)
			}
			j.ActiveProcessors = n
		case strings.HasPrefix(f, "-Djdk.nio.maxCachedBufferSize="):
			n, perr := strconv.ParseInt(strings.TrimPrefix(f, "-Djdk.nio.maxCachedBufferSize="), 10, 64)
			if perr != nil || n < 0 {
				err = fmt.Errorf("JVM flag %s: want a number of bytes", f)
			}
			j.NIOCacheLimit = n
		default:
			j.Ignored = append(j.Ignored, f)
		}
		if err != nil {
			return JVM{}, err
		}
	}
	switch {
	case len(gcs) > 1 && !allSame(gcs):
		return JVM{}, fmt.Errorf("JVM flags %s: the JVM refuses more than one collector (\"Multiple garbage collectors selected\")", strings.Join(gcs, " "))
	case len(gcs) > 0:
		switch gcs[0] {
		case "-XX:+UseSerialGC":
			j.GC = GCSerial
		case "-XX:+UseG1GC":
			j.GC = GCG1
		default:
			j.GC = GCParallel
		}
	}
	if j.InitialHeap > 0 && j.Heap > 0 && j.InitialHeap > j.Heap {
		return JVM{}, fmt.Errorf("JVM flags -Xms%s -Xmx%s: the JVM refuses an initial heap larger than the maximum heap", JVMSize(j.InitialHeap), JVMSize(j.Heap))
	}
	if j.ThreadStack > 0 && j.ThreadStack < 136*KiB {
		return JVM{}, fmt.Errorf("JVM flag -Xss%s: the JVM requires at least 136k for Java threads (\"The Java thread stack size specified is too small\")", JVMSize(j.ThreadStack))
	}
	return j, nil
}

// maxThreadStackKiB is HotSpot's bound on a thread stack (ThreadStackSize's range(0, 1*M)
// in KiB, and -Xss's "maximum representable size"), as OpenJDK 17 enforces it.
const maxThreadStackKiB = 1 << 20

func allSame(s []string) bool {
	for _, x := range s[1:] {
		if x != s[0] {
			return false
		}
	}
	return true
}

// FlinkFromConfig reads the options that shape a MiniCluster's footprint. As Flink's local
// execution does, a network min without max (or the reverse) applies to both, and neither means
// 64 MiB; with both, the pool is the max.
func FlinkFromConfig(cfg *flinkconf.Config) (Flink, error) {
	var f Flink
	min, hasMin, ex := cfg.MemorySize(flinkconf.TMNetworkMin)
	if ex != nil {
		return f, ex
	}
	hasMin = hasMin && cfg.IsConfigured(flinkconf.TMNetworkMin)
	max, hasMax, ex := cfg.MemorySize(flinkconf.TMNetworkMax)
	if ex != nil {
		return f, ex
	}
	hasMax = hasMax && cfg.IsConfigured(flinkconf.TMNetworkMax)
	switch {
	case hasMin && hasMax:
		if min > max {
			return f, fmt.Errorf("%s (%s) is larger than %s (%s)", flinkconf.TMNetworkMin.Key, HumanSize(min), flinkconf.TMNetworkMax.Key, HumanSize(max))
		}
		f.Network = max
	case hasMin:
		f.Network = min
	case hasMax:
		f.Network = max
	default:
		f.Network = defaultNetwork
	}
	if f.Network < segmentSize {
		return f, fmt.Errorf("network memory %s is smaller than one 32 KiB buffer", HumanSize(f.Network))
	}
	ints := []struct {
		o   flinkconf.Option
		dst *int
	}{
		{flinkconf.TMNumberOfTaskSlots, &f.Slots},
		{OptRESTThreads, &f.RESTThreads},
		{OptClusterIOPool, &f.IOPool},
		{OptJMIOPool, &f.JMIOPool},
		{OptFuturePool, &f.FuturePool},
		{OptRPCParallelismMin, &f.RPCMin},
		{OptRPCParallelismMax, &f.RPCMax},
	}
	for _, x := range ints {
		v, ok, ex := cfg.Int(x.o)
		if ex != nil {
			return f, ex
		}
		if ok && cfg.IsConfigured(x.o) {
			if v < 1 {
				return f, fmt.Errorf("%s: %d is not a positive number of threads or slots", x.o.Key, v)
			}
			*x.dst = int(v)
		}
	}
	v, ok, ex := cfg.Double(OptRPCParallelismFactor)
	if ex != nil {
		return f, ex
	}
	if ok && cfg.IsConfigured(OptRPCParallelismFactor) {
		if !(v > 0 && v < 1e6) {
			return f, fmt.Errorf("%s: %v is not a positive factor", OptRPCParallelismFactor.Key, v)
		}
		f.RPCFactor = v
	}
	return f, nil
}

// TaskManagerFromConfig derives a TaskManager's memory from a Flink configuration exactly as
// Flink does and returns the JVM limits and Flink settings Flink would start it with. jvm holds
// the other flags (env.java.opts.taskmanager); memory flags in it are refused, because Flink
// sets them.
func TaskManagerFromConfig(cfg *flinkconf.Config, jvm JVM, p memory.Profile) (JVM, Flink, *memory.TaskManager, error) {
	if jvm.Heap > 0 || jvm.InitialHeap > 0 || jvm.MaxDirect > 0 || jvm.MaxMetaspace > 0 {
		return jvm, Flink{}, nil, fmt.Errorf("in taskmanager mode Flink sets -Xmx, -Xms, -XX:MaxDirectMemorySize and -XX:MaxMetaspaceSize from taskmanager.memory.*; configure those options instead")
	}
	tm, err := memory.DeriveTaskManager(cfg, nil, p)
	if err != nil {
		return jvm, Flink{}, nil, err
	}
	f, err := FlinkFromConfig(cfg)
	if err != nil {
		return jvm, Flink{}, nil, err
	}
	f.Network, f.Slots = tm.Network, tm.NumSlots
	jvm.Heap, jvm.InitialHeap = tm.JVMHeap(), tm.JVMHeap()
	jvm.MaxDirect, jvm.MaxMetaspace = tm.JVMDirect(), tm.JVMMetaspace
	return jvm, f, tm, nil
}
