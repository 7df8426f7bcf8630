package sim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim/adaptive"
)

// This file is the read API the REST server (simrest) builds Flink's responses from. Views are
// copies: they stay valid after the simulation moves on.

// FlinkVersion is the full version the simulated cluster reports ("1.20.1").
func (s *Sim) FlinkVersion() string {
	switch s.sc.FlinkVersion {
	case scenario.V118:
		return "1.18.1"
	case scenario.V119:
		return "1.19.2"
	case scenario.V120:
		return "1.20.1"
	}
	return "2.0.0"
}

// Version is the scenario's Flink line.
func (s *Sim) Version() scenario.Version { return s.sc.FlinkVersion }

// FlinkRevision is the commit id the cluster reports.
func (s *Sim) FlinkRevision() string {
	return "flinktune-sim @ " + s.start.Format("2006-01-02T15:04:05Z")
}

// ClusterView is GET /overview.
type ClusterView struct {
	TaskManagers, SlotsTotal, SlotsAvailable             int
	JobsRunning, JobsFinished, JobsCancelled, JobsFailed int
}

// Cluster summarizes the cluster.
func (s *Sim) Cluster() ClusterView {
	total, free := s.slotTotals()
	c := ClusterView{TaskManagers: len(s.tms), SlotsTotal: total, SlotsAvailable: free}
	for _, j := range s.jobs {
		switch j.status {
		case StatusFailed:
			c.JobsFailed++
		case StatusCanceled:
			c.JobsCancelled++
		default:
			c.JobsRunning++
		}
	}
	return c
}

// TaskManagerView is one registered TaskManager.
type TaskManagerView struct {
	ID, Path, Host string
	DataPort       int
	LastHeartbeat  int64 // epoch ms
	Slots, Free    int
	Memory         memory.TaskManager
	// Allocated lists the job id of every allocated slot.
	Allocated []string
	// Metrics as of the last MetricFetcher refresh (nil before the first refresh after it
	// registered).
	Metrics *TaskManagerMetrics
}

// TaskManagers lists the registered TaskManagers in registration order.
func (s *Sim) TaskManagers() []TaskManagerView {
	out := make([]TaskManagerView, 0, len(s.tms))
	for _, tm := range s.tms {
		out = append(out, s.tmView(tm))
	}
	return out
}

// TaskManager returns one TaskManager by id.
func (s *Sim) TaskManager(id string) (TaskManagerView, bool) {
	tm := s.tmByID(id)
	if tm == nil {
		return TaskManagerView{}, false
	}
	return s.tmView(tm), true
}

func (s *Sim) tmView(tm *taskManager) TaskManagerView {
	v := TaskManagerView{
		ID: tm.id, Host: tm.host, DataPort: tm.dataPort,
		Path:  fmt.Sprintf("pekko.tcp://flink@%s:6122/user/rpc/taskmanager_0", tm.host),
		Slots: len(tm.slots), Free: tm.freeSlots(), Memory: *tm.mem,
		LastHeartbeat: s.now.Add(-time.Duration(tm.n%10) * time.Second).UnixMilli(),
	}
	v.Memory.Sources, v.Memory.Steps = nil, nil
	for _, sl := range tm.slots {
		if sl.job != nil {
			v.Allocated = append(v.Allocated, sl.job.id)
		}
	}
	if m := s.published.tms[tm.id]; m != nil {
		c := *m
		v.Metrics = &c
	}
	return v
}

// JobView is a job as GET /jobs/{id} shows it (live state; metrics as of the last refresh).
type JobView struct {
	ID, Name, Status string
	StartTime        int64 // epoch ms
	EndTime          int64 // −1 while not terminal
	Now              int64
	MaxParallelism   int // the job's pipeline.max-parallelism, −1 if unset
	Timestamps       map[string]int64
	Vertices         []VertexView
	Adaptive         bool
	Reactive         bool
	SchedulerState   string
	Attempt          int
	TaskState        string
	LastModification int64
	// Execution timing (epoch ms, 0 without an execution): deployed, done deploying (state
	// restore starts), running.
	DeployedAt, RestoreAt, RunningAt int64
}

