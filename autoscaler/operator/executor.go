package operator

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Operator event reasons and texts.
const (
	ReasonScalingReport        = "ScalingReport"
	ReasonMemoryPressure       = "MemoryPressure"
	ReasonIneffectiveScaling   = "IneffectiveScaling"
	ReasonScalingLimited       = "ScalingLimited"
	ReasonResourceQuotaReached = "ResourceQuotaReached"
	ReasonScalingVetoed        = "ScalingVetoed"
	ReasonConfigRecommendation = "Configuration recommendation"
	ReasonAutoscalerError      = "AutoscalerError"
	ReasonOptionsValidation    = "AutoScaler Options Validation"

	scalingReportKey          = "ScalingExecutor"
	headerExecutionEnabled    = "Scaling execution enabled, begin scaling vertices:"
	headerExecutionDisabled   = "Scaling execution disabled by config "
	executionDisabledReason   = "%s:%s, recommended parallelism change:"
	gcPressureMessage         = "GC Pressure %s is above the allowed limit for scaling operations. Please adjust the available memory manually."
	heapUsageMessage          = "Heap Usage %s is above the allowed limit for scaling operations. Please adjust the available memory manually."
	resourceQuotaReachedMsg   = "Resource usage is above the allowed limit for scaling operations. Please adjust the resource quota manually."
	scalingSummaryEntryFormat = "{ Vertex ID %s | Parallelism %d -> %d | Processing capacity %s -> %s | Target data rate %s}"
)

// executorInput is what ScalingExecutor#scaleResource works on.
type executorInput struct {
	evaluated *EvaluatedMetrics
	history   map[string][]SummaryEntry
	tracking  *ScalingTracking
	topology  *Topology
	dsd       *DelayedScaleDown
}

// executorResult is what a successful scaleResource stores.
type executorResult struct {
	summaries map[string]ScalingSummary
	overrides map[string]string
	changes   *ConfigChanges
}

// scaleResource is ScalingExecutor#scaleResource: it returns nil when nothing is applied.
func (c *cycle) scaleResource(in *executorInput) (*executorResult, error) {
	o := c.o
	restart := in.tracking.maxRestartTimeOrDefault(o)
	summaries, err := c.computeScalingSummary(in, restart)
	if err != nil || len(summaries) == 0 {
		return nil, err
	}
	for id, s := range summaries {
		in.evaluated.Vertices[id].Set(MetricRecommendedParallelism, EvalOf(float64(s.NewParallelism)))
	}
	if c.blockedAndReported(summaries, in.topology) {
		return nil, nil
	}
	changes, err := c.tuneMemory(in, summaries)
	if err != nil {
		return nil, err
	}
	tuned := o.Conf
	if o.MemoryTuning {
		tuned = changes.apply(o.Conf)
	}
	exceeds, err := c.scalingWouldExceedMaxResources(tuned, in, summaries)
	if err != nil || exceeds {
		return nil, err
	}
	summaries, err = c.applyCustomExecutors(tuned, in, summaries)
	if err != nil || len(summaries) == 0 {
		return nil, err
	}
	c.emit(pendingEvent{Type: autoscaler.EventNormal, Reason: ReasonScalingReport,
		Message: scalingReport(summaries, headerExecutionEnabled, in.topology), Key: scalingReportKey})
	res := &executorResult{summaries: summaries, overrides: map[string]string{}, changes: changes}
	for id, m := range in.evaluated.Vertices {
		if s, ok := summaries[id]; ok {
			res.overrides[id] = strconv.Itoa(s.NewParallelism)
		} else {
			res.overrides[id] = strconv.Itoa(javaInt(m.Current(MetricParallelism)))
		}
	}
	in.dsd.clearAll()
	return res, nil
}

