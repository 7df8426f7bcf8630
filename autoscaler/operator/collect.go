package operator

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/flinktune/flinktune/autoscaler"
)

// flinkMetric is the operator's FlinkMetric: a pattern over raw Flink metric names.
type flinkMetric int

const (
	fmBusyTimePerSec flinkMetric = iota
	fmSourceInPerSec
	fmSourceOut
	fmSourceOutPerSec
	fmSourceIn
	fmPendingRecords
	fmBackpressurePerSec
	fmInPerSec
)

var flinkMetricNames = []string{"BUSY_TIME_PER_SEC", "SOURCE_TASK_NUM_RECORDS_IN_PER_SEC",
	"SOURCE_TASK_NUM_RECORDS_OUT", "SOURCE_TASK_NUM_RECORDS_OUT_PER_SEC", "SOURCE_TASK_NUM_RECORDS_IN",
	"PENDING_RECORDS", "BACKPRESSURE_TIME_PER_SEC", "NUM_RECORDS_IN_PER_SEC"}

func (f flinkMetric) String() string { return flinkMetricNames[f] }

func (f flinkMetric) matches(name string) bool {
	switch f {
	case fmBusyTimePerSec:
		return name == "busyTimeMsPerSecond"
	case fmSourceInPerSec:
		return strings.HasPrefix(name, "Source__") && strings.HasSuffix(name, ".numRecordsInPerSecond")
	case fmSourceOut:
		return strings.HasPrefix(name, "Source__") && strings.HasSuffix(name, ".numRecordsOut")
	case fmSourceOutPerSec:
		return strings.HasPrefix(name, "Source__") && strings.HasSuffix(name, ".numRecordsOutPerSecond")
	case fmSourceIn:
		return strings.HasPrefix(name, "Source__") && strings.HasSuffix(name, ".numRecordsIn")
	case fmPendingRecords:
		return strings.HasSuffix(name, ".pendingRecords")
	case fmBackpressurePerSec:
		return name == "backPressuredTimeMsPerSecond"
	case fmInPerSec:
		return name == "numRecordsInPerSecond"
	}
	return false
}

// findAny returns the first matching name in iteration order, as FlinkMetric#findAny.
func (f flinkMetric) findAny(names []string) (string, bool) {
	for _, n := range names {
		if f.matches(n) {
			return n, true
		}
	}
	return "", false
}

// TaskManager metric names (only the max aggregate is used).
const (
	tmHeapMax   = "Status.JVM.Memory.Heap.Max"
	tmHeapUsed  = "Status.JVM.Memory.Heap.Used"
	tmManaged   = "Status.Flink.Memory.Managed.Used"
	tmMetaspace = "Status.JVM.Memory.Metaspace.Used"
	tmGCTime    = "Status.JVM.GarbageCollector.All.TimeMsPerSecond"
)

// notReadyError is the operator's NotReadyException: the cycle ends silently.
type notReadyError struct{ msg string }

func (e *notReadyError) Error() string { return e.msg }

func notReady(msg string) error { return &notReadyError{msg} }

func isNotReady(err error) bool {
	var nr *notReadyError
	return errors.As(err, &nr)
}

// metricNotFoundError is MetricNotFoundException.
type metricNotFoundError struct {
	metric flinkMetric
	vertex string
}

func (e *metricNotFoundError) Error() string {
	return fmt.Sprintf("Could not find required metric %s for %s", e.metric, e.vertex)
}

// javaHashOrder returns the distinct names in the iteration order of a java.util.HashSet they
// were added to in the given order (Collectors.toSet()). The operator picks "any" matching
// metric name from such a set, so the choice among several candidates follows this order.
func javaHashOrder(names []string) []string {
	seen := make(map[string]bool, len(names))
	uniq := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	capacity := 16
	for len(uniq) > capacity*3/4 {
		capacity *= 2
	}
	buckets := make([][]string, capacity)
	for _, n := range uniq {
		h := javaStringHash(n)
		h ^= int32(uint32(h) >> 16)
		b := int(uint32(h) & uint32(capacity-1))
		buckets[b] = append(buckets[b], n)
	}
	out := uniq[:0:0]
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

// javaStringHash is String#hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			for _, u := range utf16.Encode([]rune(s[i:])) {
				h = 31*h + int32(u)
			}
			return h
		}
		h = 31*h + int32(s[i])
	}
	return h
}

