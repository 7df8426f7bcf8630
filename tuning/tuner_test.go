package tuning

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// job is a synthetic job for the tuner: a config and a source -hash-> agg -forward-> sink
// topology in one slot sharing group.
type job struct {
	cfg    map[string]string
	layout map[string]int
}

func newJob(cfg map[string]string, p int) *job {
	base := map[string]string{"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4",
		"jobmanager.memory.process.size": "1600m"}
	maps.Copy(base, cfg)
	return &job{cfg: base, layout: map[string]int{"src": p, "agg": p, "sink": p}}
}

// usage is what the TaskManagers and the JobManager report in one sample.
type usage struct {
	heap, heapMax, meta, managed, gcMs float64
	jmHeap, jmMeta                     float64
	exceptions                         []autoscaler.JobException
	status                             string
}

func (j *job) snap(at time.Time, u usage) *autoscaler.Snapshot {
	status := u.status
	if status == "" {
		status = "RUNNING"
	}
	v := func(id string, in ...autoscaler.Edge) autoscaler.Vertex {
		return autoscaler.Vertex{ID: id, Name: id, Parallelism: j.layout[id], MaxParallelism: 128, SlotSharingGroup: "default", Inputs: in,
			Metrics: map[string]autoscaler.Aggregate{busyMetric: {Avg: 250}}}
	}
	s := &autoscaler.Snapshot{Time: at, JobID: "job", Status: status, FlinkVersion: "1.20.1", Config: maps.Clone(j.cfg),
		Vertices: []autoscaler.Vertex{v("src"), v("agg", autoscaler.Edge{From: "src", Ship: autoscaler.ShipHash}),
			v("sink", autoscaler.Edge{From: "agg", Ship: autoscaler.ShipForward})},
		TaskManagerMetrics: map[string]autoscaler.Aggregate{}, JobManagerMetrics: map[string]float64{},
		Exceptions: u.exceptions, NumRestarts: 0}
	set := func(name string, v float64) {
		if v > 0 {
			s.TaskManagerMetrics[name] = autoscaler.Aggregate{Min: v * 0.8, Max: v, Avg: v * 0.9, Sum: math.NaN(), Skew: math.NaN()}
		}
	}
	set(MetricHeapUsed, u.heap)
	set(MetricHeapMax, u.heapMax)
	set(MetricMetaspaceUsed, u.meta)
	if u.managed >= 0 {
		s.TaskManagerMetrics[MetricManagedUsed] = autoscaler.Aggregate{Max: u.managed, Avg: u.managed}
	}
	s.TaskManagerMetrics[MetricGCTimePerSecond] = autoscaler.Aggregate{Max: u.gcMs, Avg: u.gcMs}
	if u.jmHeap > 0 {
		s.JobManagerMetrics[MetricHeapUsed] = u.jmHeap
		s.JobManagerMetrics[MetricMetaspaceUsed] = u.jmMeta
	}
	return s
}

const gib = 1 << 30

// observe feeds the tuner n samples 10 s apart from start; heap follows a sawtooth between
// live and live + 300 MiB.
func (j *job) observe(tu *Tuner, start time.Time, n int, live float64, u usage) *autoscaler.Snapshot {
	var s *autoscaler.Snapshot
	for i := range n {
		x := u
		x.heap = live + float64(i%6)*60*mib
		if x.heapMax == 0 {
			x.heapMax = 1.5 * gib
		}
		if x.meta == 0 {
			x.meta = 120 * mib
		}
		s = j.snap(start.Add(time.Duration(i)*10*time.Second), x)
		tu.Observe(s)
	}
	return s
}

// rederive checks a recommendation's contract: the overrides applied to the original
// configuration derive, through the memory model, to Proposed, never above the original.
func rederive(t *testing.T, rec *Recommendation, orig map[string]string) *memory.TaskManager {
	t.Helper()
	cfg := flinkconf.FromMap(orig)
	for _, k := range rec.Removals {
		cfg.Delete(k)
	}
	for k, v := range rec.Overrides {
		cfg.Set(k, v)
	}
	tm, err := memory.DeriveTaskManager(cfg, nil, memory.Flink1)
	if err != nil {
		t.Fatalf("overrides do not derive: %v\n%v", err, rec.Overrides)
	}
	if PoolsOf(tm) != PoolsOf(rec.Proposed) {
		t.Fatalf("overrides derive to %+v, Proposed %+v", PoolsOf(tm), PoolsOf(rec.Proposed))
	}
	o, err := memory.DeriveTaskManager(flinkconf.FromMap(orig), nil, memory.Flink1)
	if err != nil {
		t.Fatal(err)
	}
	if tm.TotalProcess > o.TotalProcess {
		t.Fatalf("proposed process %d above the original %d", tm.TotalProcess, o.TotalProcess)
	}
	if _, err := memory.DeriveJobManager(cfg, nil, memory.Flink1); err != nil {
		t.Fatalf("JobManager overrides do not derive: %v", err)
	}
	return tm
}

func poolOf(rec *Recommendation, name string) PoolChange {
	for _, p := range rec.Pools {
		if p.Pool == name {
			return p
		}
	}
	return PoolChange{}
}

