package operator

import (
	"errors"
	"math"
	"time"
)

// EvaluatedMetrics is the operator's EvaluatedMetrics: per-vertex and global evaluations.
type EvaluatedMetrics struct {
	Vertices map[string]*EvaluatedSet
	Global   *EvaluatedSet
}

// evaluator is ScalingMetricEvaluator for one cycle.
type evaluator struct {
	o        *Options
	top      *Topology
	h        History
	restart  time.Duration
	jobID    string
	plugin   EvaluatorPlugin
	pluginCf *EvaluatorContext
	series   seriesCache
}

// seriesCache builds each vertex's series once per evaluation.
type seriesCache struct {
	h History
	m map[string]series
}

func (c *seriesCache) of(id string) series {
	if s, ok := c.m[id]; ok {
		return s
	}
	if c.m == nil {
		c.m = map[string]series{}
	}
	s := c.h.vertex(id)
	c.m[id] = s
	return s
}

// Evaluate computes the evaluated metrics of every vertex in topological order and the
// global metrics, as ScalingMetricEvaluator#computeEvaluatedMetrics (the custom evaluator
// plugin, if configured in o, is applied).
func Evaluate(o *Options, top *Topology, h History, restart time.Duration, jobID string) (*EvaluatedMetrics, error) {
	if len(h) == 0 {
		return nil, errors.New("no metric samples to evaluate")
	}
	e := &evaluator{o: o, top: top, h: h, restart: restart, jobID: jobID}
	return e.run()
}

func (e *evaluator) run() (*EvaluatedMetrics, error) {
	out := &EvaluatedMetrics{Vertices: make(map[string]*EvaluatedSet, len(e.top.Order))}
	e.series = seriesCache{h: e.h}
	backlog := isProcessingBacklog(e.top, e.h, e.o, &e.series)
	e.customEvaluator(out, backlog)
	for _, id := range e.top.Order {
		m, err := e.vertex(id, out, backlog)
		if err != nil {
			return nil, err
		}
		out.Vertices[id] = m
	}
	out.Global = evaluateGlobalMetrics(e.h)
	return out, nil
}

// customEvaluator resolves the first configured custom evaluator instance, if any.
func (e *evaluator) customEvaluator(out *EvaluatedMetrics, backlog bool) {
	if len(e.o.CustomEvaluators) == 0 {
		return
	}
	name := e.o.CustomEvaluators[0]
	class := pluginClass(e.o.Conf, "metrics.custom-evaluator.", name)
	if class == "" {
		return
	}
	p := e.o.Plugins.Evaluators[class]
	if p == nil {
		return
	}
	e.plugin = p
	e.pluginCf = &EvaluatorContext{
		JobID:             e.jobID,
		Conf:              pluginConf(e.o.Conf, "metrics.custom-evaluator.", name),
		Evaluated:         out.Vertices,
		ProcessingBacklog: backlog,
		Topology:          e.top,
		History:           e.h,
		RestartTime:       e.restart,
	}
}

func (e *evaluator) vertex(id string, done *EvaluatedMetrics, backlog bool) (*EvaluatedSet, error) {
	s := e.series.of(id)
	latest := s.latest()
	info := e.top.Get(id)
	inputRate := s.rate(MetricNumRecordsIn)
	m := &EvaluatedSet{}
	if err := e.targetDataRate(id, inputRate, s, latest, done, m); err != nil {
		return nil, err
	}
	busy := computeBusyTimeAvg(e.o, s, info.Parallelism)
	tprInput := inputRate
	if !e.o.Variant.Pre116() {
		tprInput = computeTprInputRate(e.o, s)
	}
	m.Set(MetricTrueProcessingRate, EvalAvg(computeTrueProcessingRate(busy, tprInput, s, e.o)))
	m.Set(MetricLoad, EvalAvg(busy/1000))
	if lag, ok := latest.Get(MetricLag); ok {
		m.Set(MetricLag, EvalOf(lag))
	}
	m.Set(MetricParallelism, EvalOf(float64(info.Parallelism)))
	m.Set(MetricMaxParallelism, EvalOf(float64(info.MaxParallelism)))
	m.Set(MetricNumSourcePartitions, EvalOf(float64(info.NumSourcePartitions)))
	computeProcessingRateThresholds(m, e.o, backlog, e.restart)
	if e.plugin != nil {
		custom, err := e.plugin.EvaluateVertexMetrics(id, *m, e.pluginCf)
		if err == nil && len(custom) > 0 {
			for k := Metric(0); k < numMetrics; k++ {
				in, ok := custom[k]
				if !ok {
					continue
				}
				if cur, had := m.Get(k); had {
					m.Set(k, mergeEvaluatedScalingMetric(cur, in))
				} else {
					m.Set(k, in)
				}
			}
		}
	}
	return m, nil
}