var partitionRegex = regexp.MustCompile(`^.*?(\.kafkaCluster\.(?P<kafkaCluster>.+))?\.KafkaSourceReader\.topic\.(?P<kafkaTopic>.+)\.partition\.(?P<kafkaId>\d+)\.currentOffset$` +
	`|^.*\.PulsarConsumer\.(?P<pulsarTopic>.+)-partition-(?P<pulsarId>\d+)\..*\.numMsgsReceived$`)

// NumSourcePartitions counts the distinct Kafka (cluster, topic, partition) and Pulsar
// (topic, partition) pairs in a source vertex's metric names; 0 when there are none.
func NumSourcePartitions(metricNames []string) int {
	group := func(m []int, name string, s string) (string, bool) {
		i := partitionRegex.SubexpIndex(name)
		if m[2*i] < 0 {
			return "null", false // Java's String.valueOf(null) in the key
		}
		return s[m[2*i]:m[2*i+1]], true
	}
	parts := map[string]bool{}
	for _, n := range metricNames {
		m := partitionRegex.FindStringSubmatchIndex(n)
		if m == nil {
			continue
		}
		if topic, ok := group(m, "kafkaTopic", n); ok {
			cluster, _ := group(m, "kafkaCluster", n)
			id, _ := group(m, "kafkaId", n)
			parts[cluster+"-"+topic+"-"+id] = true
		} else {
			topic, _ := group(m, "pulsarTopic", n)
			id, _ := group(m, "pulsarId", n)
			parts[topic+"-"+id] = true
		}
	}
	return len(parts)
}

// Collector is the operator's ScalingMetricCollector minus the REST calls: it turns
// snapshots into samples. It caches the filtered metric names of non-source vertices until
// the vertex set changes, as the operator does (a volatile cache, not persisted), and
// memoizes the parsing of unchanged metric listings.
type Collector struct {
	names    map[string]*filtered
	listings map[string]*listing
}

// filtered are a vertex's queried metric names and the order they are merged in.
type filtered struct {
	m     map[string]flinkMetric
	order []string
}

// listing memoizes what is derived from one vertex's metric-name listing.
type listing struct {
	names      []string
	source     bool
	variant    Variant
	f          *filtered
	err        error
	partitions int
}

// Reset drops the cached metric names (the operator's cleanup on restart).
func (c *Collector) Reset() { c.names = nil }

func (c *Collector) listing(id string, names []string, source bool, o *Options) *listing {
	if c.listings == nil {
		c.listings = map[string]*listing{}
	}
	if l := c.listings[id]; l != nil && l.source == source && l.variant == o.Variant && slices.Equal(l.names, names) {
		return l
	}
	l := &listing{names: slices.Clone(names), source: source, variant: o.Variant, partitions: -1}
	l.f, l.err = filterVertexMetricNames(id, names, source, o)
	if len(c.listings) > 4*1024 {
		c.listings = map[string]*listing{} // bound the memo for jobs whose vertices churn
	}
	c.listings[id] = l
	return l
}

// numSourcePartitions is NumSourcePartitions, memoized per unchanged listing.
func (c *Collector) numSourcePartitions(id string, names []string, o *Options) int {
	l := c.listing(id, names, true, o)
	if l.partitions < 0 {
		l.partitions = NumSourcePartitions(names)
	}
	return l.partitions
}

// CollectResult is one converted snapshot.
type CollectResult struct {
	Sample *Sample
	// Excluded are vertices without a finite busy time: excluded from scaling this cycle.
	Excluded []string
}

