package tiny

import (
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// Flink options that size thread pools, read when evaluating a configuration. They are defined
// here because only this package reads them; their keys and defaults are Flink 1.17's.
var (
	// OptRESTThreads sizes the REST handlers' executor (RestOptions.SERVER_NUM_THREADS).
	OptRESTThreads = flinkconf.Option{Key: "rest.server.numThreads", Type: flinkconf.TypeInt, Default: "4", HasDefault: true,
		Description: "Threads of the REST endpoint's handler executor."}
	// OptClusterIOPool sizes the MiniCluster's and entrypoints' I/O executor; unset means 4 × CPUs.
	OptClusterIOPool = flinkconf.Option{Key: "cluster.io-pool.size", Type: flinkconf.TypeInt,
		Description: "Threads of the cluster's I/O executor; 4 × CPUs if unset."}
	// OptJMIOPool sizes the JobMasters' shared I/O executor; unset means 4 × CPUs.
	OptJMIOPool = flinkconf.Option{Key: "jobmanager.io-pool.size", Type: flinkconf.TypeInt,
		Description: "Threads of the JobManager's I/O executor; 4 × CPUs if unset."}
	// OptFuturePool sizes the JobMasters' future executor; unset means the number of CPUs.
	OptFuturePool = flinkconf.Option{Key: "jobmanager.future-pool.size", Type: flinkconf.TypeInt,
		Description: "Threads of the JobManager's future executor; CPUs if unset."}
	// OptRPCParallelismMin, -Factor and -Max size the RPC actor system's fork-join dispatcher:
	// ceil(CPUs × factor) within [min, max]. Flink 1.18 renamed akka.* to pekko.*.
	OptRPCParallelismMin = flinkconf.Option{Key: "pekko.fork-join-executor.parallelism-min", Type: flinkconf.TypeInt, Default: "8", HasDefault: true,
		Fallbacks: []flinkconf.FallbackKey{{Key: "akka.fork-join-executor.parallelism-min", Deprecated: true}}, Description: "Lower bound of the RPC dispatcher's threads."}
	OptRPCParallelismFactor = flinkconf.Option{Key: "pekko.fork-join-executor.parallelism-factor", Type: flinkconf.TypeDouble, Default: "2.0", HasDefault: true,
		Fallbacks: []flinkconf.FallbackKey{{Key: "akka.fork-join-executor.parallelism-factor", Deprecated: true}}, Description: "RPC dispatcher threads per CPU."}
	OptRPCParallelismMax = flinkconf.Option{Key: "pekko.fork-join-executor.parallelism-max", Type: flinkconf.TypeInt, Default: "64", HasDefault: true,
		Fallbacks: []flinkconf.FallbackKey{{Key: "akka.fork-join-executor.parallelism-max", Deprecated: true}}, Description: "Upper bound of the RPC dispatcher's threads."}
)

// Options lists the Flink options this package reads, including the memory options it shares with
// the memory package, for misspelling detection.
var Options = []flinkconf.Option{
	OptRESTThreads, OptClusterIOPool, OptJMIOPool, OptFuturePool,
	OptRPCParallelismMin, OptRPCParallelismFactor, OptRPCParallelismMax,
	flinkconf.TMNetworkMin, flinkconf.TMNetworkMax, flinkconf.TMNumberOfTaskSlots, flinkconf.TMManagedSize,
}

// rpcKey names an RPC option for a Flink version: akka.* up to 1.17, pekko.* from 1.18.
func rpcKey(o flinkconf.Option, flinkVersion string) string {
	if akka(flinkVersion) {
		return "akka." + strings.TrimPrefix(o.Key, "pekko.")
	}
	return o.Key
}

// akka reports whether a Flink version still calls its RPC system Akka (1.17 and older).
func akka(v string) bool {
	for _, old := range []string{"1.13", "1.14", "1.15", "1.16", "1.17"} {
		if v == old || strings.HasPrefix(v, old+".") {
			return true
		}
	}
	return false
}