// VertexView is one job vertex.
type VertexView struct {
	ID, ScenarioID, Name string
	SlotSharingGroupID   string
	SlotSharingGroup     string
	MaxParallelism       int
	Parallelism          int // current execution, else the last one, else configured
	Status               string
	StartTime            int64
	Inputs               []InputView
	Subtasks             []SubtaskView
	OperatorName         string // cleaned first-operator name (metric prefix)
	IsSource             bool
}

// InputView is one input edge.
type InputView struct {
	ID, Ship string
}

// SubtaskView is one subtask of the current execution.
type SubtaskView struct {
	Index         int
	Status        string
	Attempt       int
	Host          string
	Port          int
	TaskManagerID string
	StartTime     int64
	Metrics       SubtaskMetrics
}

// Jobs lists the jobs in scenario order.
func (s *Sim) Jobs() []JobView {
	out := make([]JobView, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, s.jobView(j))
	}
	return out
}

// Job returns one job by id.
func (s *Sim) Job(id string) (JobView, bool) {
	j := s.job(id)
	if j == nil {
		return JobView{}, false
	}
	return s.jobView(j), true
}

func (s *Sim) jobView(j *job) JobView {
	now := s.now.UnixMilli()
	v := JobView{
		ID: j.id, Name: j.name, Status: j.status, StartTime: j.startTime.UnixMilli(), EndTime: -1, Now: now,
		MaxParallelism: -1, Timestamps: map[string]int64{}, Adaptive: j.opts.Adaptive, Reactive: j.opts.Reactive,
		Attempt: j.attempt, TaskState: j.taskState(s.now),
	}
	if mp, ok, _ := j.cfg.Int(flinkconf.PipelineMaxParallelism); ok && mp > 0 {
		v.MaxParallelism = int(mp)
	}
	if !j.endTime.IsZero() {
		v.EndTime = j.endTime.UnixMilli()
	}
	for _, st := range JobStatuses {
		v.Timestamps[st] = j.timestamps[st]
	}
	for _, t := range j.timestamps {
		v.LastModification = max(v.LastModification, t)
	}
	if j.sched != nil {
		v.SchedulerState = j.sched.State().String()
	}
	if ex := j.exec; ex != nil {
		v.DeployedAt, v.RestoreAt, v.RunningAt = ex.deployed.UnixMilli(), ex.baseDone.UnixMilli(), ex.initDone.UnixMilli()
	}
	var pub [][]SubtaskMetrics
	if s.published != nil && j.idx < len(s.published.jobs) {
		pub = s.published.jobs[j.idx]
	}
	// Built at every simulated instant the job is asked about (simrest keeps it for that
	// instant's calls): the slices are sized up front (appending grew them by copying, most
	// of the simulator's garbage); nil when empty, as before.
	if len(j.vs) > 0 {
		v.Vertices = make([]VertexView, 0, len(j.vs))
	}
	for vi, x := range j.vs {
		vv := VertexView{
			ID: x.id, ScenarioID: x.sv.ID, Name: x.sv.Name, SlotSharingGroupID: x.ssgID, SlotSharingGroup: x.sv.SlotSharingGroup,
			MaxParallelism: x.maxP, Parallelism: x.p, Status: v.TaskState, OperatorName: x.opName, IsSource: x.src != nil,
		}
		if vv.Parallelism == 0 {
			if p, ok := j.lastP[x.sv.ID]; ok {
				vv.Parallelism = p
			} else {
				vv.Parallelism = x.sv.Parallelism
			}
		}
		for _, e := range x.inputs {
			vv.Inputs = append(vv.Inputs, InputView{ID: j.vs[e.from].id, Ship: e.ship})
		}
		if j.exec != nil {
			vv.StartTime = j.exec.deployed.UnixMilli()
			if x.p > 0 {
				vv.Subtasks = make([]SubtaskView, 0, x.p)
			}
			for i := 0; i < x.p; i++ {
				tm := j.exec.placement[vi][i]
				sv := SubtaskView{Index: i, Status: v.TaskState, Attempt: j.exec.attempt - 1, StartTime: vv.StartTime}
				if tm != nil {
					sv.Host, sv.Port, sv.TaskManagerID = tm.host, tm.dataPort, tm.id
				}
				if pub != nil && vi < len(pub) && i < len(pub[vi]) {
					sv.Metrics = pub[vi][i]
					sv.Metrics.Partitions = slices.Clone(sv.Metrics.Partitions)
				}
				vv.Subtasks = append(vv.Subtasks, sv)
			}
		} else {
			vv.StartTime = -1
		}
		v.Vertices = append(v.Vertices, vv)
	}
	return v
}

