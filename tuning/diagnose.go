package tuning

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// Failure classes: what made a job fail, from its exception history. Each names the pool
// at fault.
const (
	KindHeapOOM        = "oom-heap"        // java.lang.OutOfMemoryError: Java heap space → heap
	KindGCOverhead     = "gc-overhead"     // java.lang.OutOfMemoryError: GC overhead limit exceeded → heap
	KindMetaspaceOOM   = "oom-metaspace"   // java.lang.OutOfMemoryError: Metaspace → metaspace
	KindDirectOOM      = "oom-direct"      // java.lang.OutOfMemoryError: (Cannot reserve ... bytes of) Direct buffer memory → task off-heap
	KindNetworkBuffers = "network-buffers" // java.io.IOException: Insufficient number of network buffers → network
	KindContainerKill  = "container-kill"  // exit code 137 / OOMKilled / beyond physical memory limits → JVM overhead
	// KindTaskManagerLostInGC: a TaskManager lost (its heartbeat timed out, or it is no longer
	// reachable) right after its JVM spent most of its time in GC: a heap near full thrashes
	// in GC until the process stops answering, or exits on an OutOfMemoryError in one of its
	// own threads, before the task's failure reaches the JobManager → heap. Without that
	// evidence a lost TaskManager (a host, a kill, the network) says nothing about memory.
	KindTaskManagerLostInGC = "tm-lost-in-gc"
)

// A lost TaskManager counts as a heap failure when the GC time the tuner saw within
// gcEvidenceAge before the loss reached gcBoundFraction of the time. The age covers Flink's
// heartbeat timeout (50 s by default in 1.20 and 2.x) and a metric fetch; the fraction is
// far above what a healthy heap costs (the GC-pressure threshold is 10 %), well below the
// 98 % at which HotSpot throws "GC overhead limit exceeded", which a stalled JVM may never
// report.
const (
	gcEvidenceAge   = 2 * time.Minute
	gcBoundFraction = 0.5
)

// failureKind is Classify, with a lost TaskManager (taskManagerLost) classed as a heap failure
// when gcBound says its heap thrashed in GC before the loss (gcBoundBefore: the fraction of
// the time, and whether it is bound); without that evidence a loss is no memory failure.
func failureKind(e autoscaler.JobException, gcBound func(time.Time) (float64, bool)) (kind, pool string, gcFrac float64) {
	kind, pool = Classify(e)
	if kind != "" || gcBound == nil || !taskManagerLost(e) {
		return kind, pool, 0
	}
	if frac, ok := gcBound(e.Time); ok {
		return KindTaskManagerLostInGC, PoolHeap, frac
	}
	return "", "", 0
}

// taskManagerLost reports whether e is the JobMaster failing a TaskManager's tasks because it
// lost the TaskManager: "Heartbeat of TaskManager with id %s timed out." or "TaskManager with
// id %s is no longer reachable." (JobMaster's TaskManagerHeartbeatListener, 1.20 and 2.x).
func taskManagerLost(e autoscaler.JobException) bool {
	text := e.Name + ": " + e.Message
	return strings.Contains(text, "Heartbeat of TaskManager with id") && strings.Contains(text, "timed out") ||
		strings.Contains(text, "TaskManager with id") && strings.Contains(text, "is no longer reachable")
}

// Classify maps a job exception to a memory failure kind and the pool to grow; "" when the
// exception is not about memory.
func Classify(e autoscaler.JobException) (kind, pool string) {
	text := e.Name + ": " + e.Message
	oom := strings.Contains(text, "OutOfMemoryError")
	switch {
	case oom && strings.Contains(text, "Metaspace"):
		return KindMetaspaceOOM, PoolMetaspace
	case oom && strings.Contains(text, "irect buffer memory"):
		return KindDirectOOM, PoolTaskOffHeap
	case oom && strings.Contains(text, "GC overhead limit exceeded"):
		return KindGCOverhead, PoolHeap
	case oom:
		return KindHeapOOM, PoolHeap
	case strings.Contains(text, "Insufficient number of network buffers"):
		return KindNetworkBuffers, PoolNetwork
	case strings.Contains(text, "code 137"), strings.Contains(text, "OOMKilled"),
		strings.Contains(text, "memory limit exceeded"), strings.Contains(text, "beyond physical memory limits"):
		return KindContainerKill, PoolOverhead
	}
	return "", ""
}

// Flink's NetworkBufferPool message (1.14+): "Insufficient number of network buffers:
// required %d, but only %d available. The total number of network buffers is currently set
// to %d of %d bytes each. ..."; older releases say "required %d, but only %d of %d
// available." without the segment size.
var (
	netNewRe = regexp.MustCompile(`required (\d+), but only (\d+) available\. The total number of network buffers is currently set to (\d+) of (\d+) bytes each`)
	netOldRe = regexp.MustCompile(`required (\d+), but only (\d+) of (\d+) available`)
	// The JDK's java.nio.Bits.reserveMemory message (JDK 11+).
	directRe = regexp.MustCompile(`Cannot reserve (\d+) bytes of direct buffer memory \(allocated: (\d+), limit: (\d+)\)`)
)

