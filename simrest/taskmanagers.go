package simrest

import (
	"math"
	"net/http"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// mib is a ResourceProfileInfo memory value: whole MiB, rounded down.
func mib(b int64) int { return int(b >> 20) }

// resource renders slots/total of a TaskManager's resources (Flink's default slot profile is
// the total divided by the slot count, per dimension, rounded down).
func resource(m memory.TaskManager, slots, of int) flinkrest.ResourceProfileInfo {
	if of <= 0 {
		of = 1
	}
	part := func(b int64) int { return mib(b / int64(of) * int64(slots)) }
	if slots == of {
		part = func(b int64) int { return mib(b) }
	}
	cpu := math.Floor(m.CPUCores/float64(of)*float64(slots)*1e16) / 1e16
	return flinkrest.ResourceProfileInfo{
		CPUCores: flinkrest.Double(cpu), TaskHeapMemory: part(m.TaskHeap), TaskOffHeapMemory: part(m.TaskOffHeap),
		ManagedMemory: part(m.Managed), NetworkMemory: part(m.Network), ExtendedResources: map[string]flinkrest.Double{},
	}
}

func (srv *Server) tmInfo(tm sim.TaskManagerView) flinkrest.TaskManagerInfo {
	m := tm.Memory
	physical := m.TotalProcess * 2
	free := physical - m.TotalProcess
	if tm.Metrics != nil {
		free = physical - int64(tm.Metrics.HeapCommitted+tm.Metrics.NonHeapCommitted+tm.Metrics.DirectUsed+tm.Metrics.ManagedUsed)
	}
	return flinkrest.TaskManagerInfo{
		ID: tm.ID, Path: tm.Path, DataPort: tm.DataPort, JmxPort: -1, TimeSinceLastHeartbeat: tm.LastHeartbeat,
		SlotsNumber: tm.Slots, FreeSlots: tm.Free,
		TotalResource: resource(m, tm.Slots, tm.Slots), FreeResource: resource(m, tm.Free, tm.Slots),
		Hardware: flinkrest.HardwareDescription{CPUCores: max(1, int(math.Ceil(m.CPUCores))), PhysicalMemory: physical,
			FreeMemory: max(0, free), ManagedMemory: m.Managed},
		MemoryConfiguration: flinkrest.TaskExecutorMemoryConfiguration{
			FrameworkHeap: m.FrameworkHeap, TaskHeap: m.TaskHeap, FrameworkOffHeap: m.FrameworkOffHeap, TaskOffHeap: m.TaskOffHeap,
			NetworkMemory: m.Network, ManagedMemory: m.Managed, JVMMetaspace: m.JVMMetaspace, JVMOverhead: m.JVMOverhead,
			TotalFlinkMemory: m.TotalFlink, TotalProcessMemory: m.TotalProcess,
		},
	}
}

func (srv *Server) taskManagers(w http.ResponseWriter) {
	out := flinkrest.TaskManagersInfo{TaskManagers: []flinkrest.TaskManagerInfo{}}
	for _, tm := range srv.sim.TaskManagers() {
		out.TaskManagers = append(out.TaskManagers, srv.tmInfo(tm))
	}
	writeJSON(w, http.StatusOK, out)
}

func (srv *Server) taskManagerDetails(w http.ResponseWriter, tm sim.TaskManagerView) {
	out := flinkrest.TaskManagerDetailsInfo{TaskManagerInfo: srv.tmInfo(tm), AllocatedSlots: []flinkrest.SlotInfo{}}
	for _, job := range tm.Allocated {
		out.AllocatedSlots = append(out.AllocatedSlots, flinkrest.SlotInfo{JobID: job, Resource: resource(tm.Memory, 1, tm.Slots)})
	}
	mt := flinkrest.TaskManagerMetricsInfo{GarbageCollectors: []flinkrest.GarbageCollectorInfo{}, NonHeapMax: -1, MappedCount: 0}
	if m := tm.Metrics; m != nil {
		seg := int64(0)
		if m.NetworkTotalSegments > 0 {
			seg = int64(m.NetworkTotalBytes / m.NetworkTotalSegments)
		}
		avail := int64(m.NetworkTotalSegments - m.NetworkUsedSegments)
		mt = flinkrest.TaskManagerMetricsInfo{
			HeapUsed: int64(m.HeapUsed), HeapCommitted: int64(m.HeapCommitted), HeapMax: int64(m.HeapMax),
			NonHeapUsed: int64(m.NonHeapUsed), NonHeapCommitted: int64(m.NonHeapCommitted), NonHeapMax: int64(m.NonHeapMax),
			DirectCount: int64(m.DirectCount), DirectUsed: int64(m.DirectUsed), DirectMax: int64(m.DirectMax),
			NettyShuffleMemorySegmentsAvailable: avail, NettyShuffleMemorySegmentsUsed: int64(m.NetworkUsedSegments),
			NettyShuffleMemorySegmentsTotal: int64(m.NetworkTotalSegments),
			NettyShuffleMemoryAvailable:     avail * seg, NettyShuffleMemoryUsed: int64(m.NetworkUsedBytes), NettyShuffleMemoryTotal: int64(m.NetworkTotalBytes),
			GarbageCollectors: []flinkrest.GarbageCollectorInfo{
				{Name: "G1_Young_Generation", Count: int64(m.GCCount - math.Floor(m.GCCount/50)), Time: int64(m.GCTimeMs * 0.7)},
				{Name: "G1_Old_Generation", Count: int64(math.Floor(m.GCCount / 50)), Time: int64(m.GCTimeMs) - int64(m.GCTimeMs*0.7)},
			},
		}
		if !srv.sim.Version().AtLeast(scenario.V20) {
			total, av := int64(m.NetworkTotalSegments), avail
			mt.MemorySegmentsTotal, mt.MemorySegmentsAvailable = &total, &av
		}
	}
	out.Metrics = mt
	writeJSON(w, http.StatusOK, out)
}
