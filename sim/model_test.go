package sim

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
)

func newSim(t *testing.T, yaml string) *Sim {
	t.Helper()
	sc, err := scenario.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func metric(t *testing.T, ms []Metric, id string) float64 {
	t.Helper()
	for _, m := range ms {
		if m.ID == id {
			return m.Value
		}
	}
	t.Fatalf("metric %s not found", id)
	return 0
}

func hasMetric(ms []Metric, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

const memYAML = `
duration: 1h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 1
    taskmanager.memory.process.size: 2g
%s
  taskManagers: {initial: 1, min: 1, max: 1, startupDelay: 5s}
jobs:
  - config: {execution.checkpointing.interval: 10s}
    restart: {base: 2s}
    vertices:
      - {id: src, capacity: 100000}
      - {id: agg, capacity: 100000, state: {bytes: %s}, heap: {base: 16m, perRecordPerSecond: %s}, inputs: [{from: src, ship: HASH}]}
    load: [{source: src, at: 0s, rate: 10000, noise: 0}]
`

func memSim(t *testing.T, extraConfig, state, perRecord string) *Sim {
	return newSim(t, strings.Replace(strings.Replace(strings.Replace(memYAML, "%s", extraConfig, 1), "%s", state, 1), "%s", perRecord, 1))
}

// TestHeapOOMKillsTaskManager: hashmap state beyond the heap kills the TaskManager with
// java.lang.OutOfMemoryError; the job restarts (and keeps failing on the same configuration).
func TestHeapOOMKillsTaskManager(t *testing.T) {
	s := memSim(t, "", "3g", "0") // 1.5g on heap (fraction 0.5) > 665.6 MiB JVM heap
	s.AdvanceTo(s.Start().Add(2 * time.Minute))
	id := s.JobIDs()[0]
	st, _ := s.Stats(id)
	if st.OOMKills == 0 || st.Failures == 0 || st.Restarts == 0 {
		t.Fatalf("no OOM: %+v", st)
	}
	ex, _ := s.Exceptions(id)
	if len(ex) == 0 || ex[0].Exception != "java.lang.OutOfMemoryError: Java heap space" {
		t.Errorf("exceptions %+v", ex)
	}
}

// TestGCTimeRisesWithHeapOccupancy: the same load on a fuller heap spends more time in GC,
// and GC steals capacity.
func TestGCTimeRisesWithHeapOccupancy(t *testing.T) {
	gc := func(state string) (gcMs, heapRatio float64) {
		s := memSim(t, "", state, "0")
		s.AdvanceTo(s.Start().Add(3 * time.Minute))
		tms := s.TaskManagers()
		if len(tms) != 1 || tms[0].Metrics == nil {
			t.Fatalf("%+v", tms)
		}
		ms, _ := s.TaskManagerMetricList(tms[0].ID)
		return metric(t, ms, "Status.JVM.GarbageCollector.All.TimeMsPerSecond"), metric(t, ms, "Status.JVM.Memory.Heap.Used") / metric(t, ms, "Status.JVM.Memory.Heap.Max")
	}
	low, lowRatio := gc("0")
	mid, midRatio := gc("800m")
	high, highRatio := gc("1050m")
	if !(lowRatio < midRatio && midRatio < highRatio && highRatio < 1) {
		t.Fatalf("heap ratios %.2f %.2f %.2f", lowRatio, midRatio, highRatio)
	}
	if !(low < mid && mid < high) || high < 10*low {
		t.Errorf("GC ms/s %.1f %.1f %.1f: want steeply rising with occupancy", low, mid, high)
	}
	t.Logf("GC ms/s %.1f @%.0f%%, %.1f @%.0f%%, %.1f @%.0f%%", low, lowRatio*100, mid, midRatio*100, high, highRatio*100)
}

// TestMetaspaceOOM: the job's classes do not fit the metaspace limit.
func TestMetaspaceOOM(t *testing.T) {
	s := memSim(t, "    taskmanager.memory.jvm-metaspace.size: 100m", "0", "0") // 40m framework + 96m job
	s.AdvanceTo(s.Start().Add(time.Minute))
	id := s.JobIDs()[0]
	ex, _ := s.Exceptions(id)
	if len(ex) == 0 || !strings.HasPrefix(ex[0].Exception, "java.lang.OutOfMemoryError: Metaspace") {
		t.Errorf("exceptions %+v", ex)
	}
}

// TestContainerKillOverProcessLimit: with off-heap, metaspace and JVM overhead squeezed, the
// native memory no longer fits the process size and the container is killed.
func TestContainerKillOverProcessLimit(t *testing.T) {
	tight := "    taskmanager.memory.managed.size: 0\n    taskmanager.memory.jvm-metaspace.size: 150m\n    taskmanager.memory.framework.off-heap.size: 32m\n    taskmanager.memory.jvm-overhead.min: 32m\n    taskmanager.memory.jvm-overhead.max: 32m"
	s := memSim(t, tight, "0", "0")
	s.AdvanceTo(s.Start().Add(time.Minute))
	if s.containerKills == 0 {
		t.Fatal("no container kill")
	}
	st, _ := s.Stats(s.JobIDs()[0])
	if st.ContainerKills == 0 || st.Failures == 0 {
		t.Errorf("%+v", st)
	}
	// The default overhead fits.
	ok := memSim(t, "", "0", "0")
	ok.AdvanceTo(ok.Start().Add(time.Minute))
	if ok.containerKills != 0 || ok.oomKills != 0 {
		t.Errorf("default configuration killed: %d %d", ok.containerKills, ok.oomKills)
	}
}

// TestHeapGrowsWithThroughput: heap.perRecordPerSecond makes live heap follow the input rate.
func TestHeapGrowsWithThroughput(t *testing.T) {
	s := memSim(t, "", "0", "20k") // 10000 r/s × 20 KiB = ~195 MiB
	s.AdvanceTo(s.Start().Add(2 * time.Minute))
	tm := s.tms[0]
	want := float64(frameworkHeapUsed) + 2*16<<20 + 10000*20*1024
	if math.Abs(tm.liveHeap-want)/want > 0.05 {
		t.Errorf("live heap %.0f MiB, want ≈ %.0f MiB", tm.liveHeap/(1<<20), want/(1<<20))
	}
}

// TestRocksDBFillsManagedMemory: RocksDB state goes to managed memory, not the heap.
func TestRocksDBFillsManagedMemory(t *testing.T) {
	s := memSim(t, "    state.backend.type: rocksdb", "3g", "0")
	s.AdvanceTo(s.Start().Add(2 * time.Minute))
	ms, _ := s.TaskManagerMetricList(s.tms[0].id)
	used, total := metric(t, ms, "Status.Flink.Memory.Managed.Used"), metric(t, ms, "Status.Flink.Memory.Managed.Total")
	if used != total || total != float64(s.tmMem.Managed) {
		t.Errorf("managed used %v of %v", used, total)
	}
	if s.oomKills != 0 {
		t.Error("RocksDB state must not fill the heap")
	}
}

// TestSetTaskManagerConfig rolls TaskManagers onto a new configuration: new TaskManagers with
// the new memory, one restart, downtime covering the start-up delay; an invalid configuration
// changes nothing.
func TestSetTaskManagerConfig(t *testing.T) {
	s := memSim(t, "", "0", "0")
	s.AdvanceTo(s.Start().Add(2 * time.Minute))
	id := s.JobIDs()[0]
	before, _ := s.Stats(id)
	oldTM := s.TaskManagers()[0]
	bad := flinkconf.FromMap(map[string]string{"taskmanager.memory.process.size": "2g", "taskmanager.memory.task.heap.size": "3g"})
	if err := s.SetTaskManagerConfig(bad); err == nil {
		t.Fatal("invalid configuration accepted")
	}
	if s.TaskManagers()[0].ID != oldTM.ID || s.tmMem.TotalProcess != 2<<30 {
		t.Fatal("a failed SetTaskManagerConfig changed the cluster")
	}
	cfg := s.TaskManagerConfig()
	cfg.Set("taskmanager.memory.process.size", "3g")
	cfg.Set("taskmanager.numberOfTaskSlots", "2")
	if err := s.SetTaskManagerConfig(cfg); err != nil {
		t.Fatal(err)
	}
	s.AdvanceTo(s.Start().Add(4 * time.Minute))
	tms := s.TaskManagers()
	if len(tms) != 1 || tms[0].ID == oldTM.ID || tms[0].Memory.TotalProcess != 3<<30 || tms[0].Slots != 2 {
		t.Fatalf("TaskManagers after the roll-out: %+v", tms)
	}
	after, _ := s.Stats(id)
	if after.TaskManagerConfigChanges != 1 || after.Restarts != before.Restarts+1 || after.DowntimeSeconds < before.DowntimeSeconds+5 {
		t.Errorf("before %+v\nafter %+v", before, after)
	}
	j, _ := s.Job(id)
	if j.Status != StatusRunning || j.TaskState != TaskRunning {
		t.Errorf("job %s/%s after the roll-out", j.Status, j.TaskState)
	}
}

// TestNetworkBufferShortage: too little network memory fails the deployment with Flink's
// "Insufficient number of network buffers".
func TestNetworkBufferShortage(t *testing.T) {
	y := `
duration: 1h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 4
    taskmanager.memory.process.size: 4g
    taskmanager.memory.network.min: 1m
    taskmanager.memory.network.max: 1m
  taskManagers: {initial: 1, min: 1, max: 1}
jobs:
  - config: {execution.checkpointing.interval: 10s}
    restart: {base: 2s}
    vertices:
      - {id: a, parallelism: 4, capacity: 1000}
      - {id: b, parallelism: 4, capacity: 1000, inputs: [{from: a, ship: HASH}]}
    load: [{source: a, at: 0s, rate: 10}]
`
	s := newSim(t, y)
	s.AdvanceTo(s.Start().Add(time.Minute))
	ex, _ := s.Exceptions(s.JobIDs()[0])
	if len(ex) == 0 || !strings.HasPrefix(ex[0].Exception, "java.io.IOException: Insufficient number of network buffers: required") {
		t.Fatalf("exceptions %+v", ex)
	}
}

const flowYAML = `
duration: 2h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 4, taskmanager.memory.process.size: 4g}
  taskManagers: {initial: 1}
jobs:
  - name: j
    config: {execution.checkpointing.interval: 30s, pipeline.max-parallelism: 128}
    restart: {base: 1s}
    vertices:
      - {id: src, name: "Source: events", parallelism: 4, capacity: 100000, partitions: 3}
      - {id: agg, name: "Window(agg)", parallelism: 4, capacity: 1000, keySkew: %s, inputs: [{from: src, ship: HASH}]}
    load: [{source: src, at: 0s, rate: %s, noise: 0}]
`

// TestKeySkewBoundsThroughput: with skewed keys, the subtask owning the hottest key groups
// saturates first and limits the vertex; the REST busy-time skew shows it.
func TestKeySkewBoundsThroughput(t *testing.T) {
	run := func(skew string) (processedRate, maxBusy, minBusy float64) {
		s := newSim(t, strings.Replace(strings.Replace(flowYAML, "%s", skew, 1), "%s", "3800", 1))
		s.AdvanceTo(s.Start().Add(10 * time.Minute))
		before, _ := s.Stats(s.JobIDs()[0])
		s.AdvanceTo(s.Start().Add(20 * time.Minute))
		after, _ := s.Stats(s.JobIDs()[0])
		maxBusy, minBusy = 0, 1000
		for i := range 4 {
			ms, _ := s.SubtaskMetricList(s.JobIDs()[0], VertexID("j", "agg"), i)
			b := metric(t, ms, "busyTimeMsPerSecond")
			maxBusy, minBusy = math.Max(maxBusy, b), math.Min(minBusy, b)
		}
		return float64(after.ProcessedRecords-before.ProcessedRecords) / 600, maxBusy, minBusy
	}
	uniRate, uniMax, _ := run("0")
	skewRate, skewMax, skewMin := run("1.2")
	if uniRate < 3700 {
		t.Errorf("uniform keys: %.0f r/s processed, want the full 3800", uniRate)
	}
	if skewRate > 0.8*uniRate || skewMax < 990 || skewMin > 0.7*skewMax {
		t.Errorf("skewed keys: %.0f r/s, busy max %.0f min %.0f (uniform %.0f r/s, busy %.0f)", skewRate, skewMax, skewMin, uniRate, uniMax)
	}
}

// TestSourcePartitions: 3 partitions over 4 readers leave one reader idle; partition gauges
// are reported only by their owners (the Kafka enumerator's assignment), pendingRecords per
// subtask sums its partitions' lag.
func TestSourcePartitions(t *testing.T) {
	s := newSim(t, strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "3000", 1))
	s.AdvanceTo(s.Start().Add(5 * time.Minute))
	id, vid := s.JobIDs()[0], VertexID("j", "src")
	owners := map[int]int{}
	idle := 0
	for i := range 4 {
		ms, _ := s.SubtaskMetricList(id, vid, i)
		n := 0
		for _, m := range ms {
			if strings.HasPrefix(m.ID, "Source__events.KafkaSourceReader.topic.src.partition.") && strings.HasSuffix(m.ID, ".currentOffset") {
				n++
				owners[i]++
			}
		}
		if n == 0 {
			idle++
			if b := metric(t, ms, "busyTimeMsPerSecond"); b != 0 {
				t.Errorf("reader %d without partitions is busy %.0f", i, b)
			}
		}
		if !hasMetric(ms, "Source__events.pendingRecords") {
			t.Errorf("reader %d has no pendingRecords", i)
		}
	}
	total := 0
	for _, n := range owners {
		total += n
	}
	if idle != 1 || total != 3 {
		t.Errorf("owners %v, idle %d", owners, idle)
	}
	// The owner of partition k at parallelism 4 is the Kafka enumerator's.
	for k := range 3 {
		o := kafkaSplitOwner("src", k, 4)
		ms, _ := s.SubtaskMetricList(id, vid, o)
		if !hasMetric(ms, "Source__events.KafkaSourceReader.topic.src.partition."+itoa(k)+".currentOffset") {
			t.Errorf("partition %d not on subtask %d", k, o)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestKafkaSplitOwner(t *testing.T) {
	// "orders".hashCode() = -1008770331; ((h * 31) & 0x7FFFFFFF) % 4 = 3.
	if h := javaStringHash("orders"); h != -1008770331 {
		t.Fatalf("hashCode %d", h)
	}
	want := []int{3, 0, 1, 2, 3, 0}
	for k, w := range want {
		if got := kafkaSplitOwner("orders", k, 4); got != w {
			t.Errorf("partition %d → %d, want %d", k, got, w)
		}
	}
}

// TestMetricSemantics: busy + idle + back-pressured = 1000 ms/s; REST values change only at
// MetricFetcher refreshes (every 10 s); record rates are 60 s MeterViews that ramp up after a
// (re)start; counters are cumulative.
func TestMetricSemantics(t *testing.T) {
	s := newSim(t, strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "2000", 1))
	id, vid := s.JobIDs()[0], VertexID("j", "agg")
	j, _ := s.Job(id)
	start := time.UnixMilli(j.RunningAt)
	read := func() []Metric {
		ms, _ := s.SubtaskMetricList(id, vid, 0)
		return ms
	}
	s.AdvanceTo(start.Add(31 * time.Second))
	rate30 := metric(t, read(), "numRecordsInPerSecond")
	s.AdvanceTo(start.Add(3 * time.Minute))
	rate := metric(t, read(), "numRecordsInPerSecond")
	perSubtask := 2000.0 / 4
	if math.Abs(rate-perSubtask)/perSubtask > 0.1 {
		t.Errorf("steady rate %.0f, want ≈ %.0f", rate, perSubtask)
	}
	if rate30 > 0.7*rate || rate30 < 0.2*rate {
		t.Errorf("rate 30 s after start %.0f: want a MeterView ramp (≈ half of %.0f)", rate30, rate)
	}
	ms := read()
	b, i, bp := metric(t, ms, "busyTimeMsPerSecond"), metric(t, ms, "idleTimeMsPerSecond"), metric(t, ms, "backPressuredTimeMsPerSecond")
	if b+i+bp != 1000 || b < 400 || b > 600 {
		t.Errorf("busy %v idle %v bp %v", b, i, bp)
	}
	// Stale between refreshes: the fetcher refreshed at 3 min (a 10 s grid); 5 s later the
	// counters have moved in the model but not in REST.
	in1 := metric(t, read(), "numRecordsIn")
	s.AdvanceTo(s.Now().Add(5 * time.Second))
	if in2 := metric(t, read(), "numRecordsIn"); in2 != in1 {
		t.Errorf("numRecordsIn moved between refreshes: %v → %v", in1, in2)
	}
	s.AdvanceTo(s.Now().Add(5 * time.Second))
	if in3 := metric(t, read(), "numRecordsIn"); in3 <= in1 {
		t.Errorf("numRecordsIn did not move after the refresh: %v → %v", in1, in3)
	}
}

// TestReplayAfterFailure: a failure rewinds the sources to the last completed checkpoint;
// what was read since is read again, and input = processed + lag holds throughout.
func TestReplayAfterFailure(t *testing.T) {
	y := strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "2000", 1) + "faults: [{at: 615s, kill: taskmanager}]\n"
	s := newSim(t, y)
	id := s.JobIDs()[0]
	s.AdvanceTo(s.Start().Add(10*time.Minute + 14*time.Second))
	before, _ := s.Stats(id)
	s.Step()
	after, _ := s.Stats(id)
	if after.ReplayedRecords != 0 {
		t.Fatal("replayed before the restart")
	}
	s.AdvanceTo(s.Start().Add(12 * time.Minute))
	st, _ := s.Stats(id)
	// Checkpoints every 30 s: between 0 and 30 s of input are replayed.
	if st.ReplayedRecords <= 0 || st.ReplayedRecords > 31*2000 {
		t.Errorf("replayed %d records", st.ReplayedRecords)
	}
	if st.InputRecords != st.ProcessedRecords+st.FinalLagRecords || before.Failures != 0 || st.Failures != 1 {
		t.Errorf("%+v", st)
	}
	cp, _ := s.Checkpoints(id)
	if !cp.HasRestored || cp.Restored != 1 {
		t.Errorf("restored %+v", cp)
	}
}

// TestMinimalSlots: the minimal parallelism is the smallest p whose capacity (efficiency,
// skew, partitions) covers the true rate.
func TestMinimalSlots(t *testing.T) {
	s := newSim(t, strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "2500", 1))
	j := s.jobs[0]
	agg := j.vs[j.byID["agg"]]
	// 2500 r/s over key groups of 128: p=3 owns 43/43/42 groups → hottest 43/128 × 2500 = 840 ≤ 1000.
	if p := agg.minCap.minParallelism(2500); p != 3 {
		t.Errorf("agg minimal p %d, want 3", p)
	}
	if p := agg.minCap.minParallelism(1000); p != 1 {
		t.Errorf("agg minimal p %d at 1000 r/s, want 1", p)
	}
	src := j.vs[j.byID["src"]]
	// 3 partitions: beyond 3 readers nothing helps; at 2 readers the hottest owns 2 of 3.
	if p := src.minCap.minParallelism(1e9); p != 128 {
		t.Errorf("unreachable rate: %d, want max parallelism", p)
	}
	if c1, c3 := src.minCap.capacity(1), src.minCap.capacity(3); c1 != 100000 || c3 != 300000 || src.minCap.capacity(4) != c3 {
		t.Errorf("source capacities %v %v %v", c1, c3, src.minCap.capacity(4))
	}
	s.AdvanceTo(s.Start().Add(time.Minute))
	st, _ := s.Stats(j.id)
	// One slot sharing group: max(1 for the source, 3 for agg) = 3 slots per second.
	if st.MinimalSlotSeconds != 3*60 {
		t.Errorf("minimal slot-seconds %v, want 180", st.MinimalSlotSeconds)
	}
}

// TestJobManagerFailover: REST is unavailable while the JobManager is down; the job restores
// from its latest checkpoint on the new JobManager and its resource requirements survive.
func TestJobManagerFailover(t *testing.T) {
	y := strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "2000", 1) + "faults: [{at: 10m, kill: jobmanager, for: 20s}]\n"
	s := newSim(t, y)
	id := s.JobIDs()[0]
	s.AdvanceTo(s.Start().Add(time.Minute))
	req, _ := s.Requirements(id)
	for vid, b := range req {
		b.Upper = 2
		req[vid] = b
	}
	if _, err := s.SetRequirements(id, req); err != nil {
		t.Fatal(err)
	}
	s.AdvanceTo(s.Start().Add(10*time.Minute + 10*time.Second))
	if !s.JobManagerDown() {
		t.Fatal("JobManager up during the fault")
	}
	if mode, rate, _ := s.RESTFault(); mode != "unavailable" || rate != 1 {
		t.Errorf("REST during the outage: %s %v", mode, rate)
	}
	if _, err := s.SetRequirements(id, req); err != ErrJobManagerDown {
		t.Errorf("PUT while down: %v", err)
	}
	s.AdvanceTo(s.Start().Add(12 * time.Minute))
	j, _ := s.Job(id)
	if s.JobManagerDown() || j.Status != StatusRunning || j.TaskState != TaskRunning {
		t.Fatalf("after recovery: down %v, %s/%s", s.JobManagerDown(), j.Status, j.TaskState)
	}
	after, _ := s.Requirements(id)
	for vid, b := range after {
		if b.Upper != 2 {
			t.Errorf("requirements of %s did not survive: %+v", vid, b)
		}
	}
	for _, v := range j.Vertices {
		if v.Parallelism != 2 {
			t.Errorf("%s parallelism %d after failover, want 2", v.ScenarioID, v.Parallelism)
		}
	}
	cp, _ := s.Checkpoints(id)
	st, _ := s.Stats(id)
	if !cp.HasRestored || st.ReplayedRecords == 0 || st.InputRecords != st.ProcessedRecords+st.FinalLagRecords {
		t.Errorf("restore: %+v %+v", cp, st)
	}
}

