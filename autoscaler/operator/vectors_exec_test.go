package operator

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// Vectors of ScalingExecutorTest, MemoryTuningTest, MemoryScalingTest, BacklogBasedScalingTest
// and the collection sequences (driven through Policy.Cycle).

// executorDefaults is ScalingExecutorTest#setup's configuration.
var executorDefaults = map[string]any{
	"stabilization.interval.s": 0.0,
	"scaling.enabled":          true,
	"scale-down.max-factor":    1.0,
	"scale-up.max-factor":      float64(math.MaxInt32),
	"catch-up.duration.s":      0.0,
}

// executorSetup builds evaluated metrics and a topology from {id: {parallelism, ...}}.
// Inputs come from "inputs" ({up: ship}) or, for "inputShipStrategies", from synthetic
// upstream vertices that are not evaluated.
func executorSetup(t *testing.T, o *Options, vertices map[string]any, restart time.Duration) (map[string]*EvaluatedSet, *Topology) {
	t.Helper()
	evaluated := map[string]*EvaluatedSet{}
	var infos []*VertexInfo
	for _, id := range sortedKeys(vertices) {
		vx := obj(vertices[id])
		maxP := 720
		if x, ok := vx["maxParallelism"]; ok {
			maxP = intOf(x)
		}
		evaluated[id] = evaluatedVertex(o, intOf(vx["parallelism"]), maxP, intOf(vx["numSourcePartitions"]),
			num(vx["targetDataRateAvg"]), num(orZero(vx["catchUpDataRate"])), num(vx["trueProcessingRateAvg"]), restart)
		info := &VertexInfo{ID: id, Parallelism: intOf(vx["parallelism"]), MaxParallelism: 1000}
		if g, ok := vx["slotSharingGroup"]; ok {
			info.SlotSharingGroup = g.(string)
		}
		ins := obj(vx["inputs"])
		for _, up := range sortedKeys(ins) {
			info.Inputs = append(info.Inputs, Input{Vertex: up, Ship: ParseShip(ins[up].(string))})
		}
		for i, s := range strs(vx["inputShipStrategies"]) {
			up := fmt.Sprintf("upstream-of-%s-%d", id, i)
			infos = append(infos, &VertexInfo{ID: up, Parallelism: 1, MaxParallelism: 1})
			info.Inputs = append(info.Inputs, Input{Vertex: up, Ship: ParseShip(s)})
		}
		infos = append(infos, info)
	}
	top, err := NewTopology(infos)
	if err != nil {
		t.Fatal(err)
	}
	return evaluated, top
}

func orZero(v any) any {
	if v == nil {
		return 0.0
	}
	return v
}

func globalOf(m map[string]any) *EvaluatedSet {
	g := &EvaluatedSet{}
	for name, v := range m {
		metric, _ := ParseMetric(name)
		g.Set(metric, EvalOf(num(v)))
	}
	return g
}

func executorInputOf(evaluated map[string]*EvaluatedSet, global *EvaluatedSet, top *Topology) *executorInput {
	return &executorInput{
		evaluated: &EvaluatedMetrics{Vertices: evaluated, Global: global},
		history:   map[string][]SummaryEntry{},
		tracking:  &ScalingTracking{},
		topology:  top,
		dsd:       NewDelayedScaleDown(),
	}
}

func vecComputeScalingSummary(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	restart := restartOf(in, o)
	evaluated, top := executorSetup(t, o, obj(in["vertices"]), restart)
	c, _ := testCycle(o, t0)
	summaries, err := c.computeScalingSummary(executorInputOf(evaluated, globalOf(obj(in["globalMetrics"])), top), restart)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for id := range summaries {
		got = append(got, id)
	}
	sort.Strings(got)
	if w, ok := v.Expect["scaledVertices"]; ok {
		want := strs(w)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("scaled vertices %v, want %v", got, want)
		}
	}
	for id, p := range obj(v.Expect["newParallelism"]) {
		checkInt(t, "new parallelism of "+id, summaries[id].NewParallelism, p)
	}
	if strings.HasPrefix(v.Name, "testScalingEvents") {
		report := scalingReport(summaries, headerExecutionEnabled, top)
		if want := "{ Vertex ID v | Parallelism 1 -> 2 | Processing capacity 100.00 -> 200.00 | Target data rate 110.00}"; report != headerExecutionEnabled+want {
			t.Errorf("report %q", report)
		}
	}
}

