package flinktune

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// toyJob is a linear pipeline integrated in one-second steps: just enough of a Flink job to
// produce the counters and gauges the policy reads. Rescaling restarts it after a downtime.
type toyJob struct {
	now        time.Time
	running    time.Time
	down       time.Duration // remaining downtime
	restart    time.Duration
	rate       func(t time.Duration) float64
	lag        float64
	vertices   []*toyVertex
	partitions int
	noLag      bool          // the source reports no pendingRecords
	lagUntil   time.Duration // if set, it reports them until then only
	noBusy     bool          // no vertex reports busy time
	// failEvery restarts the job (a failure: same parallelism) every so often.
	failEvery time.Duration
}

type toyVertex struct {
	id        string
	p         int
	capacity  float64 // per subtask, records/s at 100% busy
	sel       float64
	maxP      int
	hash      bool
	in, out   float64
	busyMs    float64
	lastBusy  float64 // busy fraction of the last step
	lastRate  float64
	skewFirst float64 // extra share of the first subtask's load (for skew tests)
	// busyReport scales the busy time the vertex reports (0: 1), e.g. time a real task spends
	// blocked outside its busy time, which the capacity model then overestimates.
	busyReport float64
}

func newToy(rate func(time.Duration) float64, vs ...*toyVertex) *toyJob {
	j := &toyJob{now: t0, running: t0, rate: rate, vertices: vs, restart: 30 * time.Second}
	return j
}

func (j *toyJob) step() {
	j.now = j.now.Add(time.Second)
	if j.failEvery > 0 && j.now.Sub(t0)%j.failEvery == 0 && j.down <= 0 {
		j.down = j.restart
	}
	in := j.rate(j.now.Sub(t0))
	if j.down > 0 {
		j.down -= time.Second
		j.lag += in
		if j.down <= 0 {
			j.running = j.now
			for _, v := range j.vertices {
				v.in, v.out, v.busyMs = 0, 0, 0
			}
		}
		return
	}
	// The sustainable source emission: limited by every vertex along the chain.
	avail := j.lag + in
	emit := avail
	gain := 1.0
	for _, v := range j.vertices {
		c := v.cap()
		if gain > 0 {
			emit = math.Min(emit, c/gain)
		}
		gain *= v.sel
	}
	j.lag = avail - emit
	flow := emit
	for _, v := range j.vertices {
		v.in += flow
		busy := flow / v.cap() * (1 + v.skewFirst)
		report := 1.0
		if v.busyReport > 0 {
			report = v.busyReport
		}
		v.lastBusy = math.Min(busy, 1) * report
		v.busyMs += flow / (v.cap() / float64(v.p)) * 1000 * report
		v.lastRate = flow
		flow *= v.sel
		v.out += flow
	}
}

func (v *toyVertex) cap() float64 {
	c := v.capacity * float64(v.p)
	if v.skewFirst > 0 {
		c /= 1 + v.skewFirst
	}
	return c
}

func (j *toyJob) snapshot() *autoscaler.Snapshot {
	s := &autoscaler.Snapshot{Time: j.now, JobID: "job", Status: "RUNNING", RunningSince: j.running}
	if j.down > 0 {
		s.Status = "RESTARTING"
	}
	for i, v := range j.vertices {
		av := autoscaler.Vertex{ID: v.id, Name: v.id, Parallelism: v.p, MaxParallelism: v.maxP,
			ReadRecords: int64(v.in), WriteRecords: int64(v.out), AccumulatedBusyTime: v.busyMs,
			Metrics: map[string]autoscaler.Aggregate{
				"busyTimeMsPerSecond": {Max: v.lastBusy * 1000, Avg: v.lastBusy * 1000 / (1 + v.skewFirst/float64(v.p))},
			}}
		if j.noBusy {
			av.AccumulatedBusyTime = math.NaN()
			delete(av.Metrics, "busyTimeMsPerSecond")
		}
		if i == 0 {
			av.ReadRecords = 0
			av.Metrics["Source__src.numRecordsIn"] = autoscaler.Aggregate{Sum: v.in}
			if !j.noLag && (j.lagUntil == 0 || j.now.Sub(t0) < j.lagUntil) {
				av.Metrics["Source__src.pendingRecords"] = autoscaler.Aggregate{Sum: j.lag}
			}
			for p := 0; p < j.partitions; p++ {
				av.MetricNames = append(av.MetricNames, fmt.Sprintf("Source__src.KafkaSourceReader.topic.t.partition.%d.currentOffset", p))
			}
		} else {
			ship := autoscaler.ShipRebalance
			if v.hash {
				ship = autoscaler.ShipHash
			}
			av.Inputs = []autoscaler.Edge{{From: j.vertices[i-1].id, Ship: ship}}
		}
		s.Vertices = append(s.Vertices, av)
	}
	return s
}