// vertex finds a job's vertex by REST id.
func (j *job) vertexByRESTID(id string) (int, *vtx) {
	for i, v := range j.vs {
		if v.id == id {
			return i, v
		}
	}
	return -1, nil
}

// Metric is one metric with Flink's string rendering (Text) and its numeric value (NaN for a
// non-numeric gauge).
type Metric struct {
	ID    string
	Text  string
	Value float64
}

func longMetric(id string, v float64) Metric {
	return Metric{ID: id, Text: strconv.FormatInt(int64(v), 10), Value: math.Trunc(v)}
}

func doubleMetric(id string, v float64) Metric {
	return Metric{ID: id, Text: flinkconf.JavaDoubleString(v), Value: v}
}

func stringMetric(id, v string) Metric {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return Metric{ID: id, Text: v, Value: f}
	}
	return Metric{ID: id, Text: v, Value: math.NaN()}
}

func (s *Sim) filterMissing(ms []Metric) []Metric {
	return slices.DeleteFunc(ms, func(m Metric) bool { return s.MetricMissing(m.ID) })
}

// SubtaskMetricList lists one subtask's metrics (task scope bare, operator scope prefixed
// with the cleaned operator name) as of the last refresh. ok is false for an unknown job,
// vertex or subtask.
func (s *Sim) SubtaskMetricList(jobID, vertexID string, subtask int) ([]Metric, bool) {
	j := s.job(jobID)
	if j == nil {
		return nil, false
	}
	vi, v := j.vertexByRESTID(vertexID)
	if v == nil || subtask < 0 {
		return nil, false
	}
	pub := s.published.jobs[j.idx]
	if vi >= len(pub) || subtask >= len(pub[vi]) {
		if subtask < max(v.p, 1) {
			return nil, true // deployed after the last refresh: no metrics yet
		}
		return nil, false
	}
	m := &pub[vi][subtask]
	if !m.Running {
		return nil, true
	}
	op := v.opName
	in, out := m.RecordsIn, m.RecordsOut
	// A source task reads no network input: its task-scope input counters stay 0, the source
	// operator's count what it reads.
	taskIn, taskInRate := in, m.RecordsInRate
	if v.src != nil {
		taskIn, taskInRate = 0, 0
	}
	// Listed for every subtask of every metrics call: room for the source's partitions up
	// front (appending to the literal copied the list).
	ms := make([]Metric, 0, 25+2*len(m.Partitions))
	ms = append(ms,
		longMetric("numRecordsIn", taskIn),
		longMetric("numRecordsOut", out),
		doubleMetric("numRecordsInPerSecond", taskInRate),
		doubleMetric("numRecordsOutPerSecond", m.RecordsOutRate),
		longMetric("numBytesIn", math.Floor(taskIn*m.InRecordBytes)),
		longMetric("numBytesOut", math.Floor(out*m.OutRecordBytes)),
		doubleMetric("numBytesInPerSecond", taskInRate*m.InRecordBytes),
		doubleMetric("numBytesOutPerSecond", m.RecordsOutRate*m.OutRecordBytes),
		doubleMetric("busyTimeMsPerSecond", m.BusyMsPerSec),
		longMetric("idleTimeMsPerSecond", m.IdleMsPerSec),
		longMetric("backPressuredTimeMsPerSecond", m.BackPressuredMs),
		longMetric("softBackPressuredTimeMsPerSecond", 0),
		longMetric("hardBackPressuredTimeMsPerSecond", m.BackPressuredMs),
		longMetric("maxSoftBackPressureTime", 0),
		longMetric("maxHardBackPressureTime", math.Min(m.BackPressuredMs*5, 5000)),
		stringMetric("isBackPressured", strconv.FormatBool(m.BackPressuredMs > 500)),
		longMetric(op+".numRecordsIn", in),
		longMetric(op+".numRecordsOut", out),
		doubleMetric(op+".numRecordsInPerSecond", m.RecordsInRate),
		doubleMetric(op+".numRecordsOutPerSecond", m.RecordsOutRate),
		longMetric(op+".currentOutputWatermark", float64(m.Watermark)),
	)
	if v.src == nil {
		ms = append(ms, longMetric("currentInputWatermark", float64(m.Watermark)), longMetric(op+".currentInputWatermark", float64(m.Watermark)))
	} else {
		ms = append(ms, longMetric(op+".pendingRecords", float64(m.Pending)))
		for _, p := range m.Partitions {
			prefix := fmt.Sprintf("%s.KafkaSourceReader.topic.%s.partition.%d.", op, v.src.topic, p.Partition)
			ms = append(ms, longMetric(prefix+"currentOffset", float64(p.Current)), longMetric(prefix+"committedOffset", float64(p.Committed)))
		}
		if v.src.kafka {
			ms = append(ms, longMetric(op+".KafkaSourceReader.commitsSucceeded", float64(j.cpDone)), longMetric(op+".KafkaSourceReader.commitsFailed", 0))
		}
	}
	return s.filterMissing(ms), true
}