func vecGcPressure(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), executorDefaults)
	vx := obj(in["vertex"])
	scaled, reasons := arr(v.Expect["scaled"]), arr(v.Expect["eventReason"])
	for i, cs := range arr(in["cases"]) {
		co := obj(cs)
		m := evaluatedVertex(o, intOf(vx["parallelism"]), 720, 0, num(vx["targetDataRateAvg"]), 0, num(vx["trueProcessingRateAvg"]), o.RestartTime)
		top, _ := NewTopology([]*VertexInfo{{ID: "v", Parallelism: 10, MaxParallelism: 1000}})
		heap := arr(co["HEAP_MAX_USAGE_RATIO"])
		g := &EvaluatedSet{}
		g.Set(MetricGCPressure, EvalOf(num(co["GC_PRESSURE.current"])))
		g.Set(MetricHeapMaxUsageRatio, NewEvaluated(num(heap[0]), num(heap[1])))
		c, events := testCycle(o, t0)
		res, err := c.scaleResource(executorInputOf(map[string]*EvaluatedSet{"v": m}, g, top))
		if err != nil {
			t.Fatal(err)
		}
		if got := res != nil; got != scaled[i].(bool) {
			t.Errorf("case %d: scaled = %v, want %v", i, got, scaled[i])
		}
		if reasons[i] == nil {
			if countReason(*events, ReasonMemoryPressure) != 0 {
				t.Errorf("case %d: unexpected MemoryPressure event", i)
			}
		} else if countReason(*events, reasons[i].(string)) != 1 {
			t.Errorf("case %d: want one %s event, got %+v", i, reasons[i], *events)
		}
	}
}

func vecQuota(t *testing.T, v vector) {
	in := v.Inputs
	conf := obj(in["conf"])
	conf["taskmanager.numberOfTaskSlots"] = in["taskmanager.numberOfTaskSlots"]
	o := vecOptions(t, conf, nil)
	o.TaskManagerCPU = num(in["tmCpu"])
	o.TaskManagerMemory = flinkconf.MustMemorySize(in["tmMemory"].(string))
	evaluated, top := executorSetup(t, o, obj(in["vertices"]), o.RestartTime)
	g := &EvaluatedSet{}
	g.Set(MetricNumTaskSlotsUsed, EvalOf(num(in["NUM_TASK_SLOTS_USED"])))
	g.Set(MetricGCPressure, EvalOf(math.NaN()))
	g.Set(MetricHeapMaxUsageRatio, EvalOf(math.NaN()))
	c, events := testCycle(o, t0)
	res, err := c.scaleResource(executorInputOf(evaluated, g, top))
	if err != nil {
		t.Fatal(err)
	}
	if got := res != nil; got != v.Expect["scaled"].(bool) {
		t.Errorf("scaled = %v", got)
	}
	quota := countReason(*events, ReasonResourceQuotaReached)
	if want := v.Expect["quotaReached"].(bool); (quota == 1) != want || quota > 1 {
		t.Errorf("ResourceQuotaReached events = %d, want reached=%v", quota, want)
	}
	if v.Expect["quotaReached"].(bool) && len(*events) != 1 {
		t.Errorf("only the quota event is expected, got %+v", *events)
	}
}

// deriveForTest is memory.DeriveTaskManager when it is implemented; until then a minimal Flink
// TaskManager derivation for a configured process size with default pools (the case the
// vectors use), failing like Flink when no memory size is configured.
func deriveForTest(cfg *flinkconf.Config) (*memory.TaskManager, error) {
	if tm, err := memory.DeriveTaskManager(cfg, nil, memory.Flink1); err == nil {
		return tm, nil
	}
	total, ok, err := cfg.MemorySize(flinkconf.TMProcessSize)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("IllegalConfigurationException: no memory size configured")
	}
	frac := func(o flinkconf.Option) float64 { f, _, _ := cfg.Float(o); return f }
	size := func(o flinkconf.Option) int64 { s, _, _ := cfg.MemorySize(o); return s }
	overhead := min(max(javaLong(float64(total)*frac(flinkconf.TMOverheadFraction)), size(flinkconf.TMOverheadMin)), size(flinkconf.TMOverheadMax))
	metaspace := size(flinkconf.TMMetaspace)
	flink := total - overhead - metaspace
	network := min(max(javaLong(float64(flink)*frac(flinkconf.TMNetworkFraction)), size(flinkconf.TMNetworkMin)), size(flinkconf.TMNetworkMax))
	managed := javaLong(float64(flink) * frac(flinkconf.TMManagedFraction))
	fwHeap, fwOff, taskOff := size(flinkconf.TMFrameworkHeap), size(flinkconf.TMFrameworkOffHeap), size(flinkconf.TMTaskOffHeap)
	return &memory.TaskManager{FrameworkHeap: fwHeap, FrameworkOffHeap: fwOff, TaskOffHeap: taskOff,
		Network: network, Managed: managed, JVMMetaspace: metaspace, JVMOverhead: overhead,
		TaskHeap: flink - fwHeap - fwOff - taskOff - network - managed, TotalFlink: flink, TotalProcess: total}, nil
}

