package sim

import (
	"fmt"
	"math"

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
// the JVM heap is a java.lang.OutOfMemoryError (the TaskManager dies, its tasks fail); metaspace
// beyond its limit likewise; a process whose resident memory exceeds the container limit is
// killed by the container runtime. RocksDB state fills managed memory.

const (
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

// updateMemory advances every TaskManager's heap, GC, managed memory and resident size by one
// tick, then kills the TaskManagers that ran out of memory.
func (s *Sim) updateMemory(dt float64Duration) {
	type kill struct {
		tm        *taskManager
		reason    string
		exception string
		container bool
	}
	var kills []kill
	for _, tm := range s.tms {
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

		managed := float64(tm.mem.Managed)
		tm.managedUsed = min(managed, stateOnManaged)
		meta := float64(frameworkMetaspace)
		for ji, j := range s.jobs {
			if jobs[ji] {
				meta += j.metaspaceBytes()
			}
		}
		tm.metaspace = meta
		tm.directUsed = frameworkDirect + float64(tm.mem.Network)
		native := float64(nativeBase) + float64(nativePerSubtask*len(tm.hosted)) + 0.02*heapMax
		tm.rss = heapMax + tm.directUsed + tm.managedUsed + tm.metaspace + native
		if ratio := tm.heapUsed / heapMax; ratio > s.heapRatioMax {
			s.heapRatioMax = ratio
		}
		switch {
		case live > heapMax:
			kills = append(kills, kill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: Java heap space (live heap %s > max %s)", mib(live), mib(heapMax)),
				"java.lang.OutOfMemoryError: Java heap space", false})
		case meta > float64(tm.mem.JVMMetaspace):
			kills = append(kills, kill{tm, fmt.Sprintf("java.lang.OutOfMemoryError: Metaspace (%s > limit %s)", mib(meta), mib(float64(tm.mem.JVMMetaspace))),
				"java.lang.OutOfMemoryError: Metaspace. The metaspace out-of-memory error has occurred. This can mean two things: either the job requires a larger size of JVM metaspace to load classes or there is a class loading leak. In the first case 'taskmanager.memory.jvm-metaspace.size' configuration option should be increased.", false})
		case tm.rss > float64(tm.mem.TotalProcess):
			kills = append(kills, kill{tm, fmt.Sprintf("container killed: resident memory %s exceeds the process limit %s", mib(tm.rss), mib(float64(tm.mem.TotalProcess))),
				fmt.Sprintf("org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id %s is no longer reachable. (container exited with code 137: memory limit exceeded)", tm.id), true})
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

// scratchJobs returns a cleared per-job flag slice (reused across ticks).
func (s *Sim) scratchJobs() []bool {
	if len(s.scratch) != len(s.jobs) {
		s.scratch = make([]bool, len(s.jobs))
	}
	clear(s.scratch)
	return s.scratch
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
