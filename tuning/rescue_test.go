package tuning

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

func TestShortfall(t *testing.T) {
	cases := []struct {
		name, msg string
		seg       int64
		missing   int64
	}{
		{"java.io.IOException", "Insufficient number of network buffers: required 2128, but only 2048 available. The total number of network buffers is currently set to 2048 of 32768 bytes each. You can increase this number by setting the configuration keys 'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'.", 0, 80 * 32768},
		{"java.io.IOException", "Insufficient number of network buffers: required 25, but only 5 of 2048 available.", 32768, 20 * 32768},
		{"java.io.IOException", "Insufficient number of network buffers: required 25, but only 5 of 2048 available.", 0, 0},
		{"java.lang.OutOfMemoryError", "Cannot reserve 100663296 bytes of direct buffer memory (allocated: 502530048, limit: 318767104)", 0, 502530048 + 100663296 - 318767104},
		{"java.lang.OutOfMemoryError", "Direct buffer memory", 0, 0},
		{"java.lang.OutOfMemoryError", "Java heap space", 0, 0},
	}
	for _, c := range cases {
		got, ev := Shortfall(autoscaler.JobException{Name: c.name, Message: c.msg}, c.seg)
		if got != c.missing || (got > 0) != (ev != "") {
			t.Errorf("%.60s: missing %d (%q), want %d", c.msg, got, ev, c.missing)
		}
	}
}

func FuzzShortfall(f *testing.F) {
	f.Add("Insufficient number of network buffers: required 9, but only 2 available. The total number of network buffers is currently set to 7 of 32768 bytes each", int64(32768))
	f.Add("Cannot reserve 1 bytes of direct buffer memory (allocated: 5, limit: 3)", int64(0))
	f.Add("required 99999999999999999999, but only 1 of 2 available", int64(1))
	f.Fuzz(func(t *testing.T, msg string, seg int64) {
		got, _ := Shortfall(autoscaler.JobException{Name: "x", Message: msg}, seg)
		if got < 0 {
			t.Fatalf("negative shortfall %d", got)
		}
	})
}

func TestClassifyPools(t *testing.T) {
	for text, want := range map[string]string{
		"java.lang.OutOfMemoryError: Cannot reserve 8 bytes of direct buffer memory (allocated: 1, limit: 2)":                                                          PoolTaskOffHeap,
		"java.lang.OutOfMemoryError: GC overhead limit exceeded":                                                                                                       PoolHeap,
		"java.io.IOException: Insufficient number of network buffers: required 1, but only 0 available.":                                                               PoolNetwork,
		"org.apache.flink.runtime.jobmaster.JobMasterException: TaskManager with id x is no longer reachable. (container exited with code 137: memory limit exceeded)": PoolOverhead,
	} {
		name, msg, _ := strings.Cut(text, ": ")
		if _, pool := Classify(autoscaler.JobException{Name: name, Message: msg}); pool != want {
			t.Errorf("%.50s: pool %q, want %q", text, pool, want)
		}
	}
}

func oom(at time.Time, text string) autoscaler.JobException {
	name, msg, _ := strings.Cut(text, ": ")
	return autoscaler.JobException{Time: at, Name: name, Message: msg}
}

// TestRescueHeapResplit: a HashMap job that fails with a heap OOM before it ever ran gets
// the same process re-split (managed memory to the heap) as a safety change, and the
// diagnosis names the class, the pool and the evidence.
func TestRescueHeapResplit(t *testing.T) {
	j := newJob(map[string]string{"state.backend.type": "hashmap"}, 8)
	tu := New(DefaultOptions())
	e := oom(t0, "java.lang.OutOfMemoryError: Java heap space")
	snap := j.snap(t0.Add(10*time.Second), usage{status: "RESTARTING", managed: -1, exceptions: []autoscaler.JobException{e}})
	tu.Observe(snap)
	if !tu.Failing(snap.Time) {
		t.Fatal("not failing after a heap OOM")
	}
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, rec, j.cfg)
	cur, prop := PoolsOf(rec.Current), PoolsOf(rec.Proposed)
	if !rec.Worthwhile || !rec.Safety || prop.Managed != 0 || prop.Heap < cur.Heap+cur.Managed || prop.Process > cur.Process {
		t.Fatalf("re-split: %+v → %+v (%s)", cur, prop, rec.Reason)
	}
	if len(rec.Diagnosis) != 1 || rec.Diagnosis[0].Kind != KindHeapOOM || rec.Diagnosis[0].Pool != PoolHeap ||
		!strings.Contains(rec.Diagnosis[0].Evidence[0], "Java heap space") {
		t.Fatalf("diagnosis %+v", rec.Diagnosis)
	}
	// RocksDB uses managed memory: no re-split, the heap grows by the bump instead.
	j = newJob(map[string]string{"state.backend.type": "rocksdb"}, 8)
	tu = New(DefaultOptions())
	snap = j.snap(t0.Add(10*time.Second), usage{status: "RESTARTING", managed: -1, exceptions: []autoscaler.JobException{e}})
	tu.Observe(snap)
	rec, err = tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if PoolsOf(rec.Proposed).Managed == 0 || !rec.Safety {
		t.Fatalf("rocksdb: %+v (%s)", PoolsOf(rec.Proposed), rec.Reason)
	}
}

