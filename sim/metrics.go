package sim

import (
	"math"
	"time"
)

// Metric semantics (flink-rest-api.md §6, §7):
//
//   - numRecordsIn/OutPerSecond are MeterViews: every 5 s the counter is sampled into a ring of
//     13 samples and the rate is the difference over the last 60 s (so a fresh task's rate
//     ramps up over its first minute, as in Flink).
//   - idleTimeMsPerSecond and backPressuredTimeMsPerSecond are TimerGauges: the time spent in
//     the last 5 s window, per second, as whole milliseconds; busyTimeMsPerSecond is
//     1000 − min(idle + back-pressured, 1000). (Flink 1.20 and 2.x average these over 60 s;
//     not modelled yet because both policies read them: sim/CALIBRATION.md §2.)
//   - The REST API serves values as of the JobManager's last MetricFetcher refresh, every
//     metrics.fetcher.update-interval (10 s) on a fixed grid from the start — stale by up to one
//     interval like real Flink. Counters are cumulative since the task started.
//   - Seeded noise is added to the published gauges and rates (never to counters), derived
//     statelessly from (seed, refresh number, entity), so REST traffic never changes a run.

// updateViews is Flink's MetricRegistry view update (every 5 s).
func (j *job) updateViews() {
	for _, v := range j.vs {
		for i := range v.sub {
			st := &v.sub[i]
			if !st.running {
				continue
			}
			st.inRing[st.ringPos] = st.in
			st.outRing[st.ringPos] = st.out
			st.ringPos = (st.ringPos + 1) % ringLen
			st.bpWindow = st.bpMs - st.bpAtView
			st.bpAtView = st.bpMs
			st.idleWind = st.idleMs - st.idleAtView
			st.idleAtView = st.idleMs
		}
	}
}

// meterRate is the MeterView rate after the last update.
func meterRate(ring *[ringLen]float64, pos int) float64 {
	newest := ring[(pos+ringLen-1)%ringLen]
	return (newest - ring[pos]) / meterSpan.Seconds()
}

// timerGauge is a TimerGauge value: ms in the last 5 s window per second, whole, 0..1000.
func timerGauge(window float64) float64 {
	return math.Max(0, math.Min(1000, math.Floor(window/viewInterval.Seconds())))
}

// SubtaskMetrics is one subtask's metric values as of the last MetricFetcher refresh.
type SubtaskMetrics struct {
	Running        bool
	RecordsIn      float64 // numRecordsIn (counter)
	RecordsOut     float64 // numRecordsOut (counter)
	RecordsInRate  float64 // numRecordsInPerSecond
	RecordsOutRate float64 // numRecordsOutPerSecond
	// InRecordBytes and OutRecordBytes are the serialized sizes of a record read and written
	// (numBytesIn/numBytesOut per record): the scenario's recordBytes of the inputs and the vertex.
	InRecordBytes, OutRecordBytes float64
	BusyMsPerSec                  float64
	IdleMsPerSec                  float64
	BackPressuredMs               float64 // backPressuredTimeMsPerSecond
	AccBusyMs                     float64 // accumulated-busy-time
	AccIdleMs                     float64
	AccBackPressMs                float64
	Pending                       int64 // pendingRecords (sources)
	Partitions                    []PartitionOffsets
	Watermark                     int64
	StartedAt                     int64 // epoch ms the task started running
}

// PartitionOffsets are a source partition's Kafka gauges on its owning subtask.
type PartitionOffsets struct {
	Partition int
	Current   int64
	Committed int64
}

// TaskManagerMetrics are a TaskManager's JVM and Flink memory metrics at the last refresh.
type TaskManagerMetrics struct {
	HeapUsed, HeapCommitted, HeapMax          float64
	NonHeapUsed, NonHeapCommitted, NonHeapMax float64
	MetaspaceUsed, MetaspaceMax               float64
	DirectCount, DirectUsed, DirectMax        float64
	ManagedUsed, ManagedTotal                 float64
	GCCount, GCTimeMs, GCMsPerSecond          float64
	NetworkTotalSegments, NetworkUsedSegments float64
	NetworkTotalBytes, NetworkUsedBytes       float64
	CPULoad                                   float64
	Threads                                   float64
}

// JobManagerMetrics are the JobManager's gauges at the last refresh.
type JobManagerMetrics struct {
	SlotsTotal, SlotsAvailable  int
	RegisteredTMs, PendingTMs   int
	RunningJobs                 int
	HeapUsed, HeapMax, HeapComm float64
	MetaspaceUsed               float64
	CPULoad                     float64
}

// JobMetrics are a job's JobManager-side gauges at the last refresh.
type JobMetrics struct {
	NumRestarts                 int
	CompletedCheckpoints        int64
	FailedCheckpoints           int64
	InProgressCheckpoints       int64
	TotalCheckpoints            int64
	LastCheckpointDuration      int64
	LastCheckpointSize          int64
	LastCheckpointFullSize      int64
	LastCompletedCheckpointID   int64
	LastCheckpointRestore       int64
	LastCheckpointCompleted     int64
	LastCheckpointExternalPath  string
	RunningTime, RestartingTime int64
	Uptime, Downtime            int64
	Status                      string
}