// mergeEvaluatedScalingMetric keeps each part of actual unless incoming defines it.
func mergeEvaluatedScalingMetric(actual, incoming Evaluated) Evaluated {
	c, a := actual.Current, actual.Average
	if !math.IsNaN(incoming.Current) {
		c = incoming.Current
	}
	if !math.IsNaN(incoming.Average) {
		a = incoming.Average
	}
	return NewEvaluated(c, a)
}

// targetDataRate is computeTargetDataRate: sources from their input and lag growth, other
// vertices from their inputs' targets times the edge output ratios.
func (e *evaluator) targetDataRate(id string, inputRate float64, s series, latest *Values, done *EvaluatedMetrics, out *EvaluatedSet) error {
	if e.top.IsSource(id) {
		catchUpSec := float64(durationSeconds(int64(e.o.CatchUpDuration)))
		lagRate := s.rate(MetricLag)
		ingestion := math.Max(0, inputRate+lagRate)
		if math.IsNaN(ingestion) {
			return errors.New("Cannot evaluate metrics without ingestion rate information")
		}
		out.Set(MetricTargetDataRate, EvalAvg(ingestion))
		lag := latest.Or(MetricLag, 0)
		catchUp := 0.0
		if catchUpSec != 0 {
			catchUp = lag / catchUpSec
		}
		out.Set(MetricCatchUpDataRate, EvalOf(catchUp))
		return nil
	}
	sumTarget, sumCatchUp := 0.0, 0.0
	for _, in := range e.top.Get(id).Inputs {
		up := done.Vertices[in.Vertex]
		ratio := edgeOutputRatio(in.Vertex, id, e.top, &e.series)
		sumTarget += up.Average(MetricTargetDataRate) * ratio
		sumCatchUp += up.Current(MetricCatchUpDataRate) * ratio
	}
	out.Set(MetricTargetDataRate, EvalAvg(sumTarget))
	out.Set(MetricCatchUpDataRate, EvalOf(sumCatchUp))
	return nil
}

// isProcessingBacklog is true when any source's lag exceeds backlog-processing.lag-threshold
// seconds of its input rate.
func isProcessingBacklog(top *Topology, h History, o *Options, sc *seriesCache) bool {
	if sc == nil {
		sc = &seriesCache{h: h}
	}
	latest := h[len(h)-1]
	threshold := float64(durationSeconds(int64(o.BacklogLagThreshold)))
	for _, id := range top.Order {
		if !top.IsSource(id) {
			continue
		}
		lag := latest.Vertices[id].Or(MetricLag, 0)
		rate := sc.of(id).rate(MetricNumRecordsIn)
		if math.IsNaN(rate) {
			continue
		}
		if lag/rate > threshold {
			return true
		}
	}
	return false
}

// computeBusyTimeAvg: MAX/MIN average the per-sample LOAD; AVG uses the accumulated busy time
// counter rate per subtask.
func computeBusyTimeAvg(o *Options, s series, parallelism int) float64 {
	if o.BusyTimeAggregator == AggAvg {
		return s.rate(MetricAccumulatedBusyTime) / float64(parallelism)
	}
	return s.average(MetricLoad, 1) * 1000
}

// computeTprInputRate is the TPR numerator (FLINK-39306): the mean of the per-second gauge
// for MAX/MIN (falling back to the counter rate), the counter rate for AVG.
func computeTprInputRate(o *Options, s series) float64 {
	if o.BusyTimeAggregator == AggAvg {
		return s.rate(MetricNumRecordsIn)
	}
	avg := s.average(MetricNumRecordsInPerSecond, 1)
	if math.IsInf(avg, 0) || math.IsNaN(avg) {
		return s.rate(MetricNumRecordsIn)
	}
	return avg
}

// computeTrueProcessingRate chooses between the busy-time TPR and the observed TPR.
func computeTrueProcessingRate(busyAvg, inputRate float64, s series, o *Options) float64 {
	busyTpr := math.Inf(1)
	if inputRate != 0 {
		busyTpr = inputRate / (busyAvg / 1000)
	}
	observed := s.average(MetricObservedTPR, o.ObservedTPRMinObs)
	return selectTpr(busyTpr, observed, o.ObservedTPRSwitch)
}