func saysEvidence(rec *Recommendation, pool, text string) bool {
	for _, e := range rec.Evidence {
		if e.Pool == pool && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func TestRecommendHashmapJob(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 200, 600*mib, usage{managed: 0, jmHeap: 200 * mib, jmMeta: 80 * mib})
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := rederive(t, rec, j.cfg)
	if tm.Managed != 0 {
		t.Errorf("hashmap job keeps %d managed", tm.Managed)
	}
	// Heap: P98 of interval peaks (900 MiB, bucket end ≈ 0.92-0.96 GiB) × 1.15, at most the
	// live set (the lowest sample per interval, 600 MiB) × 1.5.
	if tm.JVMHeap() < 900*mib || tm.JVMHeap() > 1.15*960*mib+mib {
		t.Errorf("heap %d MiB", tm.JVMHeap()>>20)
	}
	margin := 1 + DefaultOptions().Margin
	if tm.JVMMetaspace != roundUpMiB(int64(math.Ceil(120*mib*margin))) {
		t.Errorf("metaspace %d", tm.JVMMetaspace)
	}
	if tm.Network != rec.Network.Bytes || tm.Network > 64*mib {
		t.Errorf("network %d (plan %d)", tm.Network, rec.Network.Bytes)
	}
	if !rec.Worthwhile || rec.Safety || !strings.Contains(rec.Reason, "saves") {
		t.Errorf("worthwhile %v safety %v: %s", rec.Worthwhile, rec.Safety, rec.Reason)
	}
	if rec.Apply {
		t.Error("dry run by default")
	}
	if p := poolOf(rec, "process"); p.Limit != 4*gib || p.Current != 4*gib || p.Proposed != tm.TotalProcess {
		t.Errorf("process pool %+v", p)
	}
	for _, k := range []string{"taskmanager.memory.process.size", "taskmanager.memory.task.heap.size", "taskmanager.memory.managed.size",
		"taskmanager.memory.network.min", "taskmanager.memory.network.max", "taskmanager.memory.jvm-metaspace.size",
		"jobmanager.memory.heap.size", "jobmanager.memory.process.size"} {
		if _, ok := rec.Overrides[k]; !ok {
			t.Errorf("override %s missing: %v", k, rec.Overrides)
		}
	}
	if !saysEvidence(rec, PoolHeap, "P98") || !saysEvidence(rec, PoolNetwork, "operator's formula") || !saysEvidence(rec, PoolManaged, "hashmap") {
		t.Errorf("evidence %+v", rec.Evidence)
	}
	// JobManager: heap from its gauge, never above its original process size.
	jr := rec.JobManager
	if jr == nil || !jr.Changed || jr.Proposed.JVMHeap < minJMHeap || jr.Proposed.TotalProcess > jr.Original.TotalProcess {
		t.Fatalf("JobManager %+v", jr)
	}
	if jr.Proposed.JVMHeap != roundUpMiB(int64(math.Ceil(bucketEnd(200*mib)*margin))) {
		t.Errorf("JobManager heap %d", jr.Proposed.JVMHeap)
	}
	// The report renders.
	if s := rec.Summary(); !strings.Contains(s, "taskmanager.memory.process.size: ") || !strings.Contains(s, "worth applying") {
		t.Errorf("summary %s", s)
	}
	evs := rec.Events()
	if len(evs) != 1 || evs[0].Reason != ReasonRecommendation || evs[0].Key == "" {
		t.Errorf("events %+v", evs)
	}
	b, err := json.Marshal(rec)
	if err != nil || !strings.Contains(string(b), `"proposedProcessBytes":`) {
		t.Errorf("json %s %v", b, err)
	}
}

func bucketEnd(v float64) float64 { return bucketStart(findBucket(v) + 1) }

func TestNotEnoughObservationKeepsHeapAndMetaspace(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 30, 600*mib, usage{managed: 0}) // 5 minutes
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, rec, j.cfg)
	for _, pool := range []string{PoolHeap, PoolMetaspace} {
		if p := poolOf(rec, pool); p.Proposed != p.Current {
			t.Errorf("%s changed before min-observation: %+v", pool, p)
		}
	}
	// Managed memory unused with heap state is known at once; alone, the change waits for
	// the observation to cover heap and metaspace (one restart for all of the saving).
	if p := poolOf(rec, PoolManaged); p.Proposed != 0 {
		t.Errorf("managed %+v", p)
	}
	if rec.Worthwhile || !strings.Contains(rec.Reason, "min-observation") {
		t.Errorf("worthwhile %v: %s", rec.Worthwhile, rec.Reason)
	}
	// With a rescale the restart happens anyway: the saving is worth it now.
	withRescale, err := tu.Recommend(snap, map[string]int{"src": 10, "agg": 10, "sink": 10})
	if err != nil {
		t.Fatal(err)
	}
	if !withRescale.Worthwhile || !strings.Contains(withRescale.Reason, "with the rescale") {
		t.Errorf("with a rescale: worthwhile %v: %s", withRescale.Worthwhile, withRescale.Reason)
	}
}

