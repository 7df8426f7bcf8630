package operator

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// Key prefixes. Every autoscaler option is read under Prefix first and then under LegacyPrefix
// (the operator's withFallbackKeys), including the per-instance plugin keys.
const (
	Prefix       = "job.autoscaler."
	LegacyPrefix = "kubernetes.operator.job.autoscaler."
)

// asOpt declares job.autoscaler.<key> with the legacy fallback key and, after it, any
// deprecated keys (Flink puts fallback keys first and deprecated keys last).
func asOpt(key string, t flinkconf.Type, def, desc string, deprecatedSuffixes ...string) flinkconf.Option {
	fb := []flinkconf.FallbackKey{{Key: LegacyPrefix + key}}
	for _, d := range deprecatedSuffixes {
		fb = append(fb, flinkconf.FallbackKey{Key: LegacyPrefix + d})
	}
	for _, d := range deprecatedSuffixes {
		fb = append(fb, flinkconf.FallbackKey{Key: Prefix + d, Deprecated: true})
	}
	return flinkconf.Option{Key: Prefix + key, Type: t, Default: def, HasDefault: def != "", Fallbacks: fb, Description: desc}
}

// The operator's AutoScalerOptions: keys, types, defaults and fallback keys of operator 1.16.
// Lists are ';'-separated strings (Flink's list syntax, quotes allowed); enums are strings.
var (
	OptEnabled               = asOpt("enabled", flinkconf.TypeBool, "false", "Turn the autoscaler on. Turning it off clears all of its state for the job.")
	OptScalingEnabled        = asOpt("scaling.enabled", flinkconf.TypeBool, "true", "Apply scaling decisions. When false, metrics are still collected and recommendations reported, but nothing is rescaled.")
	OptMetricsWindow         = asOpt("metrics.window", flinkconf.TypeDuration, "15 min", "Window over which rates and averages are computed.")
	OptStabilizationInterval = asOpt("stabilization.interval", flinkconf.TypeDuration, "5 min", "No scaling decision for this long after the job (re)starts; samples taken meanwhile do not count toward the window.")
	OptExcludedPeriods       = asOpt("excluded.periods", flinkconf.TypeString, "", "';'-separated periods in which decisions are only reported: a Quartz cron expression (6 or 7 fields), a daily range HH:mm[:ss]-HH:mm[:ss], or one of each joined with '&&'.")
	OptUtilizationTarget     = asOpt("utilization.target", flinkconf.TypeDouble, "0.7", "Busy-time fraction that new parallelisms aim for.", "target.utilization")
	OptUtilizationBoundary   = asOpt("target.utilization.boundary", flinkconf.TypeDouble, "0.3", "Deprecated band half-width: no scaling while utilization stays within target ± boundary (unless utilization.max/min are set).")
	OptUtilizationMax        = asOpt("utilization.max", flinkconf.TypeDouble, "", "Upper utilization edge: scale up when the processing rate is below the rate needed at this utilization.")
	OptUtilizationMin        = asOpt("utilization.min", flinkconf.TypeDouble, "", "Lower utilization edge: scale down when the processing rate is above the rate needed at this utilization.")
	OptScaleDownInterval     = asOpt("scale-down.interval", flinkconf.TypeDuration, "1 h", "Delay before a scale-down is applied; the largest recommendation within the interval wins. <= 0 applies scale-downs immediately.", "scale-up.grace-period")
	OptVertexMinParallelism  = asOpt("vertex.min-parallelism", flinkconf.TypeInt, "1", "Lowest parallelism the autoscaler picks (never forces a vertex below its current parallelism).")
	OptVertexMaxParallelism  = asOpt("vertex.max-parallelism", flinkconf.TypeInt, "200", "Highest parallelism the autoscaler picks (never forces a vertex above its current parallelism); also capped by the vertex max parallelism.")
	OptMaxScaleDownFactor    = asOpt("scale-down.max-factor", flinkconf.TypeDouble, "0.6", "Largest relative scale-down per decision: new >= (1 - f) × current. 1 means no limit.")
	OptMaxScaleUpFactor      = asOpt("scale-up.max-factor", flinkconf.TypeDouble, "100000.0", "Largest relative scale-up per decision: new <= (1 + f) × current.")
	OptCatchUpDuration       = asOpt("catch-up.duration", flinkconf.TypeDuration, "30 min", "Time in which the backlog must be processed after a rescale; 0 disables the lag and restart terms.")
	OptRestartTime           = asOpt("restart.time", flinkconf.TypeDuration, "5 min", "Expected downtime of a rescale, used until restart times are tracked.")
	OptTrackRestartTime      = asOpt("restart.time-tracking.enabled", flinkconf.TypeBool, "false", "Use the largest observed restart time instead of restart.time.")
	OptRestartTimeLimit      = asOpt("restart.time-tracking.limit", flinkconf.TypeDuration, "15 min", "Cap on the observed restart time.")
	OptBacklogLagThreshold   = asOpt("backlog-processing.lag-threshold", flinkconf.TypeDuration, "5 min", "When lag / input rate exceeds this at any source the job is processing backlog: no scale-down, scale-up only below catch-up + target rate.")
	OptObservedTPRLag        = asOpt("observed-true-processing-rate.lag-threshold", flinkconf.TypeDuration, "30 s", "Observed source processing rate is measured only while the lag exceeds this many seconds of input.")
	OptObservedTPRSwitch     = asOpt("observed-true-processing-rate.switch-threshold", flinkconf.TypeDouble, "0.15", "Switch to the observed processing rate when the busy-time rate exceeds it by more than this fraction.")
	OptObservedTPRMinObs     = asOpt("observed-true-processing-rate.min-observations", flinkconf.TypeInt, "2", "Minimum observed-rate samples before it is used.")
	OptEffectivenessEnabled  = asOpt("scaling.effectiveness.detection.enabled", flinkconf.TypeBool, "false", "Block further scale-ups after an ineffective scale-up.")
	OptEffectivenessThresh   = asOpt("scaling.effectiveness.threshold", flinkconf.TypeDouble, "0.1", "Fraction of the expected processing-rate gain a scale-up must deliver to count as effective.")
	OptGCPressureThreshold   = asOpt("memory.gc-pressure.threshold", flinkconf.TypeDouble, "1.0", "Pause scaling while the largest TaskManager GC time fraction is above this.")
	OptHeapUsageThreshold    = asOpt("memory.heap-usage.threshold", flinkconf.TypeDouble, "1.0", "Pause scaling while the window-average heap usage ratio is above this.")
	OptMemoryTuningEnabled   = asOpt("memory.tuning.enabled", flinkconf.TypeBool, "false", "Apply the TaskManager memory tuning with each rescale; when off it is only recommended.")
	OptMemoryScalingEnabled  = asOpt("memory.tuning.scale-down-compensation.enabled", flinkconf.TypeBool, "true", "Grow TaskManager heap when a rescale removes TaskManagers.")
	OptMemoryTuningOverhead  = asOpt("memory.tuning.overhead", flinkconf.TypeDouble, "0.2", "Headroom added to the observed heap and metaspace usage (0-1).")
	OptMaximizeManaged       = asOpt("memory.tuning.maximize-managed-memory", flinkconf.TypeBool, "false", "Give all memory saved elsewhere to managed memory when managed memory is in use.")
	OptHistoryMaxCount       = asOpt("history.max.count", flinkconf.TypeInt, "3", "Scaling decisions remembered per vertex.")
	OptHistoryMaxAge         = asOpt("history.max.age", flinkconf.TypeDuration, "24 h", "Age limit of remembered scaling decisions and restart records.")
	OptBusyTimeAggregator    = asOpt("metrics.busy-time.aggregator", flinkconf.TypeString, "MAX", "Aggregation of busyTimeMsPerSecond over subtasks: MAX, MIN or AVG (AVG uses the accumulated busy-time counter).")
	OptVertexExcludeIDs      = asOpt("vertex.exclude.ids", flinkconf.TypeString, "", "';'-separated hex vertex ids that are never scaled; their user overrides win.")
	OptScalingEventInterval  = asOpt("scaling.event.interval", flinkconf.TypeDuration, "30 min", "Identical events are not repeated within this interval.")
	OptRestClientTimeout     = asOpt("flink.rest-client.timeout", flinkconf.TypeDuration, "10 s", "Timeout of the job-details REST call.")
	OptMemoryQuota           = asOpt("quota.memory", flinkconf.TypeMemorySize, "", "Total TaskManager memory a rescale may not exceed.")
	OptCPUQuota              = asOpt("quota.cpu", flinkconf.TypeDouble, "", "Total TaskManager CPU a rescale may not exceed.")
	OptLegacyAdjustMode      = asOpt("scaling.key-group.partitions.adjust.mode", flinkconf.TypeString, "EVENLY_SPREAD", "Deprecated blocking alignment (EVENLY_SPREAD or MAXIMIZE_UTILISATION); honoured only when set and scaling.parallelism-alignment.mode is not.")
	OptAlignmentMode         = asOpt("scaling.parallelism-alignment.mode", flinkconf.TypeString, "BALANCED", "Alignment of source and keyed vertices to partitions or key groups: BALANCED, EVENLY_SPREAD, OFF, or a custom mode name.")
	OptObservedScalability   = asOpt("observed-scalability.enabled", flinkconf.TypeBool, "false", "Correct the linear-scaling assumption with a coefficient fitted on the scaling history.")
	OptScalabilityMinObs     = asOpt("observed-scalability.min-observations", flinkconf.TypeInt, "3", "History entries needed for the scalability fit.")
	OptScalabilityCoeffMin   = asOpt("observed-scalability.coefficient-min", flinkconf.TypeDouble, "0.5", "Lower clamp of the scalability coefficient.")
	OptCustomEvaluators      = asOpt("metrics.custom-evaluators", flinkconf.TypeString, "", "Custom evaluator instance names (';'-separated; only the first is used), each with metrics.custom-evaluator.<name>.class.")
	OptCustomExecutors       = asOpt("scaling.custom-executors", flinkconf.TypeString, "", "Custom scaling executor instance names (';'-separated), each with scaling.custom-executor.<name>.class; run by ascending priority.")

	// flinktune's own switches (not operator options).
	OptVariant  = flinkconf.Option{Key: "flinktune.operator.variant", Type: flinkconf.TypeString, Default: "1.16", HasDefault: true, Description: "Operator behaviour to reproduce: 1.16 (main branch), 1.15 (release 1.15.0: blocking EVENLY_SPREAD alignment by default, counter-rate TPR numerator, capped-factor expected rate) or 1.10 (1.15 with the delayed scale-down of release 1.10.0)."}
	OptTimeZone = flinkconf.Option{Key: "flinktune.operator.timezone", Type: flinkconf.TypeString, Default: "UTC", HasDefault: true, Description: "Time zone (IANA name) in which excluded periods are evaluated; the operator uses the JVM default zone."}

	// optParallelismOverrides is Flink's pipeline.jobvertex-parallelism-overrides (a map).
	optParallelismOverrides = flinkconf.Option{Key: "pipeline.jobvertex-parallelism-overrides", Type: flinkconf.TypeString, Description: "User parallelism overrides per vertex id."}
)

