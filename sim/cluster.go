package sim

import (
	"fmt"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// taskManager is one registered TaskExecutor.
type taskManager struct {
	n          int
	id, host   string
	port       int
	dataPort   int
	registered time.Time
	gen        int // TaskManager configuration generation it runs with
	mem        *memory.TaskManager
	slots      []slotState
	idleSince  time.Time // when its last slot was freed; zero while a job holds one

	// hosted is rebuilt whenever executions change: the subtasks running on this TM.
	hosted []subtaskRef

	// Memory state (memmodel.go).
	liveHeap     float64
	heapUsed     float64
	gcPhase      float64 // fraction of the young generation filled
	gcCount      float64
	gcTimeMs     float64
	gcMsPerSec   float64
	gcFactor     float64 // 1 − GC time share: capacity left for tasks
	managedUsed  float64
	metaspace    float64
	rss          float64
	netRequired  int
	netTotal     int
	directUsed   float64
	allocRate    float64
	lastHeapFull float64
	gcOverSec    float64 // seconds the GC time share has stayed at the JVM's GC overhead limit
	// firstHosted is when this TaskManager process first ran a task of each job (by job
	// index): its classes load from then on (memmodel.go's classLoadTail).
	firstHosted map[int]time.Time
}

type slotState struct {
	job       *job
	inUse     bool
	freeSince time.Time // since when the owning job has not used it
}

type subtaskRef struct {
	j   *job
	v   int
	sub int
}

type pendingTM struct {
	ready time.Time
	gen   int
}

func (tm *taskManager) freeSlots() int {
	n := 0
	for _, sl := range tm.slots {
		if sl.job == nil {
			n++
		}
	}
	return n
}

func (tm *taskManager) idle() bool {
	for _, sl := range tm.slots {
		if sl.job != nil {
			return false
		}
	}
	return true
}

// registerTM adds a TaskManager running the current TaskManager configuration.
func (s *Sim) registerTM() *taskManager {
	s.nextTM++
	id, host, port := taskManagerID(s.seed, s.nextTM)
	tm := &taskManager{
		n: s.nextTM, id: id, host: host, port: port, dataPort: 40000 + s.nextTM,
		registered: s.now, gen: s.tmGen, mem: s.tmMem,
		slots: make([]slotState, s.tmMem.NumSlots), idleSince: s.now, gcFactor: 1,
	}
	tm.netTotal = int(tm.mem.Network / s.segmentSize())
	s.tms = append(s.tms, tm)
	return tm
}

func (s *Sim) segmentSize() int64 {
	b, _, err := s.tmCfg.MemorySize(flinkconf.TMSegmentSize)
	if err != nil || b <= 0 {
		return 32 << 10
	}
	return b
}

// registerPending registers the requested TaskManagers whose start-up delay has passed.
func (s *Sim) registerPending() {
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.gen != s.tmGen {
			continue // requested with a configuration that has been replaced
		}
		if !s.now.Before(p.ready) {
			tm := s.registerTM()
			s.logf("taskmanager", nil, "TaskManager %s registered (%d slots)", tm.id, len(tm.slots))
			continue
		}
		kept = append(kept, p)
	}
	s.pending = kept
}

// allocateSlots lets every job's slot pool take free slots up to its declared requirement
// (first fit over TaskManagers in registration order, like the DefaultResourceAllocationStrategy)
// and returns slots a job has not used for slot.idle.timeout beyond its requirement.
func (s *Sim) allocateSlots() {
	if !s.jobManagerAlive() {
		return
	}
	for _, j := range s.jobs {
		want := j.declaredSlots()
		held := j.heldSlots()
		before := held
		if held > want {
			for _, tm := range s.tms {
				for i := range tm.slots {
					sl := &tm.slots[i]
					if held > want && sl.job == j && !sl.inUse && s.now.Sub(sl.freeSince) >= s.idleSlot {
						sl.job = nil
						held--
						if tm.idle() {
							tm.idleSince = s.now
						}
					}
				}
			}
		}
		if held < want {
			for _, tm := range s.tms {
				for i := range tm.slots {
					sl := &tm.slots[i]
					if held < want && sl.job == nil {
						sl.job, sl.inUse, sl.freeSince = j, false, s.now
						held++
					}
				}
			}
		}
		if held != before {
			j.slotsChanged(s.now)
		}
	}
}

// neededTaskManagers is how many TaskManagers the ResourceManager wants: enough for every
// job's declared slots, within [min, max].
func (s *Sim) neededTaskManagers() int {
	demand := 0
	if s.jobManagerAlive() {
		for _, j := range s.jobs {
			demand += j.declaredSlots()
		}
	}
	per := s.tmMem.NumSlots
	n := (demand + per - 1) / per
	return max(s.tmBounds.Min, min(s.tmBounds.Max, n))
}

// manageResources requests TaskManagers for unfulfilled slot demand (active resource manager)
// and releases TaskManagers idle for resourcemanager.taskmanager-timeout.
func (s *Sim) manageResources() {
	need := s.neededTaskManagers()
	have := len(s.tms) + len(s.pending)
	if have < need {
		for range need - have {
			s.pending = append(s.pending, pendingTM{ready: s.now.Add(s.tmBounds.StartupDelay), gen: s.tmGen})
		}
		s.logf("resourcemanager", nil, "requested %d TaskManager(s) (%d registered, %d wanted)", need-have, len(s.tms), need)
	}
	if len(s.tms) <= need {
		return
	}
	// Release idle TaskManagers beyond the need, newest first.
	for i := len(s.tms) - 1; i >= 0 && len(s.tms) > need; i-- {
		tm := s.tms[i]
		if tm.idle() && s.now.Sub(tm.idleSince) >= s.tmBounds.IdleTimeout {
			s.tms = append(s.tms[:i], s.tms[i+1:]...)
			s.logf("resourcemanager", nil, "released idle TaskManager %s", tm.id)
		}
	}
}

// killTM removes a TaskManager; jobs running tasks on it fail.
func (s *Sim) killTM(tm *taskManager, reason, exception string) {
	idx := -1
	for i, t := range s.tms {
		if t == tm {
			idx = i
		}
	}
	if idx < 0 {
		return
	}
	s.tms = append(s.tms[:idx], s.tms[idx+1:]...)
	s.logf("taskmanager", nil, "TaskManager %s lost: %s", tm.id, reason)
	failed := map[*job]bool{}
	lost := map[*job]bool{}
	for _, sl := range tm.slots {
		if sl.job == nil {
			continue
		}
		lost[sl.job] = true
		if sl.inUse {
			failed[sl.job] = true
		}
	}
	for _, j := range s.jobs {
		if failed[j] {
			j.fail(s.now, exception, tm, causeTMLoss)
		} else if lost[j] {
			j.slotsChanged(s.now)
		}
	}
}

// tmByID finds a registered TaskManager.
func (s *Sim) tmByID(id string) *taskManager {
	for _, tm := range s.tms {
		if tm.id == id {
			return tm
		}
	}
	return nil
}

// slotTotals counts registered and free slots.
func (s *Sim) slotTotals() (total, free int) {
	for _, tm := range s.tms {
		total += len(tm.slots)
		free += tm.freeSlots()
	}
	return total, free
}

func (s *Sim) tmLostMessage(tm *taskManager) string {
	return fmt.Sprintf("org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id %s is no longer reachable.", tm.id)
}