func TestCancel(t *testing.T) {
	s := newSim(t, strings.Replace(strings.Replace(flowYAML, "%s", "0", 1), "%s", "2000", 1))
	id := s.JobIDs()[0]
	s.AdvanceTo(s.Start().Add(time.Minute))
	if err := s.Cancel(id); err != nil {
		t.Fatal(err)
	}
	s.AdvanceTo(s.Start().Add(3 * time.Minute))
	j, _ := s.Job(id)
	c := s.Cluster()
	if j.Status != StatusCanceled || j.EndTime <= 0 || c.SlotsAvailable != c.SlotsTotal || c.JobsCancelled != 1 {
		t.Errorf("after cancel: %s end %d, cluster %+v", j.Status, j.EndTime, c)
	}
	if err := s.Cancel("nope"); err != ErrJobNotFound {
		t.Errorf("unknown job: %v", err)
	}
}

// TestCheckpointExpiryFailsOver: a checkpoint that outlives execution.checkpointing.timeout
// fails; beyond tolerable-failed-checkpoints (default 0) the job fails over.
func TestCheckpointExpiryFailsOver(t *testing.T) {
	y := `
duration: 1h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2, state.backend.type: rocksdb}
  taskManagers: {initial: 1}
jobs:
  - config: {execution.checkpointing.interval: 10s, execution.checkpointing.timeout: 2s}
    restart: {base: 1s, restoreRate: 500m}
    vertices:
      - {id: s, capacity: 1000, state: {bytes: 1g}}
    load: [{source: s, at: 0s, rate: 10}]
`
	s := newSim(t, y)
	id := s.JobIDs()[0]
	s.AdvanceTo(s.Start().Add(15 * time.Second))
	cp, _ := s.Checkpoints(id)
	if cp.Failed != 1 || cp.LatestFailed == nil || cp.LatestFailed.FailureMessage != "Checkpoint expired before completing." {
		t.Fatalf("checkpoints %+v", cp)
	}
	ex, _ := s.Exceptions(id)
	st, _ := s.Stats(id)
	if len(ex) != 1 || !strings.Contains(ex[0].Exception, "Exceeded checkpoint tolerable failure threshold") || st.Failures != 1 {
		t.Errorf("exceptions %+v, failures %d", ex, st.Failures)
	}
}
