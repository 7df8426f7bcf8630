package operator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// The vectors encode what the operator's Java unit tests assert
// (testdata/vectors/operator-autoscaler.jsonl, format in reference/autoscaler.md §15). Every
// vector is dispatched on inputs.fn to the Go unit it covers; the test fails on any vector
// without a handler.

const vectorFile = "../../testdata/vectors/operator-autoscaler.jsonl"

type vector struct {
	Suite  string         `json:"suite"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
	Expect map[string]any `json:"expect"`
	Notes  string         `json:"notes"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("bad vector line: %v", err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The fn values of §15 and their handlers.
var vectorHandlers = map[string]func(*testing.T, vector){
	"scale":                                   vecScale,
	"computeScaleTargetParallelism":           vecComputeScaleTarget,
	"computeScalingSummary":                   vecComputeScalingSummary,
	"computeTrueProcessingRate":               vecComputeTrueProcessingRate,
	"alignParallelism":                        vecAlignParallelism,
	"computeProcessingRateThresholds":         vecThresholds,
	"scaleResource(quota)":                    vecQuota,
	"calculateObservedScalingCoefficient":     vecCoefficient,
	"collect OBSERVED_TPR (source)":           vecObservedTprSource,
	"tuneTaskManagerMemory":                   vecTuneMemory,
	"computeScaleTargetParallelism(sequence)": vecScaleTargetSequence,
	"computeBusyTimeAvg":                      vecBusyTimeAvg,
	"calculateNetworkSegmentNumber":           vecNetworkSegments,
	"getMaxRestartTimeOrDefault":              vecMaxRestartTime,
	"computeEvaluatedMetrics":                 vecComputeEvaluatedMetrics,
	"isProcessingBacklog":                     vecIsProcessingBacklog,
	"getRate":                                 vecGetRate,
	"computeTprInputRate":                     vecTprInputRate,
	"applyMemoryScaling":                      vecMemoryScaling,
	"estimateNumTaskSlotsAfterRescale":        vecEstimateSlots,
	"computeEdgeOutputRatio":                  vecEdgeOutputRatio,
	"computeScaleTargetParallelism(sequence with scaling history)": vecIneffectiveSequence,
	"evaluateGlobalMetrics":                 vecGlobalMetrics,
	"mergeEvaluatedScalingMetric":           vecMergeEvaluated,
	"isApplicable":                          vecIsApplicable,
	"resolve":                               vecResolve,
	"scaleResource":                         vecGcPressure,
	"scaleResource + tuneTaskManagerMemory": vecScaleResourceTuning,
	"scaleResource + custom executors":      vecCustomExecutors,
	"JobAutoScaler.scale end-to-end (collector->evaluator->executor)": vecBacklogEndToEnd,
	"JobAutoScaler.scale":                   vecNoEvaluationDuringStabilization,
	"computeLoadMetrics":                    vecLoadMetrics,
	"computeGlobalMetrics":                  vecComputeGlobalMetrics,
	"numSourcePartitions from metric names": vecNumPartitions,
	"collect window":                        vecCollectWindow,
	"collect OBSERVED_TPR sequence":         vecObservedTprSequence,
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	if len(vs) != 182 {
		t.Fatalf("expected 182 vectors, found %d", len(vs))
	}
	counts := map[string]int{}
	ran := 0
	for _, v := range vs {
		fn, _ := v.Inputs["fn"].(string)
		h, ok := vectorHandlers[fn]
		if !ok {
			t.Errorf("vector %q: no handler for fn %q", v.Name, fn)
			continue
		}
		counts[fn]++
		ran++
		t.Run(v.Suite+"/"+v.Name, func(t *testing.T) {
			h(t, v)
		})
	}
	if ran != len(vs) {
		t.Errorf("ran %d of %d vectors", ran, len(vs))
	}
	for fn := range vectorHandlers {
		if counts[fn] == 0 {
			t.Errorf("handler %q matched no vector", fn)
		}
	}
}

// ---- JSON helpers ----

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		switch x {
		case "NaN":
			return math.NaN()
		case "Infinity":
			return math.Inf(1)
		case "-Infinity":
			return math.Inf(-1)
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			panic(fmt.Sprintf("not a number: %q", x))
		}
		return f
	case nil:
		return math.NaN()
	case bool:
		if x {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("not a number: %#v", v))
}

func intOf(v any) int { return int(num(v)) }

func obj(v any) map[string]any {
	if v == nil {
		return map[string]any{}
	}
	return v.(map[string]any)
}

func arr(v any) []any {
	if v == nil {
		return nil
	}
	return v.([]any)
}

func strs(v any) []string {
	var out []string
	for _, x := range arr(v) {
		out = append(out, x.(string))
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

func checkFloat(t *testing.T, what string, got float64, want any) {
	t.Helper()
	if w := num(want); !sameFloat(got, w) {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

func checkInt(t *testing.T, what string, got int, want any) {
	t.Helper()
	if w := intOf(want); got != w {
		t.Errorf("%s = %d, want %d", what, got, w)
	}
}

// ---- configuration ----

// vecConf maps a vector's conf (keys without job.autoscaler., ".s"/"_ms" duration suffixes) to
// a Flink configuration.
func vecConf(m map[string]any) *flinkconf.Config {
	cfg := flinkconf.New()
	for k, v := range m {
		if v == nil || k == "all autoscaler options default" {
			continue
		}
		key := k
		var val string
		switch x := v.(type) {
		case bool:
			val = strconv.FormatBool(x)
		case float64:
			val = strconv.FormatFloat(x, 'f', -1, 64)
		case string:
			val = x
		case []any:
			val = strings.Join(strs(x), ";")
		}
		switch {
		case strings.HasSuffix(k, ".s"):
			key, val = strings.TrimSuffix(k, ".s"), val+" s"
		case strings.HasSuffix(k, "_ms"):
			key, val = strings.TrimSuffix(k, "_ms"), val+" ms"
		}
		if !strings.HasPrefix(key, "taskmanager.") {
			key = Prefix + key
		}
		cfg.Set(key, val)
	}
	return cfg
}

func vecOptions(t *testing.T, conf map[string]any, defaults map[string]any) *Options {
	t.Helper()
	merged := map[string]any{}
	for k, v := range defaults {
		merged[k] = v
	}
	for k, v := range conf {
		merged[k] = v
	}
	o, err := ParseOptions(vecConf(merged))
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	return &o
}

// testCycle returns a cycle that records every event (no deduplication).
func testCycle(o *Options, now time.Time) (*cycle, *[]pendingEvent) {
	var events []pendingEvent
	c := &cycle{o: o, now: now, jobID: "job", excluded: map[string]bool{}, emit: func(e pendingEvent) { events = append(events, e) }}
	return c, &events
}

func countReason(events []pendingEvent, reason string) int {
	n := 0
	for _, e := range events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

var t0 = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)

func atMs(ms any) time.Time { return t0.Add(time.Duration(num(ms) * float64(time.Millisecond))) }

// evaluatedVertex is the Java tests' evaluated(p, target, tpr, catchUp) plus thresholds.
func evaluatedVertex(o *Options, p int, maxP int, parts int, target, catchUp, tpr float64, restart time.Duration) *EvaluatedSet {
	m := &EvaluatedSet{}
	m.Set(MetricParallelism, EvalOf(float64(p)))
	m.Set(MetricMaxParallelism, EvalOf(float64(maxP)))
	m.Set(MetricNumSourcePartitions, EvalOf(float64(parts)))
	m.Set(MetricTargetDataRate, NewEvaluated(target, target))
	m.Set(MetricCatchUpDataRate, EvalOf(catchUp))
	m.Set(MetricTrueProcessingRate, NewEvaluated(tpr, tpr))
	computeProcessingRateThresholds(m, o, false, restart)
	return m
}

func restartOf(in map[string]any, o *Options) time.Duration {
	if v, ok := in["restartTimeSec"]; ok {
		return time.Duration(num(v) * float64(time.Second))
	}
	return o.RestartTime
}

// historyOf builds a metric window from [{t_ms, vertexMetrics: {vid: {METRIC: v}}}].
func historyOf(t *testing.T, v any) History {
	var h History
	for _, s := range arr(v) {
		so := obj(s)
		sample := &Sample{Time: atMs(so["t_ms"]), Vertices: map[string]*Values{}}
		for vid, ms := range obj(so["vertexMetrics"]) {
			vals := &Values{}
			for name, x := range obj(ms) {
				m, ok := ParseMetric(name)
				if !ok {
					t.Fatalf("unknown metric %q", name)
				}
				vals.Set(m, num(x))
			}
			sample.Vertices[vid] = vals
		}
		h = h.put(sample)
	}
	return h
}

// topologyOf builds {vid: {"inputs": {up: ship}, "parallelism", "maxParallelism"}}.
func topologyOf(t *testing.T, v any) *Topology {
	var vs []*VertexInfo
	for _, id := range sortedKeys(obj(v)) {
		spec := obj(obj(v)[id])
		info := &VertexInfo{ID: id, Parallelism: 1, MaxParallelism: 1}
		if p, ok := spec["parallelism"]; ok {
			info.Parallelism = intOf(p)
		}
		if p, ok := spec["maxParallelism"]; ok {
			info.MaxParallelism = intOf(p)
		}
		ins := obj(spec["inputs"])
		for _, up := range sortedKeys(ins) {
			info.Inputs = append(info.Inputs, Input{Vertex: up, Ship: ParseShip(ins[up].(string))})
		}
		vs = append(vs, info)
	}
	top, err := NewTopology(vs)
	if err != nil {
		t.Fatal(err)
	}
	return top
}

// ---- JobVertexScalerTest ----

func vecScale(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	c, _ := testCycle(o, t0)
	got, err := c.scale("v", intOf(in["currentParallelism"]), strs(in["inputShipStrategies"]),
		intOf(in["numSourcePartitions"]), intOf(in["maxParallelism"]), num(in["scaleFactor"]),
		intOf(in["parallelismLowerLimit"]), intOf(in["parallelismUpperLimit"]), &EvaluatedSet{})
	if e, ok := v.Expect["error"]; ok {
		if err == nil {
			t.Errorf("expected %v, got parallelism %d", e, got)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	checkInt(t, "parallelism", got, v.Expect["parallelism"])
}

func historyEntries(o *Options, v any) []SummaryEntry {
	var out []SummaryEntry
	for i, e := range arr(v) {
		eo := obj(e)
		p := intOf(eo["currentParallelism"])
		tpr := num(eo["trueProcessingRateAvg"])
		m := evaluatedVertex(o, p, 720, 0, 0, 0, tpr, o.RestartTime)
		out = append(out, SummaryEntry{Time: t0.Add(time.Duration(i) * time.Second),
			Summary: ScalingSummary{CurrentParallelism: p, NewParallelism: p + 1, Metrics: m}})
	}
	return out
}

func checkChange(t *testing.T, got ParallelismChange, exp map[string]any) {
	t.Helper()
	checkInt(t, "newParallelism", got.New, exp["newParallelism"])
	checkInt(t, "currentParallelism", got.Current, exp["currentParallelism"])
	if w, ok := exp["outsideUtilizationBound"]; ok && got.OutsideUtilizationBound != w.(bool) {
		t.Errorf("outsideUtilizationBound = %v, want %v", got.OutsideUtilizationBound, w)
	}
}

func vecComputeScaleTarget(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	restart := restartOf(in, o)
	vx := obj(in["vertex"])
	m := evaluatedVertex(o, intOf(vx["parallelism"]), intOf(vx["maxParallelism"]), intOf(vx["numSourcePartitions"]),
		num(vx["targetDataRateAvg"]), num(vx["catchUpDataRate"]), num(vx["trueProcessingRateAvg"]), restart)
	c, _ := testCycle(o, t0)
	got, err := c.computeScaleTargetParallelism("v", strs(vx["inputShipStrategies"]), m,
		historyEntries(o, in["scalingHistory"]), restart, NewDelayedScaleDown())
	if err != nil {
		t.Fatal(err)
	}
	checkChange(t, got, v.Expect)
	if w, ok := v.Expect["expectedProcessingRate"]; ok {
		checkFloat(t, "EXPECTED_PROCESSING_RATE", m.Current(MetricExpectedProcessingRate), w)
	}
}

func vecScaleTargetSequence(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	vx := obj(in["vertex"])
	dsd := NewDelayedScaleDown()
	for _, pre := range arr(in["preinjectedDelayedScaleDown"]) {
		p := arr(pre)
		dsd.trigger("v", t0.Add(time.Duration(num(p[0])*float64(time.Second))), intOf(p[1]), p[2].(bool))
	}
	steps, exps := arr(in["steps"]), arr(v.Expect["steps"])
	for i, s := range steps {
		so, exp := obj(s), obj(exps[i])
		now := t0.Add(time.Duration(num(so["t"]) * float64(time.Second)))
		m := evaluatedVertex(o, intOf(so["parallelism"]), intOf(vx["maxParallelism"]), intOf(vx["numSourcePartitions"]),
			num(so["targetDataRateAvg"]), num(vx["catchUpDataRate"]), num(so["trueProcessingRateAvg"]), o.RestartTime)
		c, _ := testCycle(o, now)
		got, err := c.computeScaleTargetParallelism("v", strs(vx["inputShipStrategies"]), m, nil, o.RestartTime, dsd)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("t=%vs", so["t"]), func(t *testing.T) {
			checkChange(t, got, exp)
			if w, ok := exp["pendingDelayedScaleDown"]; ok {
				if _, pending := dsd.Vertices["v"]; pending != w.(bool) {
					t.Errorf("pending delayed scale-down = %v, want %v", pending, w)
				}
			}
		})
	}
}

func vecIneffectiveSequence(t *testing.T, v vector) {
	in := v.Inputs
	vx := obj(in["vertex"])
	var history []SummaryEntry
	dsd := NewDelayedScaleDown()
	exps := arr(v.Expect["steps"])
	for i, s := range arr(in["steps"]) {
		so, exp := obj(s), obj(exps[i])
		conf := obj(in["conf"])
		conf["scaling.effectiveness.detection.enabled"] = so["effectivenessDetectionEnabled"]
		o := vecOptions(t, conf, nil)
		p := intOf(so["parallelism"])
		m := evaluatedVertex(o, p, intOf(vx["maxParallelism"]), intOf(vx["numSourcePartitions"]),
			num(so["targetDataRateAvg"]), num(vx["catchUpDataRate"]), num(so["trueProcessingRateAvg"]), o.RestartTime)
		c, events := testCycle(o, t0.Add(time.Duration(i)*time.Minute))
		got, err := c.computeScaleTargetParallelism("v", strs(vx["inputShipStrategies"]), m, history, o.RestartTime, dsd)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(so["step"].(string), func(t *testing.T) {
			checkChange(t, got, exp)
			if w, ok := exp["expectedProcessingRate"]; ok {
				checkFloat(t, "EXPECTED_PROCESSING_RATE", m.Current(MetricExpectedProcessingRate), w)
			}
			if got.New > got.Current && !m.Has(MetricExpectedProcessingRate) {
				t.Error("a scale-up must record EXPECTED_PROCESSING_RATE")
			}
			for _, e := range *events {
				if e.Reason != ReasonIneffectiveScaling || !strings.HasPrefix(e.Key, "ineffectivev") {
					t.Errorf("unexpected event %+v", e)
				}
			}
		})
		if so["appendSummaryToHistoryAfterStep"] == true {
			history = append(history, SummaryEntry{Time: c.now, Summary: ScalingSummary{CurrentParallelism: p, NewParallelism: got.New, Metrics: m}})
		}
	}
}

func vecCoefficient(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	got, err := calculateObservedScalingCoefficient(historyEntries(o, in["history"]), o)
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := v.Expect["coefficient"]; ok {
		checkFloat(t, "coefficient", got, w)
	}
	if r, ok := v.Expect["coefficientRange"]; ok {
		lo, hi := num(arr(r)[0]), num(arr(r)[1])
		if got < lo || got > hi {
			t.Errorf("coefficient %v outside [%v, %v]", got, lo, hi)
		}
	}
	checkFloat(t, "coefficient (model)", got, v.Expect["modelExactValue"])
}

// ---- ScalingMetricEvaluatorTest ----

func vecThresholds(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	m := &EvaluatedSet{}
	m.Set(MetricTargetDataRate, EvalAvg(num(in["targetDataRateAvg"])))
	m.Set(MetricCatchUpDataRate, EvalOf(num(in["catchUpDataRate"])))
	computeProcessingRateThresholds(m, o, in["processingBacklog"].(bool), restartOf(in, o))
	checkFloat(t, "SCALE_UP_RATE_THRESHOLD", m.Current(MetricScaleUpRateThreshold), v.Expect["scaleUpThreshold"])
	checkFloat(t, "SCALE_DOWN_RATE_THRESHOLD", m.Current(MetricScaleDownRateThreshold), v.Expect["scaleDownThreshold"])
}

func vecComputeEvaluatedMetrics(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	top := topologyOf(t, in["topology"])
	em, err := Evaluate(o, top, historyOf(t, in["metricHistory"]), restartOf(in, o), "job")
	if err != nil {
		t.Fatal(err)
	}
	for vid, ms := range v.Expect {
		for name, want := range obj(ms) {
			m, _ := ParseMetric(name)
			e, ok := em.Vertices[vid].Get(m)
			if !ok {
				t.Errorf("%s %s missing", vid, name)
				continue
			}
			got := e.Current
			if m.IsAverage() {
				got = e.Average
			}
			checkFloat(t, vid+" "+name, got, want)
		}
	}
	if em.Vertices["sink"].Has(MetricLag) {
		t.Error("a non-source has no LAG")
	}
}

func vecIsProcessingBacklog(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	h := historyOf(t, in["metricHistory"])
	sources := strs(in["sources"])
	var vs []*VertexInfo
	for id := range h[0].Vertices {
		info := &VertexInfo{ID: id, Parallelism: 1, MaxParallelism: 1}
		if !slices.Contains(sources, id) {
			for _, s := range sources {
				info.Inputs = append(info.Inputs, Input{Vertex: s, Ship: ShipRebalance})
			}
		}
		vs = append(vs, info)
	}
	top, err := NewTopology(vs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := isProcessingBacklog(top, h, o, nil), v.Expect["processingBacklog"].(bool); got != want {
		t.Errorf("processingBacklog = %v, want %v", got, want)
	}
}

func observedHistory(values []any) History {
	var h History
	for i, x := range values {
		s := &Sample{Time: t0.Add(time.Duration(i) * time.Second), Vertices: map[string]*Values{"v": {}}}
		s.Vertices["v"].Set(MetricObservedTPR, num(x))
		h = h.put(s)
	}
	return h
}

func vecComputeTrueProcessingRate(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	h := observedHistory(arr(in["observedTprHistory"]))
	got := computeTrueProcessingRate(num(in["busyTimeMsPerSecondAvg"]), num(in["inputRate"]), h.vertex("v"), o)
	checkFloat(t, "TRUE_PROCESSING_RATE", got, v.Expect["trueProcessingRate"])
}

func vecBusyTimeAvg(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, map[string]any{"metrics.busy-time.aggregator": in["aggregator"]}, nil)
	loads := arr(in["loadSamples"])
	var h History
	for i, p := range arr(in["accumulatedBusyTimeSeries"]) {
		po := obj(p)
		s := &Sample{Time: atMs(po["t_ms"]), Vertices: map[string]*Values{"v": {}}}
		s.Vertices["v"].Set(MetricAccumulatedBusyTime, num(po["v"]))
		s.Vertices["v"].Set(MetricLoad, num(loads[i]))
		h = h.put(s)
	}
	checkFloat(t, "busyTimeMsPerSecondAvg", computeBusyTimeAvg(o, h.vertex("v"), intOf(in["parallelism"])), v.Expect["busyTimeMsPerSecondAvg"])
}

func vecEdgeOutputRatio(t *testing.T, v vector) {
	in := v.Inputs
	top := topologyOf(t, in["topology"])
	h := historyOf(t, in["metricHistory"])
	for edge, want := range v.Expect {
		from, to, _ := strings.Cut(edge, "->")
		checkFloat(t, edge, computeEdgeOutputRatio(from, to, top, h), want)
	}
}

func vecGetRate(t *testing.T, v vector) {
	in := v.Inputs
	m, _ := ParseMetric(in["metric"].(string))
	checkFloat(t, "rate", historyOf(t, in["metricHistory"]).vertex(in["vertex"].(string)).rate(m), v.Expect["rate"])
}

func vecTprInputRate(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, map[string]any{"metrics.busy-time.aggregator": in["aggregator"]}, nil)
	byTime := map[time.Time]*Values{}
	add := func(series any, m Metric) {
		for _, p := range arr(series) {
			po := obj(p)
			at := atMs(po["t_ms"])
			if byTime[at] == nil {
				byTime[at] = &Values{}
			}
			byTime[at].Set(m, num(po["v"]))
		}
	}
	add(in["NUM_RECORDS_IN"], MetricNumRecordsIn)
	add(in["NUM_RECORDS_IN_PER_SECOND"], MetricNumRecordsInPerSecond)
	var h History
	for at, vals := range byTime {
		h = h.put(&Sample{Time: at, Vertices: map[string]*Values{"v": vals}})
	}
	checkFloat(t, "inputRate", computeTprInputRate(o, h.vertex("v")), v.Expect["inputRate"])
}

func vecGlobalMetrics(t *testing.T, v vector) {
	var h History
	for i, g := range arr(v.Inputs["globalMetricHistory"]) {
		vals := &Values{}
		for name, x := range obj(g) {
			m, _ := ParseMetric(name)
			vals.Set(m, num(x))
		}
		h = h.put(&Sample{Time: t0.Add(time.Duration(i) * time.Second), Vertices: map[string]*Values{}, Global: vals})
	}
	got := evaluateGlobalMetrics(h)
	for name, want := range v.Expect {
		m, _ := ParseMetric(name)
		e, ok := got.Get(m)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		checkFloat(t, name+".current", e.Current, obj(want)["current"])
		checkFloat(t, name+".average", e.Average, obj(want)["average"])
	}
}

func vecMergeEvaluated(t *testing.T, v vector) {
	results := arr(v.Expect["results"])
	for i, c := range arr(v.Inputs["cases"]) {
		co := obj(c)
		a, b := arr(co["actual"]), arr(co["incoming"])
		got := mergeEvaluatedScalingMetric(Evaluated{num(a[0]), num(a[1])}, Evaluated{num(b[0]), num(b[1])})
		want := arr(results[i])
		checkFloat(t, fmt.Sprintf("case %d current", i), got.Current, want[0])
		checkFloat(t, fmt.Sprintf("case %d average", i), got.Average, want[1])
	}
}

// ---- ScalingMetricsTest / MetricsCollectionAndEvaluationTest ----

func vecObservedTprSource(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, obj(in["conf"]), nil)
	top, _ := NewTopology([]*VertexInfo{{ID: "s", Parallelism: 1, MaxParallelism: 1}})
	fm := map[flinkMetric]autoscaler.Aggregate{
		fmSourceInPerSec:     {Sum: num(in["sourceNumRecordsPerSecond"]), Min: math.NaN(), Max: math.NaN(), Avg: math.NaN()},
		fmBackpressurePerSec: {Avg: num(in["backPressuredTimeMsPerSecond(avg)"]), Min: math.NaN(), Max: math.NaN(), Sum: math.NaN()},
	}
	vals := &Values{}
	vals.Set(MetricLag, num(in["LAG"]))
	prev := num(in["previousObservedTprAverage"])
	computeDataRateMetrics("s", fm, vals, top, o, func() float64 { return prev })
	checkFloat(t, "OBSERVED_TPR", vals.NaN(MetricObservedTPR), v.Expect["OBSERVED_TPR"])
}

func vecLoadMetrics(t *testing.T, v vector) {
	b := obj(v.Inputs["busyTimeMsPerSecond"])
	agg := autoscaler.Aggregate{Min: num(b["min"]), Max: num(b["max"]), Avg: num(b["avg"]), Sum: math.NaN(), Skew: math.NaN()}
	for name, want := range obj(obj(v.Expect)["LOAD"]) {
		o := vecOptions(t, map[string]any{"metrics.busy-time.aggregator": name}, nil)
		vals := &Values{}
		excluded := computeLoadMetrics(map[flinkMetric]autoscaler.Aggregate{fmBusyTimePerSec: agg}, &VertexInfo{}, o, vals)
		if excluded {
			t.Errorf("%s: finite busy time must not exclude the vertex", name)
		}
		checkFloat(t, "LOAD "+name, vals.NaN(MetricLoad), want)
	}
	// A missing busy time excludes the vertex and stores NaN.
	vals := &Values{}
	if !computeLoadMetrics(nil, &VertexInfo{}, vecOptions(t, nil, nil), vals) || !math.IsNaN(vals.NaN(MetricLoad)) {
		t.Error("missing busy time must exclude the vertex with LOAD NaN")
	}
}

func vecComputeGlobalMetrics(t *testing.T, v vector) {
	tm := map[string]autoscaler.Aggregate{}
	names := map[string]string{"Heap.Used": tmHeapUsed, "Heap.Max": tmHeapMax, "Managed.Used": tmManaged, "Metaspace.Used": tmMetaspace}
	for short, a := range obj(v.Inputs["tmAggregates"]) {
		ao := obj(a)
		agg := autoscaler.Missing()
		if x, ok := ao["avg"]; ok {
			agg.Avg = num(x)
		}
		if x, ok := ao["max"]; ok {
			agg.Max = num(x)
		}
		tm[names[short]] = agg
	}
	g := globalMetrics(&autoscaler.Snapshot{SlotsTotal: -1, SlotsAvailable: -1}, tm)
	for name, want := range v.Expect {
		m, _ := ParseMetric(name)
		checkFloat(t, name, g.NaN(m), want)
	}
	if g.Has(MetricGCPressure) || g.Has(MetricNumTaskSlotsUsed) {
		t.Error("no GC metric and no slots: GC_PRESSURE and NUM_TASK_SLOTS_USED must be absent")
	}
}

// expandMetricNames expands the vector's abbreviated metric names: "{0,1}" lists and "..." for
// the operator-name prefix (Kafka or Pulsar source) or the reader infix.
func expandMetricNames(items []string) []string {
	var out []string
	pulsarPrefix := "0.Source__pulsar_source[1].PulsarConsumer.persistent_//public/default/"
	for _, it := range items {
		var expanded []string
		if i := strings.Index(it, "{"); i >= 0 {
			j := strings.Index(it, "}")
			for _, alt := range strings.Split(it[i+1:j], ",") {
				expanded = append(expanded, it[:i]+alt+it[j+1:])
			}
		} else {
			expanded = []string{it}
		}
		for _, e := range expanded {
			switch {
			case strings.Contains(e, "PulsarConsumer"):
				out = append(out, "0.Source__pulsar_source[1]"+strings.TrimPrefix(e, "..."))
			case strings.Contains(e, "partition-"):
				body := strings.TrimSuffix(strings.TrimPrefix(e, "..."), "...")
				if strings.Count(body, ".") == 0 {
					body += ".x"
				}
				out = append(out, pulsarPrefix+body+".numMsgsReceived")
			default:
				e = strings.Replace(e, "...topic.", ".KafkaSourceReader.topic.", 1)
				out = append(out, "1.Source__Kafka_Source_(testTopic)."+strings.TrimPrefix(e, "..."))
			}
		}
	}
	return out
}

func vecNumPartitions(t *testing.T, v vector) {
	want := arr(v.Expect["numSourcePartitions"])
	for i, c := range arr(v.Inputs["cases"]) {
		names := expandMetricNames(strs(c))
		checkInt(t, fmt.Sprintf("case %d %q", i, names), NumSourcePartitions(names), want[i])
	}
}

// ---- ResourceCheckUtilsTest / ScalingTrackingTest ----

func vecEstimateSlots(t *testing.T, v vector) {
	in := v.Inputs
	vertices := map[string]*EvaluatedSet{}
	for id, p := range obj(in["parallelism"]) {
		vertices[id] = &EvaluatedSet{}
		vertices[id].Set(MetricParallelism, EvalOf(num(p)))
	}
	summaries := map[string]ScalingSummary{}
	for id, p := range obj(in["newParallelism"]) {
		summaries[id] = ScalingSummary{CurrentParallelism: javaInt(vertices[id].Current(MetricParallelism)), NewParallelism: intOf(p)}
	}
	checkInt(t, "slotsAfter", estimateNumTaskSlotsAfterRescale(vertices, summaries, intOf(in["numTaskSlotsUsed"])), v.Expect["slotsAfter"])
}

func vecMaxRestartTime(t *testing.T, v vector) {
	in := v.Inputs
	o := vecOptions(t, map[string]any{
		"restart.time-tracking.enabled": in["restart.time-tracking.enabled"],
		"restart.time.s":                in["restart.time.s"],
		"restart.time-tracking.limit.s": in["restart.time-tracking.limit.s"],
	}, nil)
	var tr ScalingTracking
	for i, d := range arr(in["trackedRestartDurationsSec"]) {
		dur := time.Duration(num(d) * float64(time.Second))
		tr.Records = append(tr.Records, ScalingRecord{Time: t0.Add(time.Duration(i) * time.Hour), RestartDuration: &dur})
	}
	checkFloat(t, "restartTimeSec", tr.maxRestartTimeOrDefault(o).Seconds(), v.Expect["restartTimeSec"])
}

// ---- AlignmentModeTest ----

func vecAlignParallelism(t *testing.T, v vector) {
	in := v.Inputs
	conf := map[string]any{}
	mode := in["mode"].(string)
	if legacy, ok := strings.CutPrefix(mode, "LEGACY_"); ok {
		conf["scaling.key-group.partitions.adjust.mode"] = legacy
	} else {
		conf["scaling.parallelism-alignment.mode"] = mode
	}
	o := vecOptions(t, conf, nil)
	c, events := testCycle(o, t0)
	got := c.align("v", intOf(in["currentParallelism"]), intOf(in["computedTarget"]), intOf(in["numSourcePartitions"]),
		intOf(in["maxParallelism"]), intOf(in["parallelismLowerLimit"]), intOf(in["parallelismUpperLimit"]),
		strs(in["inputShipStrategies"]), &EvaluatedSet{})
	checkInt(t, "parallelism", got, v.Expect["parallelism"])
	if w, ok := v.Expect["scalingLimitedEvents"]; ok {
		checkInt(t, "ScalingLimited events", countReason(*events, ReasonScalingLimited), w)
	}
}

func vecIsApplicable(t *testing.T, v vector) {
	in := v.Inputs
	ctx := &AlignmentContext{NumSourcePartitions: intOf(in["numSourcePartitions"]), InputShips: strs(in["inputShipStrategies"])}
	if got := DefaultApplicable(ctx); got != v.Expect["applicable"].(bool) {
		t.Errorf("applicable = %v", got)
	}
	ctx.InputShips = append(ctx.InputShips, ShipHash)
	if got := DefaultApplicable(ctx); got != v.Expect["applicableWithHASH"].(bool) {
		t.Errorf("applicable with HASH = %v", got)
	}
}

func vecResolve(t *testing.T, v vector) {
	want := strs(v.Expect["results"])
	for i, c := range arr(v.Inputs["cases"]) {
		cfg := flinkconf.New()
		for k, x := range obj(c) {
			cfg.Set(Prefix+k, x.(string))
		}
		o, err := ParseOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(resolveAlignmentMode(&o))
		if got != want[i] {
			t.Errorf("case %d %v: resolved %s, want %s", i, obj(c), got, want[i])
		}
	}
}
