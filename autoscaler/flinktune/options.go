package flinktune

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// The flinktune policy reads the operator's job.autoscaler.* keys where they mean the same
// thing, with its own defaults, plus a few flinktune.* keys of its own.

func opt(key string, t flinkconf.Type, def, desc string) flinkconf.Option {
	return flinkconf.Option{Key: key, Type: t, Default: def, HasDefault: def != "", Description: desc,
		Fallbacks: []flinkconf.FallbackKey{{Key: "kubernetes.operator." + key, Deprecated: true}}}
}

// Options of the flinktune policy.
var (
	OptScalingEnabled = opt("job.autoscaler.scaling.enabled", flinkconf.TypeBool, "true",
		"Apply decisions; false only records recommendations.")
	OptTargetUtilization = opt("job.autoscaler.utilization.target", flinkconf.TypeDouble, "0.8",
		"Busy fraction the hottest subtask of each vertex is sized for, against the forecast demand.")
	OptUtilizationMax = opt("job.autoscaler.utilization.max", flinkconf.TypeDouble, "0.9",
		"Scale up when the forecast utilization of any vertex exceeds this.")
	OptUtilizationMin = opt("job.autoscaler.utilization.min", flinkconf.TypeDouble, "0.35",
		"Scale down when the utilization at the peak of the recent demand stays below this for scale-down.interval.")
	OptWindow = opt("job.autoscaler.metrics.window", flinkconf.TypeDuration, "5 min",
		"Window over which rates, capacities and the demand trend are estimated.")
	OptStabilization = opt("job.autoscaler.stabilization.interval", flinkconf.TypeDuration, "1 min",
		"Samples right after a (re)start are ignored for this long (replay and warm-up distort rates).")
	OptCatchUp = opt("job.autoscaler.catch-up.duration", flinkconf.TypeDuration, "10 min",
		"Lag, including the input that arrives while a rescale restarts the job, is drained within this time.")
	OptRestartTime = opt("job.autoscaler.restart.time", flinkconf.TypeDuration, "1 min",
		"Initial estimate of a rescale's downtime; replaced by the downtimes observed on this job.")
	OptScaleDownInterval = opt("job.autoscaler.scale-down.interval", flinkconf.TypeDuration, "20 min",
		"How long the demand must stay low before parallelism goes down.")
	OptMinParallelism = opt("job.autoscaler.vertex.min-parallelism", flinkconf.TypeInt, "1",
		"Lowest parallelism flinktune sets for a vertex.")
	OptMaxParallelism = opt("job.autoscaler.vertex.max-parallelism", flinkconf.TypeInt, "200",
		"Highest parallelism flinktune sets for a vertex (never above its max parallelism or, for sources, its partitions).")
	OptExcludeIDs = opt("job.autoscaler.vertex.exclude.ids", flinkconf.TypeString, "",
		"Vertex ids (hex, ';' or ',' separated) never rescaled.")
	OptForecastHorizon = opt("flinktune.forecast.horizon", flinkconf.TypeDuration, "3 h",
		"How far ahead the demand trend is extrapolated (never further than the trend has lasted).")
	OptSettle = opt("flinktune.settle", flinkconf.TypeDuration, "35 min",
		"No change in the opposite direction of the previous one within this time (prevents oscillation).")
	OptMaxLag = opt("flinktune.lag.max", flinkconf.TypeDuration, "1 min",
		"Lag, in seconds of input, the policy keeps sources under: a scale-up is due when the lag would exceed it before a rescale could help. Set it to a lag SLO stricter than the default; for a looser SLO keep the default, since the restart a scale-up causes adds its own lag on top.")
	OptSlotWait = opt("flinktune.rescale.slot-wait", flinkconf.TypeDuration, "2 min",
		"A scale-up waits up to this long for every slot of its new layout (lower bounds held at the target), so the job restarts once instead of at a partial layout and again when the rest arrives; 0 restarts at once with the slots there are.")
	OptFitSpan = opt("flinktune.demand.fit-span", flinkconf.TypeDuration, "90 s",
		"Span of the newest samples whose straight line gives a source's demand now: a step is waited out this long, and a trend seen only this long is extrapolated as far.")
)

// AllOptions lists the policy's options (for help texts).
var AllOptions = []flinkconf.Option{OptScalingEnabled, OptTargetUtilization, OptUtilizationMax, OptUtilizationMin,
	OptWindow, OptStabilization, OptCatchUp, OptRestartTime, OptScaleDownInterval, OptMinParallelism,
	OptMaxParallelism, OptExcludeIDs, OptForecastHorizon, OptSettle, OptMaxLag, OptFitSpan, OptSlotWait}