// apply rescales the toy job like the adaptive scheduler: a restart with downtime.
func (j *toyJob) apply(target map[string]int) bool {
	changed := false
	for _, v := range j.vertices {
		if n, ok := target[v.id]; ok && n != v.p {
			v.p = n
			changed = true
		}
	}
	if changed {
		j.down = j.restart
	}
	return changed
}

type runResult struct {
	rescales  []time.Duration
	dirs      []int
	maxLagSec float64
	final     map[string]int
}

// run drives the toy job and the policy with a 10-second control interval.
func run(t *testing.T, p *Policy, j *toyJob, d time.Duration) runResult {
	t.Helper()
	var r runResult
	prevTotal := total(j)
	for el := time.Duration(0); el < d; el += time.Second {
		j.step()
		if in := j.rate(el); in > 0 {
			r.maxLagSec = math.Max(r.maxLagSec, j.lag/in)
		}
		if j.now.Sub(t0)%(10*time.Second) != 0 {
			continue
		}
		dec, err := p.Cycle(j.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if dec.Parallelism != nil && j.down <= 0 && j.apply(dec.Parallelism) {
			p.Applied(j.now, dec.Parallelism)
			r.rescales = append(r.rescales, j.now.Sub(t0))
			r.dirs = append(r.dirs, sign(float64(total(j)-prevTotal)))
			prevTotal = total(j)
		}
	}
	r.final = map[string]int{}
	for _, v := range j.vertices {
		r.final[v.id] = v.p
	}
	return r
}

func total(j *toyJob) int {
	n := 0
	for _, v := range j.vertices {
		n += v.p
	}
	return n
}

func constant(r float64) func(time.Duration) float64 { return func(time.Duration) float64 { return r } }

func TestSteadyLoadNoChange(t *testing.T) {
	j := newToy(constant(8000), &toyVertex{id: "src", p: 1, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 2, capacity: 5000, sel: 1, maxP: 128})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 0 {
		t.Errorf("rescaled a job at 80%% utilization: %v -> %v", r.rescales, r.final)
	}
}

func TestStepUpConvergesInOneStep(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el < 20*time.Minute {
			return 4000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 1, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 5000, sel: 2, maxP: 128, hash: true},
		&toyVertex{id: "sink", p: 1, capacity: 50000, sel: 1})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 1 {
		t.Fatalf("rescales at %v, want exactly one; final %v", r.rescales, r.final)
	}
	// map receives 16000/s at 5000 per subtask: 4 at 100%, 5 at the 0.8 target.
	if m := r.final["map"]; m < 4 || m > 6 {
		t.Errorf("map parallelism %d", m)
	}
	if r.final["src"] > 2 || r.final["sink"] != 1 {
		t.Errorf("final %v", r.final)
	}
	if r.rescales[0] > 25*time.Minute {
		t.Errorf("reacted at %v, load changed at 20m", r.rescales[0])
	}
}

func TestScaleDownWaitsAndNeverOscillates(t *testing.T) {
	rate := func(el time.Duration) float64 {
		switch {
		case el < 30*time.Minute:
			return 16000
		case el < 45*time.Minute:
			return 3000
		default:
			return 16000
		}
	}
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 5, capacity: 5000, sel: 1, maxP: 128})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 0 {
		t.Errorf("a 15-minute dip must not cause a scale-down (interval 20 min): %v", r.rescales)
	}

	rate2 := func(el time.Duration) float64 {
		if el < 30*time.Minute {
			return 16000
		}
		return 3000
	}
	j = newToy(rate2, &toyVertex{id: "src", p: 2, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 5, capacity: 5000, sel: 1, maxP: 128})
	r = run(t, New(DefaultOptions()), j, 3*time.Hour)
	if len(r.rescales) != 1 || r.dirs[0] != -1 {
		t.Fatalf("want one scale-down, got %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	if r.rescales[0] < 50*time.Minute {
		t.Errorf("scaled down at %v, before the demand was low for 20 min", r.rescales[0])
	}
	if r.final["map"] != 1 {
		t.Errorf("final %v", r.final)
	}
}