// TestRescueFromEvidence: network buffers and direct memory grow by what the message says
// is missing (plus the margin); a failure under a replaced configuration raises no floor.
func TestRescueFromEvidence(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	e := oom(t0, "java.lang.OutOfMemoryError: Cannot reserve 100663296 bytes of direct buffer memory (allocated: 400000000, limit: 300000000)")
	snap := j.snap(t0.Add(10*time.Second), usage{status: "RESTARTING", managed: -1, exceptions: []autoscaler.JobException{e}})
	tu.Observe(snap)
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	rederive(t, rec, j.cfg)
	want := int64(200663296 * 115 / 100)
	if got := PoolsOf(rec.Proposed).TaskOffHeap; got < want || !rec.Safety {
		t.Fatalf("task off-heap %d, want at least %d (%s)", got, want, rec.Reason)
	}
	tu.Applied(snap.Time, rec)
	// An older failure seen only now happened under the replaced configuration.
	old := oom(t0.Add(5*time.Second), "java.lang.OutOfMemoryError: Cannot reserve 1 bytes of direct buffer memory (allocated: 900000000, limit: 300000000)")
	snap2 := j.snap(t0.Add(20*time.Second), usage{status: "RESTARTING", managed: -1, exceptions: []autoscaler.JobException{old, e}})
	tu.Observe(snap2)
	if tu.Failing(snap2.Time) {
		t.Error("a failure from before the remedy counts as failing now")
	}
	if f := tu.st.Floors[PoolTaskOffHeap]; f.Bytes > PoolsOf(rec.Proposed).TaskOffHeap {
		t.Errorf("stale failure raised the floor to %d", f.Bytes)
	}
}

// TestRollback: a rescale after which the job fails with a memory class is rolled back to
// the last healthy layout at the first failure, the broken layout is held back, and a
// rescale that runs healthy clears the record.
func TestRollback(t *testing.T) {
	o := DefaultOptions()
	healthy := map[string]int{"a": 4, "b": 4}
	broken := map[string]int{"a": 16, "b": 4}
	run := func(at time.Time, since time.Time, l map[string]int, exc ...autoscaler.JobException) *autoscaler.Snapshot {
		s := &autoscaler.Snapshot{Time: at, Status: "RUNNING", RunningSince: since, Exceptions: exc}
		for _, id := range []string{"a", "b"} {
			s.Vertices = append(s.Vertices, autoscaler.Vertex{ID: id, Parallelism: l[id]})
		}
		return s
	}
	var r rollback
	tu := New(o)
	r.observe(run(t0.Add(11*time.Minute), t0, healthy), o, nil)
	if !maps.Equal(r.Healthy, healthy) {
		t.Fatalf("healthy %v", r.Healthy)
	}
	r.applied(t0.Add(12*time.Minute), broken)
	s := run(t0.Add(13*time.Minute), t0.Add(12*time.Minute), broken)
	s.Status = "RESTARTING"
	s.Exceptions = []autoscaler.JobException{oom(t0.Add(12*time.Minute+30*time.Second), "java.io.IOException: Insufficient number of network buffers: required 9, but only 2 available.")}
	r.observe(s, o, nil)
	var d autoscaler.Decision
	r.maybeRollback(s, &d, tu)
	if !d.Rollback || !maps.Equal(d.Parallelism, healthy) || len(d.Events) != 1 || !strings.Contains(d.Events[0].Message, "kept out until") {
		t.Fatalf("no rollback: %+v", d)
	}
	r.applied(s.Time, d.Parallelism)
	// The policy asks for the broken layout again: held back, and its report of it gets a key
	// (deduplicated: it comes again every cycle).
	d = autoscaler.Decision{Parallelism: map[string]int{"a": 20, "b": 4},
		Events: []autoscaler.Event{{Reason: "ScalingReport", Message: "scale up: a 4 -> 20"}}}
	r.hold(run(t0.Add(30*time.Minute), t0.Add(14*time.Minute), healthy), &d)
	if d.Parallelism["a"] != 4 || d.Scaled || len(d.Events) != 2 || d.Events[0].Key == "" {
		t.Fatalf("hold: %+v", d)
	}
	// A smaller step is allowed.
	d = autoscaler.Decision{Parallelism: map[string]int{"a": 8, "b": 4}}
	r.hold(run(t0.Add(31*time.Minute), t0.Add(14*time.Minute), healthy), &d)
	if d.Parallelism["a"] != 8 {
		t.Fatalf("hold too wide: %+v", d)
	}
	// A transient failure of another kind needs a second one.
	var r2 rollback
	r2.observe(run(t0.Add(11*time.Minute), t0, healthy), o, nil)
	r2.applied(t0.Add(12*time.Minute), broken)
	s = run(t0.Add(13*time.Minute), t0.Add(12*time.Minute), broken, oom(t0.Add(12*time.Minute+30*time.Second), "java.lang.Exception: TaskManager lost"))
	r2.observe(s, o, nil)
	d = autoscaler.Decision{}
	r2.maybeRollback(s, &d, tu)
	if d.Rollback {
		t.Fatal("rolled back after one non-memory failure")
	}
	// Healthy at the new layout: the rescale worked.
	r2.observe(run(t0.Add(30*time.Minute), t0.Add(13*time.Minute), broken), o, nil)
	if r2.Rescale != nil || !maps.Equal(r2.Healthy, broken) {
		t.Fatalf("healthy rescale not recorded: %+v", r2)
	}
}

