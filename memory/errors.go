package memory

import (
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// Flink's error messages, word for word (including its double spaces and wording quirks):
// users and the test vectors compare them exactly.

type exception = flinkconf.Exception

func ice(msg string, cause *exception) *exception { return flinkconf.IllegalConfiguration(msg, cause) }

func iae(msg string) *exception { return flinkconf.IllegalArgument(msg, nil) }

// hs is MemorySize#toHumanReadableString.
func hs(n int64) string { return flinkconf.FormatMemorySizeHuman(n) }

// Prefixes Flink's process utilities put in front of an IllegalConfigurationException.
const (
	prefixTM       = "TaskManager memory configuration failed: "
	prefixTMLegacy = "TaskManager failed to map legacy JVM heap option to the new one: "
	prefixJM       = "JobManager memory configuration failed: "
)

// wrapICE wraps an IllegalConfigurationException with a prefixed copy of its message, as Flink's
// catch-and-rethrow does; any other exception passes through unchanged.
func wrapICE(prefix string, e *exception) *exception {
	if e == nil || !e.OfClass(flinkconf.ClassIllegalConfiguration) {
		return e
	}
	return ice(prefix+e.Message, e)
}

func errCannotReadSize(o flinkconf.Option, cause *exception) *exception {
	return ice("Cannot read memory size from config option '"+o.Key+"'.", cause)
}

func errNotConfigured(required []flinkconf.Option, totalFlink, totalProcess flinkconf.Option) *exception {
	keys := make([]string, len(required))
	for i, o := range required {
		keys[i] = o.Key
	}
	return ice("Either required fine-grained memory ("+strings.Join(keys, " and ")+"), or Total Flink Memory size ("+
		totalFlink.String()+"), or Total Process Memory size ("+totalProcess.String()+") need to be configured explicitly.", nil)
}

func errMetaspaceOverheadExceedProcess(meta, overhead, process int64) *exception {
	return ice("Sum of configured JVM Metaspace ("+hs(meta)+") and JVM Overhead ("+hs(overhead)+
		") exceed configured Total Process Memory ("+hs(process)+").", nil)
}

func errProcessLessThanFlinkAndMetaspace(process, flink, meta int64) *exception {
	return ice("The configured Total Process Memory size ("+hs(process)+") is less than the sum of the derived Total Flink Memory size ("+
		hs(flink)+") and the configured or default JVM Metaspace size  ("+hs(meta)+").", nil)
}

func errOverheadOutOfRange(overhead, min, max int64) *exception {
	return ice("Derived JVM Overhead size ("+hs(overhead)+") is not in configured JVM Overhead range ["+hs(min)+", "+hs(max)+"].", nil)
}

func errInconsistentRange(fracOpt flinkconf.Option, fraction float64, min, max int64, cause *exception) *exception {
	return ice("Inconsistently configured "+fracOpt.String()+" ("+flinkconf.JavaDoubleString(fraction)+") and its min ("+
		hs(min)+"), max ("+hs(max)+") value", cause)
}

func errSumWithTaskHeapExceeds(fwH, fwO, tH, tO, m, tf int64) *exception {
	return ice("Sum of configured Framework Heap Memory ("+hs(fwH)+"), Framework Off-Heap Memory ("+hs(fwO)+
		"), Task Heap Memory ("+hs(tH)+"), Task Off-Heap Memory ("+hs(tO)+") and Managed Memory ("+hs(m)+
		") exceed configured Total Flink Memory ("+hs(tf)+").", nil)
}

func errSumWithNetworkExceeds(fwH, fwO, tO, m, n, tf int64) *exception {
	return ice("Sum of configured Framework Heap Memory ("+hs(fwH)+"), Framework Off-Heap Memory ("+hs(fwO)+
		"), Task Off-Heap Memory ("+hs(tO)+"), Managed Memory ("+hs(m)+") and Network Memory ("+hs(n)+
		") exceed configured Total Flink Memory ("+hs(tf)+").", nil)
}

func errNetworkMismatch(derived, configured int64) *exception {
	return ice("Derived Network Memory size ("+hs(derived)+") does not match configured Network Memory size ("+hs(configured)+").", nil)
}

func errNetworkOutOfRange(derived, min, max int64) *exception {
	return ice("Derived Network Memory size ("+hs(derived)+") is not in configured Network Memory range ["+hs(min)+", "+hs(max)+"].", nil)
}

func errNetworkInconsistent(cause *exception) *exception {
	return ice("If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the Network Memory size "+
		"is the rest of the Total Flink memory after subtracting all other configured types of memory, but the derived "+
		"Network Memory is inconsistent with its configuration.", cause)
}

func errSegmentSize(pageSize int64, reason string) *exception {
	return ice("Invalid configuration value for taskmanager.memory.segment-size : "+strconv.FormatInt(pageSize, 10)+" - "+reason, nil)
}

func errCPUCores() *exception {
	return ice("TaskExecutors need to be started with a positive number of CPU cores. Please configure taskmanager.cpu.cores accordingly.", nil)
}

func errLegacyEnv(v string, cause *exception) *exception {
	return ice("Cannot read total process memory size from environment variable value "+v+".", cause)
}

func errLegacyNegativeMB(mb int64) *exception {
	return ice("Configured total process memory size ("+strconv.FormatInt(mb, 10)+"MB) must not be less than 0.", nil)
}

func errJMHeapOffHeapMismatch(h, o, tf int64) *exception {
	return ice("Sum of the configured JVM Heap Memory ("+hs(h)+") and the configured Off-heap Memory ("+hs(o)+
		") does not match the configured Total Flink Memory ("+hs(tf)+"). Please, make the configuration consistent or "+
		"configure only one option: either JVM Heap or Total Flink Memory.", nil)
}

func errJMHeapExceedsFlink(h, tf int64) *exception {
	return ice("The configured JVM Heap Memory ("+hs(h)+") exceeds the configured Total Flink Memory ("+hs(tf)+
		"). Please, make the configuration consistent or configure only one option: either JVM Heap or Total Flink Memory.", nil)
}

func errJMFlinkLessThanOffHeap(tf, o int64) *exception {
	return ice("The configured Total Flink Memory ("+hs(tf)+") is less than the configured Off-heap Memory ("+hs(o)+").", nil)
}
