package operator

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

func TestJavaHashOrder(t *testing.T) {
	// "Aa" and "BB" share String#hashCode 2112: same bucket, insertion order kept.
	if got := javaHashOrder([]string{"BB", "Aa", "c", "BB"}); !slices.Equal(got, []string{"BB", "Aa", "c"}) {
		t.Errorf("order %q", got)
	}
	if javaStringHash("Aa") != 2112 || javaStringHash("hello") != 99162322 || javaStringHash("é") != 233 {
		t.Error("String#hashCode")
	}
	// Buckets are visited in ascending index order: "b" (98 → 2) before "a"? no, "a" is 97 → 1.
	if got := javaHashOrder([]string{"b", "a"}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("order %q", got)
	}
}

func sourceVertex(names map[string]autoscaler.Aggregate, readRecords int64) autoscaler.Vertex {
	v := autoscaler.Vertex{ID: "src", Parallelism: 2, MaxParallelism: 128, ReadRecords: readRecords, Metrics: names}
	for n := range names {
		v.MetricNames = append(v.MetricNames, n)
	}
	slices.Sort(v.MetricNames)
	return v
}

func collectOne(t *testing.T, o *Options, vs ...autoscaler.Vertex) (*CollectResult, error) {
	t.Helper()
	snap := testSnapshot(t0, t0, nil, vs)
	top, err := TopologyFromSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	return ComputeScalingMetrics(snap, top, o, nil)
}

func TestCollectorSourceMetrics(t *testing.T) {
	o := DefaultOptions()
	nan := math.NaN()
	res, err := collectOne(t, &o, sourceVertex(map[string]autoscaler.Aggregate{
		"busyTimeMsPerSecond":                                           agg(nan, 400, 300),
		"backPressuredTimeMsPerSecond":                                  agg(nan, nan, 100),
		"Source__a.numRecordsInPerSecond":                               agg(900, nan, nan),
		"Source__a.numRecordsIn":                                        agg(5000, nan, nan),
		"Source__a.numRecordsOut":                                       agg(7000, nan, nan),
		"Source__a.x.pendingRecords":                                    agg(40000, nan, nan),
		"Source__b.y.pendingRecords":                                    agg(2000, nan, nan),
		"Source__a.KafkaSourceReader.topic.t.partition.0.currentOffset": agg(nan, nan, nan),
	}, 0))
	if err != nil {
		t.Fatal(err)
	}
	v := res.Sample.Vertices["src"]
	want := map[Metric]float64{
		MetricLag:                 42000,                  // pendingRecords of both operators summed
		MetricLoad:                0.4,                    // MAX
		MetricNumRecordsIn:        5000,                   // read-records is 0: the source operator's numRecordsIn
		MetricNumRecordsOut:       0,                      // write-records
		MetricObservedTPR:         roundMetric(900 / 0.9), // lag 42000 ≥ 30 s × 900: 900 / (1 - 0.1)
		MetricAccumulatedBusyTime: 0,
	}
	for m, w := range want {
		if got := v.NaN(m); got != w {
			t.Errorf("%s = %v, want %v", m, got, w)
		}
	}
	if v.Has(MetricNumRecordsInPerSecond) {
		t.Error("sources have no NUM_RECORDS_IN_PER_SECOND")
	}
	g := res.Sample.Global
	if g.NaN(MetricHeapMaxUsageRatio) != 0.1 || g.Has(MetricNumTaskSlotsUsed) {
		t.Errorf("global %+v", g)
	}
	// Falls back to numRecordsOut when numRecordsIn is 0 too.
	res, _ = collectOne(t, &o, sourceVertex(map[string]autoscaler.Aggregate{
		"busyTimeMsPerSecond": agg(nan, 400, 300), "backPressuredTimeMsPerSecond": agg(nan, nan, 0),
		"Source__a.numRecordsInPerSecond": agg(0, nan, nan), "Source__a.numRecordsIn": agg(0, nan, nan),
		"Source__a.numRecordsOut": agg(7000, nan, nan),
	}, 0))
	if v := res.Sample.Vertices["src"]; v.NaN(MetricNumRecordsIn) != 7000 || !math.IsInf(v.NaN(MetricObservedTPR), 1) || v.NaN(MetricLag) != 0 {
		t.Errorf("fallbacks %+v", v)
	}
}