// AllOptions lists every option of the policy, for help texts and misspelling detection.
var AllOptions = []flinkconf.Option{
	OptEnabled, OptScalingEnabled, OptMetricsWindow, OptStabilizationInterval, OptExcludedPeriods,
	OptUtilizationTarget, OptUtilizationBoundary, OptUtilizationMax, OptUtilizationMin, OptScaleDownInterval,
	OptVertexMinParallelism, OptVertexMaxParallelism, OptMaxScaleDownFactor, OptMaxScaleUpFactor,
	OptCatchUpDuration, OptRestartTime, OptTrackRestartTime, OptRestartTimeLimit, OptBacklogLagThreshold,
	OptObservedTPRLag, OptObservedTPRSwitch, OptObservedTPRMinObs, OptEffectivenessEnabled,
	OptEffectivenessThresh, OptGCPressureThreshold, OptHeapUsageThreshold, OptMemoryTuningEnabled,
	OptMemoryScalingEnabled, OptMemoryTuningOverhead, OptMaximizeManaged, OptHistoryMaxCount,
	OptHistoryMaxAge, OptBusyTimeAggregator, OptVertexExcludeIDs, OptScalingEventInterval,
	OptRestClientTimeout, OptMemoryQuota, OptCPUQuota, OptLegacyAdjustMode, OptAlignmentMode,
	OptObservedScalability, OptScalabilityMinObs, OptScalabilityCoeffMin, OptCustomEvaluators,
	OptCustomExecutors, OptVariant, OptTimeZone,
}