func TestManagedMemoryByBackend(t *testing.T) {
	cases := []struct {
		name     string
		cfg      map[string]string
		managed  float64
		maximize bool
		check    func(t *testing.T, rec *Recommendation, tm *memory.TaskManager)
	}{
		{"rocksdb keeps", map[string]string{"state.backend.type": "rocksdb"}, 900 * mib, false, func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
			if tm.Managed != rec.Original.Managed {
				t.Errorf("managed %d, want the configured %d", tm.Managed, rec.Original.Managed)
			}
		}},
		{"rocksdb maximized", map[string]string{"state.backend.type": "rocksdb"}, 900 * mib, true, func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
			if tm.TotalProcess != rec.Original.TotalProcess || tm.Managed <= rec.Original.Managed {
				t.Errorf("maximize: process %d (limit %d) managed %d (was %d)", tm.TotalProcess, rec.Original.TotalProcess, tm.Managed, rec.Original.Managed)
			}
		}},
		{"rocksdb fixed per slot", map[string]string{"state.backend": "rocksdb", "taskmanager.memory.managed.size": "256m",
			"state.backend.rocksdb.memory.fixed-per-slot": "400m"}, 100 * mib, false, func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
			if tm.Managed != 4*400*mib {
				t.Errorf("managed %d, want 4 slots × 400m", tm.Managed)
			}
		}},
		{"rocksdb unmanaged, unused", map[string]string{"state.backend.type": "rocksdb", "state.backend.rocksdb.memory.managed": "false"}, 0, false,
			func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
				if tm.Managed != 0 {
					t.Errorf("managed %d", tm.Managed)
				}
			}},
		{"hashmap but used (batch operators)", nil, 50 * mib, true, func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
			if tm.Managed < rec.Original.Managed {
				t.Errorf("managed %d below configured %d although in use", tm.Managed, rec.Original.Managed)
			}
		}},
		{"hashmap, no gauge", nil, -1, false, func(t *testing.T, rec *Recommendation, tm *memory.TaskManager) {
			if tm.Managed != rec.Original.Managed {
				t.Errorf("managed %d without a gauge", tm.Managed)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(c.cfg, 8)
			o := DefaultOptions()
			o.MaximizeManaged = c.maximize
			tu := New(o)
			snap := j.observe(tu, t0, 120, 500*mib, usage{managed: c.managed})
			rec, err := tu.Recommend(snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, rec, rederive(t, rec, j.cfg))
		})
	}
}