type published struct {
	at   time.Time
	seq  uint64
	jobs [][][]SubtaskMetrics // [job][vertex][subtask]
	jm   []JobMetrics
	tms  map[string]*TaskManagerMetrics
	clu  JobManagerMetrics
}

// publish is the MetricFetcher refresh: it snapshots every metric the REST API serves.
func (s *Sim) publish() {
	s.fetchSeq++
	if s.published == nil {
		s.published = &published{tms: map[string]*TaskManagerMetrics{}}
	}
	p := s.published
	p.at, p.seq = s.now, s.fetchSeq
	for len(p.jobs) < len(s.jobs) {
		p.jobs = append(p.jobs, nil)
		p.jm = append(p.jm, JobMetrics{})
	}
	for ji, j := range s.jobs {
		// Watermarks trail processing time by a few seconds plus the lag in time.
		lagMs := 0.0
		for _, si := range j.srcs {
			src := j.vs[si].src
			lagMs = math.Max(lagMs, float64(src.lag())/math.Max(src.trueRate, 1)*1000)
		}
		wm := s.now.UnixMilli() - 2000 - int64(lagMs)
		for len(p.jobs[ji]) < len(j.vs) {
			p.jobs[ji] = append(p.jobs[ji], nil)
		}
		for vi, v := range j.vs {
			subs := p.jobs[ji][vi]
			if cap(subs) < v.p {
				subs = make([]SubtaskMetrics, v.p)
			}
			subs = subs[:v.p]
			for i := range subs {
				s.publishSubtask(j, ji, v, vi, i, wm, &subs[i])
			}
			p.jobs[ji][vi] = subs
		}
		p.jm[ji] = j.jobMetrics(s.now)
	}
	// TaskManagers: drop the gone, refresh the present.
	alive := map[string]bool{}
	for _, tm := range s.tms {
		alive[tm.id] = true
		m := p.tms[tm.id]
		if m == nil {
			m = &TaskManagerMetrics{}
			p.tms[tm.id] = m
		}
		s.publishTM(tm, m)
	}
	for id := range p.tms {
		if !alive[id] {
			delete(p.tms, id)
		}
	}
	total, free := s.slotTotals()
	running := 0
	for _, j := range s.jobs {
		if j.status == StatusRunning {
			running++
		}
	}
	heapMax := float64(s.jmMem.JVMHeap)
	p.clu = JobManagerMetrics{
		SlotsTotal: total, SlotsAvailable: free, RegisteredTMs: len(s.tms), PendingTMs: len(s.pending),
		RunningJobs: running,
		HeapMax:     heapMax, HeapComm: heapMax,
		HeapUsed:      math.Round(heapMax * (0.18 + 0.04*s.noise(noiseKey(0xa, 0, 0, 0)))),
		MetaspaceUsed: 72 << 20,
		CPULoad:       math.Max(0, 0.02+0.005*s.noise(noiseKey(0xb, 0, 0, 0))),
	}
}

func (s *Sim) publishSubtask(j *job, ji int, v *vtx, vi, i int, wm int64, out *SubtaskMetrics) {
	st := &v.sub[i]
	parts := out.Partitions[:0]
	*out = SubtaskMetrics{Running: st.running && j.processing(), StartedAt: st.startedAt}
	if v.src != nil && v.src.kafka && st.running {
		for k, o := range v.src.owner {
			if o == i {
				parts = append(parts, PartitionOffsets{Partition: k, Current: v.src.pos[k], Committed: v.src.committed[k]})
			}
		}
	}
	out.Partitions = parts
	if !st.running {
		return
	}
	out.RecordsIn = math.Floor(st.in)
	out.RecordsOut = math.Floor(st.out)
	out.InRecordBytes, out.OutRecordBytes = j.inRecordBytes(v), float64(v.sv.OutRecordBytes())
	key := func(kind uint64) uint64 { return noiseKey(kind, uint64(ji), uint64(vi), uint64(i)) }
	out.RecordsInRate = math.Max(0, meterRate(&st.inRing, st.ringPos)*(1+0.01*s.noise(key(1))))
	out.RecordsOutRate = math.Max(0, meterRate(&st.outRing, st.ringPos)*(1+0.01*s.noise(key(2))))
	idle := timerGauge(st.idleWind)
	bp := timerGauge(st.bpWindow)
	if idle > 0 && idle < 1000 {
		idle = math.Max(0, math.Min(1000, idle+math.Round(8*s.noise(key(3)))))
	}
	if bp > 0 && bp < 1000 {
		bp = math.Max(0, math.Min(1000-idle, bp+math.Round(8*s.noise(key(4)))))
	}
	out.IdleMsPerSec, out.BackPressuredMs = idle, bp
	out.BusyMsPerSec = 1000 - math.Min(idle+bp, 1000)
	out.AccBusyMs, out.AccIdleMs, out.AccBackPressMs = math.Floor(st.busyMs), math.Floor(st.idleMs), math.Floor(st.bpMs)
	if v.src != nil {
		out.Pending = v.src.pending(i, v.p)
	}
	out.Watermark = wm
}

