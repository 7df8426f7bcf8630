package operator

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// apply realizes a decision as the standalone realizer would: a changed parallelism restarts
// the job (RUNNING again shortly after).
func (j *syntheticJob) apply(dec autoscaler.Decision) bool {
	changed := false
	for i := range j.snap.Vertices {
		v := &j.snap.Vertices[i]
		if p, ok := dec.Parallelism[v.ID]; ok && p != v.Parallelism {
			v.Parallelism = p
			changed = true
		}
	}
	if changed {
		j.snap.RunningSince = j.snap.Time.Add(20 * time.Second)
	}
	return changed
}

func benchConf(extra map[string]string) map[string]string {
	conf := map[string]string{
		OptEnabled.Key: "true", OptStabilizationInterval.Key: "1 min", OptMetricsWindow.Key: "5 min",
		OptScaleDownInterval.Key: "10 min", OptCatchUpDuration.Key: "5 min",
	}
	for k, v := range extra {
		conf[k] = v
	}
	return conf
}

// runJob runs n cycles of a synthetic job through p, applying decisions.
func runJob(t *testing.T, p *Policy, job *syntheticJob, n int, dt time.Duration) []autoscaler.Decision {
	t.Helper()
	var out []autoscaler.Decision
	for i := 0; i < n; i++ {
		dec, err := p.Cycle(job.next(dt))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range dec.Events {
			if e.Reason == ReasonAutoscalerError {
				t.Fatalf("cycle %d: %s", i, e.Message)
			}
		}
		job.apply(dec)
		out = append(out, dec)
	}
	return out
}

func TestRestoredPolicyDecidesLikeUninterrupted(t *testing.T) {
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	const total, cut = 240, 97
	conf := benchConf(nil)

	a := New(DefaultOptions())
	reference := runJob(t, a, newSyntheticJob(3, 4, conf, start), total, time.Minute)
	scalings := 0
	for _, d := range reference {
		if d.Scaled {
			scalings++
		}
	}
	if scalings < 2 {
		t.Fatalf("the synthetic job should rescale several times, got %d", scalings)
	}

	job := newSyntheticJob(3, 4, conf, start)
	b := New(DefaultOptions())
	first := runJob(t, b, job, cut, time.Minute)
	data, err := b.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	c := New(DefaultOptions())
	if err := c.RestoreState(data); err != nil {
		t.Fatal(err)
	}
	again, err := c.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, again) {
		t.Fatal("MarshalState after RestoreState differs")
	}
	rest := runJob(t, c, job, total-cut, time.Minute)
	got := append(first, rest...)
	for i := range reference {
		if !reflect.DeepEqual(reference[i], got[i]) {
			t.Fatalf("cycle %d differs after restore:\nuninterrupted %+v\nrestored      %+v", i, reference[i], got[i])
		}
	}
}

func TestStateJSONKeepsNonFiniteValues(t *testing.T) {
	p := New(DefaultOptions())
	p.st.Metrics = History{{Time: t0, Vertices: map[string]*Values{"v": {}}, Global: &Values{}}}
	p.st.Metrics[0].Vertices["v"].Set(MetricObservedTPR, math.Inf(1))
	p.st.Metrics[0].Vertices["v"].Set(MetricLoad, math.NaN())
	m := &EvaluatedSet{}
	m.Set(MetricScaleDownRateThreshold, EvalOf(math.Inf(1)))
	addSummaries(p.st.ScalingHistory, t0, map[string]ScalingSummary{"v": {CurrentParallelism: 1, NewParallelism: 2, Metrics: m}})
	data, err := p.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	q := New(DefaultOptions())
	if err := q.RestoreState(data); err != nil {
		t.Fatal(err)
	}
	v := q.st.Metrics[0].Vertices["v"]
	if !math.IsInf(v.NaN(MetricObservedTPR), 1) || !math.IsNaN(v.NaN(MetricLoad)) || !v.Has(MetricLoad) {
		t.Errorf("non-finite values lost: %+v", v)
	}
	if got := q.st.ScalingHistory["v"][0].Summary.Metrics.Current(MetricScaleDownRateThreshold); !math.IsInf(got, 1) {
		t.Errorf("threshold %v", got)
	}
	if err := q.RestoreState([]byte(`{"version":99}`)); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("unsupported version must fail, got %v", err)
	}
}