func TestOutOfMemoryBumps(t *testing.T) {
	cases := []struct {
		exception autoscaler.JobException
		pool      string
		key       string
	}{
		{autoscaler.JobException{Name: "java.lang.OutOfMemoryError", Message: "Java heap space"}, PoolHeap, ""},
		{autoscaler.JobException{Name: "java.lang.OutOfMemoryError", Message: "Metaspace. The metaspace out-of-memory error has occurred."}, PoolMetaspace, "taskmanager.memory.jvm-metaspace.size"},
		{autoscaler.JobException{Name: "java.lang.OutOfMemoryError", Message: "Direct buffer memory"}, PoolTaskOffHeap, "taskmanager.memory.task.off-heap.size"},
		{autoscaler.JobException{Name: "java.io.IOException", Message: "Insufficient number of network buffers: required 65, but only 12 available."}, PoolNetwork, ""},
		{autoscaler.JobException{Name: "org.apache.flink.runtime.jobmaster.JobMasterException",
			Message: "TaskManager with id tm-1 is no longer reachable. (container exited with code 137: memory limit exceeded)"}, PoolOverhead, "taskmanager.memory.jvm-overhead.min"},
	}
	for _, c := range cases {
		t.Run(c.pool, func(t *testing.T) {
			j := newJob(nil, 8)
			tu := New(DefaultOptions())
			snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0})
			before, err := tu.Recommend(snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			e := c.exception
			e.Time = snap.Time.Add(5 * time.Second)
			// The failure arrives with the next snapshot; the same exception again changes nothing.
			for i := range 3 {
				s := j.snap(snap.Time.Add(time.Duration(10*(i+1))*time.Second), usage{heap: 800 * mib, heapMax: 1.5 * gib, meta: 120 * mib, exceptions: []autoscaler.JobException{e}})
				tu.Observe(s)
				snap = s
			}
			rec, err := tu.Recommend(snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			rederive(t, rec, j.cfg)
			cur := PoolsOf(rec.Current).get(c.pool)
			want := max(cur+oomMinBump, int64(float64(cur)*oomBumpRatio))
			if c.pool == PoolHeap {
				heapMax := 1.5 * gib
				want = max(want, int64(heapMax*oomBumpRatio))
			}
			got := PoolsOf(rec.Proposed).get(c.pool)
			if got < want {
				t.Errorf("%s %d after the failure, want ≥ %d (before: %d)", c.pool, got, want, PoolsOf(before.Proposed).get(c.pool))
			}
			if c.key != "" && rec.Overrides[c.key] == "" {
				t.Errorf("override %s missing: %v", c.key, rec.Overrides)
			}
			if !rec.Safety || !rec.Worthwhile {
				t.Errorf("a bump is a safety change: %s", rec.Reason)
			}
			if len(rec.Observed.Events) != 1 || rec.Observed.Events[0].Pool != c.pool {
				t.Errorf("events %+v", rec.Observed.Events)
			}
			if evs := rec.Events(); len(evs) != 2 || evs[1].Type != autoscaler.EventWarning {
				t.Errorf("events %+v", evs)
			}
			// The bump holds for bump.hold, then expires.
			late := j.snap(snap.Time.Add(25*time.Hour), usage{heap: 800 * mib, heapMax: 1.5 * gib, meta: 120 * mib})
			tu.Observe(late)
			if _, ok := tu.st.Floors[c.pool]; ok {
				t.Error("floor did not expire")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := map[string]string{
		"java.lang.OutOfMemoryError: Java heap space":                    "oom-heap",
		"java.lang.OutOfMemoryError: GC overhead limit exceeded":         "gc-overhead",
		"java.lang.OutOfMemoryError: Metaspace":                          "oom-metaspace",
		"java.lang.OutOfMemoryError: Direct buffer memory":               "oom-direct",
		"java.io.IOException: Insufficient number of network buffers: x": "network-buffers",
		"x: Container [pid=1] is running beyond physical memory limits":  "container-kill",
		"x: pod OOMKilled":                                                  "container-kill",
		"java.lang.Exception: Artificial failure":                           "",
		"org.apache.flink.util.FlinkException: Disconnect from JobManager.": "",
	}
	for text, want := range cases {
		name, msg, _ := strings.Cut(text, ": ")
		if got, _ := Classify(autoscaler.JobException{Name: name, Message: msg}); got != want {
			t.Errorf("%q: %q, want %q", text, got, want)
		}
	}
}

func TestRollbackAfterShrink(t *testing.T) {
	for _, within := range []bool{true, false} {
		j := newJob(nil, 8)
		tu := New(DefaultOptions())
		snap := j.observe(tu, t0, 200, 500*mib, usage{managed: 0})
		rec, err := tu.Recommend(snap, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Proposed.JVMHeap() >= rec.Current.JVMHeap() {
			t.Fatalf("no shrink to roll back: %d -> %d", rec.Current.JVMHeap(), rec.Proposed.JVMHeap())
		}
		tu.Applied(snap.Time, rec)
		before := rec.Current.JVMHeap()
		after := rec.Proposed.JVMHeap()
		at := snap.Time.Add(10 * time.Minute)
		if !within {
			at = snap.Time.Add(2 * time.Hour)
		}
		e := autoscaler.JobException{Time: at, Name: "java.lang.OutOfMemoryError", Message: "Java heap space"}
		s := j.snap(at.Add(time.Second), usage{heap: float64(after) * 0.99, heapMax: float64(after), meta: 120 * mib, exceptions: []autoscaler.JobException{e}})
		tu.Observe(s)
		rec2, err := tu.Recommend(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		rederive(t, rec2, j.cfg)
		if PoolsOf(rec2.Current).Heap != after {
			t.Fatalf("current heap %d, want the applied %d", PoolsOf(rec2.Current).Heap, after)
		}
		ev := rec2.Observed.Events[len(rec2.Observed.Events)-1]
		bump := max(after+oomMinBump, int64(float64(after)*oomBumpRatio))
		switch {
		case within && (!ev.Rollback || rec2.Proposed.JVMHeap() < before):
			t.Errorf("within the window: rollback %v, heap %d, want ≥ %d", ev.Rollback, rec2.Proposed.JVMHeap(), before)
		case !within && (ev.Rollback || rec2.Proposed.JVMHeap() < bump):
			t.Errorf("outside the window: rollback %v, heap %d, want ≥ %d", ev.Rollback, rec2.Proposed.JVMHeap(), bump)
		}
		if !rec2.Safety {
			t.Errorf("not a safety change: %s", rec2.Reason)
		}
	}
}

func TestGCPressureGrowsHeap(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0, gcMs: 5})
	calm, _ := tu.Recommend(snap, nil)
	if calm.Observed.GCPressure {
		t.Fatal("pressure at 0.5 %")
	}
	// Ten minutes at 250 ms/s.
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 60, 500*mib, usage{managed: 0, gcMs: 250})
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, rec, j.cfg)
	cur := rec.Current.JVMHeap()
	if !rec.Observed.GCPressure || rec.Proposed.JVMHeap() < int64(float64(max(cur, int64(1.5*gib)))*oomBumpRatio) || !rec.Safety {
		t.Errorf("GC pressure: heap %d (running %d), safety %v: %s", rec.Proposed.JVMHeap(), cur, rec.Safety, rec.Reason)
	}
	if !saysEvidence(rec, PoolHeap, "GC pressure") {
		t.Errorf("evidence %+v", rec.Evidence)
	}
	if n := len(rec.Observed.Events); n != 1 {
		t.Errorf("%d events for one episode", n)
	}
}

func TestLayoutExtrapolation(t *testing.T) {
	// One slot of four in use at p = 1: a rescale to 4 puts four times the subtasks on the
	// busiest TaskManager. Extrapolation asks for more heap but never beyond the initial heap.
	j := newJob(nil, 1)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 300*mib, usage{managed: 0})
	same, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	up, err := tu.Recommend(snap, map[string]int{"src": 4, "agg": 4, "sink": 4})
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, up, j.cfg)
	if up.Observed.LayoutFactor != 4 {
		t.Errorf("layout factor %v, want 4", up.Observed.LayoutFactor)
	}
	if up.Proposed.JVMHeap() <= same.Proposed.JVMHeap() || up.Proposed.JVMHeap() > roundUpMiB(max(up.Original.JVMHeap(), up.Current.JVMHeap())) {
		t.Errorf("extrapolated heap %d (same layout %d, initial %d)", up.Proposed.JVMHeap(), same.Proposed.JVMHeap(), up.Original.JVMHeap())
	}
	if up.Network.Required <= same.Network.Required {
		t.Errorf("network for the target %d ≤ running %d", up.Network.Required, same.Network.Required)
	}
	// A scale-down concentrates keyed state: p 8 -> 2 on 4-slot TaskManagers doubles the
	// busiest TaskManager's share (2/4 of the subtasks, each with 4× the state).
	keyed := map[string]bool{"a": true}
	if f := layoutFactor(map[string]int{"a": 8}, 4, map[string]int{"a": 2}, 4, keyed); f != 2 {
		t.Errorf("factor %v, want 2", f)
	}
	if f := layoutFactor(map[string]int{"a": 8, "b": 8}, 4, map[string]int{"a": 16, "b": 16}, 4, keyed); f != 1 {
		t.Errorf("scale-up of full TaskManagers: factor %v, want 1", f)
	}
	// Without keyed state a scale-in concentrates nothing: a source from 48 to 5 subtasks on
	// one-slot TaskManagers leaves the busiest TaskManager as it was.
	if f := layoutFactor(map[string]int{"src": 48, "a": 8}, 1, map[string]int{"src": 5, "a": 8}, 1, keyed); f != 1 {
		t.Errorf("scale-in of a source: factor %v, want 1", f)
	}
	if f := layoutFactor(map[string]int{"src": 2, "a": 8}, 4, map[string]int{"src": 8, "a": 8}, 4, keyed); f != 2 {
		t.Errorf("scale-out of a source to fill 4 slots from 2: factor %v, want 2", f)
	}

	// Once the job ran at p = 4, that layout's own evidence is used when going back to it.
	j4 := &job{cfg: j.cfg, layout: map[string]int{"src": 4, "agg": 4, "sink": 4}}
	snap4 := j4.observe(tu, snap.Time.Add(time.Minute), 120, 500*mib, usage{managed: 0})
	j1 := &job{cfg: j.cfg, layout: map[string]int{"src": 1, "agg": 1, "sink": 1}}
	snap1 := j1.observe(tu, snap4.Time.Add(time.Minute), 10, 300*mib, usage{managed: 0})
	back, err := tu.Recommend(snap1, j4.layout)
	if err != nil {
		t.Fatal(err)
	}
	if !saysEvidence(back, PoolHeap, "the target layout ran before") {
		t.Errorf("evidence %+v", back.Evidence)
	}
	if back.Proposed.JVMHeap() >= up.Proposed.JVMHeap() {
		t.Errorf("with evidence the heap is %d, extrapolated %d", back.Proposed.JVMHeap(), up.Proposed.JVMHeap())
	}
}

