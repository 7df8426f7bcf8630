package operator

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// ScalingSummary is one vertex's scaling decision with the evaluated metrics it was based on.
type ScalingSummary struct {
	CurrentParallelism int           `json:"currentParallelism"`
	NewParallelism     int           `json:"newParallelism"`
	Metrics            *EvaluatedSet `json:"metrics"`
}

// ScaledUp reports whether the decision raised the parallelism.
func (s ScalingSummary) ScaledUp() bool { return s.NewParallelism > s.CurrentParallelism }

// SummaryEntry is a scaling-history entry of a vertex.
type SummaryEntry struct {
	Time    time.Time      `json:"time"`
	Summary ScalingSummary `json:"summary"`
}

// ParallelismChange is a vertex's computed change (JobVertexScaler.ParallelismChange).
type ParallelismChange struct {
	New, Current            int
	OutsideUtilizationBound bool
}

// NoChange reports whether the parallelism stays.
func (p ParallelismChange) NoChange() bool { return p.New == p.Current }

func noChange(current int) (ParallelismChange, error) {
	if current <= 0 {
		return ParallelismChange{}, errors.New("The parallelism should be greater than 0.")
	}
	return ParallelismChange{current, current, false}, nil
}

func buildChange(newP, current int, outside bool) (ParallelismChange, error) {
	if newP <= 0 || current <= 0 {
		return ParallelismChange{}, errors.New("The parallelism should be greater than 0.")
	}
	return ParallelismChange{newP, current, outside}, nil
}

// pendingEvent is an event before deduplication.
type pendingEvent struct {
	Type, Reason, Message, Key string
	// Interval suppresses an identical event (same reason, type and key or message) within it;
	// zero HasInterval never suppresses.
	Interval    time.Duration
	HasInterval bool
	// Label, when LabelCheck, must also match for suppression (the operator's parallelism-map
	// hash on "scaling disabled" reports).
	Label      string
	LabelCheck bool
}

// cycle is the per-cycle context the scaling components share.
type cycle struct {
	o        *Options
	now      time.Time
	jobID    string
	excluded map[string]bool
	emit     func(pendingEvent)
	// why is the executor's reason for not rescaling, for Decision.Reason.
	why string
}

func (c *cycle) because(why string) { c.why = why }

func (c *cycle) outcome() string {
	if c.why == "" {
		return "All job vertices are currently running at their target parallelism."
	}
	return c.why
}

func (c *cycle) event(typ, reason, message, key string, interval time.Duration) {
	if c.emit != nil {
		c.emit(pendingEvent{Type: typ, Reason: reason, Message: message, Key: key, Interval: interval, HasInterval: true})
	}
}

// computeScaleTargetParallelism is JobVertexScaler#computeScaleTargetParallelism for one
// vertex. It may record EXPECTED_PROCESSING_RATE in metrics and update the delayed scale-down.
func (c *cycle) computeScaleTargetParallelism(vertex string, inputShips []string, metrics *EvaluatedSet,
	history []SummaryEntry, restart time.Duration, dsd *DelayedScaleDown) (ParallelismChange, error) {
	o := c.o
	current := javaInt(metrics.Current(MetricParallelism))
	tpr := metrics.Average(MetricTrueProcessingRate)
	if math.IsNaN(tpr) {
		return noChange(current)
	}
	capacity := targetProcessingCapacity(metrics, o, o.UtilizationTarget, true, restart)
	if math.IsNaN(capacity) {
		return noChange(current)
	}
	factor := capacity / tpr
	if o.ObservedScalability {
		alpha, err := calculateObservedScalingCoefficient(history, o)
		if err != nil {
			return ParallelismChange{}, err
		}
		factor /= alpha
	}
	minFactor, maxFactor := 1-o.MaxScaleDownFactor, 1+o.MaxScaleUpFactor
	if factor < minFactor {
		factor = minFactor
	} else if factor > maxFactor {
		factor = maxFactor
	}
	newP, err := c.scale(vertex, current, inputShips,
		javaInt(metrics.Current(MetricNumSourcePartitions)), javaInt(metrics.Current(MetricMaxParallelism)),
		factor, min(current, o.VertexMinParallelism), max(current, o.VertexMaxParallelism), metrics)
	if err != nil {
		return ParallelismChange{}, err
	}
	if newP == current {
		dsd.clearVertex(vertex)
		return noChange(current)
	}
	expected := tpr / float64(current) * float64(newP)
	if o.Variant.Pre116() {
		expected = tpr * factor // 1.15: TPR × capped factor (FLINK-39743 changed it)
	}
	metrics.Set(MetricExpectedProcessingRate, EvalOf(expected))
	return c.detectBlockScaling(vertex, metrics, history, current, newP, dsd)
}

func (c *cycle) detectBlockScaling(vertex string, metrics *EvaluatedSet, history []SummaryEntry, current, newP int, dsd *DelayedScaleDown) (ParallelismChange, error) {
	tpr := metrics.Average(MetricTrueProcessingRate)
	outside := tpr < metrics.Current(MetricScaleUpRateThreshold) || tpr > metrics.Current(MetricScaleDownRateThreshold)
	if current < newP {
		dsd.clearVertex(vertex)
		if len(history) == 0 {
			return buildChange(newP, current, outside)
		}
		last := history[len(history)-1].Summary
		if current == last.NewParallelism && last.ScaledUp() && c.ineffectiveScaleUp(vertex, metrics, last) {
			return noChange(current)
		}
		return buildChange(newP, current, outside)
	}
	return c.applyScaleDownInterval(dsd, vertex, newP, current, outside)
}