func TestSourceNeverBeyondPartitions(t *testing.T) {
	j := newToy(constant(100000), &toyVertex{id: "src", p: 1, capacity: 10000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 200000, sel: 1})
	j.partitions = 6
	r := run(t, New(DefaultOptions()), j, time.Hour)
	if r.final["src"] > 6 {
		t.Errorf("source got %d subtasks for 6 partitions", r.final["src"])
	}
	if r.final["src"] != 6 {
		t.Errorf("source should use all 6 partitions, got %d", r.final["src"])
	}
}

func TestImbalancePrefersEvenSplits(t *testing.T) {
	m := &vertexModel{info: vertexInfo{P: 4, MaxP: 128, HashInput: true}, perSubtask: 1000, known: true, hot: 1}
	// 128 key groups: 5 subtasks carry 26 groups at worst, as many as... 6 -> 22, 7 -> 19, 8 -> 16.
	if got := m.capacity(8); math.Abs(got-8000) > 1e-9 {
		t.Errorf("capacity(8) = %v", got)
	}
	if got, want := m.capacity(5), 1000*128.0/26; math.Abs(got-want) > 1e-9 {
		t.Errorf("capacity(5) = %v, want %v", got, want)
	}
	src := &vertexModel{info: vertexInfo{P: 2, Source: true, Partitions: 24}, perSubtask: 1000, known: true, hot: 1}
	// 24 partitions over 5 subtasks: one subtask reads 5, so the split is as slow as 24/5 subtasks.
	if got, want := src.capacity(5), 1000*24.0/5; math.Abs(got-want) > 1e-9 {
		t.Errorf("source capacity(5) = %v, want %v", got, want)
	}
	if got := src.sizeFor(4500, 1, DefaultOptions()); got != 5 {
		t.Errorf("sizeFor(4500) = %d", got)
	}
	if got := src.sizeFor(5000, 1, DefaultOptions()); got != 6 {
		t.Errorf("sizeFor(5000) = %d (5 subtasks give only 4800/s)", got)
	}
}

func TestNoDecisionOnMissingOrStaleMetrics(t *testing.T) {
	// Busy time is missing for map (a legacy vertex without the metric). It must not stall
	// the job (issue 9): map processed at least what it was seen to, which for a saturated
	// bottleneck is its capacity, so the scale-up is sized right.
	j := newToy(constant(20000), &toyVertex{id: "src", p: 1, capacity: 40000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 5000, sel: 1})
	p := New(DefaultOptions())
	var got map[string]int
	for i := 0; i < 40*60 && got == nil; i++ {
		j.step()
		if i%10 != 0 {
			continue
		}
		s := j.snapshot()
		s.Vertices[1].AccumulatedBusyTime = math.NaN()
		delete(s.Vertices[1].Metrics, "busyTimeMsPerSecond")
		d, err := p.Cycle(s)
		if err != nil {
			t.Fatal(err)
		}
		if d.Scaled {
			got = d.Parallelism
		}
	}
	// 20000/s at 5000 per subtask: 4 at 100%, 5 at the target, a little more to drain lag.
	if got["map"] < 5 || got["map"] > 8 {
		t.Errorf("without busy time for map: decided %v", got)
	}
	// Frozen counters (the REST metric store did not refresh) are not read as zero rates.
	p = New(DefaultOptions())
	j = newToy(constant(3000), &toyVertex{id: "src", p: 4, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 4, capacity: 5000, sel: 1})
	for i := 0; i < 10*60; i++ {
		j.step()
	}
	frozen := j.snapshot()
	for i := 0; i < 60; i++ {
		s := *frozen
		s.Time = frozen.Time.Add(time.Duration(i*10) * time.Second)
		d, _ := p.Cycle(&s)
		if d.Scaled {
			t.Fatalf("decided on frozen metrics at cycle %d: %s", i, d.Reason)
		}
	}
}