// Aggregator is the operator's MetricAggregator for busyTimeMsPerSecond.
type Aggregator int

// Aggregators, in the operator's declaration order.
const (
	AggAvg Aggregator = iota
	AggMax
	AggMin
)

var aggregatorNames = []string{"AVG", "MAX", "MIN"}

func (a Aggregator) String() string { return aggregatorNames[a] }

// Variant selects the operator version to reproduce.
type Variant int

const (
	// Variant116 is the operator's main branch (1.16): BALANCED alignment by default,
	// gauge-mean TPR numerator, expected rate TPR/p×p'.
	Variant116 Variant = iota
	// Variant115 is release 1.15.0.
	Variant115
	// Variant110 is release 1.10.0, the newest flink-autoscaler Maven Central serves here (the
	// real autoscaler flinktune compares against): 1.15's behaviour except the delayed
	// scale-down before FLINK-36535/FLINK-36863, which scales down to the latest recommendation
	// once scale-down.interval has passed since the first one and, until then, lets the
	// scale-down ride along (optional) when another vertex requires a rescale.
	Variant110
)

// Pre116 reports whether the variant predates the main branch's changes (rows 1-3 of
// autoscaler.md §1).
func (v Variant) Pre116() bool { return v != Variant116 }

func (v Variant) String() string {
	switch v {
	case Variant115:
		return "1.15"
	case Variant110:
		return "1.10"
	}
	return "1.16"
}

