package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
)

// TaskManager memory behaviour.
//
// Live heap = framework baseline + per hosted subtask (heap.base + heap.perRecordPerSecond ×
// its input rate + its hashmap keyed state × HeapStateFraction). Records allocate short-lived
// garbage that fills the young generation (the free heap); each young collection pauses the
// tasks, and pauses grow with heap occupancy, with old-generation collections taking over
// steeply above 85 %. The GC time share slows every task on the TaskManager. Live heap beyond
// the JVM heap is a java.lang.OutOfMemoryError (the TaskManager dies, its tasks fail); GC
// time at or above 98 % for a minute is "GC overhead limit exceeded" (the JVM's
// GCTimeLimit); metaspace beyond its limit likewise; direct memory (framework 32 MiB plus
// each subtask's directMemory) beyond the framework and task off-heap memory is "Direct
// buffer memory" (network buffers take exactly their own pool); a process whose resident
// memory exceeds the container limit is killed by the container runtime. RocksDB state
// fills managed memory.
//
// Heap-state calibration. A scenario's state size is what a checkpoint writes (serialized).
// On the HashMap backend the same state lives as Java objects, whose footprint is larger
// per entry but which a full checkpoint does not count twice; Options.HeapStateFraction
// (default 0.5) is the live heap per checkpointed byte. It was chosen so that the example
// scenarios' TaskManagers (wordcount-ramp: 2 GB of state over 4 GB TaskManagers) run with
// the heap 40-75 % full, where Flink's own sizing guidance places a healthy HashMap job;
// scenarios that mean "N GB on the heap" state 2N of checkpointed state. Each subtask holds
// the state of the key groups it owns (bytes / p), so the busiest TaskManager holds its
// slots' share: scaling the stateful vertex out spreads it, scaling in concentrates it.
//
// Metaspace: a vertex's metaspace loads at deployment, or over metaspaceWarmup from 70 %
// (classes first used late, as after a failover): a tuner that sizes from an early peak
// under-sizes it (FLINK-35489). Either way a TaskManager process that runs the job for the
// first time loads the last 30 % of it over about half a minute (classLoadTail).

const (
	// gcOverheadLimit and gcOverheadSpan are the JVM's GCTimeLimit (98 %) and how long the
	// simulator lets the GC time share stay there before the OutOfMemoryError.
	gcOverheadLimit    = 980
	gcOverheadSpan     = 60
	frameworkMetaspace = 40 << 20
	frameworkDirect    = 32 << 20
	baseAllocRate      = 1 << 20 // bytes/s of framework garbage
	minYoung           = 16 << 20
)

// rebuildHosted recomputes which subtasks run on which TaskManager, and the network buffers
// they need (flink-scheduling.md §D.3).
func (s *Sim) rebuildHosted() {
	for _, tm := range s.tms {
		tm.hosted = tm.hosted[:0]
		tm.netRequired = 0
	}
	bpc := 2
	if n, _, err := s.tmCfg.Int(flinkconf.TMBuffersPerChannel); err == nil && n > 0 {
		bpc = int(n)
	}
	for _, j := range s.jobs {
		if j.exec == nil {
			continue
		}
		for vi, subs := range j.exec.placement {
			need := j.buffersPerSubtask(vi, bpc)
			for si, tm := range subs {
				if tm == nil {
					continue
				}
				tm.hosted = append(tm.hosted, subtaskRef{j: j, v: vi, sub: si})
				tm.netRequired += need
			}
		}
	}
}

// buffersPerSubtask is the required network buffers of one subtask of vertex vi: per input
// gate C·bpc + 1 (C channels), per output partition S + 1 (S subpartitions).
func (j *job) buffersPerSubtask(vi, bpc int) int {
	v := j.vs[vi]
	n := 0
	for _, e := range v.inputs {
		u := j.vs[e.from]
		c := u.p
		if e.ship == scenario.ShipForward || e.ship == scenario.ShipRescale {
			c = max(1, (u.p+v.p-1)/v.p)
		}
		n += c*bpc + 1
	}
	for _, d := range j.vs {
		for _, e := range d.inputs {
			if e.from != vi {
				continue
			}
			sp := d.p
			if e.ship == scenario.ShipForward || e.ship == scenario.ShipRescale {
				sp = max(1, (d.p+v.p-1)/v.p)
			}
			n += sp + 1
		}
	}
	return n
}

// networkShortage finds a TaskManager hosting j's tasks whose tasks need more buffers than it
// has; it returns j's requirement there.
func (s *Sim) networkShortage(j *job) (*taskManager, int) {
	for _, tm := range s.tms {
		if tm.netRequired <= tm.netTotal {
			continue
		}
		req := 0
		bpc := 2
		if n, _, err := s.tmCfg.Int(flinkconf.TMBuffersPerChannel); err == nil && n > 0 {
			bpc = int(n)
		}
		for _, h := range tm.hosted {
			if h.j == j {
				req += j.buffersPerSubtask(h.v, bpc)
			}
		}
		if req > 0 {
			return tm, req
		}
	}
	return nil, 0
}