// Options are the parsed settings of one job.
type Options struct {
	ScalingEnabled    bool
	TargetUtilization float64
	UtilizationMax    float64
	UtilizationMin    float64
	Window            time.Duration
	Stabilization     time.Duration
	CatchUp           time.Duration
	RestartTime       time.Duration
	ScaleDownInterval time.Duration
	MinParallelism    int
	MaxParallelism    int
	Exclude           map[string]bool
	ForecastHorizon   time.Duration
	Settle            time.Duration
	MaxLag            time.Duration
	// FitSpan is a window like the others: a scenario compressed by F (run --compress) has
	// it divided by F, so that a trend seen for its span is extrapolated over the same share
	// of the scenario (at 90 s under F = 2 it covered 180 s of the scenario's time).
	FitSpan time.Duration
	// SlotWait is Flink's time, not the job's: the TaskManagers' start, which a compressed
	// scenario does not shorten.
	SlotWait time.Duration
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	o, err := ParseOptions(flinkconf.New())
	if err != nil {
		panic(err)
	}
	return o
}

// ParseOptions reads the options from a job's configuration, naming the key and value of
// every bad setting: values that do not parse and values out of range, in the order the
// options are declared.
func ParseOptions(cfg *flinkconf.Config) (Options, error) {
	r := flinkconf.NewReader(cfg)
	o := read(r)
	o.followTarget(r.Config())
	o.checkRanges(r)
	if err := r.Err(); err != nil {
		return o, fmt.Errorf("invalid flinktune policy options: %w", err)
	}
	return o, nil
}

// read parses every option.
func read(r *flinkconf.Reader) Options {
	var o Options
	o.ScalingEnabled = r.Bool(OptScalingEnabled)
	o.TargetUtilization = r.Double(OptTargetUtilization)
	o.UtilizationMax = r.Double(OptUtilizationMax)
	o.UtilizationMin = r.Double(OptUtilizationMin)
	o.Window = r.Duration(OptWindow)
	o.Stabilization = r.Duration(OptStabilization)
	o.CatchUp = r.Duration(OptCatchUp)
	o.RestartTime = r.Duration(OptRestartTime)
	o.ScaleDownInterval = r.Duration(OptScaleDownInterval)
	o.MinParallelism = r.Int(OptMinParallelism)
	o.MaxParallelism = r.Int(OptMaxParallelism)
	o.Exclude = map[string]bool{}
	for _, id := range strings.FieldsFunc(r.String(OptExcludeIDs), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		o.Exclude[strings.ToLower(id)] = true
	}
	o.ForecastHorizon = r.Duration(OptForecastHorizon)
	o.Settle = r.Duration(OptSettle)
	o.MaxLag = r.Duration(OptMaxLag)
	o.FitSpan = r.Duration(OptFitSpan)
	o.SlotWait = r.Duration(OptSlotWait)
	return o
}

// followTarget moves the band's edges that are not set themselves to a target set outside the
// defaults' band.
func (o *Options) followTarget(cfg *flinkconf.Config) {
	if !cfg.IsConfigured(OptUtilizationMax) {
		o.UtilizationMax = math.Max(o.UtilizationMax, o.TargetUtilization)
	}
	if !cfg.IsConfigured(OptUtilizationMin) {
		o.UtilizationMin = math.Min(o.UtilizationMin, o.TargetUtilization)
	}
}

// checkRanges records every option out of its range. The band is checked against the target
// only when the target parsed, the parallelism bounds against each other only when the lower
// did (checked before the values they depend on, whose own range errors do not count here;
// errors are listed in declaration order all the same).
func (o Options) checkRanges(r *flinkconf.Reader) {
	if !r.Failed(OptTargetUtilization) {
		r.Check(o.UtilizationMax >= o.TargetUtilization && o.UtilizationMax <= 1, OptUtilizationMax,
			fmt.Sprintf("must be in [utilization.target = %g, 1]", o.TargetUtilization))
		r.Check(o.UtilizationMin >= 0 && o.UtilizationMin <= o.TargetUtilization, OptUtilizationMin,
			fmt.Sprintf("must be in [0, utilization.target = %g]", o.TargetUtilization))
	}
	if !r.Failed(OptMinParallelism) {
		r.Check(o.MaxParallelism >= o.MinParallelism, OptMaxParallelism, "must be at least vertex.min-parallelism")
	}
	r.Check(o.TargetUtilization > 0 && o.TargetUtilization <= 1, OptTargetUtilization, "must be in (0, 1]")
	r.Check(o.Window >= 10*time.Second, OptWindow, "must be at least 10 s")
	r.Check(o.MinParallelism >= 1, OptMinParallelism, "must be at least 1")
	r.Check(o.CatchUp > 0, OptCatchUp, "must be positive")
	r.Check(o.MaxLag > 0, OptMaxLag, "must be positive")
	r.Check(o.FitSpan > 0, OptFitSpan, "must be positive")
	r.Check(o.SlotWait >= 0, OptSlotWait, "must not be negative")
}