// Options are the parsed operator options of one job plus the programmatic hooks the operator
// gets from its environment (TaskManager resources, plugins, resource checks).
type Options struct {
	Enabled                bool
	ScalingEnabled         bool
	MetricsWindow          time.Duration
	StabilizationInterval  time.Duration
	ExcludedPeriods        []string
	UtilizationTarget      float64
	UtilizationBoundary    float64
	UtilizationMax         float64 // NaN: not set
	UtilizationMin         float64 // NaN: not set
	ScaleDownInterval      time.Duration
	VertexMinParallelism   int
	VertexMaxParallelism   int
	MaxScaleDownFactor     float64
	MaxScaleUpFactor       float64
	CatchUpDuration        time.Duration
	RestartTime            time.Duration
	TrackRestartTime       bool
	RestartTimeLimit       time.Duration
	BacklogLagThreshold    time.Duration
	ObservedTPRLag         time.Duration
	ObservedTPRSwitch      float64
	ObservedTPRMinObs      int
	EffectivenessDetection bool
	EffectivenessThreshold float64
	GCPressureThreshold    float64
	HeapUsageThreshold     float64
	MemoryTuning           bool
	MemoryScaling          bool
	MemoryTuningOverhead   float64
	MaximizeManagedMemory  bool
	HistoryMaxCount        int
	HistoryMaxAge          time.Duration
	BusyTimeAggregator     Aggregator
	VertexExcludeIDs       []string
	ScalingEventInterval   time.Duration
	RestClientTimeout      time.Duration
	MemoryQuota            int64 // bytes; HasMemoryQuota says whether set
	HasMemoryQuota         bool
	CPUQuota               float64 // HasCPUQuota says whether set
	HasCPUQuota            bool
	// LegacyAdjustMode is the deprecated scaling.key-group.partitions.adjust.mode
	// (EVENLY_SPREAD or MAXIMIZE_UTILISATION); LegacyAdjustModeSet when configured.
	LegacyAdjustMode    string
	LegacyAdjustModeSet bool
	// AlignmentMode is scaling.parallelism-alignment.mode; AlignmentModeSet when configured.
	AlignmentMode              string
	AlignmentModeSet           bool
	ObservedScalability        bool
	ScalabilityMinObservations int
	ScalabilityCoefficientMin  float64
	CustomEvaluators           []string
	CustomExecutors            []string
	Variant                    Variant
	Location                   *time.Location

	// Conf is the configuration the options were parsed from: the job's Flink configuration,
	// where TaskManager memory options and plugin parameters are read.
	Conf *flinkconf.Config

	// TaskManagerCPU is the CPU of one TaskManager; 0 means unknown (the standalone
	// autoscaler), which disables the cluster-capacity check and the CPU quota.
	TaskManagerCPU float64
	// TaskManagerMemory is the process memory of one TaskManager in bytes; 0 means
	// taskmanager.memory.process.size of Conf, as the operator's default context does.
	TaskManagerMemory int64
	// ResourceCheck decides whether a rescale fits the cluster; nil always fits (the
	// operator's NoopResourceCheck).
	ResourceCheck ResourceCheck
	// Plugins are the custom evaluators, executors and alignment modes, by class name.
	Plugins Plugins
	// DeriveTaskManager derives the TaskManager memory spec for memory tuning; nil uses
	// memory.DeriveTaskManager(cfg, nil, memory.Flink1).
	DeriveTaskManager func(cfg *flinkconf.Config) (*memory.TaskManager, error)
}