// twoVertexSnapshot is a source → sink job with a steady input rate.
type twoVertexJob struct {
	t        time.Time
	running  time.Time
	conf     map[string]string
	par      map[string]int
	in       float64
	rate     float64
	busy     float64
	lag      float64 // pending records, growing by lagRate per second
	lagRate  float64
	status   string
	dropTMs  bool
	noIngest bool
}

func (j *twoVertexJob) snapshot(dt time.Duration) *autoscaler.Snapshot {
	j.t = j.t.Add(dt)
	if !j.noIngest {
		j.in += j.rate * dt.Seconds()
	}
	j.lag += j.lagRate * dt.Seconds()
	src := rawVertex{numRecordsIn: j.in, numRecordsOut: j.in, perSec: j.rate, busy: j.busy, pending: j.lag}
	sink := rawVertex{numRecordsIn: j.in, perSec: math.NaN(), busy: j.busy, pending: math.NaN()}
	snap := testSnapshot(j.t, j.running, j.conf, []autoscaler.Vertex{
		rawToVertex("source", j.par["source"], 720, nil, src),
		rawToVertex("sink", j.par["sink"], 720, []autoscaler.Edge{{From: "source", Ship: "HASH"}}, sink),
	})
	if j.status != "" {
		snap.Status = j.status
	}
	if j.noIngest {
		for i := range snap.Vertices {
			snap.Vertices[i].ReadRecords = 0
			delete(snap.Vertices[i].Metrics, "Source__src.numRecordsOut")
		}
	}
	if j.dropTMs {
		snap.TaskManagerMetrics = nil
	}
	return snap
}

func newTwoVertexJob(conf map[string]string) *twoVertexJob {
	c := map[string]string{OptEnabled.Key: "true", OptStabilizationInterval.Key: "0 s", OptMetricsWindow.Key: "2 min",
		OptCatchUpDuration.Key: "0 s", OptScaleDownInterval.Key: "0 s"}
	for k, v := range conf {
		c[k] = v
	}
	return &twoVertexJob{t: t0, running: t0, conf: c, par: map[string]int{"source": 2, "sink": 2}, rate: 1000, busy: 900, lagRate: 500}
}

