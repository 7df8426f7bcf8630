package operator

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Metric is the operator's ScalingMetric: a high-level metric computed from Flink's raw metrics.
type Metric uint8

// The ScalingMetric values, in the operator's declaration order.
const (
	MetricLoad Metric = iota
	MetricTrueProcessingRate
	MetricObservedTPR
	MetricTargetDataRate
	MetricCatchUpDataRate
	MetricLag
	MetricParallelism
	MetricRecommendedParallelism
	MetricMaxParallelism
	MetricNumSourcePartitions
	MetricScaleUpRateThreshold
	MetricScaleDownRateThreshold
	MetricExpectedProcessingRate
	MetricNumRecordsIn
	MetricNumRecordsInPerSecond
	MetricNumRecordsOut
	MetricAccumulatedBusyTime
	MetricGCPressure
	MetricHeapMemoryUsed
	MetricManagedMemoryUsed
	MetricMetaspaceMemoryUsed
	MetricHeapMaxUsageRatio
	MetricNumTaskSlotsUsed
	numMetrics
)

var metricNames = [numMetrics]string{
	"LOAD", "TRUE_PROCESSING_RATE", "OBSERVED_TPR", "TARGET_DATA_RATE", "CATCH_UP_DATA_RATE",
	"LAG", "PARALLELISM", "RECOMMENDED_PARALLELISM", "MAX_PARALLELISM", "NUM_SOURCE_PARTITIONS",
	"SCALE_UP_RATE_THRESHOLD", "SCALE_DOWN_RATE_THRESHOLD", "EXPECTED_PROCESSING_RATE",
	"NUM_RECORDS_IN", "NUM_RECORDS_IN_PER_SECOND", "NUM_RECORDS_OUT", "ACCUMULATED_BUSY_TIME",
	"GC_PRESSURE", "HEAP_MEMORY_USED", "MANAGED_MEMORY_USED", "METASPACE_MEMORY_USED",
	"HEAP_MAX_USAGE_RATIO", "NUM_TASK_SLOTS_USED",
}

// String returns the operator's enum name ("TRUE_PROCESSING_RATE").
func (m Metric) String() string {
	if m < numMetrics {
		return metricNames[m]
	}
	return "Metric(" + strconv.Itoa(int(m)) + ")"
}

// ParseMetric resolves an operator metric name.
func ParseMetric(name string) (Metric, bool) {
	for i, n := range metricNames {
		if n == name {
			return Metric(i), true
		}
	}
	return 0, false
}

// IsAverage reports ScalingMetric#isCalculateAverage: the metric is evaluated as a window
// average (reported as ".Average"), the others as a current value (".Current").
func (m Metric) IsAverage() bool {
	switch m {
	case MetricLoad, MetricTrueProcessingRate, MetricObservedTPR, MetricTargetDataRate,
		MetricHeapMemoryUsed, MetricManagedMemoryUsed, MetricMetaspaceMemoryUsed, MetricHeapMaxUsageRatio:
		return true
	}
	return false
}

// ReportedVertexMetrics are the per-vertex metrics the operator exports as gauges
// (ScalingMetric.REPORTED_VERTEX_METRICS).
var ReportedVertexMetrics = []Metric{
	MetricLoad, MetricTrueProcessingRate, MetricTargetDataRate, MetricCatchUpDataRate, MetricLag,
	MetricParallelism, MetricRecommendedParallelism, MetricMaxParallelism, MetricNumSourcePartitions,
	MetricScaleUpRateThreshold, MetricScaleDownRateThreshold, MetricExpectedProcessingRate,
}

// metricMap is a Java Map<ScalingMetric, T>: a value per metric plus presence, because the
// operator distinguishes an absent metric (getOrDefault) from a stored NaN.
type metricMap[T any] struct {
	v   [numMetrics]T
	has uint32
}

// Get returns the value and whether it is present.
func (x *metricMap[T]) Get(m Metric) (T, bool) {
	var zero T
	if x == nil || x.has&(1<<m) == 0 {
		return zero, false
	}
	return x.v[m], true
}

// Has reports whether m is present.
func (x *metricMap[T]) Has(m Metric) bool { return x != nil && x.has&(1<<m) != 0 }

// Set stores v under m.
func (x *metricMap[T]) Set(m Metric, v T) {
	x.v[m] = v
	x.has |= 1 << m
}

// Delete removes m.
func (x *metricMap[T]) Delete(m Metric) {
	var zero T
	x.v[m] = zero
	x.has &^= 1 << m
}

// Len returns the number of present metrics.
func (x *metricMap[T]) Len() int {
	if x == nil {
		return 0
	}
	n := 0
	for h := x.has; h != 0; h &= h - 1 {
		n++
	}
	return n
}

// Each calls fn for every present metric in declaration order.
func (x *metricMap[T]) Each(fn func(Metric, T)) {
	if x == nil {
		return
	}
	for m := Metric(0); m < numMetrics; m++ {
		if x.has&(1<<m) != 0 {
			fn(m, x.v[m])
		}
	}
}

// Values holds raw per-sample ScalingMetric values (Map<ScalingMetric, Double>).
type Values struct{ metricMap[float64] }

// Get returns the value and whether it is present (nil-safe).
func (x *Values) Get(m Metric) (float64, bool) {
	if x == nil {
		return math.NaN(), false
	}
	return x.metricMap.Get(m)
}