// Shortfall is what a failure message says is missing, in bytes of the pool at fault; 0 when
// the message carries no numbers (heap and metaspace errors never do).
func Shortfall(e autoscaler.JobException, segmentSize int64) (missing int64, evidence string) {
	text := e.Name + ": " + e.Message
	// Numbers beyond 2^40 (a TiB of bytes, a trillion buffers) are no real message: ignored,
	// so that the products below cannot overflow.
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > 1<<40 {
			return -1
		}
		return n
	}
	sane := func(ns ...int64) bool { return !slices.ContainsFunc(ns, func(n int64) bool { return n < 0 }) }
	if m := netNewRe.FindStringSubmatch(text); m != nil {
		req, avail, total, seg := num(m[1]), num(m[2]), num(m[3]), num(m[4])
		if !sane(req, avail, total, seg) || seg > 1<<20 {
			return 0, ""
		}
		miss := max(0, req-avail)
		return miss * seg, fmt.Sprintf("a task needed %d buffers and %d of the TaskManager's %d (of %s each) were left: %d buffers (%s) short",
			req, avail, total, hb(seg), miss, hb(miss*seg))
	}
	if m := netOldRe.FindStringSubmatch(text); m != nil && segmentSize > 0 && segmentSize <= 1<<20 {
		req, avail, total := num(m[1]), num(m[2]), num(m[3])
		if !sane(req, avail, total) {
			return 0, ""
		}
		miss := max(0, req-avail)
		return miss * segmentSize, fmt.Sprintf("a task needed %d buffers and %d of %d were left: %d buffers (%s) short",
			req, avail, total, miss, hb(miss*segmentSize))
	}
	if m := directRe.FindStringSubmatch(text); m != nil {
		req, alloc, limit := num(m[1]), num(m[2]), num(m[3])
		if !sane(req, alloc, limit) {
			return 0, ""
		}
		miss := max(0, alloc+req-limit)
		return miss, fmt.Sprintf("an allocation of %s found %s of the %s direct limit (-XX:MaxDirectMemorySize) reserved: %s short",
			hb(req), hb(alloc), hb(limit), hb(miss))
	}
	return 0, ""
}

// Diagnosis is one failure class seen in a job's recent exception history, with the pool at
// fault and the evidence.
type Diagnosis struct {
	Kind     string    `json:"kind"`
	Pool     string    `json:"pool"`
	Count    int       `json:"count"` // failures of this kind the tuner saw
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	Cause    string    `json:"cause"`
	Evidence []string  `json:"evidence"`
}

// causeText explains a failure class in one sentence.
var causeText = map[string]string{
	KindHeapOOM:        "the JVM heap (framework + task heap) is too small for the live objects, keyed state on the HashMap backend included",
	KindGCOverhead:     "the live objects nearly fill the JVM heap: the JVM spends almost all its time in garbage collection",
	KindMetaspaceOOM:   "the JVM metaspace is too small for the classes the job loads",
	KindDirectOOM:      "direct memory (framework + task off-heap) is too small for the buffers the job's code allocates",
	KindNetworkBuffers: "network memory holds fewer buffers than the tasks on one TaskManager need at this parallelism",
	KindContainerKill:  "the process outgrew its container: native memory beyond the JVM overhead",
	KindTaskManagerLostInGC: "a TaskManager was lost while its JVM spent most of its time in garbage collection: " +
		"the live objects nearly fill the heap",
}

// Diagnose summarizes the failures the tuner has seen since since (zero: all it remembers),
// by class, newest class first.
func (t *Tuner) Diagnose(since time.Time) []Diagnosis {
	var out []Diagnosis
	idx := map[string]int{}
	for _, e := range t.st.Events {
		if _, ok := causeText[e.Kind]; !ok || e.Time.Before(since) {
			continue
		}
		i, ok := idx[e.Kind]
		if !ok {
			i = len(out)
			idx[e.Kind] = i
			out = append(out, Diagnosis{Kind: e.Kind, Pool: e.Pool, First: e.Time, Cause: causeText[e.Kind]})
		}
		d := &out[i]
		d.Count++
		d.Last = e.Time
		ev := e.Time.UTC().Format(time.RFC3339) + " " + e.Detail
		if e.Evidence != "" {
			ev += " (" + e.Evidence + ")"
		}
		if !slices.Contains(d.Evidence, ev) {
			d.Evidence = append(d.Evidence, ev)
			if len(d.Evidence) > 3 {
				d.Evidence = d.Evidence[1:] // the three most recent
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Diagnosis) int { return b.Last.Compare(a.Last) })
	return out
}

// Text renders a diagnosis in one line.
func (d Diagnosis) Text() string {
	s := fmt.Sprintf("%s ×%d (last %s): %s; pool at fault: %s", d.Kind, d.Count, d.Last.UTC().Format(time.RFC3339), d.Cause, d.Pool)
	if len(d.Evidence) > 0 {
		s += "; evidence: " + d.Evidence[len(d.Evidence)-1]
	}
	return s
}