func cycles(t *testing.T, p *Policy, j *twoVertexJob, n int) []autoscaler.Decision {
	t.Helper()
	var out []autoscaler.Decision
	for i := 0; i < n; i++ {
		d, err := p.Cycle(j.snapshot(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func eventsOf(ds []autoscaler.Decision, reason string) []autoscaler.Event {
	var out []autoscaler.Event
	for _, d := range ds {
		for _, e := range d.Events {
			if e.Reason == reason {
				out = append(out, e)
			}
		}
	}
	return out
}

func TestCycleScalesUpAndReappliesOverrides(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(nil)
	ds := cycles(t, p, j, 3)
	if ds[0].Ready || ds[1].Ready || ds[0].Parallelism != nil {
		t.Fatalf("window not full yet: %+v", ds[:2])
	}
	d := ds[2]
	if !d.Ready || !d.Scaled {
		t.Fatalf("expected a scale-up: %+v", d)
	}
	// busy 0.9 at 1000 rec/s with p=2: TPR 1111.111 below the target rate 1500 (input plus lag
	// growth); capacity round(1500/0.7) = 2143 → factor 1.9287 → ceil(3.86) = 4.
	if d.Parallelism["source"] != 4 || d.Parallelism["sink"] != 4 {
		t.Errorf("parallelism %v", d.Parallelism)
	}
	reports := eventsOf(ds, ReasonScalingReport)
	if len(reports) != 1 || !strings.HasPrefix(reports[0].Message, headerExecutionEnabled) || reports[0].Key != "ScalingExecutor" {
		t.Errorf("scaling report %+v", reports)
	}
	if got := d.Evaluated["source"]["RECOMMENDED_PARALLELISM"]; got != 4 {
		t.Errorf("RECOMMENDED_PARALLELISM %v", got)
	}
	// The realizer has not applied it yet: the next cycles re-apply the same overrides.
	j.status = "RESTARTING"
	d2 := cycles(t, p, j, 1)[0]
	if !reflect.DeepEqual(d2.Parallelism, d.Parallelism) || d2.Ready {
		t.Errorf("overrides must be re-applied while not running: %+v", d2)
	}
	if c := p.Counters(); c.Scalings != 1 || c.Balanced != 0 || c.Errors != 0 {
		t.Errorf("counters %+v", c)
	}
}

func TestRestartResetsWindowAndTracksRestartTime(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(map[string]string{OptTrackRestartTime.Key: "true"})
	cycles(t, p, j, 3)
	if len(p.st.Tracking.Records) != 1 {
		t.Fatalf("a scaling record per rescale: %+v", p.st.Tracking)
	}
	decided := p.st.Tracking.Records[0].Time
	j.par = map[string]int{"source": 4, "sink": 4}
	j.running = j.t.Add(45 * time.Second)
	d := cycles(t, p, j, 1)[0]
	if len(p.st.Metrics) != 1 || d.Ready {
		t.Errorf("restart must reset the window: %d samples", len(p.st.Metrics))
	}
	rd := p.st.Tracking.Records[0].RestartDuration
	if rd == nil || *rd != j.running.Sub(decided) {
		t.Errorf("restart duration %v", rd)
	}
	if got := p.st.Tracking.maxRestartTimeOrDefault(p.cachedOpts); got != 45*time.Second {
		t.Errorf("tracked restart time %v", got)
	}
}

func TestDisabledAutoscalerClearsState(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(nil)
	cycles(t, p, j, 3)
	if len(p.st.Overrides) == 0 {
		t.Fatal("expected overrides")
	}
	j.conf[OptEnabled.Key] = "false"
	d := cycles(t, p, j, 1)[0]
	if d.Parallelism != nil || len(p.st.Metrics) != 0 || len(p.st.Overrides) != 0 || len(p.st.ScalingHistory) != 0 {
		t.Errorf("disabled autoscaler must clear its state: %+v", d)
	}
}

func TestScalingDisabledOnlyReports(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(map[string]string{OptScalingEnabled.Key: "false"})
	ds := cycles(t, p, j, 5)
	for _, d := range ds {
		if d.Scaled || d.Parallelism != nil {
			t.Fatalf("scaling disabled must not rescale: %+v", d)
		}
	}
	reports := eventsOf(ds, ReasonScalingReport)
	if len(reports) != 1 {
		t.Fatalf("the identical disabled report is deduplicated within scaling.event.interval: %+v", reports)
	}
	want := "Scaling execution disabled by config job.autoscaler.scaling.enabled:false, recommended parallelism change:{ Vertex ID source | Parallelism 2 -> 4 | Processing capacity 1111.11 -> 2222.22 | Target data rate 1500.00}"
	if !strings.HasPrefix(reports[0].Message, want) {
		t.Errorf("report %q", reports[0].Message)
	}
	if p.Counters().Balanced != 3 {
		t.Errorf("blocked decisions count as balanced: %+v", p.Counters())
	}
	// After the event interval the report is repeated.
	j.conf[OptScalingEventInterval.Key] = "2 min"
	ds = cycles(t, p, j, 4)
	if n := len(eventsOf(ds, ReasonScalingReport)); n != 2 {
		t.Errorf("reports after the interval: %d", n)
	}
}

func TestExcludedPeriodBlocksScaling(t *testing.T) {
	p := New(DefaultOptions())
	// t0 is 2026-07-01 (a Wednesday) 00:00 UTC; samples at 00:01, 00:02, 00:03.
	j := newTwoVertexJob(map[string]string{OptExcludedPeriods.Key: "00:00-00:30;* * 14-16 ? * MON"})
	ds := cycles(t, p, j, 3)
	if ds[2].Scaled || !ds[2].Ready {
		t.Fatalf("inside an excluded period the decision is only reported: %+v", ds[2])
	}
	r := eventsOf(ds, ReasonScalingReport)
	want := "Scaling execution disabled by config job.autoscaler.excluded.periods:[00:00-00:30, * * 14-16 ? * MON], recommended parallelism change:"
	if len(r) != 1 || !strings.HasPrefix(r[0].Message, want) {
		t.Errorf("report %+v", r)
	}
	// Outside the period (timezone shifts it) scaling happens.
	p2 := New(DefaultOptions())
	j2 := newTwoVertexJob(map[string]string{OptExcludedPeriods.Key: "00:00-00:30", OptTimeZone.Key: "Asia/Tokyo"})
	if d := cycles(t, p2, j2, 3)[2]; !d.Scaled {
		t.Errorf("09:03 in Tokyo is outside 00:00-00:30: %+v", d)
	}
}

func TestUserOverridesAndExcludedVertices(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(map[string]string{
		OptVertexExcludeIDs.Key:     "sink",
		optParallelismOverrides.Key: "sink:7,other:5",
		OptUtilizationTarget.Key:    "0.7",
		OptMemoryTuningEnabled.Key:  "false",
		OptScalingEventInterval.Key: "1 h",
		OptHistoryMaxCount.Key:      "3",
	})
	d := cycles(t, p, j, 3)[2]
	if !d.Scaled {
		t.Fatalf("the source is not excluded: %+v", d)
	}
	// Only the source was scaled; the user value wins for the excluded sink, other user
	// overrides pass through.
	want := map[string]int{"source": 4, "sink": 7, "other": 5}
	if !reflect.DeepEqual(d.Parallelism, want) {
		t.Errorf("parallelism %v, want %v", d.Parallelism, want)
	}
}

func TestNotRunningDropsEvaluation(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(nil)
	j.status = "CREATED"
	d := cycles(t, p, j, 3)[2]
	if len(p.st.Metrics) != 0 || d.Ready || p.LastEvaluated() != nil || !strings.Contains(d.Reason, "CREATED") {
		t.Errorf("no collection while not running: %+v", d)
	}
}

func TestErrorsBecomeEvents(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(nil)
	j.dropTMs = true
	ds := cycles(t, p, j, 2)
	errs := eventsOf(ds, ReasonAutoscalerError)
	if len(errs) != 2 || errs[0].Message != "Missing required TM metrics" || errs[0].Type != autoscaler.EventWarning {
		t.Errorf("errors %+v", errs)
	}
	if p.Counters().Errors != 2 {
		t.Errorf("counters %+v", p.Counters())
	}
	// A malformed option is an AutoscalerError too; a value out of range is a validation event.
	q := New(DefaultOptions())
	k := newTwoVertexJob(map[string]string{OptEnabled.Key: "3"})
	e := eventsOf(cycles(t, q, k, 1), ReasonAutoscalerError)
	if len(e) != 1 || !strings.HasPrefix(e[0].Message, "Could not parse value '3' for key 'job.autoscaler.enabled'") {
		t.Errorf("parse error event %+v", e)
	}
	r := New(DefaultOptions())
	l := newTwoVertexJob(map[string]string{OptUtilizationTarget.Key: "1.5"})
	v := eventsOf(cycles(t, r, l, 2), ReasonOptionsValidation)
	if len(v) != 1 || !strings.Contains(v[0].Message, "job.autoscaler.utilization.target is invalid, it should be a value within the range [0.0, 1.0]") {
		t.Errorf("validation event %+v", v)
	}
}

func TestMissingBusyTimeDuringStabilizationIsNotAnError(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(map[string]string{OptStabilizationInterval.Key: "10 min"})
	snap := j.snapshot(time.Minute)
	snap.Vertices[1].MetricNames = []string{"numRecordsInPerSecond"}
	d, _ := p.Cycle(snap)
	if len(d.Events) != 0 || !strings.Contains(d.Reason, "Could not find required metric BUSY_TIME_PER_SEC for sink") {
		t.Errorf("stabilizing: %+v", d)
	}
	j.conf[OptStabilizationInterval.Key] = "0 s"
	snap = j.snapshot(time.Minute)
	snap.Vertices[1].MetricNames = []string{"numRecordsInPerSecond"}
	d, _ = p.Cycle(snap)
	if e := eventsOf([]autoscaler.Decision{d}, ReasonAutoscalerError); len(e) != 1 {
		t.Errorf("after stabilization a missing metric is an error: %+v", d)
	}
}

func TestMemoryPressureEventDeduplicated(t *testing.T) {
	p := New(DefaultOptions())
	j := newTwoVertexJob(map[string]string{OptGCPressureThreshold.Key: "0.1"})
	var ds []autoscaler.Decision
	for i := 0; i < 6; i++ {
		snap := j.snapshot(time.Minute)
		snap.TaskManagerMetrics[tmGCTime] = agg(math.NaN(), 500, math.NaN())
		d, _ := p.Cycle(snap)
		ds = append(ds, d)
	}
	mp := eventsOf(ds, ReasonMemoryPressure)
	if len(mp) != 1 || mp[0].Key != "gcPressure" || mp[0].Message != "GC Pressure 0.5 is above the allowed limit for scaling operations. Please adjust the available memory manually." {
		t.Errorf("memory pressure events %+v", mp)
	}
	for _, d := range ds {
		if d.Scaled {
			t.Error("memory pressure vetoes scaling")
		}
	}
}

type refuseAll struct{ calls [][2]int }

func (r *refuseAll) TrySchedule(cur, next int, cpu float64, mem int64) bool {
	r.calls = append(r.calls, [2]int{cur, next})
	return false
}

func TestClusterResourceCheckGate(t *testing.T) {
	check := &refuseAll{}
	o := DefaultOptions()
	o.TaskManagerCPU, o.TaskManagerMemory, o.ResourceCheck = 2, 4<<30, check
	p := New(o)
	j := newTwoVertexJob(map[string]string{"taskmanager.numberOfTaskSlots": "2"})
	var d autoscaler.Decision
	for i := 0; i < 3; i++ {
		snap := j.snapshot(time.Minute)
		snap.SlotsTotal, snap.SlotsAvailable = 4, 2 // 2 slots used = max parallelism: slot sharing
		d, _ = p.Cycle(snap)
	}
	if d.Scaled || len(check.calls) != 1 || check.calls[0] != [2]int{1, 2} {
		t.Errorf("refused rescale: %+v calls %v", d, check.calls)
	}
	// Without the slot gauges the evaluated NUM_TASK_SLOTS_USED is NaN, read as 0 slots (the
	// operator's "JM metrics not ready" branch cannot trigger after evaluation).
	accept := &acceptAll{}
	o.ResourceCheck = accept
	p2 := New(o)
	if d := cycles(t, p2, newTwoVertexJob(nil), 3)[2]; !d.Scaled || len(accept.calls) != 1 || accept.calls[0] != [2]int{0, 8} {
		t.Errorf("accepted rescale: %+v calls %v", d, accept.calls)
	}
}

type acceptAll struct{ calls [][2]int }

func (a *acceptAll) TrySchedule(cur, next int, cpu float64, mem int64) bool {
	a.calls = append(a.calls, [2]int{cur, next})
	return true
}

func TestMemoryTuningThroughCycle(t *testing.T) {
	o := DefaultOptions()
	o.DeriveTaskManager = deriveForTest
	p := New(o)
	j := newTwoVertexJob(map[string]string{OptMemoryTuningEnabled.Key: "true",
		"taskmanager.memory.process.size": "8 gb", "taskmanager.numberOfTaskSlots": "2"})
	var ds []autoscaler.Decision
	for i := 0; i < 4; i++ {
		snap := j.snapshot(time.Minute)
		snap.TaskManagerMetrics[tmManaged] = agg(math.NaN(), 1<<30, math.NaN())
		snap.TaskManagerMetrics[tmMetaspace] = agg(math.NaN(), 100<<20, math.NaN())
		snap.TaskManagerMetrics[tmHeapUsed] = agg(math.NaN(), 1<<30, math.NaN())
		snap.TaskManagerMetrics[tmHeapMax] = agg(math.NaN(), 4<<30, math.NaN())
		d, _ := p.Cycle(snap)
		ds = append(ds, d)
	}
	if !ds[2].Scaled {
		t.Fatalf("expected a rescale: %+v", ds[2])
	}
	rec := eventsOf(ds, ReasonConfigRecommendation)
	if len(rec) != 1 || !strings.HasPrefix(rec[0].Message, "Memory tuning recommends the following configuration (automatic tuning is enabled):\n") || rec[0].Key != "MemoryTuning" {
		t.Fatalf("recommendation %+v", rec)
	}
	for _, d := range ds[2:] {
		if d.ConfigOverrides["taskmanager.memory.framework.heap.size"] != "0 bytes" || len(d.ConfigRemovals) != 4 {
			t.Errorf("config overrides are (re)applied every cycle: %+v", d.ConfigOverrides)
		}
	}
	// heap 1 GiB × 1.2 floored, metaspace 100 MiB × 1.2 = 120 mb
	if got := ds[3].ConfigOverrides["taskmanager.memory.jvm-metaspace.size"]; got != "120 mb" {
		t.Errorf("metaspace %q", got)
	}
}

func TestOptionsOverlayAndPlugins(t *testing.T) {
	base, err := ParseOptions(flinkconf.FromMap(map[string]string{Prefix + "utilization.target": "0.5"}))
	if err != nil {
		t.Fatal(err)
	}
	p := New(base)
	snap := &autoscaler.Snapshot{Config: map[string]string{LegacyPrefix + "catch-up.duration": "1 min"}}
	o, perr, verr := p.optionsFor(snap)
	if perr != nil || verr != nil || o.UtilizationTarget != 0.5 || o.CatchUpDuration != time.Minute {
		t.Errorf("overlay %v %v %+v", perr, verr, o)
	}
	data, _ := json.Marshal(o.Variant.String())
	if string(data) != `"1.16"` {
		t.Errorf("variant %s", data)
	}
}

// FuzzRestoreState: a saved policy state (the store's file, a ConfigMap) may be cut short or
// edited. Whatever RestoreState accepts, the policy keeps cycling on a running job without
// panicking and still marshals its state. (Decided parallelisms are not range-checked: like
// the Java operator, the port hands the stored parallelismOverrides on as they are, so an
// edited "0" or "-3" reaches the realizer, which Flink then refuses.)
func FuzzRestoreState(f *testing.F) {
	start := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	const warm = 20
	conf := benchConf(nil)
	p := New(DefaultOptions())
	job := newSyntheticJob(2, 2, conf, start)
	for range warm {
		d, err := p.Cycle(job.next(time.Minute))
		if err != nil {
			f.Fatal(err)
		}
		job.apply(d)
	}
	data, err := p.MarshalState()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"collectedMetrics":[{"time":"2026-07-01T00:19:00Z","vertexMetrics":{"00000000000000000000000000000000":{"LOAD":"NaN","LAG":-1,"NUM_RECORDS_IN":1e308}},"globalMetrics":{"HEAP_MAX_USAGE_RATIO":"Infinity"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := New(DefaultOptions())
		if p.RestoreState(data) != nil {
			return
		}
		job := newSyntheticJob(2, 2, conf, start)
		for range warm {
			job.next(time.Minute)
		}
		for range 3 { // decisions not applied: as if Flink refused them
			if _, err := p.Cycle(job.next(time.Minute)); err != nil {
				return
			}
		}
		if _, err := p.MarshalState(); err != nil {
			t.Fatalf("restored state cycled no longer marshals: %v", err)
		}
	})
}