// metaspaceNow is the metaspace j's code takes on a TaskManager at now: all of it, or for a
// vertex with a warm-up, from 70 % at the deployment rising linearly over the warm-up.
func (j *job) metaspaceNow(now time.Time) float64 {
	full := j.metaspaceBytes()
	var warm time.Duration
	for _, v := range j.vs {
		warm = max(warm, v.sv.MetaspaceWarmup)
	}
	if warm <= 0 || j.exec == nil {
		return full
	}
	f := min(1, float64(now.Sub(j.exec.deployed))/float64(warm))
	return full * (0.7 + 0.3*f)
}

// classLoadTail is the share of a job's classes a TaskManager process has loaded d after it
// first ran one of the job's tasks: most at once, the rest (code paths first taken by the
// first records, checkpoints, timers) ever more slowly. Measured on Flink 1.20.5 and 2.2.1
// (local's TestMemoryTuningRealJob, 2026-12-05): a TaskManager's metaspace went from 35 to
// 41 MiB within ~30 s of the deployment, then grew < 1 % in the next minutes. A restart on
// the same process reloads nothing (the classes stay while it keeps the job's slots).
func classLoadTail(d time.Duration) float64 {
	return 1 - classLoadLate*math.Exp(-d.Seconds()/classLoadTau.Seconds())
}

const (
	classLoadLate = 0.3              // share of the job's classes not loaded at the deployment
	classLoadTau  = 10 * time.Second // the time constant of the rest
)

func (j *job) metaspaceBytes() float64 {
	var m int64
	for _, v := range j.vs {
		m = max(m, v.sv.Metaspace)
	}
	if m == 0 {
		m = scenario.DefaultMetaspace
	}
	return float64(m)
}

// tmKill is a TaskManager that ran out of memory this tick, and how.
type tmKill struct {
	tm        *taskManager
	reason    string
	exception string
	container bool
}

// updateMemory advances every TaskManager's heap, GC, managed memory and resident size by one
// tick, then kills the TaskManagers that ran out of memory.
func (s *Sim) updateMemory(dt float64Duration) {
	var kills []tmKill
	for _, tm := range s.tms {
		if k, ok := s.tickTMMemory(tm, dt); ok {
			kills = append(kills, k)
		}
	}
	for _, k := range kills {
		if k.container {
			s.containerKills++
		} else {
			s.oomKills++
		}
		s.killTM(k.tm, k.reason, k.exception)
	}
}

// tickTMMemory advances one TaskManager's memory by a tick and says whether, and how, it ran
// out of memory.
func (s *Sim) tickTMMemory(tm *taskManager, dt float64Duration) (tmKill, bool) {
	live := float64(frameworkHeapUsed)
	alloc := float64(baseAllocRate)
	stateOnManaged := 0.0
	jobs := s.scratchJobs()
	for _, h := range tm.hosted {
		v := h.j.vs[h.v]
		st := &v.sub[h.sub]
		live += float64(v.sv.Heap.Base) + v.sv.Heap.PerRecordPerSecond*st.rateIn
		state := float64(v.sv.StateBytes(v.p)) / float64(v.p)
		if h.j.rocks {
			stateOnManaged += state
		} else {
			live += state * s.opts.HeapStateFraction
		}
		alloc += st.rateIn * allocPerRecord
		jobs[h.j.idx] = true
	}
	heapMax := float64(tm.mem.JVMHeap())
	tickHeap(tm, live, alloc, heapMax, dt)
	tm.managedUsed = min(float64(tm.mem.Managed), stateOnManaged)
	tm.metaspace = s.metaspaceOf(tm, jobs)
	direct := float64(frameworkDirect)
	for _, h := range tm.hosted {
		direct += float64(h.j.vs[h.v].sv.DirectMemory)
	}
	tm.directUsed = direct + float64(tm.mem.Network)
	if tm.gcMsPerSec >= gcOverheadLimit {
		tm.gcOverSec += dt.s
	} else {
		tm.gcOverSec = 0
	}
	native := float64(nativeBase) + float64(nativePerSubtask*len(tm.hosted)) + 0.02*heapMax
	tm.rss = heapMax + tm.directUsed + tm.managedUsed + tm.metaspace + native
	if ratio := tm.heapUsed / heapMax; ratio > s.heapRatioMax {
		s.heapRatioMax = ratio
	}
	return outOfMemory(tm, live, heapMax, direct)
}