// TaskManagerMetricList lists a TaskManager's metrics as of the last refresh.
func (s *Sim) TaskManagerMetricList(id string) ([]Metric, bool) {
	tm := s.tmByID(id)
	if tm == nil {
		return nil, false
	}
	m := s.published.tms[id]
	if m == nil {
		return nil, true
	}
	young := m.GCCount - math.Floor(m.GCCount/50)
	youngT := m.GCTimeMs * 0.7
	ms := []Metric{
		longMetric("Status.JVM.Memory.Heap.Used", m.HeapUsed),
		longMetric("Status.JVM.Memory.Heap.Committed", m.HeapCommitted),
		longMetric("Status.JVM.Memory.Heap.Max", m.HeapMax),
		longMetric("Status.JVM.Memory.NonHeap.Used", m.NonHeapUsed),
		longMetric("Status.JVM.Memory.NonHeap.Committed", m.NonHeapCommitted),
		longMetric("Status.JVM.Memory.NonHeap.Max", m.NonHeapMax),
		longMetric("Status.JVM.Memory.Metaspace.Used", m.MetaspaceUsed),
		longMetric("Status.JVM.Memory.Metaspace.Committed", m.MetaspaceUsed+4<<20),
		longMetric("Status.JVM.Memory.Metaspace.Max", m.MetaspaceMax),
		longMetric("Status.JVM.Memory.Direct.Count", m.DirectCount),
		longMetric("Status.JVM.Memory.Direct.MemoryUsed", m.DirectUsed),
		longMetric("Status.JVM.Memory.Direct.TotalCapacity", m.DirectUsed),
		longMetric("Status.JVM.Memory.Mapped.Count", 0),
		longMetric("Status.JVM.Memory.Mapped.MemoryUsed", 0),
		longMetric("Status.JVM.Memory.Mapped.TotalCapacity", 0),
		longMetric("Status.JVM.GarbageCollector.G1_Young_Generation.Count", young),
		longMetric("Status.JVM.GarbageCollector.G1_Young_Generation.Time", math.Floor(youngT)),
		longMetric("Status.JVM.GarbageCollector.G1_Old_Generation.Count", m.GCCount-young),
		longMetric("Status.JVM.GarbageCollector.G1_Old_Generation.Time", math.Floor(m.GCTimeMs-youngT)),
		longMetric("Status.Flink.Memory.Managed.Used", m.ManagedUsed),
		longMetric("Status.Flink.Memory.Managed.Total", m.ManagedTotal),
		longMetric("Status.Shuffle.Netty.TotalMemorySegments", m.NetworkTotalSegments),
		longMetric("Status.Shuffle.Netty.UsedMemorySegments", m.NetworkUsedSegments),
		longMetric("Status.Shuffle.Netty.AvailableMemorySegments", m.NetworkTotalSegments-m.NetworkUsedSegments),
		longMetric("Status.Shuffle.Netty.TotalMemory", m.NetworkTotalBytes),
		longMetric("Status.Shuffle.Netty.UsedMemory", m.NetworkUsedBytes),
		longMetric("Status.Shuffle.Netty.AvailableMemory", m.NetworkTotalBytes-m.NetworkUsedBytes),
		doubleMetric("Status.Shuffle.Netty.RequestedMemoryUsage", math.Round(m.NetworkUsedSegments/math.Max(1, m.NetworkTotalSegments)*100)),
		doubleMetric("Status.JVM.CPU.Load", m.CPULoad),
		longMetric("Status.JVM.CPU.Time", float64(s.now.Sub(tm.registered).Milliseconds())*m.CPULoad*1e6),
		longMetric("Status.JVM.Threads.Count", m.Threads),
		longMetric("Status.JVM.ClassLoader.ClassesLoaded", 9000+m.MetaspaceUsed/(12<<10)),
		longMetric("Status.JVM.ClassLoader.ClassesUnloaded", 0),
	}
	if s.version >= adaptive.V119 {
		ms = append(ms,
			doubleMetric("Status.JVM.GarbageCollector.G1_Young_Generation.TimeMsPerSecond", m.GCMsPerSecond*0.7),
			doubleMetric("Status.JVM.GarbageCollector.G1_Old_Generation.TimeMsPerSecond", m.GCMsPerSecond*0.3),
			longMetric("Status.JVM.GarbageCollector.All.Count", m.GCCount),
			longMetric("Status.JVM.GarbageCollector.All.Time", m.GCTimeMs),
			doubleMetric("Status.JVM.GarbageCollector.All.TimeMsPerSecond", m.GCMsPerSecond),
		)
	}
	return s.filterMissing(ms), true
}