// ResourceCheck is the operator's ResourceCheck: can the cluster host newTMs TaskManagers
// instead of currentTMs?
type ResourceCheck interface {
	TrySchedule(currentTMs, newTMs int, tmCPU float64, tmMemory int64) bool
}

// OptionError is a configuration error: the key, the offending value and the operator's
// message.
type OptionError struct {
	Key     string
	Value   string
	Message string
}

func (e *OptionError) Error() string {
	if e.Value == "" {
		return e.Message
	}
	return e.Message + " (got '" + e.Value + "')"
}

// DefaultOptions returns the operator's defaults (autoscaler disabled) over an empty config.
func DefaultOptions() Options {
	o, err := ParseOptions(flinkconf.New())
	if err != nil {
		panic(err) // defaults are valid by construction
	}
	return o
}

// ParseOptions reads every job.autoscaler.* option of cfg with the operator's defaults,
// fallback and deprecated keys, then validates them as the operator's AutoscalerValidator does
// (only when the autoscaler is enabled). Errors name the key and the value.
func ParseOptions(cfg *flinkconf.Config) (Options, error) {
	return parseOptions(cfg, true)
}

// parseOptions reads every option (all bad values, in the order read, which is AllOptions'
// order, are the error; TestFirstBadOptionInListedOrder), then with validate checks their
// ranges. The policy parses a job's configuration without validate, and validates once it has
// added what its environment provides.
func parseOptions(cfg *flinkconf.Config, validate bool) (Options, error) {
	r := reader{flinkconf.NewReader(cfg)}
	o := Options{Conf: r.Config()}
	r.readScaling(&o)
	r.readMemoryAndLimits(&o)
	r.readAlignment(&o)
	r.readVariant(&o)
	r.readTimeZone(&o)
	if err := operatorErrors(r.Errors()); err != nil {
		return Options{}, err
	}
	if !validate {
		return o, nil
	}
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// readScaling reads the scaling algorithm's options: metric window, utilization bounds,
// parallelism limits and factors, restart and catch-up times, observed true processing rate.
func (r reader) readScaling(o *Options) {
	o.Enabled = r.Bool(OptEnabled)
	o.ScalingEnabled = r.Bool(OptScalingEnabled)
	o.MetricsWindow = r.Duration(OptMetricsWindow)
	o.StabilizationInterval = r.Duration(OptStabilizationInterval)
	o.ExcludedPeriods = r.list(OptExcludedPeriods)
	o.UtilizationTarget = r.double(OptUtilizationTarget)
	o.UtilizationBoundary = r.double(OptUtilizationBoundary)
	o.UtilizationMax = r.double(OptUtilizationMax)
	o.UtilizationMin = r.double(OptUtilizationMin)
	o.ScaleDownInterval = r.Duration(OptScaleDownInterval)
	o.VertexMinParallelism = r.Int(OptVertexMinParallelism)
	o.VertexMaxParallelism = r.Int(OptVertexMaxParallelism)
	o.MaxScaleDownFactor = r.double(OptMaxScaleDownFactor)
	o.MaxScaleUpFactor = r.double(OptMaxScaleUpFactor)
	o.CatchUpDuration = r.Duration(OptCatchUpDuration)
	o.RestartTime = r.Duration(OptRestartTime)
	o.TrackRestartTime = r.Bool(OptTrackRestartTime)
	o.RestartTimeLimit = r.Duration(OptRestartTimeLimit)
	o.BacklogLagThreshold = r.Duration(OptBacklogLagThreshold)
	o.ObservedTPRLag = r.Duration(OptObservedTPRLag)
	o.ObservedTPRSwitch = r.double(OptObservedTPRSwitch)
	o.ObservedTPRMinObs = r.Int(OptObservedTPRMinObs)
}

// readMemoryAndLimits reads scaling effectiveness, memory pressure and tuning, history,
// exclusions, event and REST intervals, and the resource quotas (set only when configured:
// they have no default).
func (r reader) readMemoryAndLimits(o *Options) {
	o.EffectivenessDetection = r.Bool(OptEffectivenessEnabled)
	o.EffectivenessThreshold = r.double(OptEffectivenessThresh)
	o.GCPressureThreshold = r.double(OptGCPressureThreshold)
	o.HeapUsageThreshold = r.double(OptHeapUsageThreshold)
	o.MemoryTuning = r.Bool(OptMemoryTuningEnabled)
	o.MemoryScaling = r.Bool(OptMemoryScalingEnabled)
	o.MemoryTuningOverhead = r.double(OptMemoryTuningOverhead)
	o.MaximizeManagedMemory = r.Bool(OptMaximizeManaged)
	o.HistoryMaxCount = r.Int(OptHistoryMaxCount)
	o.HistoryMaxAge = r.Duration(OptHistoryMaxAge)
	o.BusyTimeAggregator = Aggregator(r.enum(OptBusyTimeAggregator, "org.apache.flink.autoscaler.metrics.MetricAggregator", aggregatorNames))
	o.VertexExcludeIDs = r.list(OptVertexExcludeIDs)
	o.ScalingEventInterval = r.Duration(OptScalingEventInterval)
	o.RestClientTimeout = r.Duration(OptRestClientTimeout)
	if r.Config().IsConfigured(OptMemoryQuota) {
		o.MemoryQuota, o.HasMemoryQuota = r.MemorySize(OptMemoryQuota), true
	}
	if r.Config().IsConfigured(OptCPUQuota) {
		o.CPUQuota, o.HasCPUQuota = r.double(OptCPUQuota), true
	}
}

// readAlignment reads how parallelism is aligned to key groups or partitions (the deprecated
// adjust mode and the alignment mode, each with whether it was configured), observed
// scalability, and the plugin class names.
func (r reader) readAlignment(o *Options) {
	legacyModes := []string{"EVENLY_SPREAD", "MAXIMIZE_UTILISATION"}
	o.LegacyAdjustMode = legacyModes[r.enum(OptLegacyAdjustMode, "org.apache.flink.autoscaler.alignment.KeyGroupOrPartitionsAdjustMode", legacyModes)]
	o.LegacyAdjustModeSet = r.Config().IsConfigured(OptLegacyAdjustMode)
	o.AlignmentMode = r.String(OptAlignmentMode)
	o.AlignmentModeSet = r.Config().IsConfigured(OptAlignmentMode)
	o.ObservedScalability = r.Bool(OptObservedScalability)
	o.ScalabilityMinObservations = r.Int(OptScalabilityMinObs)
	o.ScalabilityCoefficientMin = r.double(OptScalabilityCoeffMin)
	o.CustomEvaluators = r.list(OptCustomEvaluators)
	o.CustomExecutors = r.list(OptCustomExecutors)
}

// variants are the accepted spellings of OptVariant.
var variants = map[string]Variant{"1.16": Variant116, "main": Variant116, "1.15": Variant115, "1.15.0": Variant115, "1.10": Variant110, "1.10.0": Variant110}

// readVariant reads which operator version's algorithm to follow.
func (r reader) readVariant(o *Options) {
	v, ok := variants[strings.TrimSpace(r.String(OptVariant))]
	r.Check(ok, OptVariant, "Invalid value for "+OptVariant.Key+": expected 1.16 (main), 1.15 or 1.10")
	o.Variant = v
}

// readTimeZone reads the time zone the excluded periods' cron expressions are in.
func (r reader) readTimeZone(o *Options) {
	loc, err := time.LoadLocation(strings.TrimSpace(r.String(OptTimeZone)))
	r.Check(err == nil, OptTimeZone, "Invalid value for "+OptTimeZone.Key+": expected an IANA time zone name such as UTC or Europe/Berlin")
	o.Location = loc
}

// Validate is the operator's AutoscalerValidator: it checks ranges only when the autoscaler is
// enabled, and the feature-specific options only when their feature is enabled. It names every
// bad option, in the validator's order (the operator names only the first, which comes first).
func (o *Options) Validate() error {
	if !o.Enabled {
		return nil
	}
	type check struct {
		opt      flinkconf.Option
		val      float64
		min, max float64 // NaN: unbounded
		active   bool
	}
	nan := math.NaN()
	checks := []check{
		{OptMaxScaleDownFactor, o.MaxScaleDownFactor, 0, nan, true},
		{OptMaxScaleUpFactor, o.MaxScaleUpFactor, 0, nan, true},
		{OptUtilizationTarget, o.UtilizationTarget, 0, 1, true},
		{OptUtilizationBoundary, o.UtilizationBoundary, 0, nan, true},
		{OptUtilizationMax, o.UtilizationMax, o.UtilizationTarget, 1, true},
		{OptUtilizationMin, o.UtilizationMin, 0, o.UtilizationTarget, true},
		{OptGCPressureThreshold, o.GCPressureThreshold, 0, 1, true},
		{OptHeapUsageThreshold, o.HeapUsageThreshold, 0, 1, true},
		{OptScalabilityCoeffMin, o.ScalabilityCoefficientMin, 0.01, 1, o.ObservedScalability},
		{OptEffectivenessThresh, o.EffectivenessThreshold, 0, 1, o.EffectivenessDetection},
		{OptMemoryTuningOverhead, o.MemoryTuningOverhead, 0, 1, o.MemoryTuning},
	}
	var errs OptionErrors
	for _, c := range checks {
		// An unset optional value (utilization.max/min) is NaN and passes, as Java's null.
		if !c.active || math.IsNaN(c.val) {
			continue
		}
		if (!math.IsNaN(c.min) && c.val < c.min) || (!math.IsNaN(c.max) && c.val > c.max) {
			lo, hi := "-Infinity", "+Infinity"
			if !math.IsNaN(c.min) {
				lo = flinkconf.JavaDoubleString(c.min)
			}
			if !math.IsNaN(c.max) {
				hi = flinkconf.JavaDoubleString(c.max)
			}
			raw, _, found := o.confLookup(c.opt)
			if !found {
				raw = flinkconf.JavaDoubleString(c.val)
			}
			errs = append(errs, &OptionError{Key: c.opt.Key, Value: raw,
				Message: fmt.Sprintf("The AutoScalerOption %s is invalid, it should be a value within the range [%s, %s]", c.opt.Key, lo, hi)})
		}
	}
	if _, err := parseExcludedPeriods(o.ExcludedPeriods); err != nil {
		var oe *OptionError
		if !errors.As(err, &oe) {
			return err
		}
		errs = append(errs, oe)
	}
	return errs.orNil()
}

func (o *Options) confLookup(opt flinkconf.Option) (raw, key string, ok bool) {
	if o.Conf == nil {
		return "", "", false
	}
	return o.Conf.Lookup(opt)
}

// reader is flinkconf's reader (every bad value is recorded, none stops the others) with the
// operator's enums, lists and optional doubles.
type reader struct{ *flinkconf.Reader }

// operatorErrors words the reader's errors as the operator does: Flink's message, the main key,
// the value ("Could not parse value 'x' for key 'k'. Cause: ... (got 'x')"), one after another.
func operatorErrors(es flinkconf.OptionErrors) error {
	var out OptionErrors
	for _, e := range es {
		out = append(out, &OptionError{Key: e.Option.Key, Value: e.Value, Message: e.Message()})
	}
	return out.orNil()
}

// OptionErrors are several configuration errors, in the order the options are declared.
type OptionErrors []*OptionError

// Error joins the errors with "; " on one line (events and decision reasons are one line).
func (es OptionErrors) Error() string { return flinkconf.JoinedText(es) }

// Unwrap gives errors.As every error.
func (es OptionErrors) Unwrap() []error { return flinkconf.AsErrors(es) }

// orNil returns nil for no error, the error itself for one, else all of them.
func (es OptionErrors) orNil() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}