func TestCollectorExclusionsAndErrors(t *testing.T) {
	o := DefaultOptions()
	nan := math.NaN()
	src := sourceVertex(map[string]autoscaler.Aggregate{
		"busyTimeMsPerSecond": agg(nan, nan, nan), "backPressuredTimeMsPerSecond": agg(nan, nan, 0),
		"Source__a.numRecordsInPerSecond": agg(10, nan, nan), "Source__a.numRecordsIn": agg(10, nan, nan),
	}, 10)
	done := autoscaler.Vertex{ID: "done", Parallelism: 3, MaxParallelism: 128, Finished: true, ReadRecords: 99,
		Inputs: []autoscaler.Edge{{From: "src", Ship: "forward"}}}
	res, err := collectOne(t, &o, src, done)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Excluded, []string{"src"}) || !math.IsNaN(res.Sample.Vertices["src"].NaN(MetricLoad)) {
		t.Errorf("a vertex without busy time is excluded: %v", res.Excluded)
	}
	if d := res.Sample.Vertices["done"]; d.NaN(MetricLoad) != 0 || d.NaN(MetricNumRecordsIn) != 0 || d.Has(MetricLag) {
		t.Errorf("finished vertex metrics are zero: %+v", d)
	}
	// A required metric missing from the listing.
	src.MetricNames = []string{"busyTimeMsPerSecond"}
	_, err = collectOne(t, &o, src)
	var nf *metricNotFoundError
	if !errors.As(err, &nf) || err.Error() != "Could not find required metric BACKPRESSURE_TIME_PER_SEC for src" {
		t.Errorf("missing metric: %v", err)
	}
	snap := testSnapshot(t0, t0, nil, []autoscaler.Vertex{src})
	top, _ := TopologyFromSnapshot(snap)
	var c Collector
	if _, err := c.Collect(snap, top, &o, nil, true); !isNotReady(err) {
		t.Errorf("during stabilization a missing metric is not-ready: %v", err)
	}
	if _, err := TopologyFromSnapshot(&autoscaler.Snapshot{}); !isNotReady(err) {
		t.Errorf("an empty plan is not ready: %v", err)
	}
	if _, err := NewTopology([]*VertexInfo{{ID: "a", Inputs: []Input{{"b", ShipHash}}}, {ID: "b", Inputs: []Input{{"a", ShipHash}}}}); err == nil {
		t.Error("a cycle is rejected")
	}
}

func TestCollectorCachesNonSourceNames(t *testing.T) {
	o := DefaultOptions()
	nan := math.NaN()
	src := sourceVertex(map[string]autoscaler.Aggregate{
		"busyTimeMsPerSecond": agg(nan, 100, nan), "backPressuredTimeMsPerSecond": agg(nan, nan, 0),
		"Source__a.numRecordsInPerSecond": agg(10, nan, nan), "Source__a.numRecordsIn": agg(10, nan, nan),
	}, 10)
	sink := autoscaler.Vertex{ID: "sink", Parallelism: 1, MaxParallelism: 1, Inputs: []autoscaler.Edge{{From: "src", Ship: "HASH"}},
		MetricNames: []string{"busyTimeMsPerSecond"}, Metrics: map[string]autoscaler.Aggregate{"busyTimeMsPerSecond": agg(nan, 100, nan), "numRecordsInPerSecond": agg(5, nan, nan)}}
	snap := testSnapshot(t0, t0, nil, []autoscaler.Vertex{src, sink})
	top, _ := TopologyFromSnapshot(snap)
	var c Collector
	res, _ := c.Collect(snap, top, &o, nil, false)
	if res.Sample.Vertices["sink"].Has(MetricNumRecordsInPerSecond) {
		t.Fatal("not listed, not queried")
	}
	// The gauge appears later: the operator only re-lists non-sources when the vertex set changes.
	snap.Vertices[1].MetricNames = append(snap.Vertices[1].MetricNames, "numRecordsInPerSecond")
	res, _ = c.Collect(snap, top, &o, nil, false)
	if res.Sample.Vertices["sink"].Has(MetricNumRecordsInPerSecond) {
		t.Error("cached names of non-sources are kept while the vertex set is unchanged")
	}
	c.Reset()
	res, _ = c.Collect(snap, top, &o, nil, false)
	if res.Sample.Vertices["sink"].NaN(MetricNumRecordsInPerSecond) != 5 {
		t.Error("after a reset the names are listed again")
	}
	o115, _ := ParseOptions(flinkconf.FromMap(map[string]string{OptVariant.Key: "1.15"}))
	res, _ = ComputeScalingMetrics(snap, top, &o115, nil)
	if res.Sample.Vertices["sink"].Has(MetricNumRecordsInPerSecond) {
		t.Error("1.15 does not collect numRecordsInPerSecond")
	}
}