func TestStateRoundTripSameDecisions(t *testing.T) {
	mk := func() *toyJob {
		rate := func(el time.Duration) float64 { return 3000 + 40*el.Minutes()*60/60 }
		return newToy(rate, &toyVertex{id: "src", p: 1, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 5000, sel: 1, maxP: 128, hash: true})
	}
	ja, jb := mk(), mk()
	pa, pb := New(DefaultOptions()), New(DefaultOptions())
	for i := 0; i < 3*3600; i++ {
		ja.step()
		jb.step()
		if i%10 != 0 {
			continue
		}
		if i%600 == 0 { // restart policy b from its serialized state every 10 minutes
			data, err := pb.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			pb = New(DefaultOptions())
			if err := pb.RestoreState(data); err != nil {
				t.Fatal(err)
			}
		}
		da, _ := pa.Cycle(ja.snapshot())
		db, _ := pb.Cycle(jb.snapshot())
		if fmt.Sprint(da.Parallelism, da.Scaled, da.Reason) != fmt.Sprint(db.Parallelism, db.Scaled, db.Reason) {
			t.Fatalf("t=%ds: %v/%v/%s vs %v/%v/%s", i, da.Parallelism, da.Scaled, da.Reason, db.Parallelism, db.Scaled, db.Reason)
		}
		if da.Parallelism != nil && ja.down <= 0 && ja.apply(da.Parallelism) {
			pa.Applied(ja.now, da.Parallelism)
		}
		if db.Parallelism != nil && jb.down <= 0 && jb.apply(db.Parallelism) {
			pb.Applied(jb.now, db.Parallelism)
		}
	}
}