// double reads a double option; NaN when it is neither configured nor defaulted (Java's null).
func (r reader) double(o flinkconf.Option) float64 {
	if _, ok := r.Config().String(o); !ok {
		return math.NaN()
	}
	return r.Double(o)
}

// enum parses a Java enum option as Flink does (case-insensitive); it returns the index.
func (r reader) enum(o flinkconf.Option, class string, names []string) int {
	raw := r.String(o)
	for i, n := range names {
		if strings.EqualFold(n, raw) {
			return i
		}
	}
	cause := flinkconf.IllegalArgument(fmt.Sprintf("Could not parse value for enum class %s. Expected one of: [[%s]]", class, strings.Join(names, ", ")), nil)
	r.Invalid(o, flinkconf.IllegalArgument("Could not parse value '"+raw+"' for key '"+o.Key+"'.", cause))
	return indexOf(names, o.Default)
}

// list parses a list option with Flink's ';' splitting (quotes and doubled quotes).
func (r reader) list(o flinkconf.Option) []string {
	raw := r.String(o)
	if raw == "" {
		return nil
	}
	items, err := splitEscaped(raw, ';')
	if err != nil {
		r.Invalid(o, flinkconf.IllegalArgument("Could not parse value '"+raw+"' for key '"+o.Key+"'.", flinkconf.IllegalArgument(err.Error(), nil)))
	}
	return items
}

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s {
			return i
		}
	}
	return 0
}