// TestRollbackIgnoresTaskManagerLoss: TaskManagers lost after a rescale (a host, a kill, the
// network) say nothing about its layout and roll nothing back; lost while their heap thrashed
// in GC, they are a memory failure of the layout and roll it back at the first.
func TestRollbackIgnoresTaskManagerLoss(t *testing.T) {
	o := DefaultOptions()
	healthy := map[string]int{"a": 4}
	raised := map[string]int{"a": 12}
	snap := func(at, since time.Time, l map[string]int, exc ...autoscaler.JobException) *autoscaler.Snapshot {
		return &autoscaler.Snapshot{Time: at, Status: "RUNNING", RunningSince: since, Exceptions: exc,
			Vertices: []autoscaler.Vertex{{ID: "a", Parallelism: l["a"]}}}
	}
	lost := func(at time.Time, id string) autoscaler.JobException {
		return autoscaler.JobException{Time: at, Name: "org.apache.flink.runtime.jobmaster.JobMasterException",
			Message: "TaskManager with id " + id + " is no longer reachable."}
	}
	for _, tc := range []struct {
		name     string
		inGC     bool
		rollback bool
	}{{"no memory evidence", false, false}, {"heap thrashing before", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			var r rollback
			gc := func(time.Time) (float64, bool) { return 0.9, tc.inGC }
			r.observe(snap(t0.Add(11*time.Minute), t0, healthy), o, gc)
			r.applied(t0.Add(12*time.Minute), raised)
			s := snap(t0.Add(20*time.Minute), t0.Add(19*time.Minute), raised,
				lost(t0.Add(14*time.Minute), "tm-1"), lost(t0.Add(18*time.Minute), "tm-2"))
			r.observe(s, o, gc)
			var d autoscaler.Decision
			r.maybeRollback(s, &d, New(o))
			if d.Rollback != tc.rollback {
				t.Errorf("rollback %v after two TaskManagers lost, want %v (%d failures counted)", d.Rollback, tc.rollback, r.Failures)
			}
		})
	}
}

// TestMetaspaceWaitsForFlatPeak: a metaspace peak that is still growing does not shrink the
// pool (FLINK-35489), and a slowly growing peak far from the limit is no safety restart.
func TestMetaspaceWaitsForFlatPeak(t *testing.T) {
	j := newJob(nil, 8)
	tu := New(DefaultOptions())
	var snap *autoscaler.Snapshot
	for i := range 120 { // 20 minutes, metaspace growing 100 → 160 MiB
		snap = j.snap(t0.Add(time.Duration(i)*10*time.Second), usage{heap: 600 * mib, heapMax: 1.5 * gib, meta: (100 + float64(i)/2) * mib, managed: 0})
		tu.Observe(snap)
	}
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := PoolsOf(rec.Proposed).Metaspace; got != PoolsOf(rec.Current).Metaspace || rec.Safety {
		t.Fatalf("growing peak: metaspace %d, safety %v", got, rec.Safety)
	}
	for i := 120; i < 120+200; i++ { // flat for 33 minutes
		snap = j.snap(t0.Add(time.Duration(i)*10*time.Second), usage{heap: 600 * mib, heapMax: 1.5 * gib, meta: 159 * mib, managed: 0})
		tu.Observe(snap)
	}
	if rec, err = tu.Recommend(snap, nil); err != nil {
		t.Fatal(err)
	}
	if got := PoolsOf(rec.Proposed).Metaspace; got >= PoolsOf(rec.Current).Metaspace || float64(got) < 159*mib*1.15 {
		t.Fatalf("flat peak: metaspace %d", got)
	}
}

func TestRealign(t *testing.T) {
	tu := New(DefaultOptions())
	tu.st.Original = map[string]string{"taskmanager.memory.process.size": "4g", "taskmanager.memory.managed.fraction": "0.4"}
	snap := &autoscaler.Snapshot{Config: map[string]string{"taskmanager.memory.process.size": "3g", "taskmanager.memory.managed.fraction": "0.0",
		"taskmanager.memory.framework.heap.size": "0 bytes", "taskmanager.numberOfTaskSlots": "4", "pipeline.name": "x"}}
	rec := &Recommendation{Overrides: map[string]string{"taskmanager.memory.process.size": "3500 mb"}}
	ov, rm := tu.realign(snap, rec)
	if ov["taskmanager.memory.process.size"] != "3500 mb" || ov["taskmanager.memory.managed.fraction"] != "0.4" ||
		len(rm) != 1 || rm[0] != "taskmanager.memory.framework.heap.size" || len(ov) != 2 {
		t.Fatalf("realign: %v %v", ov, rm)
	}
}