// JobManagerMetricList lists the JobManager's metrics as of the last refresh.
func (s *Sim) JobManagerMetricList() []Metric {
	m := s.published.clu
	ms := []Metric{
		longMetric("taskSlotsTotal", float64(m.SlotsTotal)),
		longMetric("taskSlotsAvailable", float64(m.SlotsAvailable)),
		longMetric("numRegisteredTaskManagers", float64(m.RegisteredTMs)),
		longMetric("numPendingTaskManagers", float64(m.PendingTMs)),
		longMetric("numRunningJobs", float64(m.RunningJobs)),
		longMetric("Status.JVM.Memory.Heap.Used", m.HeapUsed),
		longMetric("Status.JVM.Memory.Heap.Committed", m.HeapComm),
		longMetric("Status.JVM.Memory.Heap.Max", m.HeapMax),
		longMetric("Status.JVM.Memory.Metaspace.Used", m.MetaspaceUsed),
		longMetric("Status.JVM.Memory.Metaspace.Max", float64(s.jmMem.JVMMetaspace)),
		doubleMetric("Status.JVM.CPU.Load", m.CPULoad),
	}
	if s.version >= adaptive.V119 {
		// Real JobManagers report it (recorded from 1.20.5 and 2.2.1); the simulator does not
		// model JobManager garbage collection, so it is always 0.
		ms = append(ms, doubleMetric("Status.JVM.GarbageCollector.All.TimeMsPerSecond", 0))
	}
	return s.filterMissing(ms)
}