// Collect converts snap into the sample the operator stores for it
// (convertToScalingMetrics), given the topology (with partition counts), the options and the
// history so far (for the observed-TPR fallback). stabilizing turns a missing required metric
// into a not-ready condition instead of an error.
func (c *Collector) Collect(snap *autoscaler.Snapshot, top *Topology, o *Options, history History, stabilizing bool) (*CollectResult, error) {
	names, err := c.filteredNames(snap, top, o)
	if err != nil {
		var nf *metricNotFoundError
		if stabilizing && errors.As(err, &nf) {
			return nil, notReady(err.Error())
		}
		return nil, err
	}
	flink := map[string]map[flinkMetric]autoscaler.Aggregate{}
	for _, id := range top.Order {
		if f, ok := names[id]; ok {
			flink[id] = queryVertexMetrics(snap.Vertex(id), f)
		}
	}
	for id := range top.Finished {
		flink[id] = finishedMetrics()
	}
	tm, err := taskManagerMetrics(snap)
	if err != nil {
		return nil, err
	}
	res := &CollectResult{Sample: &Sample{Time: snap.Time, Vertices: make(map[string]*Values, len(top.Order))}}
	for _, id := range top.Order {
		fm, ok := flink[id]
		if !ok {
			continue
		}
		vals, excluded := vertexScalingMetrics(id, fm, top, o, history)
		if excluded {
			res.Excluded = append(res.Excluded, id)
		}
		res.Sample.Vertices[id] = vals
	}
	res.Sample.Global = globalMetrics(snap, tm)
	return res, nil
}

// ComputeScalingMetrics is the stateless form of Collector.Collect (metric names are
// re-filtered for every vertex).
func ComputeScalingMetrics(snap *autoscaler.Snapshot, top *Topology, o *Options, history History) (*CollectResult, error) {
	var c Collector
	return c.Collect(snap, top, o, history, false)
}

func finishedMetrics() map[flinkMetric]autoscaler.Aggregate {
	zero := autoscaler.Aggregate{}
	return map[flinkMetric]autoscaler.Aggregate{fmBusyTimePerSec: zero, fmPendingRecords: zero,
		fmSourceInPerSec: zero, fmSourceIn: zero, fmSourceOut: zero}
}

// filteredNames is queryFilteredMetricNames: all vertices when the vertex set changed, only
// the sources otherwise; finished vertices are left out.
func (c *Collector) filteredNames(snap *autoscaler.Snapshot, top *Topology, o *Options) (map[string]*filtered, error) {
	same := c.names != nil && len(c.names) == len(top.Vertices)
	if same {
		for id := range c.names {
			if top.Vertices[id] == nil {
				same = false
				break
			}
		}
	}
	next := make(map[string]*filtered, len(top.Vertices))
	if same {
		for k, v := range c.names {
			next[k] = v
		}
	}
	for _, id := range top.Order {
		if top.Finished[id] || (same && !top.IsSource(id)) {
			continue
		}
		var names []string
		if sv := snap.Vertex(id); sv != nil {
			names = sv.MetricNames
		}
		l := c.listing(id, names, top.IsSource(id), o)
		if l.err != nil {
			return nil, l.err
		}
		next[id] = l.f
	}
	for id := range top.Finished {
		delete(next, id)
	}
	c.names = next
	return next, nil
}

// filterVertexMetricNames is getFilteredVertexMetricNames.
func filterVertexMetricNames(id string, allNames []string, source bool, o *Options) (*filtered, error) {
	all := javaHashOrder(allNames)
	out := map[string]flinkMetric{}
	var inserted []string
	put := func(n string, f flinkMetric) {
		if _, ok := out[n]; !ok {
			inserted = append(inserted, n)
		}
		out[n] = f
	}
	required := []flinkMetric{fmBusyTimePerSec}
	if source {
		required = append(required, fmBackpressurePerSec, fmSourceInPerSec, fmSourceIn)
		for _, n := range all {
			if fmPendingRecords.matches(n) {
				put(n, fmPendingRecords)
			}
		}
		if n, ok := fmSourceOut.findAny(all); ok {
			put(n, fmSourceOut)
		}
	} else if !o.Variant.Pre116() {
		if n, ok := fmInPerSec.findAny(all); ok {
			put(n, fmInPerSec)
		}
	}
	for _, f := range required {
		n, ok := f.findAny(all)
		if !ok {
			return nil, &metricNotFoundError{f, id}
		}
		put(n, f)
	}
	// The values are requested in the iteration order of the operator's HashMap of names.
	return &filtered{m: out, order: javaHashOrder(inserted)}, nil
}

