// Package tiny sizes Flink as small as it goes: the JVM flags and Flink options of the smallest
// MiniCluster (or TaskManager) that runs a job at a throughput, or the most throughput within a
// memory budget, after the "Tiny Flink" talk (Robert Metzger, Flink 1.17).
//
// The model estimates a process's resident size by component:
//
//	heap        -Xmx rounded up to the JVM's heap alignment (card size × page size: 8 MiB on
//	            Apple silicon), committed and touched in full
//	metaspace   class metadata of the Flink runtime, the job's streaming runtime and the connector
//	threads     an inventory of Flink's and the JVM's thread pools (sized by their options and the
//	            CPU count) × the touched part of each stack, capped by -Xss
//	direct      the network buffer pool, start-up direct buffers, connector NIO buffers
//	gc          the collector's structures (G1's marking stack and task queues are committed but
//	            hardly touched: Native Memory Tracking and the resident size differ)
//	code        JIT code cache and compiler arenas (C1 only with -XX:TieredStopAtLevel=1)
//	other       symbol tables, class loader data, arenas, malloc overhead
//
// and the throughput a setup sustains: memory-bound, linear in the heap above the job's floor
// with a slope that grows with the collector's parallel workers; CPU-bound, a rate per slot.
// Evaluate also finds the failures a setup would hit, with the exception the process dies with
// (Flink's NetworkBufferPool message when the direct memory limit is too small).
//
// Every figure of the talk is a calibration test (calibration_test.go); constants.go says where
// each constant comes from: a seed figure, a JVM, Flink or Kafka default, or an assumption.
// NewPlan searches collectors, JIT modes, visible CPUs and slots for the smallest setup; in
// TaskManager mode the memory goes through Flink's own derivation (package memory).
package tiny