func selectTpr(busyTpr, observed, switchThreshold float64) float64 {
	if math.IsNaN(observed) {
		return busyTpr
	}
	if math.IsInf(busyTpr, 0) || math.IsNaN(busyTpr) {
		return observed
	}
	if busyTpr > observed*(1+switchThreshold) {
		return observed
	}
	return busyTpr
}

// computeProcessingRateThresholds sets SCALE_UP_RATE_THRESHOLD (capacity at the upper
// utilization, without the restart term) and SCALE_DOWN_RATE_THRESHOLD (at the lower
// utilization, with it); while processing backlog the band is [1, 0].
func computeProcessingRateThresholds(m *EvaluatedSet, o *Options, backlog bool, restart time.Duration) {
	upper, lower := 1.0, 0.0
	if !backlog {
		upper = o.UtilizationMax
		if math.IsNaN(upper) {
			upper = o.UtilizationTarget + o.UtilizationBoundary
		}
		lower = o.UtilizationMin
		if math.IsNaN(lower) {
			lower = o.UtilizationTarget - o.UtilizationBoundary
		}
	}
	m.Set(MetricScaleUpRateThreshold, EvalOf(targetProcessingCapacity(m, o, upper, false, restart)))
	m.Set(MetricScaleDownRateThreshold, EvalOf(targetProcessingCapacity(m, o, lower, true, restart)))
}

// targetProcessingCapacity is AutoScalerUtils.getTargetProcessingCapacity:
// round(catchUp + [target × restart / catchUpDuration] + target / utilization).
func targetProcessingCapacity(m *EvaluatedSet, o *Options, utilization float64, withRestart bool, restart time.Duration) float64 {
	lagCatchUp := m.Current(MetricCatchUpDataRate)
	if math.IsNaN(lagCatchUp) {
		return math.NaN()
	}
	catchUpSec := float64(durationSeconds(int64(o.CatchUpDuration)))
	utilization = math.Min(1, math.Max(0, utilization))
	target := m.Average(MetricTargetDataRate)
	if math.IsNaN(target) {
		return math.NaN()
	}
	if utilization == 0 {
		return math.Inf(1)
	}
	restartRate := 0.0
	if withRestart && catchUpSec != 0 {
		restartRate = target * float64(durationSeconds(int64(restart))) / catchUpSec
	}
	return float64(javaRound(lagCatchUp + restartRate + target/utilization))
}

// computeEdgeOutputRatio is the number of records sent to `to` per record received by `from`.
func computeEdgeOutputRatio(from, to string, top *Topology, h History) float64 {
	return edgeOutputRatio(from, to, top, &seriesCache{h: h})
}

func edgeOutputRatio(from, to string, top *Topology, sc *seriesCache) float64 {
	inputRate := sc.of(from).rate(MetricNumRecordsIn)
	ratio := 0.0
	if inputRate > 0 {
		out := edgeDataRate(top, sc, from, to)
		if out > 0 {
			ratio = out / inputRate
		}
	}
	return ratio
}

// edgeDataRate estimates the records per second on the edge from → to: the downstream input
// rate when it has one input, minus the other inputs' output rates when each of those has a
// single output, else the upstream output rate.
func edgeDataRate(top *Topology, sc *seriesCache, from, to string) float64 {
	inputs := top.Get(to).Inputs
	if len(inputs) == 1 {
		return sc.of(to).rate(MetricNumRecordsIn)
	}
	others := 0.0
	for _, in := range inputs {
		if in.Vertex == from {
			continue
		}
		if len(top.Get(in.Vertex).Outputs) == 1 {
			others += sc.of(in.Vertex).rate(MetricNumRecordsOut)
		} else {
			others = math.NaN()
			break
		}
	}
	if !math.IsNaN(others) {
		return sc.of(to).rate(MetricNumRecordsIn) - others
	}
	return sc.of(from).rate(MetricNumRecordsOut)
}

// evaluateGlobalMetrics evaluates the job-wide metrics: latest GC pressure and slots, latest
// and window mean of the memory metrics.
func evaluateGlobalMetrics(h History) *EvaluatedSet {
	latest := h[len(h)-1].Global
	g := h.global()
	out := &EvaluatedSet{}
	out.Set(MetricGCPressure, EvalOf(latest.NaN(MetricGCPressure)))
	for _, m := range []Metric{MetricHeapMaxUsageRatio, MetricHeapMemoryUsed, MetricManagedMemoryUsed, MetricMetaspaceMemoryUsed} {
		out.Set(m, NewEvaluated(latest.NaN(m), g.average(m, 1)))
	}
	out.Set(MetricNumTaskSlotsUsed, EvalOf(latest.NaN(MetricNumTaskSlotsUsed)))
	return out
}