// splitEscaped is Flink's StructuredOptionsSplitter.splitEscaped: split at delimiter, honouring
// single and double quotes (a doubled quote escapes itself); whitespace around unquoted items
// is trimmed.
func splitEscaped(s string, delim byte) ([]string, error) {
	type kind int
	const (
		unquoted kind = iota
		quoted
		delimiter
	)
	type token struct {
		k   kind
		s   string
		pos int
	}
	var tokens []token
	for cur := 0; cur < len(s); {
		c := s[cur]
		next := cur + 1
		switch {
		case c == '\'' || c == '"':
			var b strings.Builder
			closed := false
			i := cur + 1
			for ; i < len(s); i++ {
				if s[i] == c {
					if i+1 < len(s) && s[i+1] == c {
						b.WriteByte(c)
						i++
						continue
					}
					closed = true
					break
				}
				b.WriteByte(s[i])
			}
			if !closed {
				return nil, fmt.Errorf("Could not split string. Quoting was not closed properly.")
			}
			next = i + 1
			tokens = append(tokens, token{quoted, b.String(), cur})
		case c == delim:
			tokens = append(tokens, token{delimiter, string(c), cur})
		case !isJavaWhitespace(c):
			i := cur
			for i < len(s) && s[i] != delim {
				i++
			}
			next = i
			tokens = append(tokens, token{unquoted, javaTrim(s[cur:i]), cur})
		}
		cur = next
	}
	var out []string
	for i, t := range tokens {
		switch t.k {
		case quoted:
			if i+1 < len(tokens) && tokens[i+1].k != delimiter {
				return nil, fmt.Errorf("Could not split string. Illegal quoting at position: %d", tokens[i+1].pos-1)
			}
			out = append(out, t.s)
		case unquoted:
			out = append(out, t.s)
		case delimiter:
			if i+1 < len(tokens) && tokens[i+1].k == delimiter {
				out = append(out, "")
			}
		}
	}
	return out, nil
}

// isJavaWhitespace approximates Character.isWhitespace for ASCII.
func isJavaWhitespace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || (c >= 0x1c && c <= 0x1f)
}

// javaTrim is String#trim: strips characters <= ' '.
func javaTrim(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// parseMapOption parses a Flink map option ("k1:v1,k2:v2" with escaping).
func parseMapOption(raw string) (map[string]string, error) {
	out := map[string]string{}
	items, err := splitEscaped(raw, ',')
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		kv, err := splitEscaped(it, ':')
		if err != nil {
			return nil, err
		}
		if len(kv) != 2 {
			return nil, fmt.Errorf("Map item is not a key-value pair (missing ':'?)")
		}
		out[kv[0]] = kv[1]
	}
	return out, nil
}