func TestHeapPeaksRestartWithTheHeapSize(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0, heapMax: 1.5 * gib})
	h := tu.heapOf(j.layout, tu.slotsPerTM())
	if h == nil || h.Peaks.Samples != 120 || h.Low.empty() {
		t.Fatalf("history %+v", h)
	}
	// A new heap size: peaks start over, the live-set history stays.
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 3, 500*mib, usage{managed: 0, heapMax: 1 * gib})
	if h.Peaks.Samples != 3 || h.Low.empty() {
		t.Errorf("after a heap change: %d samples, live set empty %v", h.Peaks.Samples, h.Low.empty())
	}
	rec, _ := tu.Recommend(snap, nil)
	if p := poolOf(rec, PoolHeap); p.Proposed < p.Current {
		t.Errorf("heap shrinks without evidence at the new size: %+v", p)
	}
}

func TestOriginalConfigDoesNotRatchet(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 200, 500*mib, usage{managed: 0})
	rec, _ := tu.Recommend(snap, nil)
	tu.Applied(snap.Time, rec)
	// The platform now reports the tuned values: the limits stay the original ones.
	tuned := &job{cfg: maps.Clone(j.cfg), layout: j.layout}
	maps.Copy(tuned.cfg, rec.Overrides)
	for _, k := range rec.Removals {
		delete(tuned.cfg, k)
	}
	snap = tuned.observe(tu, snap.Time.Add(10*time.Second), 200, 500*mib, usage{managed: 0, heapMax: float64(rec.Proposed.JVMHeap())})
	rec2, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec2.Original.TotalProcess != 4*gib || rec2.Current.TotalProcess != rec.Proposed.TotalProcess {
		t.Errorf("original %d current %d", rec2.Original.TotalProcess, rec2.Current.TotalProcess)
	}
	// A redeploy with new memory settings sets new limits.
	bigger := newJob(map[string]string{"taskmanager.memory.process.size": "8g"}, 8)
	snap = bigger.observe(tu, snap.Time.Add(10*time.Second), 3, 500*mib, usage{managed: 0})
	rec3, _ := tu.Recommend(snap, nil)
	if rec3.Original.TotalProcess != 8*gib || rec3.Current.TotalProcess != 8*gib {
		t.Errorf("after a redeploy: original %d current %d", rec3.Original.TotalProcess, rec3.Current.TotalProcess)
	}
}

func TestStateRoundTrip(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 150, 500*mib, usage{managed: 0, jmHeap: 150 * mib, jmMeta: 70 * mib,
		exceptions: []autoscaler.JobException{{Time: t0.Add(time.Minute), Name: "java.lang.OutOfMemoryError", Message: "Metaspace"}}})
	data, err := tu.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	restored := New(DefaultOptions())
	if err := restored.RestoreState(data); err != nil {
		t.Fatal(err)
	}
	a, _ := tu.Recommend(snap, nil)
	b, _ := restored.Recommend(snap, nil)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("recommendations differ after a state round trip:\n%s\n%s", ja, jb)
	}
	again, _ := restored.MarshalState()
	if string(again) != string(data) {
		t.Error("state differs after a round trip")
	}
	// Both continue identically.
	next := j.snap(snap.Time.Add(10*time.Second), usage{heap: 900 * mib, heapMax: 1.5 * gib, meta: 130 * mib})
	tu.Observe(next)
	restored.Observe(next)
	s1, _ := tu.MarshalState()
	s2, _ := restored.MarshalState()
	if string(s1) != string(s2) {
		t.Error("states diverge after the same snapshot")
	}
	if err := restored.RestoreState([]byte(`{"version": 99}`)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("unknown version: %v", err)
	}
	if err := restored.RestoreState([]byte(`{`)); err == nil {
		t.Error("bad JSON accepted")
	}
	if s3, _ := restored.MarshalState(); string(s3) != string(s2) {
		t.Error("a failed restore changed the state")
	}
}