// JobMetricList lists a job's JobManager-side metrics as of the last refresh.
func (s *Sim) JobMetricList(jobID string) ([]Metric, bool) {
	j := s.job(jobID)
	if j == nil {
		return nil, false
	}
	m := s.published.jm[j.idx]
	ms := []Metric{
		longMetric("numRestarts", float64(m.NumRestarts)),
		longMetric("numberOfCompletedCheckpoints", float64(m.CompletedCheckpoints)),
		longMetric("numberOfFailedCheckpoints", float64(m.FailedCheckpoints)),
		longMetric("numberOfInProgressCheckpoints", float64(m.InProgressCheckpoints)),
		longMetric("totalNumberOfCheckpoints", float64(m.TotalCheckpoints)),
		longMetric("lastCheckpointDuration", float64(m.LastCheckpointDuration)),
		longMetric("lastCheckpointSize", float64(m.LastCheckpointSize)),
		longMetric("lastCheckpointFullSize", float64(m.LastCheckpointFullSize)),
		longMetric("lastCompletedCheckpointId", float64(m.LastCompletedCheckpointID)),
		longMetric("lastCheckpointRestoreTimestamp", float64(m.LastCheckpointRestore)),
		longMetric("lastCheckpointCompletedTimestamp", float64(m.LastCheckpointCompleted)),
		stringMetric("lastCheckpointExternalPath", m.LastCheckpointExternalPath),
		longMetric("runningTime", float64(m.RunningTime)),
		longMetric("restartingTime", float64(m.RestartingTime)),
		longMetric("uptime", float64(m.Uptime)),
		longMetric("downtime", float64(m.Downtime)),
	}
	return s.filterMissing(ms), true
}

// CheckpointView is one checkpoint's statistics.
type CheckpointView struct {
	ID               int64
	Status           string // IN_PROGRESS, COMPLETED, FAILED
	TriggerTimestamp int64
	LatestAck        int64
	StateSize        int64
	CheckpointedSize int64
	Duration         int64 // end-to-end ms (so far, while in progress)
	NumSubtasks      int
	NumAcknowledged  int
	ExternalPath     string
	FailureMessage   string
	FailureTimestamp int64
	// Vertices maps REST vertex id → subtasks of that vertex.
	Vertices map[string]int
}

// CheckpointsView is GET /jobs/{id}/checkpoints.
type CheckpointsView struct {
	Restored, Total, InProgress, Completed, Failed int64
	History                                        []CheckpointView // newest first
	LatestCompleted, LatestFailed                  *CheckpointView
	RestoredID                                     int64
	RestoreTimestamp                               int64
	RestoredPath                                   string
	HasRestored                                    bool
	// CompletedHistory are the completed checkpoints in the history (for summaries).
	Interval time.Duration
	Timeout  time.Duration
	MinPause time.Duration
}

// Checkpoints returns the job's checkpoint statistics.
func (s *Sim) Checkpoints(jobID string) (CheckpointsView, bool) {
	j := s.job(jobID)
	if j == nil {
		return CheckpointsView{}, false
	}
	v := CheckpointsView{Restored: j.cpRestored, Total: j.cpTotal, Completed: j.cpDone, Failed: j.cpFailed,
		Interval: j.cpInt, Timeout: j.cpTO, MinPause: j.cpMin}
	if j.cpRunning != nil {
		v.InProgress = 1
	}
	for _, cp := range j.cpHistory {
		v.History = append(v.History, s.cpView(j, cp))
	}
	if j.latest != nil && j.cpDone > 0 {
		c := s.cpView(j, j.latest)
		v.LatestCompleted = &c
	}
	if j.latestFail != nil {
		c := s.cpView(j, j.latestFail)
		v.LatestFailed = &c
	}
	if j.restored != nil {
		v.HasRestored, v.RestoredID, v.RestoreTimestamp, v.RestoredPath = true, j.restored.id, j.restored.at.UnixMilli(), j.restored.path
	}
	return v, true
}