// computeScalingSummary computes every vertex's change and applies the memory-pressure veto
// and the job-wide gate (nothing is scaled unless a changed vertex is outside its bounds).
func (c *cycle) computeScalingSummary(in *executorInput, restart time.Duration) (map[string]ScalingSummary, error) {
	if c.underMemoryPressure(in.evaluated.Global) {
		c.because("memory pressure")
		return nil, nil
	}
	out := map[string]ScalingSummary{}
	anyOutside := false
	for _, id := range sortedVertices(in.evaluated.Vertices, in.topology) {
		if c.isExcluded(id) {
			continue
		}
		m := in.evaluated.Vertices[id]
		current := javaInt(m.Current(MetricParallelism))
		var ships []string
		if in.topology != nil && in.topology.Get(id) != nil {
			ships = in.topology.inputShips(id)
		}
		change, err := c.computeScaleTargetParallelism(id, ships, m, in.history[id], restart, in.dsd)
		if err != nil {
			return nil, err
		}
		if change.NoChange() {
			continue
		}
		if change.OutsideUtilizationBound {
			anyOutside = true
		}
		out[id] = ScalingSummary{CurrentParallelism: current, NewParallelism: change.New, Metrics: m}
	}
	if !anyOutside {
		if len(out) > 0 {
			c.because("All vertex processing rates are within target.")
		}
		return nil, nil
	}
	return out, nil
}

func (c *cycle) isExcluded(id string) bool {
	if c.excluded[id] {
		return true
	}
	for _, x := range c.o.VertexExcludeIDs {
		if x == id {
			return true
		}
	}
	return false
}