func TestRecommendErrors(t *testing.T) {
	tu := New(DefaultOptions())
	if _, err := tu.Recommend(nil, nil); err == nil {
		t.Error("nil snapshot")
	}
	s := newJob(nil, 2).snap(t0, usage{})
	s.Config = nil
	if _, err := tu.Recommend(s, nil); err == nil || !strings.Contains(err.Error(), "configuration is unknown") {
		t.Errorf("no config: %v", err)
	}
	bad := newJob(map[string]string{"taskmanager.memory.process.size": "4x"}, 2).snap(t0, usage{})
	if _, err := New(DefaultOptions()).Recommend(bad, nil); err == nil || !strings.Contains(err.Error(), "does not derive") {
		t.Errorf("bad config: %v", err)
	}
}

func TestOverLimitProposesNothing(t *testing.T) {
	// A small TaskManager cannot hold the buffers of a wide all-to-all job at p = 600.
	j := newJob(map[string]string{"taskmanager.memory.process.size": "1g", "taskmanager.numberOfTaskSlots": "8"}, 4)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 100*mib, usage{managed: 0, heapMax: 300 * mib})
	rec, err := tu.Recommend(snap, map[string]int{"src": 600, "agg": 600, "sink": 600})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Overrides) != 0 || rec.Worthwhile || !strings.Contains(rec.Reason, "exceed the initial limit") {
		t.Errorf("overrides %v worthwhile %v: %s", rec.Overrides, rec.Worthwhile, rec.Reason)
	}
}

func TestSlotsAdvice(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0})
	// Each slot hosts three subtasks at 25 % busy: 0.75 cores per slot, 4 cores → 5 slots.
	rec, _ := tu.Recommend(snap, nil)
	if rec.Slots.CPUPerSlot != 0.75 || rec.Slots.ByCPU != 5 || rec.SlotsPerTaskManager != 5 {
		t.Errorf("slots %+v", rec.Slots)
	}
	// At twice the parallelism each subtask is half as busy; the job has 16 slots.
	rec, _ = tu.Recommend(snap, map[string]int{"src": 16, "agg": 16, "sink": 16})
	if rec.Slots.CPUPerSlot != 0.375 || rec.Slots.ByCPU != 10 || rec.Slots.JobSlots != 16 {
		t.Errorf("slots %+v", rec.Slots)
	}
	// A small job is no reason for smaller TaskManagers: p = 1 keeps the 4 slots.
	small := newJob(nil, 1)
	tuSmall := New(DefaultOptions())
	if r, _ := tuSmall.Recommend(small.observe(tuSmall, t0, 10, 500*mib, usage{managed: 0}), nil); r.SlotsPerTaskManager != 4 || r.Slots.JobSlots != 1 {
		t.Errorf("small job slots %+v", r.Slots)
	}
	// Without busy metrics the current count is kept.
	for i := range snap.Vertices {
		snap.Vertices[i].Metrics = nil
	}
	rec, _ = tu.Recommend(snap, nil)
	if rec.SlotsPerTaskManager != 4 || !strings.Contains(rec.Slots.Basis, "keep 4") {
		t.Errorf("slots %+v", rec.Slots)
	}
}