// queryVertexMetrics reads the values of the filtered names from the snapshot and merges
// several names of one logical metric: min of mins, max of maxes, sum of sums, max skew, no
// average.
func queryVertexMetrics(sv *autoscaler.Vertex, f *filtered) map[flinkMetric]autoscaler.Aggregate {
	out := make(map[flinkMetric]autoscaler.Aggregate, len(f.order))
	if sv == nil {
		return out
	}
	for _, name := range f.order {
		a, ok := sv.Metrics[name]
		if !ok {
			continue
		}
		fm := f.m[name]
		if prev, ok := out[fm]; ok {
			out[fm] = mergeAggregates(prev, a)
		} else {
			out[fm] = a
		}
	}
	return out
}

func mergeAggregates(a, b autoscaler.Aggregate) autoscaler.Aggregate {
	pick := func(x, y float64, f func(float64, float64) float64) float64 {
		if math.IsNaN(x) {
			return math.NaN()
		}
		return f(x, y)
	}
	return autoscaler.Aggregate{
		Min:  pick(a.Min, b.Min, math.Min),
		Max:  pick(a.Max, b.Max, math.Max),
		Avg:  math.NaN(),
		Sum:  pick(a.Sum, b.Sum, func(x, y float64) float64 { return x + y }),
		Skew: pick(a.Skew, b.Skew, math.Max),
	}
}

// taskManagerMetrics returns the TaskManager aggregates the operator queries; none at all is
// the operator's "Missing required TM metrics" failure.
func taskManagerMetrics(snap *autoscaler.Snapshot) (map[string]autoscaler.Aggregate, error) {
	out := map[string]autoscaler.Aggregate{}
	for _, n := range []string{tmHeapMax, tmHeapUsed, tmManaged, tmMetaspace, tmGCTime} {
		if a, ok := snap.TaskManagerMetrics[n]; ok {
			out[n] = a
		}
	}
	if len(out) == 0 {
		return nil, errors.New("Missing required TM metrics")
	}
	return out, nil
}

// globalMetrics is ScalingMetrics.computeGlobalMetrics (maxima across TaskManagers).
func globalMetrics(snap *autoscaler.Snapshot, tm map[string]autoscaler.Aggregate) *Values {
	g := &Values{}
	if snap.SlotsTotal >= 0 && snap.SlotsAvailable >= 0 {
		g.Set(MetricNumTaskSlotsUsed, float64(snap.SlotsTotal)-float64(snap.SlotsAvailable))
	}
	if gc, ok := tm[tmGCTime]; ok {
		g.Set(MetricGCPressure, gc.Max/1000)
	}
	heapMax, okMax := tm[tmHeapMax]
	heapUsed, okUsed := tm[tmHeapUsed]
	if okMax && okUsed {
		g.Set(MetricHeapMemoryUsed, heapUsed.Max)
		g.Set(MetricHeapMaxUsageRatio, heapUsed.Max/heapMax.Max)
	}
	if m, ok := tm[tmManaged]; ok {
		g.Set(MetricManagedMemoryUsed, m.Max)
	}
	if m, ok := tm[tmMetaspace]; ok {
		g.Set(MetricMetaspaceMemoryUsed, m.Max)
	}
	return g
}

// vertexScalingMetrics converts one vertex's Flink metrics to ScalingMetric values, rounded.
// excluded is true when the busy time is not finite (the vertex is excluded this cycle).
func vertexScalingMetrics(id string, fm map[flinkMetric]autoscaler.Aggregate, top *Topology, o *Options, history History) (*Values, bool) {
	v := &Values{}
	if top.IsSource(id) {
		computeLagMetrics(fm, v)
	}
	excluded := computeLoadMetrics(fm, top.Get(id), o, v)
	computeDataRateMetrics(id, fm, v, top, o, func() float64 {
		return history.vertex(id).average(MetricObservedTPR, o.ObservedTPRMinObs)
	})
	for m := Metric(0); m < numMetrics; m++ {
		if x, ok := v.Get(m); ok {
			v.Set(m, roundMetric(x))
		}
	}
	return v, excluded
}

// computeLagMetrics sets LAG: the summed pendingRecords, 0 when the source reports none.
func computeLagMetrics(fm map[flinkMetric]autoscaler.Aggregate, v *Values) {
	if p, ok := fm[fmPendingRecords]; ok {
		v.Set(MetricLag, p.Sum)
	} else {
		v.Set(MetricLag, 0)
	}
}