// sortedVertices returns the evaluated vertices in topological order (then any others).
func sortedVertices(m map[string]*EvaluatedSet, top *Topology) []string {
	out := make([]string, 0, len(m))
	seen := map[string]bool{}
	if top != nil {
		for _, id := range top.Order {
			if _, ok := m[id]; ok {
				out = append(out, id)
				seen[id] = true
			}
		}
	}
	var rest []string
	for id := range m {
		if !seen[id] {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func (c *cycle) underMemoryPressure(global *EvaluatedSet) bool {
	gc := global.Current(MetricGCPressure)
	if gc > c.o.GCPressureThreshold {
		c.event(autoscaler.EventNormal, ReasonMemoryPressure, fmt.Sprintf(gcPressureMessage, flinkconf.JavaDoubleString(gc)), "gcPressure", c.o.ScalingEventInterval)
		return true
	}
	heap := global.Average(MetricHeapMaxUsageRatio)
	if heap > c.o.HeapUsageThreshold {
		c.event(autoscaler.EventNormal, ReasonMemoryPressure, fmt.Sprintf(heapUsageMessage, flinkconf.JavaDoubleString(heap)), "heapUsage", c.o.ScalingEventInterval)
		return true
	}
	return false
}

// blockedAndReported reports a recommendation instead of scaling when scaling is disabled or
// now is in an excluded period.
func (c *cycle) blockedAndReported(summaries map[string]ScalingSummary, top *Topology) bool {
	excluded := inExcludedPeriods(c.o.ExcludedPeriods, c.now, c.o.Location)
	if c.o.ScalingEnabled && !excluded {
		return false
	}
	var msg string
	c.because("scaling execution disabled by config")
	if !c.o.ScalingEnabled {
		msg = headerExecutionDisabled + fmt.Sprintf(executionDisabledReason, OptScalingEnabled.Key, "false")
	} else {
		msg = headerExecutionDisabled + fmt.Sprintf(executionDisabledReason, OptExcludedPeriods.Key, "["+strings.Join(c.o.ExcludedPeriods, ", ")+"]")
	}
	c.emit(pendingEvent{Type: autoscaler.EventNormal, Reason: ReasonScalingReport,
		Message: scalingReport(summaries, msg, top), Key: scalingReportKey,
		Interval: c.o.ScalingEventInterval, HasInterval: true,
		Label: parallelismHash(summaries), LabelCheck: true})
	return true
}

// scalingReport renders the operator's scaling report: the header, then one entry per vertex.
func scalingReport(summaries map[string]ScalingSummary, header string, top *Topology) string {
	var b strings.Builder
	b.WriteString(header)
	for _, id := range summaryOrder(summaries, top) {
		s := summaries[id]
		fmt.Fprintf(&b, scalingSummaryEntryFormat, id, s.CurrentParallelism, s.NewParallelism,
			javaFixed(s.Metrics.Average(MetricTrueProcessingRate), 2),
			javaFixed(s.Metrics.Current(MetricExpectedProcessingRate), 2),
			javaFixed(s.Metrics.Average(MetricTargetDataRate), 2))
	}
	return b.String()
}

func summaryOrder(summaries map[string]ScalingSummary, top *Topology) []string {
	m := make(map[string]*EvaluatedSet, len(summaries))
	for id := range summaries {
		m[id] = nil
	}
	return sortedVertices(m, top)
}

// parallelismHash is AutoScalerEventHandler#getParallelismHashCode: the hash of the map
// vertex → "Parallelism a -> b" (a HashMap's hashCode: the sum of key^value string hashes).
func parallelismHash(summaries map[string]ScalingSummary) string {
	var h int32
	for id, s := range summaries {
		h += javaStringHash(id) ^ javaStringHash(fmt.Sprintf("Parallelism %d -> %d", s.CurrentParallelism, s.NewParallelism))
	}
	return strconv.Itoa(int(h & 0x7FFFFFFF))
}

// scalingWouldExceedMaxResources runs the cluster-capacity check and the quota check.
func (c *cycle) scalingWouldExceedMaxResources(tuned *flinkconf.Config, in *executorInput, summaries map[string]ScalingSummary) (bool, error) {
	exceeds, err := c.exceedsClusterResources(tuned, in, summaries)
	if err != nil || exceeds {
		c.because("the rescale would exceed the cluster's resources")
		return exceeds, err
	}
	exceeds, err = c.exceedsQuota(tuned, in.topology, summaries)
	if err != nil {
		return false, err
	}
	if exceeds {
		c.because("resource quota reached")
		c.emit(pendingEvent{Type: autoscaler.EventWarning, Reason: ReasonResourceQuotaReached, Message: resourceQuotaReachedMsg,
			Interval: c.o.ScalingEventInterval, HasInterval: true})
		return true, nil
	}
	return false, nil
}

// totalMemory is MemoryTuning.getTotalMemory: the (tuned) process size, else the context's.
func (c *cycle) totalMemory(cfg *flinkconf.Config) (int64, error) {
	if cfg != nil && cfg.IsConfigured(flinkconf.TMProcessSize) {
		v, _, err := cfg.MemorySize(flinkconf.TMProcessSize)
		if err != nil {
			return 0, err
		}
		return v, nil
	}
	return c.contextTaskManagerMemory()
}

// contextTaskManagerMemory is JobAutoScalerContext#getTaskManagerMemory.
func (c *cycle) contextTaskManagerMemory() (int64, error) {
	if c.o.TaskManagerMemory > 0 {
		return c.o.TaskManagerMemory, nil
	}
	if c.o.Conf == nil || !c.o.Conf.IsConfigured(flinkconf.TMProcessSize) {
		return 0, nil
	}
	v, _, err := c.o.Conf.MemorySize(flinkconf.TMProcessSize)
	if err != nil {
		return 0, err
	}
	return v, nil
}

func slotsPerTaskManager(cfg *flinkconf.Config) (int, error) {
	if cfg == nil {
		cfg = flinkconf.New()
	}
	v, _, err := cfg.Int(flinkconf.TMNumberOfTaskSlots)
	if err != nil {
		return 0, err
	}
	return int(v), nil
}

func (c *cycle) exceedsClusterResources(tuned *flinkconf.Config, in *executorInput, summaries map[string]ScalingSummary) (bool, error) {
	cpu := c.o.TaskManagerCPU
	mem, err := c.totalMemory(tuned)
	if err != nil {
		return false, err
	}
	if cpu <= 0 || mem <= 0 {
		return false, nil
	}
	if !in.evaluated.Global.Has(MetricNumTaskSlotsUsed) {
		return true, nil // JM metrics not ready yet
	}
	used := javaInt(in.evaluated.Global.Current(MetricNumTaskSlotsUsed))
	after := estimateNumTaskSlotsAfterRescale(in.evaluated.Vertices, summaries, used)
	perTM, err := slotsPerTaskManager(tuned)
	if err != nil {
		return false, err
	}
	curTMs := javaInt(math.Ceil(float64(used) / float64(perTM)))
	newTMs := javaInt(math.Ceil(float64(after) / float64(perTM)))
	if c.o.ResourceCheck == nil {
		return false, nil
	}
	return !c.o.ResourceCheck.TrySchedule(curTMs, newTMs, cpu, mem), nil
}

func (c *cycle) exceedsQuota(tuned *flinkconf.Config, top *Topology, summaries map[string]ScalingSummary) (bool, error) {
	if top == nil || len(top.SlotSharingGroups) == 0 {
		return false, nil
	}
	if !c.o.HasCPUQuota && !c.o.HasMemoryQuota {
		return false, nil
	}
	mem, err := c.totalMemory(tuned)
	if err != nil {
		return false, err
	}
	cpu := c.o.TaskManagerCPU
	curSlots, newSlots := 0, 0
	for _, vs := range top.SlotSharingGroups {
		curMax, newMax := 0, 0
		for _, v := range vs {
			if s, ok := summaries[v]; ok {
				curMax = max(curMax, s.CurrentParallelism)
				newMax = max(newMax, s.NewParallelism)
			}
		}
		curSlots += curMax
		newSlots += newMax
	}
	perTM, err := slotsPerTaskManager(tuned)
	if err != nil {
		return false, err
	}
	if perTM == 0 {
		return false, fmt.Errorf("/ by zero")
	}
	curTMs, newTMs := curSlots/perTM, newSlots/perTM
	if newTMs <= curTMs {
		return false, nil
	}
	if c.o.HasCPUQuota && cpu*float64(newTMs) > c.o.CPUQuota {
		return true, nil
	}
	if c.o.HasMemoryQuota && mem*int64(newTMs) > c.o.MemoryQuota {
		return true, nil
	}
	return false, nil
}

// estimateNumTaskSlotsAfterRescale: with slot sharing (slots used equal to the largest current
// parallelism) the largest new parallelism, otherwise their sum.
func estimateNumTaskSlotsAfterRescale(vertices map[string]*EvaluatedSet, summaries map[string]ScalingSummary, used int) int {
	newP := computeNewParallelisms(summaries, vertices)
	curMax := 0
	for _, m := range vertices {
		curMax = max(curMax, javaInt(m.Current(MetricParallelism)))
	}
	total, maxP := 0, 0
	for _, p := range newP {
		total += p
		maxP = max(maxP, p)
	}
	if curMax == used {
		return maxP
	}
	return total
}

// computeNewParallelisms maps every evaluated vertex to its new (or current) parallelism.
func computeNewParallelisms(summaries map[string]ScalingSummary, vertices map[string]*EvaluatedSet) map[string]int {
	out := make(map[string]int, len(vertices))
	for id, m := range vertices {
		if s, ok := summaries[id]; ok {
			out[id] = s.NewParallelism
		} else {
			out[id] = javaInt(m.Current(MetricParallelism))
		}
	}
	return out
}

// applyCustomExecutors runs the configured scaling executors by ascending priority; an empty
// result vetoes the rescale.
func (c *cycle) applyCustomExecutors(tuned *flinkconf.Config, in *executorInput, summaries map[string]ScalingSummary) (map[string]ScalingSummary, error) {
	type inst struct {
		name string
		p    ExecutorPlugin
	}
	var chain []inst
	seen := map[string]bool{}
	for _, name := range c.o.CustomExecutors {
		if seen[name] {
			continue
		}
		seen[name] = true
		class := pluginClass(tuned, "scaling.custom-executor.", name)
		if strings.TrimSpace(class) == "" {
			continue
		}
		if p := c.o.Plugins.Executors[class]; p != nil {
			chain = append(chain, inst{name, p})
		}
	}
	sort.SliceStable(chain, func(i, j int) bool { return chain[i].p.Priority() < chain[j].p.Priority() })
	for _, e := range chain {
		ctx := &ExecutorContext{JobID: c.jobID, Conf: pluginConf(tuned, "scaling.custom-executor.", e.name), Evaluated: in.evaluated, Topology: in.topology}
		next, err := e.p.Apply(ctx, summaries)
		if err != nil {
			return nil, err
		}
		if len(next) == 0 {
			c.because("vetoed by custom scaling executor " + e.name)
			class := pluginClass(tuned, "scaling.custom-executor.", e.name)
			c.event(autoscaler.EventWarning, ReasonScalingVetoed,
				fmt.Sprintf("Scaling decision vetoed by scaling custom executor instance '%s' (class=%s).", e.name, class),
				ReasonScalingVetoed+":"+e.name, c.o.ScalingEventInterval)
			return nil, nil
		}
		summaries = next
	}
	return summaries, nil
}