func TestParseOptions(t *testing.T) {
	o := DefaultOptions()
	if o.TargetUtilization != 0.8 || o.Window != 5*time.Minute || !o.ScalingEnabled {
		t.Errorf("defaults %+v", o)
	}
	cfg := flinkconf.FromMap(map[string]string{
		"job.autoscaler.utilization.target":                 "0.6",
		"kubernetes.operator.job.autoscaler.metrics.window": "10m",
		"job.autoscaler.vertex.exclude.ids":                 "ABC;def",
	})
	o, err := ParseOptions(cfg)
	if err != nil || o.TargetUtilization != 0.6 || o.Window != 10*time.Minute || !o.Exclude["abc"] || !o.Exclude["def"] {
		t.Errorf("%+v %v", o, err)
	}
	for k, v := range map[string]string{
		"job.autoscaler.utilization.target": "1.5",
		"job.autoscaler.metrics.window":     "ten minutes",
		"job.autoscaler.utilization.min":    "0.9",
	} {
		_, err := ParseOptions(flinkconf.FromMap(map[string]string{k: v}))
		if err == nil || !contains(err.Error(), k) || !contains(err.Error(), v) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestIncompleteSnapshotIsNotUsed(t *testing.T) {
	j := newToy(constant(20000), &toyVertex{id: "src", p: 1, capacity: 30000, sel: 1}, &toyVertex{id: "map", p: 5, capacity: 5000, sel: 1})
	p := New(DefaultOptions())
	for i := 0; i < 120; i++ {
		j.step()
		if i%10 == 0 {
			p.Cycle(j.snapshot())
		}
	}
	base := p.st.Base.T
	samples := len(p.st.Samples)
	for _, drop := range []string{"Source__src.pendingRecords", "busyTimeMsPerSecond"} {
		for i := 0; i < 10; i++ {
			j.step()
		}
		s := j.snapshot()
		for k := range s.Vertices {
			delete(s.Vertices[k].Metrics, drop)
		}
		d, err := p.Cycle(s)
		if err != nil {
			t.Fatal(err)
		}
		if d.Ready || d.Scaled || !strings.Contains(d.Reason, "incomplete metrics") {
			t.Errorf("without %s: ready=%v scaled=%v reason %q", drop, d.Ready, d.Scaled, d.Reason)
		}
		if !p.st.Base.T.Equal(base) || len(p.st.Samples) != samples {
			t.Errorf("without %s the snapshot changed the base or the samples", drop)
		}
	}
	// The next complete snapshot is used, its rates spanning the gap.
	j.step()
	p.Cycle(j.snapshot())
	if len(p.st.Samples) != samples+1 || p.st.Samples[len(p.st.Samples)-1].Dt < 20 {
		t.Errorf("complete snapshot after the gap: %d samples, last dt %v", len(p.st.Samples), p.st.Samples[len(p.st.Samples)-1].Dt)
	}
}

// TestSizingProperties: whatever the demand, a size never exceeds the vertex's max
// parallelism, vertex.max-parallelism or (sources) the partition count, and for HASH inputs it
// is the smallest parallelism with its largest key-group share (aligned, as BALANCED).
func TestSizingProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	o := DefaultOptions()
	for i := 0; i < 2000; i++ {
		info := vertexInfo{P: 1 + r.IntN(40), MaxP: []int{0, 64, 120, 128, 360, 720}[r.IntN(6)]}
		switch r.IntN(3) {
		case 0:
			info.Source, info.Partitions = true, r.IntN(50)
		case 1:
			info.HashInput = true
		}
		m := &vertexModel{info: info, perSubtask: 100 + r.Float64()*10000, known: true, hot: 1 + r.Float64()*0.5, alpha: r.Float64() * 0.3}
		rate := r.Float64() * 1e6
		p := m.sizeFor(rate, 0.8, o)
		if info.MaxP > 0 && p > max(info.MaxP, 1) && p > info.P {
			t.Fatalf("%+v: size %d above max parallelism", info, p)
		}
		if info.Source && info.Partitions > 0 && p > info.Partitions && p > info.P {
			t.Fatalf("%+v: size %d above %d partitions", info, p, info.Partitions)
		}
		if p > max(o.MaxParallelism, info.P) {
			t.Fatalf("%+v: size %d above vertex.max-parallelism", info, p)
		}
		if info.HashInput && info.MaxP > 0 && p > 1 && p < m.upperBound(o) {
			share := (info.MaxP + p - 1) / p
			if prev := (info.MaxP + p - 2) / (p - 1); prev == share {
				t.Fatalf("%+v: size %d has the same largest share (%d key groups) as %d", info, p, share, p-1)
			}
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("job.autoscaler.utilization.target", "0.7")
	f.Add("flinktune.lag.max", "2 min")
	f.Add("job.autoscaler.metrics.window", "0")
	f.Add("job.autoscaler.vertex.exclude.ids", "a;b,,c")
	f.Fuzz(func(t *testing.T, key, value string) {
		o, err := ParseOptions(flinkconf.FromMap(map[string]string{key: value}))
		if err != nil {
			if !strings.Contains(err.Error(), key) {
				t.Fatalf("error %q does not name the key %q", err, key)
			}
			return
		}
		if o.TargetUtilization <= 0 || o.TargetUtilization > 1 || o.Window < 10*time.Second || o.MinParallelism < 1 {
			t.Fatalf("accepted invalid options %+v from %s=%q", o, key, value)
		}
	})
}

// Regression (issue 9): a window emitting 1% of its input leaves its sink busy for a few
// milliseconds per second, too little for a rate measurement. That vertex must not hold up
// the decisions for the whole job, and the guess must not rescale it.
func TestLowRateVertexDoesNotStallTheJob(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el < 20*time.Minute {
			return 4000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 1, capacity: 40000, sel: 1},
		&toyVertex{id: "win", p: 1, capacity: 5000, sel: 0.01, maxP: 128, hash: true},
		&toyVertex{id: "sink", p: 1, capacity: 50000, sel: 1})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 1 {
		t.Fatalf("rescales at %v, want exactly one; final %v", r.rescales, r.final)
	}
	if r.final["win"] < 4 || r.final["sink"] != 1 {
		t.Errorf("final %v", r.final)
	}
	if r.maxLagSec > 3*60 {
		t.Errorf("max lag %.0fs", r.maxLagSec)
	}
}

// Regression (issue 9): a metric that vanishes for good (here the source's pendingRecords)
// held every decision as "incomplete metrics" forever. A gap longer than the metrics window
// is taken as the metric being gone; the policy goes on with what there is.
func TestMetricGoneForGoodDoesNotStall(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el < 40*time.Minute {
			return 4000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 1, capacity: 40000, sel: 1}, &toyVertex{id: "map", p: 1, capacity: 5000, sel: 1, maxP: 128, hash: true})
	p := New(DefaultOptions())
	var scaledAt time.Duration
	var final map[string]int
	for el := time.Duration(0); el < 2*time.Hour; el += time.Second {
		j.step()
		if j.now.Sub(t0)%(10*time.Second) != 0 {
			continue
		}
		s := j.snapshot()
		if el >= 20*time.Minute {
			delete(s.Vertices[0].Metrics, "Source__src.pendingRecords")
		}
		d, err := p.Cycle(s)
		if err != nil {
			t.Fatal(err)
		}
		if el >= 20*time.Minute && el < 25*time.Minute && !strings.Contains(d.Reason, "incomplete metrics") {
			t.Fatalf("at %v, right after the metric vanished: %q", el, d.Reason)
		}
		if d.Scaled && j.down <= 0 && j.apply(d.Parallelism) {
			p.Applied(j.now, d.Parallelism)
			if scaledAt == 0 {
				scaledAt, final = el, d.Parallelism
			}
		}
	}
	if scaledAt == 0 || scaledAt > 50*time.Minute || final["map"] < 4 {
		t.Errorf("first scale-up at %v to %v; the load rose at 40m", scaledAt, final)
	}
}

// Regression (issue 9, gen-22): a vertex measured only at 24 subtasks must not be counted on
// to do more per subtask at 1 (the efficiency prior's 37%): a scale-down sized so leaves it
// short at the next load step. Below the lowest parallelism measured the per-subtask rate is
// held; growing still pays the prior's loss, and a measured lower parallelism earns its gain.
func TestScaleDownCountsOnNoUnmeasuredEfficiency(t *testing.T) {
	m := &vertexModel{info: vertexInfo{P: 24}, perSubtask: 1000, known: true, hot: 1, alpha: alphaPrior}
	if got := m.capacity(1); math.Abs(got-1000) > 1e-9 {
		t.Errorf("capacity at 1 of 24 measured = %.1f, want 1000 (no unmeasured gain)", got)
	}
	if got, want := m.capacity(48), 48*1000*math.Pow(2, -alphaPrior); math.Abs(got-want) > 1e-6 {
		t.Errorf("capacity at 48 = %.1f, want %.1f (the prior's loss)", got, want)
	}
	m.minSeen = 6
	if got, want := m.capacity(2), 2*1000*math.Pow(0.25, -alphaPrior); math.Abs(got-want) > 1e-6 {
		t.Errorf("capacity at 2 with 6 measured = %.1f, want %.1f (gain down to 6 only)", got, want)
	}
}

// A vertex the lag objective lets run near its capacity keeps up only as long as nothing
// accrues: a scale-down's restart must not leave it to drain that restart's lag, or a
// scale-up follows right after (gen-149: sources and sinks 16 -> 1, a window at 99% of its
// capacity left at 16, reversed two minutes later). It comes along up in the same restart.
func TestScaleDownBringsHotVertexAlong(t *testing.T) {
	j := newToy(func(time.Duration) float64 { return 10000 },
		&toyVertex{id: "src", p: 8, capacity: 20000, sel: 1},
		&toyVertex{id: "win", p: 4, capacity: 2560, sel: 1, maxP: 128, hash: true})
	r := run(t, New(DefaultOptions()), j, 3*time.Hour)
	if len(r.rescales) == 0 {
		t.Fatalf("the idle source was never scaled down; final %v", r.final)
	}
	for i := 1; i < len(r.dirs); i++ {
		if r.dirs[i] != r.dirs[i-1] && r.rescales[i]-r.rescales[i-1] < 35*time.Minute {
			t.Errorf("rescale at %v reverses the one at %v (dirs %v)", r.rescales[i], r.rescales[i-1], r.dirs)
		}
	}
	if r.final["src"] >= 8 || r.final["win"] <= 4 {
		t.Errorf("final %v, want the source down and the window up", r.final)
	}
	if r.maxLagSec > 120 {
		t.Errorf("lag reached %.0f s of input", r.maxLagSec)
	}
}

// A start backlog is drained by a scale-up sized for the demand plus the lag to drain within
// catch-up; once the lag is gone that surplus leaves the job at ~40% utilization, above
// utilization.min, so nothing ever shed it (gen-4, 27, 36: +15-50% parallelism-seconds held for
// hours). The vertices halfway down now start a scale-down once the backlog is gone, with the
// usual guards (settle after the scale-up, low for lowFor, no lag).
func TestBacklogSurplusShedOnceDrained(t *testing.T) {
	j := newToy(func(time.Duration) float64 { return 8000 },
		&toyVertex{id: "src", p: 1, capacity: 40000, sel: 1},
		&toyVertex{id: "agg", p: 2, capacity: 5000, sel: 1, maxP: 128, hash: true})
	j.lag = 8000 * 500 // 8 minutes of input behind at the start
	r := run(t, New(DefaultOptions()), j, 3*time.Hour)
	if len(r.rescales) < 2 || r.dirs[0] != 1 {
		t.Fatalf("want the catch-up scale-up and a scale-down after, got %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	if r.dirs[1] != -1 || r.rescales[1]-r.rescales[0] < DefaultOptions().Settle {
		t.Errorf("second rescale at %v (dir %d), want a scale-down no sooner than settle after the first at %v",
			r.rescales[1], r.dirs[1], r.rescales[0])
	}
	// 8000/s at the target utilization 0.8 needs 2 subtasks of 5000/s (3 with the prior's loss).
	if r.final["agg"] > 3 {
		t.Errorf("final %v: the catch-up surplus is still held", r.final)
	}
	if j.lag > 8000*60 {
		t.Errorf("lag %.0f records at the end", j.lag)
	}
}

// A drain, or a rate no parallelism sustains, buys no subtask that would sustain less than
// half of what one sustains now (yieldLimit): a skewed window was sized 10 -> 128 for 1.7 times
// its capacity (gen-125). A vertex that scales evenly still gets its upper bound, and a rate
// that a parallelism sustains is sized as before.
func TestDrainStopsWhereSubtasksStopPaying(t *testing.T) {
	o := DefaultOptions()
	skewed := &vertexModel{info: vertexInfo{P: 10, MaxP: 128, HashInput: true}, perSubtask: 1000, known: true, hot: 1.5}
	even := &vertexModel{info: vertexInfo{P: 10, MaxP: 128, HashInput: true}, perSubtask: 1000, known: true, hot: 1}
	yield := func(m *vertexModel, p int) float64 { return m.capacity(p) / float64(p) }
	hi := skewed.upperBound(o)
	if hi <= 60 {
		t.Fatalf("upper bound %d: the case needs room above the yield limit", hi)
	}
	for _, rate := range []float64{1e9, skewed.capacity(hi) * catchUpUtilization * 0.99} {
		n := skewed.drainSize(rate, o)
		if n <= 10 || n >= 60 {
			t.Errorf("skewed drainSize(%.0f) = %d, want above 10 and well below %d", rate, n, hi)
		}
		if y := yield(skewed, n); y < minYield*yield(skewed, 10) {
			t.Errorf("skewed drainSize(%.0f) = %d: its subtasks sustain %.0f/s, under half of %.0f/s", rate, n, y, yield(skewed, 10))
		}
		if c := skewed.capacity(n - 1); c >= skewed.capacity(n) {
			t.Errorf("drainSize = %d, but %d sustains as much", n, n-1)
		}
	}
	if n := skewed.sizeFor(1e9, catchUpUtilization, o); n >= 60 {
		t.Errorf("skewed sizeFor(unreachable) = %d, want the yield limit", n)
	}
	if n := even.drainSize(1e9, o); n != even.upperBound(o) {
		t.Errorf("even drainSize(unreachable) = %d, want the upper bound %d", n, even.upperBound(o))
	}
	rate := skewed.capacity(20) * catchUpUtilization
	if n, want := skewed.drainSize(rate, o), skewed.sizeFor(rate, catchUpUtilization, o); n != want || n > 20 {
		t.Errorf("reachable drain: drainSize = %d, sizeFor = %d, want equal and at most 20", n, want)
	}
}