// computeLoadMetrics sets LOAD (the aggregated busyTimeMsPerSecond / 1000, negative → 0) and
// ACCUMULATED_BUSY_TIME. It reports true when the busy time is not finite: LOAD is then NaN
// and the vertex is excluded from scaling for this cycle.
func computeLoadMetrics(fm map[flinkMetric]autoscaler.Aggregate, info *VertexInfo, o *Options, v *Values) bool {
	busy := math.NaN()
	if a, ok := fm[fmBusyTimePerSec]; ok {
		switch o.BusyTimeAggregator {
		case AggAvg:
			busy = a.Avg
		case AggMin:
			busy = a.Min
		default:
			busy = a.Max
		}
	}
	excluded := false
	if math.IsNaN(busy) || math.IsInf(busy, 0) {
		excluded = true
		busy = math.NaN()
	} else {
		busy = math.Max(0, busy)
	}
	v.Set(MetricLoad, busy/1000)
	v.Set(MetricAccumulatedBusyTime, info.AccumulatedBusyTime)
	return excluded
}

// computeDataRateMetrics sets NUM_RECORDS_IN/OUT, OBSERVED_TPR for sources (observedAvg is the
// fallback window average) and NUM_RECORDS_IN_PER_SECOND for other vertices. Values are not
// rounded here.
func computeDataRateMetrics(id string, fm map[flinkMetric]autoscaler.Aggregate, v *Values, top *Topology, o *Options, observedAvg func() float64) {
	info := top.Get(id)
	source := top.IsSource(id)
	v.Set(MetricNumRecordsIn, numRecordsIn(fm, info, source, false))
	v.Set(MetricNumRecordsOut, float64(info.NumRecordsOut))
	if source {
		perSec := numRecordsIn(fm, info, true, true)
		if !math.IsNaN(perSec) {
			tpr, ok := observedTPR(fm, v, perSec, o)
			if !ok {
				tpr = observedAvg()
			}
			v.Set(MetricObservedTPR, tpr)
		}
	} else if a, ok := fm[fmInPerSec]; ok && !o.Variant.Pre116() {
		v.Set(MetricNumRecordsInPerSecond, a.Sum)
	}
}

// numRecordsIn is getNumRecordsInInternal: the cumulative read-records counter (or, per
// second, nothing); for sources that report 0, the source operator's numRecordsIn and then
// its numRecordsOut.
func numRecordsIn(fm map[flinkMetric]autoscaler.Aggregate, info *VertexInfo, source, perSecond bool) float64 {
	var cur *autoscaler.Aggregate
	if !perSecond {
		cur = &autoscaler.Aggregate{Sum: float64(info.NumRecordsIn)}
	}
	in, out := fmSourceIn, fmSourceOut
	if perSecond {
		in, out = fmSourceInPerSec, fmSourceOutPerSec
	}
	if source && (cur == nil || cur.Sum == 0) {
		if a, ok := fm[in]; ok {
			cur = &a
		}
	}
	if source && (cur == nil || cur.Sum == 0) {
		if a, ok := fm[out]; ok {
			cur = &a
		}
	}
	if cur == nil {
		return math.NaN()
	}
	return math.Max(0, cur.Sum)
}

// observedTPR is getObservedTpr: +Inf without input, the back-pressure corrected rate while
// catching up, otherwise no observation (ok false).
func observedTPR(fm map[flinkMetric]autoscaler.Aggregate, v *Values, perSec float64, o *Options) (float64, bool) {
	if perSec == 0 {
		return math.Inf(1), true
	}
	lagThreshold := float64(durationSeconds(int64(o.ObservedTPRLag)))
	if !(v.Or(MetricLag, 0) >= lagThreshold*perSec) {
		return 0, false
	}
	bp := math.NaN()
	if a, ok := fm[fmBackpressurePerSec]; ok {
		bp = a.Avg
	}
	tpr := observedTPRWithBackpressure(perSec, bp)
	if math.IsNaN(tpr) {
		return 0, false
	}
	return tpr, true
}

func observedTPRWithBackpressure(perSec, bpMsPerSec float64) float64 {
	if bpMsPerSec >= 1000 {
		return math.NaN()
	}
	return perSec / (1 - bpMsPerSec/1000)
}