// A custom evaluator overrides parts of the built-in evaluation (FLIP-514).
type doubleTarget struct{ calls []string }

func (d *doubleTarget) EvaluateVertexMetrics(vertex string, m EvaluatedSet, ctx *EvaluatorContext) (map[Metric]Evaluated, error) {
	d.calls = append(d.calls, vertex)
	if vertex == "boom" {
		return nil, errors.New("plugin failure is ignored")
	}
	factor, _, _ := ctx.Conf.Double(flinkconf.Option{Key: "factor", Type: flinkconf.TypeDouble, Default: "1", HasDefault: true})
	return map[Metric]Evaluated{
		MetricTargetDataRate: {Current: math.NaN(), Average: m.Average(MetricTargetDataRate) * factor},
		MetricLag:            {Current: 7, Average: math.NaN()},
	}, nil
}

func TestCustomEvaluatorPlugin(t *testing.T) {
	plugin := &doubleTarget{}
	o, err := ParseOptions(flinkconf.FromMap(map[string]string{
		Prefix + "metrics.custom-evaluators":              "dbl;ignored",
		Prefix + "metrics.custom-evaluator.dbl.class":     "com.example.Double",
		Prefix + "metrics.custom-evaluator.dbl.factor":    "2",
		Prefix + "metrics.custom-evaluator.ignored.class": "com.example.Other",
	}))
	if err != nil {
		t.Fatal(err)
	}
	o.Plugins.Evaluators = map[string]EvaluatorPlugin{"com.example.Double": plugin}
	h := History{}
	for i, in := range []float64{0, 600} {
		s := &Sample{Time: t0.Add(time.Duration(i) * time.Minute), Vertices: map[string]*Values{"src": {}, "boom": {}}}
		s.Vertices["src"].Set(MetricNumRecordsIn, in)
		s.Vertices["src"].Set(MetricLag, 0)
		s.Vertices["src"].Set(MetricLoad, 0.5)
		s.Vertices["boom"].Set(MetricNumRecordsIn, in)
		s.Vertices["boom"].Set(MetricLoad, 0.5)
		h = h.put(s)
	}
	top, _ := NewTopology([]*VertexInfo{{ID: "src", Parallelism: 1, MaxParallelism: 1},
		{ID: "boom", Parallelism: 1, MaxParallelism: 1, Inputs: []Input{{"src", ShipHash}}}})
	em, err := Evaluate(&o, top, h, time.Minute, "job")
	if err != nil {
		t.Fatal(err)
	}
	src := em.Vertices["src"]
	if src.Average(MetricTargetDataRate) != 20 || src.Current(MetricLag) != 7 || !slices.Equal(plugin.calls, []string{"src", "boom"}) {
		t.Errorf("merged %+v calls %v", src, plugin.calls)
	}
	// The downstream target uses the overridden upstream target; the failing call is ignored.
	if em.Vertices["boom"].Average(MetricTargetDataRate) != 20 || em.Vertices["boom"].Has(MetricLag) {
		t.Errorf("boom %+v", em.Vertices["boom"])
	}
	if !strings.Contains(OptCustomEvaluators.Description, "first") {
		t.Error("description")
	}
}

// The memory model used by Cycle derives the spec the tuning vectors give.
func TestMemoryModelMatchesTuningSpec(t *testing.T) {
	cfg := flinkconf.FromMap(map[string]string{"taskmanager.memory.process.size": "30 gb", "taskmanager.numberOfTaskSlots": "5"})
	o := DefaultOptions()
	spec := deriveSpec(&o, cfg)
	if spec == nil {
		t.Skip("memory.DeriveTaskManager is not available")
	}
	want := [...]int64{32212254720, 1073741824, 268435456, 30870077440, 12348031160, 3087007790, 134217728, 134217728, 0, 15166603034}
	got := [...]int64{spec.TotalProcess, spec.JVMOverhead, spec.JVMMetaspace, spec.TotalFlink, spec.Managed, spec.Network,
		spec.FrameworkHeap, spec.FrameworkOffHeap, spec.TaskOffHeap, spec.TaskHeap}
	if got != want {
		t.Errorf("derived %v, want %v", got, want)
	}
	if d := deriveSpec(&o, flinkconf.New()); d != nil {
		t.Error("no memory size configured: derivation fails and tuning is abandoned")
	}
}