// tickHeap advances a TaskManager's heap and GC by a tick: the live heap, the allocation rate,
// young and full collections and the share of time they leave to the subtasks (gcFactor).
func tickHeap(tm *taskManager, live, alloc, heapMax float64, dt float64Duration) {
	tm.liveHeap = live
	tm.allocRate = alloc
	u := live / heapMax
	free := max(heapMax-live, 0)
	young := max(float64(minYoung), 0.4*free)
	gcPerSec := alloc / young
	pause := 3 + 30*u*u // ms per young collection
	full := 0.0
	if u > 0.85 {
		x := min(1, (u-0.85)/0.15)
		full = 1000 * x * x * x
	}
	tm.gcMsPerSec = min(1000, gcPerSec*pause+full)
	tm.gcCount += gcPerSec*dt.s + full/500*dt.s
	tm.gcTimeMs += tm.gcMsPerSec * dt.s
	tm.gcPhase += alloc * dt.s / young
	tm.gcPhase -= math.Floor(tm.gcPhase)
	tm.heapUsed = min(heapMax, live+young*tm.gcPhase)
	tm.gcFactor = max(0.02, 1-tm.gcMsPerSec/1000)
}

// metaspaceOf is a TaskManager's metaspace: the framework's and, for each job it hosts, the
// job's classes as far as they have loaded since the TaskManager first hosted it.
func (s *Sim) metaspaceOf(tm *taskManager, jobs []bool) float64 {
	meta := float64(frameworkMetaspace)
	for ji, j := range s.jobs {
		if !jobs[ji] {
			continue
		}
		if tm.firstHosted == nil {
			tm.firstHosted = map[int]time.Time{}
		}
		if _, ok := tm.firstHosted[ji]; !ok {
			tm.firstHosted[ji] = s.now
		}
		meta += j.metaspaceNow(s.now) * classLoadTail(s.now.Sub(tm.firstHosted[ji]))
	}
	return meta
}

// outOfMemory says whether a TaskManager's memory, as updated this tick, kills it, with the
// error Flink or the container runtime reports (the first limit broken, in this order).
func outOfMemory(tm *taskManager, live, heapMax, direct float64) (tmKill, bool) {
	directMax := float64(tm.mem.FrameworkOffHeap + tm.mem.TaskOffHeap)
	meta := tm.metaspace
	switch {
	case live > heapMax:
		return tmKill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: Java heap space (live heap %s > max %s)", mib(live), mib(heapMax)),
			"java.lang.OutOfMemoryError: Java heap space", false}, true
	case tm.gcOverSec >= gcOverheadSpan:
		return tmKill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: GC overhead limit exceeded (%.0f ms/s in GC for %.0f s, live heap %s of %s)", tm.gcMsPerSec, tm.gcOverSec, mib(live), mib(heapMax)),
			"java.lang.OutOfMemoryError: GC overhead limit exceeded", false}, true
	case direct > directMax:
		return tmKill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: Direct buffer memory (%s > framework + task off-heap %s)", mib(direct), mib(directMax)),
			directOOM(tm, direct), false}, true
	case meta > float64(tm.mem.JVMMetaspace):
		return tmKill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: Metaspace (%s > limit %s)", mib(meta), mib(float64(tm.mem.JVMMetaspace))),
			"java.lang.OutOfMemoryError: Metaspace. The metaspace out-of-memory error has occurred. This can mean two things: either the job requires a larger size of JVM metaspace to load classes or there is a class loading leak. In the first case 'taskmanager.memory.jvm-metaspace.size' configuration option should be increased.", false}, true
	case tm.rss > float64(tm.mem.TotalProcess):
		return tmKill{tm, fmt.Sprintf("container killed: resident memory %s exceeds the process limit %s", mib(tm.rss), mib(float64(tm.mem.TotalProcess))),
			fmt.Sprintf("org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id %s is no longer reachable. (container exited with code 137: memory limit exceeded)", tm.id), true}, true
	}
	return tmKill{}, false
}

// directOOM is the JDK's message (java.nio.Bits.reserveMemory) for the allocation that found
// the direct limit (-XX:MaxDirectMemorySize: framework and task off-heap plus network memory)
// exhausted: the largest subtask's buffers on top of everything else reserved.
func directOOM(tm *taskManager, direct float64) string {
	var req int64
	for _, h := range tm.hosted {
		req = max(req, h.j.vs[h.v].sv.DirectMemory)
	}
	allocated := int64(direct) + tm.mem.Network - req
	return fmt.Sprintf("java.lang.OutOfMemoryError: Cannot reserve %d bytes of direct buffer memory (allocated: %d, limit: %d)",
		req, allocated, tm.mem.JVMDirect())
}

// scratchJobs returns a cleared per-job flag slice (reused across ticks).
func (s *Sim) scratchJobs() []bool {
	if len(s.scratch) != len(s.jobs) {
		s.scratch = make([]bool, len(s.jobs))
	}
	clear(s.scratch)
	return s.scratch
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