func TestOptions(t *testing.T) {
	o := DefaultOptions()
	if o.Apply || o.Margin != 0.15 || o.Percentile != 0.98 || o.HalfLife != 24*time.Hour || o.MinSaving != 0.1 || !o.JobManager {
		t.Errorf("defaults %+v", o)
	}
	cfg := flinkconf.FromMap(map[string]string{
		"kubernetes.operator.job.autoscaler.memory.tuning.enabled": "true",
		"job.autoscaler.memory.tuning.overhead":                    "0.5",
		"flinktune.memory.tuning.percentile":                       "0.9",
	})
	o, err := ParseOptions(cfg)
	if err != nil || !o.Apply || o.Margin != 0.5 || o.Percentile != 0.9 {
		t.Errorf("%+v %v", o, err)
	}
	bad := flinkconf.FromMap(map[string]string{
		"job.autoscaler.memory.tuning.enabled": "yes",
		"flinktune.memory.tuning.percentile":   "1.5",
		"flinktune.memory.tuning.half-life":    "soon",
	})
	_, err = ParseOptions(bad)
	if err == nil {
		t.Fatal("bad options accepted")
	}
	for _, want := range []string{`job.autoscaler.memory.tuning.enabled: invalid value "yes"`, `flinktune.memory.tuning.half-life: invalid value "soon"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v lacks %q", err, want)
		}
	}
	_, err = ParseOptions(flinkconf.FromMap(map[string]string{"flinktune.memory.tuning.percentile": "1.5"}))
	if err == nil || !strings.Contains(err.Error(), `flinktune.memory.tuning.percentile: invalid value "1.5" (must be in (0, 1])`) {
		t.Errorf("range: %v", err)
	}
	for _, opt := range AllOptions {
		if opt.Description == "" || !opt.HasDefault {
			t.Errorf("%s: description and default required", opt.Key)
		}
	}
}

func TestObserveIgnoresNonRunningAndBadValues(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	tu.Observe(nil)
	tu.Observe(j.snap(t0, usage{heap: 900 * mib, heapMax: gib, meta: 100 * mib, status: "RESTARTING"}))
	if len(tu.st.Heaps) != 0 || tu.st.MetaspacePeak != 0 {
		t.Error("a restarting job's gauges were used")
	}
	s := j.snap(t0.Add(time.Second), usage{})
	s.TaskManagerMetrics[MetricHeapUsed] = autoscaler.Aggregate{Max: math.NaN(), Avg: math.Inf(1)}
	s.TaskManagerMetrics[MetricMetaspaceUsed] = autoscaler.Aggregate{Max: -5, Avg: math.NaN()}
	tu.Observe(s)
	if len(tu.st.Heaps) != 0 || tu.st.MetaspacePeak != 0 {
		t.Error("NaN or negative gauges were used")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(tu.st.Layout)), []string{"agg", "sink", "src"}) {
		t.Errorf("layout %v", tu.st.Layout)
	}
}

func TestChangeThatNeverShowsIsNotApplied(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 200, 500*mib, usage{managed: 0, heapMax: 1.5 * gib})
	rec, _ := tu.Recommend(snap, nil)
	if rec.Proposed.JVMHeap() == rec.Current.JVMHeap() {
		t.Fatal("no heap change to watch")
	}
	tu.Applied(snap.Time, rec)
	// Ten minutes later the TaskManagers still run the old heap: still pending.
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 60, 500*mib, usage{managed: 0, heapMax: 1.5 * gib})
	if r, _ := tu.Recommend(snap, nil); r.Current.TotalProcess == 4*gib {
		t.Fatal("reverted too early")
	}
	// Twenty minutes: not applied; the original runs again and the change is recommended again.
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 60, 500*mib, usage{managed: 0, heapMax: 1.5 * gib})
	r, _ := tu.Recommend(snap, nil)
	if r.Current.TotalProcess != 4*gib || !r.Worthwhile {
		t.Errorf("current %d worthwhile %v", r.Current.TotalProcess, r.Worthwhile)
	}
	last := r.Observed.Events[len(r.Observed.Events)-1]
	if last.Kind != "not-applied" {
		t.Errorf("events %+v", r.Observed.Events)
	}
	// A change that shows is confirmed.
	tu.Applied(snap.Time, r)
	j.observe(tu, snap.Time.Add(10*time.Second), 3, 500*mib, usage{managed: 0, heapMax: float64(r.Proposed.JVMHeap())})
	if tu.st.Pending != nil {
		t.Error("a change that shows stays pending")
	}
}

func TestSettleAfterAChange(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0})
	rec, _ := tu.Recommend(snap, nil)
	if !rec.Worthwhile {
		t.Fatalf("nothing to settle: %s", rec.Reason)
	}
	// Something (a no-op change) was applied five minutes ago: savings wait, safety does not.
	noop := &Recommendation{Overrides: map[string]string{"taskmanager.memory.process.size": "4g"}, Current: rec.Current, Proposed: rec.Current}
	tu.Applied(snap.Time.Add(-5*time.Minute), noop)
	rec, _ = tu.Recommend(snap, nil)
	if rec.Worthwhile || !strings.Contains(rec.Reason, "settle") {
		t.Errorf("within settle: worthwhile %v: %s", rec.Worthwhile, rec.Reason)
	}
	e := autoscaler.JobException{Time: snap.Time.Add(time.Second), Name: "java.lang.OutOfMemoryError", Message: "Metaspace"}
	snap = j.snap(snap.Time.Add(10*time.Second), usage{heap: 600 * mib, heapMax: 1.5 * gib, meta: 120 * mib, exceptions: []autoscaler.JobException{e}})
	tu.Observe(snap)
	rec, _ = tu.Recommend(snap, nil)
	if !rec.Worthwhile || !rec.Safety {
		t.Errorf("a safety change waits for settle: %s", rec.Reason)
	}
	// Thirty minutes later savings go again.
	snap = j.observe(tu, snap.Time.Add(26*time.Minute), 3, 500*mib, usage{managed: 0})
	tu.st.Floors = map[string]floor{}
	rec, _ = tu.Recommend(snap, nil)
	if !rec.Worthwhile {
		t.Errorf("after settle: %s", rec.Reason)
	}
}

// Two TaskManagers on a large heap, collecting every 3 and 4 min: the largest TaskManager's
// heap (the max over TaskManagers) rarely shows its live set, since when one has just
// collected the other is mostly high up its allocation ramp. The live set comes from the
// lowest sample of each live window, which spans collections of both.
func TestLiveSetSpansCollectionsOfEveryTaskManager(t *testing.T) {
	j := newJob(map[string]string{"taskmanager.memory.process.size": "8g"}, 8)
	tu := New(DefaultOptions())
	const live, young = 800 * mib, 2.5 * gib
	ramp := func(i, period int) float64 { return float64(i%period) / float64(period) * young }
	var snap *autoscaler.Snapshot
	for i := range 180 { // 30 min, 10 s apart
		busiest := live + ramp(i, 18)
		other := 200*mib + ramp(i+12, 24)
		snap = j.snap(t0.Add(time.Duration(i)*10*time.Second), usage{heap: max(busiest, other), heapMax: 4.5 * gib, meta: 120 * mib})
		tu.Observe(snap)
	}
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The one-minute lows of the max read up to 2 GiB; the live set × live-factor 1.5,
	// rounded up to a histogram bucket, is about 1.2 GiB.
	if h := rec.Proposed.JVMHeap(); h > int64(1.5*1.1*live) || h < int64(live) {
		t.Errorf("heap %s, want about 1.5 × the live set %s\n%+v", hb(h), hb(int64(live)), rec.Evidence)
	}
	if rec.Observed.HeapLive > 1.1*live {
		t.Errorf("live set read as %s, it is %s", hb(int64(rec.Observed.HeapLive)), hb(int64(live)))
	}
}

// Settle spaces the restarts tuning causes: a change that rode along with a rescale caused
// none, so a saving at the new layout goes as soon as that layout has its evidence.
func TestSettleCountsFromOwnRestarts(t *testing.T) {
	j := newJob(nil, 2)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0})
	up := map[string]int{"src": 4, "agg": 4, "sink": 4}
	rec, err := tu.Recommend(snap, up)
	if err != nil || !rec.Worthwhile || !rec.rescale() {
		t.Fatalf("no change with the rescale: %v %+v", err, rec)
	}
	tu.Applied(snap.Time, rec)
	j.layout = up
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 75, 400*mib, usage{managed: 0, heapMax: float64(rec.Proposed.JVMHeap())})
	rec, _ = tu.Recommend(snap, nil)
	if strings.Contains(rec.Reason, "settle") {
		t.Errorf("a change that rode along with a rescale holds savings back: %s", rec.Reason)
	}
	if !rec.Worthwhile {
		t.Fatalf("nothing to save at the new layout: %s", rec.Reason)
	}
	// That change restarts the job on its own: the next saving waits.
	tu.Applied(snap.Time, rec)
	snap = j.observe(tu, snap.Time.Add(10*time.Second), 90, 250*mib, usage{managed: 0, heapMax: float64(rec.Proposed.JVMHeap())})
	rec, _ = tu.Recommend(snap, nil)
	if rec.Worthwhile && !rec.Safety {
		t.Errorf("a saving within settle of a change of its own: %s", rec.Reason)
	}
}

// A TaskManager lost (its heartbeat timed out, or unreachable) is a heap failure only with
// evidence: the JVM spent at least half its time in GC shortly before. The same loss after a
// healthy run, or long after a GC-bound spell, is no memory signal.
func TestTaskManagerLostInGC(t *testing.T) {
	heartbeat := autoscaler.JobException{Name: "java.util.concurrent.TimeoutException", Message: "Heartbeat of TaskManager with id 127.0.0.1:40123-9f1c2d timed out."}
	unreachable := autoscaler.JobException{Name: "org.apache.flink.runtime.jobmaster.JobMasterException", Message: "TaskManager with id tm-0 is no longer reachable."}
	cases := []struct {
		name     string
		e        autoscaler.JobException
		gcMs     float64       // GC time per second in the run before the loss
		quietFor time.Duration // the last GC-bound sample this long before the loss
		heap     bool
	}{
		{"heartbeat after GC-bound run", heartbeat, 800, 0, true},
		{"unreachable after GC-bound run", unreachable, 600, 0, true},
		{"heartbeat after healthy run", heartbeat, 30, 0, false},
		{"just below the bound", heartbeat, 490, 0, false},
		{"GC-bound spell long before", heartbeat, 900, 3 * time.Minute, false},
		{"other failure after GC-bound run", autoscaler.JobException{Name: "java.lang.RuntimeException", Message: "user code"}, 900, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(nil, 8)
			tu := New(DefaultOptions())
			snap := j.observe(tu, t0, 12, 500*mib, usage{gcMs: c.gcMs})
			for range int(c.quietFor / (10 * time.Second)) { // healthy samples after the spell
				snap = j.snap(snap.Time.Add(10*time.Second), usage{heap: 500 * mib, heapMax: 1.5 * gib, meta: 120 * mib, gcMs: 10})
				tu.Observe(snap)
			}
			e := c.e
			e.Time = snap.Time.Add(5 * time.Second)
			tu.Observe(j.snap(snap.Time.Add(50*time.Second), usage{status: "RESTARTING", exceptions: []autoscaler.JobException{e}}))
			ds := tu.Diagnose(time.Time{})
			got := len(ds) == 1 && ds[0].Kind == KindTaskManagerLostInGC && ds[0].Pool == PoolHeap
			if got != c.heap || (!c.heap && len(ds) > 0) {
				t.Fatalf("diagnosis %+v, want a heap failure: %v", ds, c.heap)
			}
			if c.heap && !strings.Contains(ds[0].Evidence[0], "of the time in GC") {
				t.Errorf("evidence %q does not name the GC time", ds[0].Evidence)
			}
			// (A long GC-bound spell raises a floor of its own, as GC pressure.)
			if f := tu.st.Floors[PoolHeap]; strings.HasPrefix(f.Reason, KindTaskManagerLostInGC) != c.heap {
				t.Errorf("heap floor %+v, want one for the lost TaskManager: %v", f, c.heap)
			}
		})
	}
}

// A hashmap job's heap is re-split under GC pressure alone too (the pressure's floor renews
// while it lasts, but a store restored after bump.hold has lost it): the evidence then names
// the pressure, not an empty or expired failure.
func TestResplitCitesGCPressureWithoutFloor(t *testing.T) {
	j := newJob(map[string]string{"state.backend.type": "hashmap"}, 8)
	tu := New(DefaultOptions())
	snap := j.observe(tu, t0, 120, 500*mib, usage{managed: 0, gcMs: 250})
	delete(tu.st.Floors, PoolHeap)
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Observed.GCPressure || PoolsOf(rec.Proposed).Managed != 0 {
		t.Fatalf("no re-split under GC pressure: pressure %v, %+v", rec.Observed.GCPressure, PoolsOf(rec.Proposed))
	}
	if !saysEvidence(rec, PoolHeap, "the heap failed (GC pressure: 25.0% of the time in GC)") {
		t.Errorf("evidence %+v", rec.Evidence)
	}
}
