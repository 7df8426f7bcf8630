package tuning

import (
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// load is what the sources and the busiest subtask report in one sample.
type load struct {
	rate    float64 // records/s arriving
	pending float64 // backlog in records (<0: not reported)
	busy    float64 // busiest subtask's busyTimeMsPerSecond
}

// observeLoad feeds n samples 10 s apart from start with the heap sawtooth of observe and
// the sources' counters of lf(i), and returns the last snapshot.
func (j *job) observeLoad(tu *Tuner, start time.Time, n int, live float64, in *float64, lf func(i int) load) *autoscaler.Snapshot {
	var s *autoscaler.Snapshot
	for i := range n {
		l := lf(i)
		*in += l.rate * 10
		s = j.snap(start.Add(time.Duration(i)*10*time.Second), usage{heap: live + float64(i%6)*60*mib, heapMax: 1.5 * gib, meta: 120 * mib})
		src := &s.Vertices[0]
		src.WriteRecords = int64(*in)
		if l.pending >= 0 {
			src.Metrics["Source__src.pendingRecords"] = autoscaler.Aggregate{Max: l.pending, Avg: l.pending, Sum: l.pending}
		}
		for k := range s.Vertices {
			s.Vertices[k].Metrics[busyMetric] = autoscaler.Aggregate{Avg: l.busy * 0.8, Max: l.busy}
		}
		tu.Observe(s)
	}
	return s
}

func automatic() Options {
	o := DefaultOptions()
	o.Apply = true
	o.StableMaxWait = 24 * time.Hour
	return o
}

// A saving that would restart the job on its own waits while the load ramps, the sources have
// a backlog, or the job is too busy to catch up with a restart's input; it rides along with a
// rescale, and goes once the job is stable. Before, the heap shrink of wordcount-ramp went
// out mid-ramp and cost a second scale-out.
func TestSavingWaitsForAStableJob(t *testing.T) {
	flat := func(i int) load { return load{rate: 1000, pending: 100, busy: 300} }
	cases := []struct {
		name string
		lf   func(i int) load
		why  string
	}{
		{"ramp", func(i int) load { return load{rate: 1000 + 20*float64(i), pending: 100, busy: 300} }, "the load moves"},
		{"backlog", func(i int) load { return load{rate: 1000, pending: 120_000, busy: 300} }, "backlog of 2m0s"},
		{"busy", func(i int) load { return load{rate: 1000, pending: 100, busy: 900} }, "would take 9m0s to catch up"},
		{"no pendingRecords, busy", func(i int) load { return load{rate: 1000, pending: -1, busy: 950} }, "catch up"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(nil, 8)
			tu := New(automatic())
			var in float64
			snap := j.observeLoad(tu, t0, 120, 500*mib, &in, c.lf)
			rec, err := tu.Recommend(snap, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Worthwhile || !strings.Contains(rec.Reason, "waits for a stable job") || !strings.Contains(rec.Reason, c.why) {
				t.Fatalf("worthwhile %v: %s", rec.Worthwhile, rec.Reason)
			}
			// With a rescale the change costs no restart of its own: it rides along.
			up := map[string]int{"src": 12, "agg": 12, "sink": 12}
			if rec, _ := tu.Recommend(snap, up); !rec.Worthwhile {
				t.Errorf("not with the rescale: %s", rec.Reason)
			}
			// Ten minutes of a flat, drained, relaxed load: it goes.
			snap = j.observeLoad(tu, snap.Time.Add(10*time.Second), 61, 500*mib, &in, flat)
			if rec, _ := tu.Recommend(snap, nil); !rec.Worthwhile {
				t.Errorf("stable job: %s", rec.Reason)
			}
		})
	}
}

// Safety increases never wait, and a saving waits at most stable.max-wait; in dry-run mode
// recommendations are not held back (the user restarts when it suits).
func TestStableWaitBounds(t *testing.T) {
	ramp := func(i int) load { return load{rate: 1000 + 20*float64(i), pending: 100, busy: 300} }
	o := automatic()
	o.StableMaxWait = 15 * time.Minute
	j := newJob(nil, 8)
	tu := New(o)
	var in float64
	snap := j.observeLoad(tu, t0, 120, 500*mib, &in, ramp)
	if rec, _ := tu.Recommend(snap, nil); rec.Worthwhile {
		t.Fatalf("did not wait: %s", rec.Reason)
	}
	snap = j.observeLoad(tu, snap.Time.Add(10*time.Second), 90, 500*mib, &in, func(i int) load { return ramp(i + 120) })
	if rec, _ := tu.Recommend(snap, nil); !rec.Worthwhile || !strings.Contains(rec.Reason, "stable.max-wait") {
		t.Errorf("waited beyond stable.max-wait: %s", rec.Reason)
	}

	o = DefaultOptions() // the default: automatic mode never waits
	o.Apply = true
	tu = New(o)
	snap = j.observeLoad(tu, t0, 120, 500*mib, &in, ramp)
	if rec, _ := tu.Recommend(snap, nil); !rec.Worthwhile {
		t.Errorf("waits by default: %s", rec.Reason)
	}

	tu = New(DefaultOptions()) // dry run
	snap = j.observeLoad(tu, t0, 120, 500*mib, &in, ramp)
	if rec, _ := tu.Recommend(snap, nil); !rec.Worthwhile {
		t.Errorf("dry run held back: %s", rec.Reason)
	}

	tu = New(automatic())
	snap = j.observeLoad(tu, t0, 120, 500*mib, &in, ramp)
	e := autoscaler.JobException{Time: snap.Time.Add(time.Second), Name: "java.lang.OutOfMemoryError", Message: "Java heap space"}
	snap = j.snap(snap.Time.Add(10*time.Second), usage{heap: 1.4 * gib, heapMax: 1.5 * gib, meta: 120 * mib, exceptions: []autoscaler.JobException{e}})
	tu.Observe(snap)
	if rec, _ := tu.Recommend(snap, nil); !rec.Worthwhile || !rec.Safety {
		t.Errorf("a safety increase waited: %s", rec.Reason)
	}
}

// The expected downtime is the job's restart.time, or the last measured one when longer.
func TestDowntime(t *testing.T) {
	tu := New(automatic())
	if d := tu.downtime(); d != time.Minute {
		t.Errorf("default %s", d)
	}
	tu.st.Original = map[string]string{"job.autoscaler.restart.time": "3 min"}
	if d := tu.downtime(); d != 3*time.Minute {
		t.Errorf("restart.time: %s", d)
	}
	j := newJob(nil, 4)
	s := j.snap(t0, usage{heap: gib, heapMax: 1.5 * gib})
	s.RunningSince = t0.Add(-time.Hour)
	tu.Observe(s)
	s = j.snap(t0.Add(10*time.Minute), usage{heap: gib, heapMax: 1.5 * gib})
	s.RunningSince = t0.Add(5 * time.Minute)
	tu.Observe(s)
	if tu.st.Downtime != 5*time.Minute || tu.downtime() != 5*time.Minute {
		t.Errorf("measured %s, expected %s", tu.st.Downtime, tu.downtime())
	}
}