func (s *Sim) publishTM(tm *taskManager, m *TaskManagerMetrics) {
	heapMax := float64(tm.mem.JVMHeap())
	key := func(kind uint64) uint64 { return noiseKey(kind, uint64(tm.n), 0xffff, 0) }
	*m = TaskManagerMetrics{
		HeapUsed: math.Round(tm.heapUsed), HeapCommitted: heapMax, HeapMax: heapMax,
		MetaspaceUsed: math.Round(tm.metaspace), MetaspaceMax: float64(tm.mem.JVMMetaspace),
		DirectCount: 1024 + float64(tm.netTotal), DirectUsed: math.Round(tm.directUsed), DirectMax: float64(tm.mem.JVMDirect()),
		ManagedUsed: math.Round(tm.managedUsed), ManagedTotal: float64(tm.mem.Managed),
		GCCount: math.Floor(tm.gcCount), GCTimeMs: math.Floor(tm.gcTimeMs),
		GCMsPerSecond:        math.Max(0, math.Round(tm.gcMsPerSec*(1+0.05*s.noise(key(5)))*10)/10),
		NetworkTotalSegments: float64(tm.netTotal), NetworkUsedSegments: float64(min(tm.netRequired, tm.netTotal)),
		CPULoad: math.Max(0, math.Min(1, cpuLoad(tm)+0.01*s.noise(key(6)))),
		Threads: float64(60 + 12*len(tm.hosted)),
	}
	seg := float64(tm.mem.Network) / math.Max(1, float64(tm.netTotal))
	m.NetworkTotalBytes = m.NetworkTotalSegments * seg
	m.NetworkUsedBytes = m.NetworkUsedSegments * seg
	m.NonHeapUsed = m.MetaspaceUsed + 48<<20
	m.NonHeapCommitted = m.NonHeapUsed + 8<<20
	m.NonHeapMax = -1
}

func cpuLoad(tm *taskManager) float64 {
	busy := 0.0
	for _, h := range tm.hosted {
		busy += h.j.vs[h.v].sub[h.sub].busyNow
	}
	return math.Min(1, 0.01+busy/math.Max(1, tm.mem.CPUCores))
}

func (j *job) jobMetrics(now time.Time) JobMetrics {
	m := JobMetrics{
		NumRestarts: j.numRestart, CompletedCheckpoints: j.cpDone, FailedCheckpoints: j.cpFailed,
		TotalCheckpoints: j.cpTotal, Status: j.status,
		LastCheckpointDuration: -1, LastCheckpointSize: -1, LastCheckpointFullSize: -1,
		LastCompletedCheckpointID: -1, LastCheckpointRestore: -1, LastCheckpointCompleted: -1,
		LastCheckpointExternalPath: "n/a",
	}
	if j.cpRunning != nil {
		m.InProgressCheckpoints = 1
	}
	if cp := j.latest; cp != nil && j.cpDone > 0 {
		m.LastCheckpointDuration = cp.completeAt.Sub(cp.trigger).Milliseconds()
		m.LastCheckpointSize = cp.checkpointed
		m.LastCheckpointFullSize = cp.stateSize
		m.LastCompletedCheckpointID = cp.id
		m.LastCheckpointCompleted = cp.completeAt.UnixMilli()
		m.LastCheckpointExternalPath = checkpointPath(j.id, cp.id)
	}
	if j.restored != nil {
		m.LastCheckpointRestore = j.restored.at.UnixMilli()
	}
	if j.status == StatusRunning {
		m.RunningTime = now.UnixMilli() - j.timestamps[StatusRunning]
		m.Uptime = m.RunningTime
	}
	if j.status == StatusRestarting {
		m.RestartingTime = now.UnixMilli() - j.timestamps[StatusRestarting]
		m.Downtime = m.RestartingTime
	}
	return m
}

// Stateless noise: a hash of (seed, refresh, key) → an approximately standard normal value
// (Irwin–Hall sum of four uniforms, scaled to unit variance).
func noiseKey(kind, a, b, c uint64) uint64 {
	return kind*0x9E3779B97F4A7C15 ^ a*0xBF58476D1CE4E5B9 ^ b*0x94D049BB133111EB ^ c*0xD6E8FEB86659FD93
}

func (s *Sim) noise(key uint64) float64 {
	x := splitmix(s.seed ^ splitmix(s.fetchSeq^splitmix(key)))
	sum := 0.0
	for k := 0; k < 4; k++ {
		sum += float64(x&0xffff) / 65536
		x >>= 16
	}
	return (sum - 2) * math.Sqrt(3)
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

// inRecordBytes is the size of a record v reads: its inputs' record sizes, averaged (a union of
// inputs with different sizes is rare; the mean keeps numBytesIn in their range).
func (j *job) inRecordBytes(v *vtx) float64 {
	if len(v.inputs) == 0 {
		return float64(v.sv.OutRecordBytes())
	}
	sum := 0.0
	for _, e := range v.inputs {
		sum += float64(j.vs[e.from].sv.OutRecordBytes())
	}
	return sum / float64(len(v.inputs))
}