func (s *Sim) cpView(j *job, cp *checkpoint) CheckpointView {
	v := CheckpointView{ID: cp.id, Status: cp.status, TriggerTimestamp: cp.trigger.UnixMilli(), StateSize: cp.stateSize,
		CheckpointedSize: cp.checkpointed, NumSubtasks: cp.numSubtasks, Vertices: map[string]int{}}
	for i, n := range cp.perVertex {
		if i < len(j.vs) {
			v.Vertices[j.vs[i].id] = n
		}
	}
	switch cp.status {
	case "COMPLETED":
		v.LatestAck = cp.ack.UnixMilli()
		v.Duration = cp.completeAt.Sub(cp.trigger).Milliseconds()
		v.NumAcknowledged = cp.numSubtasks
		v.ExternalPath = checkpointPath(j.id, cp.id)
	case "FAILED":
		v.FailureMessage = cp.failure
		v.FailureTimestamp = cp.failedAt.UnixMilli()
		v.Duration = cp.failedAt.Sub(cp.trigger).Milliseconds()
		v.LatestAck = cp.trigger.UnixMilli()
	default:
		el := s.now.Sub(cp.trigger)
		total := cp.completeAt.Sub(cp.trigger)
		v.Duration = el.Milliseconds()
		if total > 0 {
			v.NumAcknowledged = int(float64(cp.numSubtasks) * math.Min(1, float64(el)/float64(total)))
		}
		v.LatestAck = s.now.UnixMilli()
	}
	return v
}

// Exceptions returns the job's failure history, newest first.
func (s *Sim) Exceptions(jobID string) ([]ExceptionEntry, bool) {
	j := s.job(jobID)
	if j == nil {
		return nil, false
	}
	return slices.Clone(j.exceptions), true
}

// SchedulerInfo describes a job's scheduler for diagnostics (state, phase, options).
type SchedulerInfo struct {
	State   string
	Phase   string
	Options adaptive.Options
}

// Scheduler returns the job's scheduler state.
func (s *Sim) Scheduler(jobID string) (SchedulerInfo, bool) {
	j := s.job(jobID)
	if j == nil {
		return SchedulerInfo{}, false
	}
	si := SchedulerInfo{Options: j.opts, State: "down"}
	if j.sched != nil {
		si.State, si.Phase = j.sched.State().String(), j.sched.Phase()
	}
	return si, true
}

// JobSummary is a one-line status of a job for the CLI.
type JobSummary struct {
	ID, Name, Status, TaskState string
	Parallelism                 map[string]int // scenario vertex id → parallelism
	LagRecords                  int64
	LagSeconds                  float64
	InputRate                   float64
	Slots                       int
}

// Summary returns one status line's worth of data per job.
func (s *Sim) Summary() []JobSummary {
	var out []JobSummary
	for _, j := range s.jobs {
		js := JobSummary{ID: j.id, Name: j.name, Status: j.status, TaskState: j.taskState(s.now), Parallelism: map[string]int{}, Slots: j.heldSlots()}
		for _, v := range j.vs {
			js.Parallelism[v.sv.ID] = v.p
		}
		for _, vi := range j.srcs {
			js.LagRecords += j.vs[vi].src.lag()
			js.InputRate += j.vs[vi].src.rate
		}
		js.LagSeconds = j.lagSeconds()
		out = append(out, js)
	}
	return out
}