// Has reports whether m is present (nil-safe).
func (x *Values) Has(m Metric) bool { return x != nil && x.metricMap.Has(m) }

// Or is Map#getOrDefault.
func (x *Values) Or(m Metric, def float64) float64 {
	if v, ok := x.Get(m); ok {
		return v
	}
	return def
}

// NaN returns the value or NaN when absent (getOrDefault(m, NaN)).
func (x *Values) NaN(m Metric) float64 { return x.Or(m, math.NaN()) }

// Clone returns a copy (nil stays nil).
func (x *Values) Clone() *Values {
	if x == nil {
		return nil
	}
	c := *x
	return &c
}

// MarshalJSON encodes {"LAG": "NaN", "LOAD": 0.5} (keys sorted, non-finite numbers as
// strings). It writes the bytes directly: the state holds thousands of these and is saved
// every cycle.
func (x Values) MarshalJSON() ([]byte, error) {
	type kv struct {
		k string
		v float64
	}
	var kvs []kv
	x.Each(func(k Metric, v float64) { kvs = append(kvs, kv{k.String(), v}) })
	slices.SortFunc(kvs, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	b := make([]byte, 0, 2+len(kvs)*32)
	b = append(b, '{')
	for i, e := range kvs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, e.k)
		b = append(b, ':')
		b = appendJSONFloat(b, e.v)
	}
	return append(b, '}'), nil
}

// appendJSONFloat appends x as jsonFloat encodes it.
func appendJSONFloat(b []byte, x float64) []byte {
	switch {
	case math.IsNaN(x):
		return append(b, `"NaN"`...)
	case math.IsInf(x, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(x, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (x *Values) UnmarshalJSON(b []byte) error {
	var m map[string]jsonFloat
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*x = Values{}
	for k, v := range m {
		id, ok := ParseMetric(k)
		if !ok {
			return fmt.Errorf("unknown scaling metric %q", k)
		}
		x.Set(id, float64(v))
	}
	return nil
}

// Evaluated is an EvaluatedScalingMetric: a current value and a window average, each rounded
// to three decimals on construction (NaN when not defined).
type Evaluated struct {
	Current float64
	Average float64
}

// NewEvaluated rounds both parts as the operator's constructor does.
func NewEvaluated(current, average float64) Evaluated {
	return Evaluated{Current: roundMetric(current), Average: roundMetric(average)}
}

// EvalOf is EvaluatedScalingMetric.of(current).
func EvalOf(current float64) Evaluated { return NewEvaluated(current, math.NaN()) }

// EvalAvg is EvaluatedScalingMetric.avg(average).
func EvalAvg(average float64) Evaluated { return NewEvaluated(math.NaN(), average) }

// MarshalJSON encodes [current, average].
func (e Evaluated) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 48)
	b = append(b, '[')
	b = appendJSONFloat(b, e.Current)
	b = append(b, ',')
	b = appendJSONFloat(b, e.Average)
	return append(b, ']'), nil
}

// UnmarshalJSON decodes [current, average].
func (e *Evaluated) UnmarshalJSON(b []byte) error {
	var a [2]jsonFloat
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	e.Current, e.Average = float64(a[0]), float64(a[1])
	return nil
}

// EvaluatedSet is a vertex's (or the job's global) Map<ScalingMetric, EvaluatedScalingMetric>.
type EvaluatedSet struct{ metricMap[Evaluated] }

// Get returns the metric and whether it is present (nil-safe).
func (x *EvaluatedSet) Get(m Metric) (Evaluated, bool) {
	if x == nil {
		return Evaluated{math.NaN(), math.NaN()}, false
	}
	return x.metricMap.Get(m)
}

// Has reports whether m is present (nil-safe).
func (x *EvaluatedSet) Has(m Metric) bool { return x != nil && x.metricMap.Has(m) }

// Current returns the current part, NaN when absent.
func (x *EvaluatedSet) Current(m Metric) float64 {
	if e, ok := x.Get(m); ok {
		return e.Current
	}
	return math.NaN()
}

// Average returns the average part, NaN when absent.
func (x *EvaluatedSet) Average(m Metric) float64 {
	if e, ok := x.Get(m); ok {
		return e.Average
	}
	return math.NaN()
}

// Clone returns a copy.
func (x *EvaluatedSet) Clone() *EvaluatedSet {
	if x == nil {
		return nil
	}
	c := *x
	return &c
}

// MarshalJSON encodes {"LOAD": [current, average], ...}.
func (x EvaluatedSet) MarshalJSON() ([]byte, error) {
	m := map[string]Evaluated{}
	x.Each(func(k Metric, v Evaluated) { m[k.String()] = v })
	return json.Marshal(m)
}

// UnmarshalJSON is the inverse of MarshalJSON.
func (x *EvaluatedSet) UnmarshalJSON(b []byte) error {
	var m map[string]Evaluated
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*x = EvaluatedSet{}
	for k, v := range m {
		id, ok := ParseMetric(k)
		if !ok {
			return fmt.Errorf("unknown scaling metric %q", k)
		}
		x.Set(id, v)
	}
	return nil
}

// jsonFloat encodes non-finite numbers as the strings "NaN", "Infinity", "-Infinity", which
// plain JSON cannot hold (the vector files use the same convention).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	return appendJSONFloat(nil, float64(f)), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "Infinity", "+Infinity":
			*f = jsonFloat(math.Inf(1))
		case "-Infinity":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("invalid number %q", s)
		}
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = jsonFloat(x)
	return nil
}