// ineffectiveScaleUp reports an ineffective previous scale-up (and whether to block).
func (c *cycle) ineffectiveScaleUp(vertex string, metrics *EvaluatedSet, last ScalingSummary) bool {
	lastTpr := last.Metrics.Average(MetricTrueProcessingRate)
	lastExpected := last.Metrics.Current(MetricExpectedProcessingRate)
	expectedIncrease := lastExpected - lastTpr
	actualIncrease := metrics.Average(MetricTrueProcessingRate) - lastTpr
	if actualIncrease/expectedIncrease >= c.o.EffectivenessThreshold {
		return false
	}
	block := c.o.EffectivenessDetection
	state := "disabled"
	if block {
		state = "enabled"
	}
	exp := flinkconf.JavaDoubleString(expectedIncrease)
	msg := fmt.Sprintf("Ineffective scaling detected for %s (expected increase: %s, actual increase %s). Blocking of ineffective scaling decisions is %s",
		vertex, exp, flinkconf.JavaDoubleString(actualIncrease), state)
	c.event(autoscaler.EventNormal, "IneffectiveScaling", msg, "ineffective"+vertex+exp, c.o.ScalingEventInterval)
	return block
}

func (c *cycle) applyScaleDownInterval(dsd *DelayedScaleDown, vertex string, newP, current int, outside bool) (ParallelismChange, error) {
	interval := c.o.ScaleDownInterval
	if interval.Milliseconds() <= 0 {
		return buildChange(newP, current, outside)
	}
	if c.o.Variant == Variant110 {
		return applyScaleDownInterval110(dsd, vertex, c.now, interval, newP, current, outside)
	}
	windowStart := c.now.Add(-interval)
	info := dsd.trigger(vertex, c.now, newP, outside)
	if windowStart.Before(info.FirstTriggerTime) {
		return noChange(current)
	}
	best, err := info.maxRecommended(windowStart)
	if err != nil {
		return ParallelismChange{}, err
	}
	if best.Parallelism == current {
		// The window maximum is the current parallelism: no change (the outside flag of a
		// no-change is irrelevant, as in the operator's ParallelismChange#equals).
		return noChange(current)
	}
	return buildChange(best.Parallelism, current, best.OutsideUtilizationBound)
}

// applyScaleDownInterval110 is release 1.10.0's delayed scale-down: the first recommendation
// starts the interval; until it has passed the scale-down is optional (applied only if another
// vertex requires a rescale, so never outside the utilization bound here); afterwards it is
// required, to the latest recommendation.
func applyScaleDownInterval110(dsd *DelayedScaleDown, vertex string, now time.Time, interval time.Duration, newP, current int, outside bool) (ParallelismChange, error) {
	info := dsd.Vertices[vertex]
	if info == nil {
		dsd.trigger(vertex, now, newP, false)
		return buildChange(newP, current, false)
	}
	if now.Before(info.FirstTriggerTime.Add(interval)) {
		return buildChange(newP, current, false)
	}
	return buildChange(newP, current, outside)
}

// calculateObservedScalingCoefficient fits R ≈ α·β·P over the vertex's scaling history
// (least squares), clamps α to [coefficient-min, 1] and rounds it up to two decimals; 1.0
// without enough (or with NaN) data.
func calculateObservedScalingCoefficient(history []SummaryEntry, o *Options) (float64, error) {
	if len(history) == 0 || len(history) < o.ScalabilityMinObservations {
		return 1, nil
	}
	baseline := baselineProcessingRate(history)
	if math.IsNaN(baseline) {
		return 1, nil
	}
	sum, squares := 0.0, 0.0
	for _, e := range history {
		p := float64(e.Summary.CurrentParallelism)
		r := e.Summary.Metrics.Average(MetricTrueProcessingRate)
		if math.IsNaN(r) {
			return 1, nil
		}
		sum += p * r
		squares += p * p
	}
	alpha := 1.0
	if squares != 0 {
		alpha = math.Max(o.ScalabilityCoefficientMin, math.Min(1, sum/(squares*baseline)))
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) {
		return 0, errors.New("Infinite or NaN")
	}
	return ceil2(alpha), nil
}

// baselineProcessingRate is the TPR per subtask of the newest entry with the smallest
// parallelism (the TPR itself for parallelism 1).
func baselineProcessingRate(history []SummaryEntry) float64 {
	var best *ScalingSummary
	for i := len(history) - 1; i >= 0; i-- {
		s := &history[i].Summary
		if s.CurrentParallelism == 1 {
			return s.Metrics.Average(MetricTrueProcessingRate)
		}
		if best == nil || s.CurrentParallelism < best.CurrentParallelism {
			best = s
		}
	}
	if best == nil {
		return math.NaN()
	}
	return best.Metrics.Average(MetricTrueProcessingRate) / float64(best.CurrentParallelism)
}

// scale is JobVertexScaler#scale: ceil(factor × current) within the limits, then aligned.
func (c *cycle) scale(vertex string, current int, inputShips []string, numSourcePartitions, maxParallelism int,
	factor float64, lower, upper int, metrics *EvaluatedSet) (int, error) {
	if lower > upper {
		return 0, errors.New("The parallelism lower limitation must not be greater than the parallelism upper limitation.")
	}
	raw := javaInt(math.Min(math.Ceil(factor*float64(current)), math.MaxInt32))
	upperBound := min(maxParallelism, upper)
	newP := min(max(lower, raw), upperBound)
	if newP == current && c.o.Variant != Variant110 {
		// Release 1.10.0 aligns an unchanged parallelism too (a source above its partition
		// count is cut to it); FLINK-39299 stopped that.
		return newP, nil
	}
	return c.align(vertex, current, newP, numSourcePartitions, maxParallelism, lower, upper, inputShips, metrics), nil
}