func vecScaleResourceTuning(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	o.TaskManagerCPU = 100
	o.TaskManagerMemory = flinkconf.MustMemorySize("30 gb")
	o.DeriveTaskManager = deriveForTest
	evaluated, top := executorSetup(t, o, obj(in["vertices"]), o.RestartTime)
	gm := obj(in["globalMetrics"])
	g := &EvaluatedSet{}
	g.Set(MetricNumTaskSlotsUsed, EvalOf(num(gm["NUM_TASK_SLOTS_USED"])))
	g.Set(MetricHeapMemoryUsed, EvalAvg(float64(flinkconf.MustMemorySize(gm["HEAP_MEMORY_USED.avg"].(string)))))
	g.Set(MetricManagedMemoryUsed, EvalAvg(float64(flinkconf.MustMemorySize(gm["MANAGED_MEMORY_USED.avg"].(string)))))
	g.Set(MetricMetaspaceMemoryUsed, EvalAvg(float64(flinkconf.MustMemorySize(gm["METASPACE_MEMORY_USED.avg"].(string)))))
	g.Set(MetricHeapMaxUsageRatio, EvalOf(math.NaN()))
	g.Set(MetricGCPressure, EvalOf(math.NaN()))
	c, events := testCycle(o, t0)
	res, err := c.scaleResource(executorInputOf(evaluated, g, top))
	if err != nil {
		t.Fatal(err)
	}
	if res == nil {
		t.Fatalf("expected a rescale, events %+v", *events)
	}
	for id, p := range obj(v.Expect["newParallelism"]) {
		checkInt(t, "new parallelism of "+id, res.summaries[id].NewParallelism, p)
	}
	want := obj(v.Expect["storedConfigOverrides"])
	if len(want) != len(res.changes.Overrides) {
		t.Errorf("overrides %v, want %v", res.changes.Overrides, want)
	}
	for k, w := range want {
		if got := res.changes.Overrides[k]; got != w.(string) {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
	if countReason(*events, ReasonConfigRecommendation) != 1 {
		t.Errorf("expected one recommendation event: %+v", *events)
	}
}

// testExecutor is a scripted custom scaling executor.
type testExecutor struct {
	name     string
	priority int
	veto     bool
	log      *[]string
}

func (e *testExecutor) Priority() int { return e.priority }

func (e *testExecutor) Apply(_ *ExecutorContext, s map[string]ScalingSummary) (map[string]ScalingSummary, error) {
	*e.log = append(*e.log, e.name)
	if e.veto {
		return map[string]ScalingSummary{}, nil
	}
	return s, nil
}

func vecCustomExecutors(t *testing.T, v vector) {
	scaled := arr(v.Expect["scaled"])
	for i, cs := range strs(v.Inputs["cases"]) {
		var log []string
		var chain []*testExecutor
		switch {
		case strings.HasPrefix(cs, "approve (identity)"):
			chain = []*testExecutor{{name: "approve"}}
		case strings.HasPrefix(cs, "veto"):
			chain = []*testExecutor{{name: "veto", veto: true}}
		case strings.HasPrefix(cs, "approve then veto"):
			chain = []*testExecutor{{name: "approve"}, {name: "veto", veto: true}}
		case strings.HasPrefix(cs, "two approvers"):
			chain = []*testExecutor{{name: "approve1"}, {name: "approve2"}}
		case strings.HasPrefix(cs, "priority order"):
			chain = []*testExecutor{{name: "low", priority: 10}, {name: "default"}, {name: "high", priority: -10}}
		default:
			t.Fatalf("unknown case %q", cs)
		}
		conf := map[string]any{}
		var names []string
		plugins := Plugins{Executors: map[string]ExecutorPlugin{}}
		for _, e := range chain {
			e.log = &log
			class := "com.example." + e.name
			names = append(names, e.name)
			conf["scaling.custom-executor."+e.name+".class"] = class
			plugins.Executors[class] = e
		}
		conf["scaling.custom-executors"] = strings.Join(names, ";")
		o := vecOptions(t, conf, executorDefaults)
		o.Plugins = plugins
		evaluated, top := executorSetup(t, o, map[string]any{
			"source": map[string]any{"parallelism": 10.0, "targetDataRateAvg": 110.0, "trueProcessingRateAvg": 100.0},
			"sink":   map[string]any{"parallelism": 10.0, "targetDataRateAvg": 110.0, "trueProcessingRateAvg": 100.0, "inputs": map[string]any{"source": "HASH"}},
		}, o.RestartTime)
		c, events := testCycle(o, t0)
		res, err := c.scaleResource(executorInputOf(evaluated, globalOf(map[string]any{"GC_PRESSURE": "NaN", "HEAP_MAX_USAGE_RATIO": "NaN"}), top))
		if err != nil {
			t.Fatal(err)
		}
		if got := res != nil; got != scaled[i].(bool) {
			t.Errorf("%s: scaled = %v, want %v", cs, got, scaled[i])
		}
		vetoes := countReason(*events, v.Expect["vetoEventReason"].(string))
		if (res == nil) != (vetoes == 1) {
			t.Errorf("%s: %d veto events", cs, vetoes)
		}
		for _, e := range *events {
			if e.Reason == ReasonScalingVetoed && e.Key != ReasonScalingVetoed+":veto" {
				t.Errorf("%s: veto key %q", cs, e.Key)
			}
		}
		if strings.HasPrefix(cs, "priority order") && !slices.Equal(log, strs(v.Expect["executionOrder"])) {
			t.Errorf("execution order %v", log)
		}
	}
}

// ---- MemoryTuningTest / MemoryScalingTest ----

var lastTuning map[string]any // the Java test runs its tuning cases in sequence on shared inputs

func vecTuneMemory(t *testing.T, v vector) {
	in := v.Inputs
	if _, ok := in["derivedSpec"]; !ok {
		if lastTuning == nil {
			t.Fatal("the disabled case reuses the previous tuning inputs")
		}
		merged := map[string]any{}
		for k, x := range lastTuning {
			merged[k] = x
		}
		conf := map[string]any{}
		for k, x := range obj(lastTuning["conf"]) {
			conf[k] = x
		}
		for k, x := range obj(in["conf"]) {
			conf[k] = x
		}
		merged["conf"] = conf
		in = merged
	} else {
		lastTuning = in
	}
	conf := map[string]any{}
	for k, x := range obj(in["conf"]) {
		if k != "taskmanager.memory.process.size" {
			conf[k] = x
		}
	}
	ds := obj(in["derivedSpec"])
	o := vecOptions(t, conf, nil)
	spec := &memory.TaskManager{
		FrameworkHeap: int64(num(ds["fw_heap"])), FrameworkOffHeap: int64(num(ds["fw_off"])), TaskHeap: int64(num(ds["task_heap"])),
		TaskOffHeap: int64(num(ds["task_off"])), Network: int64(num(ds["network"])), Managed: int64(num(ds["managed"])),
		JVMMetaspace: int64(num(ds["metaspace"])), JVMOverhead: int64(num(ds["overhead"])), TotalFlink: int64(num(ds["flink"])),
		TotalProcess: int64(num(ds["total"])),
	}
	gm := obj(in["globalMetricsAvg"])
	g := &EvaluatedSet{}
	for _, m := range []Metric{MetricHeapMemoryUsed, MetricManagedMemoryUsed, MetricMetaspaceMemoryUsed} {
		g.Set(m, EvalAvg(num(gm[m.String()])))
	}
	g.Set(MetricNumTaskSlotsUsed, EvalOf(num(gm["NUM_TASK_SLOTS_USED"])))
	var infos []*VertexInfo
	topo := obj(in["topology"])
	for _, id := range sortedKeys(topo) {
		info := &VertexInfo{ID: id, Parallelism: intOf(obj(in["currentParallelism"])[id]), MaxParallelism: 1000}
		for _, up := range sortedKeys(obj(topo[id])) {
			info.Inputs = append(info.Inputs, Input{Vertex: up, Ship: ParseShip(obj(topo[id])[up].(string))})
		}
		infos = append(infos, info)
	}
	top, err := NewTopology(infos)
	if err != nil {
		t.Fatal(err)
	}
	vertices := map[string]*EvaluatedSet{}
	summaries := map[string]ScalingSummary{}
	for id, p := range obj(in["currentParallelism"]) {
		vertices[id] = &EvaluatedSet{}
		vertices[id].Set(MetricParallelism, EvalOf(num(p)))
		summaries[id] = ScalingSummary{CurrentParallelism: intOf(p), NewParallelism: intOf(obj(in["newParallelism"])[id]), Metrics: &EvaluatedSet{}}
	}
	res, err := TuneTaskManagerMemory(TuningInput{Options: o, Conf: o.Conf, Spec: spec, MaxMemory: spec.TotalProcess,
		Global: g, Vertices: vertices, Topology: top, Summaries: summaries})
	if err != nil {
		t.Fatal(err)
	}
	want := obj(v.Expect["overrides"])
	var got map[string]string
	if res.Changes != nil {
		got = res.Changes.Overrides
	}
	if len(got) != len(want) {
		t.Errorf("overrides %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w.(string) {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if w, ok := v.Expect["removals"]; ok {
		r := append([]string(nil), res.Changes.Removals...)
		sort.Strings(r)
		ws := strs(w)
		sort.Strings(ws)
		if !slices.Equal(r, ws) {
			t.Errorf("removals %v, want %v", r, ws)
		}
	}
	state := "enabled"
	if !o.MemoryTuning {
		state = "disabled"
	}
	if prefix := "Memory tuning recommends the following configuration (automatic tuning is " + state + "):\n"; !strings.HasPrefix(res.Message, prefix) {
		t.Errorf("recommendation %q", res.Message)
	}
}

func vecNetworkSegments(t *testing.T, v vector) {
	in := v.Inputs
	got := calculateNetworkSegmentNumber(intOf(in["currentParallelism"]), intOf(in["connectedParallelism"]),
		ParseShip(in["shipStrategy"].(string)), intOf(in["buffersPerChannel"]), intOf(in["floatingBuffers"]))
	checkInt(t, "segments", got, v.Expect["segments"])
}

func vecMemoryScaling(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, map[string]any{"memory.tuning.scale-down-compensation.enabled": in["enabled"],
		"taskmanager.numberOfTaskSlots": in["slotsPerTM"]}, nil)
	vertices := map[string]*EvaluatedSet{}
	summaries := map[string]ScalingSummary{}
	for id, pp := range obj(in["vertices"]) {
		p := arr(pp)
		vertices[id] = &EvaluatedSet{}
		vertices[id].Set(MetricParallelism, EvalOf(num(p[0])))
		summaries[id] = ScalingSummary{CurrentParallelism: intOf(p[0]), NewParallelism: intOf(p[1])}
	}
	g := &EvaluatedSet{}
	g.Set(MetricNumTaskSlotsUsed, EvalOf(num(in["NUM_TASK_SLOTS_USED"])))
	b := &memoryBudget{remaining: flinkconf.MustMemorySize(in["budgetRemaining"].(string))}
	got, err := applyMemoryScaling(flinkconf.MustMemorySize(in["currentHeap"].(string)), b,
		TuningInput{Options: o, Conf: o.Conf, Global: g, Vertices: vertices, Summaries: summaries})
	if err != nil {
		t.Fatal(err)
	}
	if want := flinkconf.MustMemorySize(v.Expect["scaledMemory"].(string)); got != want {
		t.Errorf("scaled heap %d, want %d", got, want)
	}
}

// ---- policy-driven vectors ----

// rawVertex is one vertex's raw Flink metrics in a test snapshot (the Java tests' TestMetrics).
type rawVertex struct {
	numRecordsIn, numRecordsOut float64
	perSec                      float64 // NaN: no Source__*.numRecordsInPerSecond value
	busy                        float64 // max busyTimeMsPerSecond
	bpAvg                       float64
	pending                     float64 // NaN: no pendingRecords metric
}

// testSnapshot builds a snapshot of a source → sink (or a single source) job.
func testSnapshot(now, running time.Time, conf map[string]string, vertices []autoscaler.Vertex) *autoscaler.Snapshot {
	return &autoscaler.Snapshot{
		Time: now, JobID: "job", Status: "RUNNING", RunningSince: running, Vertices: vertices,
		TaskManagerMetrics: map[string]autoscaler.Aggregate{
			tmHeapUsed: {Min: math.NaN(), Max: 100, Avg: math.NaN(), Sum: math.NaN(), Skew: math.NaN()},
			tmHeapMax:  {Min: math.NaN(), Max: 1000, Avg: math.NaN(), Sum: math.NaN(), Skew: math.NaN()},
		},
		SlotsTotal: -1, SlotsAvailable: -1, Config: conf,
	}
}

func agg(sum, mx, avg float64) autoscaler.Aggregate {
	return autoscaler.Aggregate{Min: math.NaN(), Max: mx, Avg: avg, Sum: sum, Skew: math.NaN()}
}

// rawToVertex renders raw metrics as the REST layer would: a metric listing and aggregates.
func rawToVertex(id string, p, maxP int, inputs []autoscaler.Edge, r rawVertex) autoscaler.Vertex {
	v := autoscaler.Vertex{ID: id, Parallelism: p, MaxParallelism: maxP, Inputs: inputs,
		ReadRecords: int64(r.numRecordsIn), WriteRecords: int64(r.numRecordsOut), Metrics: map[string]autoscaler.Aggregate{}}
	v.MetricNames = []string{"busyTimeMsPerSecond", "backPressuredTimeMsPerSecond"}
	v.Metrics["busyTimeMsPerSecond"] = agg(math.NaN(), r.busy, math.NaN())
	v.Metrics["backPressuredTimeMsPerSecond"] = agg(math.NaN(), math.NaN(), r.bpAvg)
	if len(inputs) == 0 {
		v.MetricNames = append(v.MetricNames, "Source__src.numRecordsInPerSecond", "Source__src.numRecordsIn", "Source__src.numRecordsOut")
		if !math.IsNaN(r.perSec) {
			v.Metrics["Source__src.numRecordsInPerSecond"] = agg(r.perSec, math.NaN(), math.NaN())
		}
		v.Metrics["Source__src.numRecordsOut"] = agg(r.numRecordsIn, math.NaN(), math.NaN())
		if !math.IsNaN(r.pending) {
			v.MetricNames = append(v.MetricNames, "src.pendingRecords")
			v.Metrics["src.pendingRecords"] = agg(r.pending, math.NaN(), math.NaN())
		}
	}
	return v
}

// confMap renders a vector conf as the job configuration map, with the autoscaler enabled.
func confMap(m map[string]any) map[string]string {
	out := vecConf(m).Map()
	out[OptEnabled.Key] = "true"
	return out
}

func overridesOf(d autoscaler.Decision) map[string]int { return d.Parallelism }

func vecBacklogEndToEnd(t *testing.T, v vector) {
	in := v.Inputs
	conf := confMap(obj(in["conf"]))
	p := New(DefaultOptions())
	raw := map[string]*rawVertex{
		"source": {perSec: math.NaN(), pending: math.NaN()},
		"sink":   {perSec: math.NaN(), pending: math.NaN()},
	}
	par := map[string]int{"source": 1, "sink": 1}
	maxP := map[string]int{"source": 720, "sink": 720}
	var running time.Time
	window := ""
	checkpoints := arr(v.Expect["checkpoints"])
	for _, s := range arr(in["rawMetricsPerStep"]) {
		so := obj(s)
		now := atMs(so["t_ms"])
		if w, ok := so["window_ms"]; ok {
			window = fmt.Sprintf("%d ms", intOf(w))
		}
		if r, ok := so["jobRunningTs"]; ok {
			running = atMs(r)
		}
		if ps, ok := so["parallelism"]; ok {
			for id, x := range obj(ps) {
				par[id] = intOf(x)
			}
			maxP["source"] = 24 // the test's topology after the first rescale
		}
		for id, r := range raw {
			for k, x := range obj(so[id]) {
				switch k {
				case "numRecordsIn":
					r.numRecordsIn = num(x)
				case "numRecordsOut":
					r.numRecordsOut = num(x)
				case "perSec":
					r.perSec = num(x)
				case "busy":
					r.busy = num(x)
				case "pending":
					r.pending = num(x)
				}
			}
		}
		cfg := map[string]string{}
		for k, x := range conf {
			cfg[k] = x
		}
		cfg[OptMetricsWindow.Key] = window
		snap := testSnapshot(now, running, cfg, []autoscaler.Vertex{
			rawToVertex("source", par["source"], maxP["source"], nil, *raw["source"]),
			rawToVertex("sink", par["sink"], maxP["sink"], []autoscaler.Edge{{From: "source", Ship: "REBALANCE"}}, *raw["sink"]),
		})
		dec, err := p.Cycle(snap)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range dec.Events {
			if e.Reason == ReasonAutoscalerError {
				t.Fatalf("t=%v: %s", so["t_ms"], e.Message)
			}
		}
		if k, ok := so["checkpoint"]; ok {
			want := obj(checkpoints[intOf(k)])
			t.Run(fmt.Sprintf("checkpoint %d (t=%vms)", intOf(k), so["t_ms"]), func(t *testing.T) {
				ov := overridesOf(dec)
				checkInt(t, "source override", ov["source"], want["source"])
				checkInt(t, "sink override", ov["sink"], want["sink"])
				checkInt(t, "scalings", p.Counters().Scalings, want["scalings"])
				checkInt(t, "balanced", p.Counters().Balanced, want["balanced"])
			})
		}
	}
}

func vecNoEvaluationDuringStabilization(t *testing.T, v vector) {
	in := v.Inputs
	conf := confMap(map[string]any{"stabilization.interval": in["stabilization.interval"]})
	p := New(DefaultOptions())
	src := rawVertex{numRecordsIn: 0, perSec: 500, busy: 200, bpAvg: 0, pending: math.NaN()}
	snap := testSnapshot(atMs(in["now"]), atMs(in["jobRunningTs"]), conf, []autoscaler.Vertex{
		rawToVertex("source", 1, 720, nil, src),
		rawToVertex("sink", 1, 720, []autoscaler.Edge{{From: "source", Ship: "REBALANCE"}}, src),
	})
	dec, err := p.Cycle(snap)
	if err != nil {
		t.Fatal(err)
	}
	if evaluated := dec.Evaluated != nil || p.LastEvaluated() != nil; evaluated != v.Expect["evaluated"].(bool) {
		t.Errorf("evaluated = %v", evaluated)
	}
	checkInt(t, "events", len(dec.Events), v.Expect["events"])
}

func vecCollectWindow(t *testing.T, v vector) {
	in := v.Inputs
	conf := confMap(map[string]any{"stabilization.interval_ms": in["stabilization.interval_ms"], "metrics.window_ms": in["metrics.window_ms"]})
	p := New(DefaultOptions())
	src := rawVertex{perSec: 500, busy: 200, bpAvg: 600, pending: 1000000}
	sizes := arr(v.Expect["historySizes"])
	for i, ts := range arr(in["sampleTimes_ms"]) {
		snap := testSnapshot(atMs(ts), atMs(in["jobRunningTs"]), conf, []autoscaler.Vertex{rawToVertex("source", 10, 720, nil, src)})
		dec, err := p.Cycle(snap)
		if err != nil {
			t.Fatal(err)
		}
		checkInt(t, fmt.Sprintf("history size at %vms", ts), len(p.st.Metrics), sizes[i])
		if full := num(ts) >= num(v.Expect["fullyCollectedAt"]); dec.Ready != full {
			t.Errorf("t=%vms: ready=%v, want %v (%s)", ts, dec.Ready, full, dec.Reason)
		}
	}
}

func vecObservedTprSequence(t *testing.T, v vector) {
	in := v.Inputs
	conf := confMap(map[string]any{"stabilization.interval.s": 0.0})
	p := New(DefaultOptions())
	srcSpec := obj(in["source"])
	src := rawVertex{perSec: num(srcSpec["perSec"]), busy: num(srcSpec["busyMax"])}
	want := arr(v.Expect["OBSERVED_TPR"])
	for i, s := range arr(in["steps"]) {
		so := obj(s)
		src.pending, src.bpAvg = num(so["pending"]), num(so["bpAvg"])
		now := atMs(so["t_ms"])
		if _, err := p.Cycle(testSnapshot(now, t0, conf, []autoscaler.Vertex{rawToVertex("source", 10, 720, nil, src)})); err != nil {
			t.Fatal(err)
		}
		var got float64 = math.NaN()
		for _, smp := range p.st.Metrics {
			if smp.Time.Equal(now) {
				got = smp.Vertices["source"].NaN(MetricObservedTPR)
			}
		}
		checkFloat(t, fmt.Sprintf("OBSERVED_TPR at %vms", so["t_ms"]), got, want[i])
	}
}
