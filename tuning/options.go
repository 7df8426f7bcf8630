package tuning

import (
	"fmt"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// The tuner reads the operator's three job.autoscaler.memory.tuning.* keys (same meaning,
// same legacy kubernetes.operator.* fallback) and its own flinktune.memory.tuning.* keys.

func asOpt(key string, t flinkconf.Type, def, desc string) flinkconf.Option {
	return flinkconf.Option{Key: "job.autoscaler." + key, Type: t, Default: def, HasDefault: def != "", Description: desc,
		Fallbacks: []flinkconf.FallbackKey{{Key: "kubernetes.operator.job.autoscaler." + key}}}
}

func ftOpt(key string, t flinkconf.Type, def, desc string) flinkconf.Option {
	return flinkconf.Option{Key: "flinktune.memory.tuning." + key, Type: t, Default: def, HasDefault: def != "", Description: desc}
}

// Options of the memory tuner.
var (
	OptEnabled = asOpt("memory.tuning.enabled", flinkconf.TypeBool, "false",
		"Automatic mode: hand worthwhile memory changes to the realizer. false (dry run) only recommends them.")
	// The margin is the Kubernetes VPA's recommendation margin (15 %), not the operator's 20 %:
	// the operator adds its 20 % to window averages, flinktune adds its margin to a high
	// percentile (P98, where VPA takes P90) of per-interval peaks rounded up to the end of a 5 %
	// histogram bucket, so it starts from a larger number. Heap peaks include the garbage
	// waiting for collection; at this margin the live set settles near three quarters of the
	// heap, below where collections get expensive, and GC pressure or an out-of-memory failure
	// grows the heap again.
	OptMargin = asOpt("memory.tuning.overhead", flinkconf.TypeDouble, "0.15",
		"Safety margin added to the observed heap and metaspace peaks (0.15 = 15 %).")
	OptMaximizeManaged = asOpt("memory.tuning.maximize-managed-memory", flinkconf.TypeBool, "false",
		"When managed memory is in use (RocksDB), give it everything the other pools no longer need, up to the initial limit.")
	OptPercentile = ftOpt("percentile", flinkconf.TypeDouble, "0.98",
		"Percentile of the decaying histogram of per-interval peaks that heap sizing starts from.")
	OptHalfLife = ftOpt("half-life", flinkconf.TypeDuration, "24 h",
		"Half-life of a peak's weight in the histogram (the Kubernetes VPA's memory half-life).")
	OptPeakInterval = ftOpt("peak-interval", flinkconf.TypeDuration, "1 min",
		"Samples within one interval contribute one peak to the histogram.")
	OptLiveFactor = ftOpt("heap.live-factor", flinkconf.TypeDouble, "1.5",
		"The heap is at most this multiple of the live set (the lowest heap use of each interval, after collections): more only defers collections. 0 disables the cap.")
	OptLiveWindow = ftOpt("heap.live-window", flinkconf.TypeDuration, "10 min",
		"The live set is the lowest heap use of the largest TaskManager in each window this long. It must span several collections of every TaskManager, or it reads garbage as live.")
	OptNetworkHeadroom = ftOpt("network.headroom", flinkconf.TypeDouble, "2.0",
		"Network memory covers every vertex at up to this multiple of its target parallelism (within its max parallelism), so a rescale within it needs no memory change. 1 sizes for the target exactly.")
	OptMinObservation = ftOpt("min-observation", flinkconf.TypeDuration, "10 min",
		"Observed running time before heap or metaspace may shrink.")
	OptMinSaving = ftOpt("min-saving", flinkconf.TypeDouble, "0.1",
		"Fraction of the running TaskManager process memory a recommendation must save to be worth a restart of its own (safety increases always are); 1 never restarts for savings alone.")
	OptMinSavingRescale = ftOpt("min-saving.with-rescale", flinkconf.TypeDouble, "0.02",
		"The same threshold when the change rides along with a rescale that restarts the job anyway.")
	OptSettle = ftOpt("settle", flinkconf.TypeDuration, "30 min",
		"After an applied change, changes that only save memory wait this long (safety increases do not), bounding the restarts tuning causes.")
	OptStableWindow = ftOpt("stable.window", flinkconf.TypeDuration, "10 min",
		"A change that only saves memory restarts the job on its own only when the job is stable over this window: no load trend, no backlog (else it waits, or rides along with the next rescale).")
	OptStableTrend = ftOpt("stable.max-trend", flinkconf.TypeDouble, "0.1",
		"Largest change of the sources' arrival rate between the halves of stable.window that still counts as stable (0.1 = 10 %).")
	OptStableBacklog = ftOpt("stable.max-backlog", flinkconf.TypeDuration, "30 s",
		"Largest source backlog, in seconds of input, that still counts as stable.")
	OptStableDrain = ftOpt("stable.max-drain", flinkconf.TypeDuration, "5 min",
		"Longest time the job, at its current busy time, may take to catch up with the input of a restart's downtime (the last restart's, else 1 min) for a restart that only saves memory.")
	// Off by default (0): on the generated corpus waiting cost more than it saved (89 % of seeds
	// at or under the operator's memory instead of 92 %, lag-violation about the same); on
	// wordcount-ramp 24 h saves a restart. bench/testdata/memory-corpus.md has both.
	OptStableMaxWait = ftOpt("stable.max-wait", flinkconf.TypeDuration, "0 s",
		"A worthwhile saving waits for a stable job (stable.*) at most this long, then restarts the job anyway; 0 (default) never waits. 24 h: a job that never settles still gets it, one that is merely busy gets it with its next rescale.")
	OptGCThreshold = ftOpt("gc-pressure.threshold", flinkconf.TypeDouble, "0.1",
		"Fraction of time in garbage collection (worst TaskManager, averaged over gc-pressure.window) above which the heap counts as too small.")
	OptGCWindow = ftOpt("gc-pressure.window", flinkconf.TypeDuration, "5 min",
		"Window over which GC time must stay above the threshold.")
	OptRollbackWindow = ftOpt("rollback.window", flinkconf.TypeDuration, "1 h",
		"An out-of-memory failure or GC pressure within this long after a change that shrank the pool rolls the pool back.")
	OptBumpHold = ftOpt("bump.hold", flinkconf.TypeDuration, "24 h",
		"How long an out-of-memory bump or rollback keeps a pool from shrinking below it.")
	OptJobManager = ftOpt("jobmanager.enabled", flinkconf.TypeBool, "true",
		"Also tune JobManager heap and metaspace (jobmanager.memory.* keys) from the JobManager's gauges.")
	OptBalanceSlots = ftOpt("slots.balance", flinkconf.TypeBool, "true",
		"Spread the job's slots evenly over the TaskManagers its configured taskmanager.numberOfTaskSlots needs (never more TaskManagers, never more slots each): Flink's adaptive scheduler may put any slot-sharing group on any TaskManager, and every TaskManager is sized for the busiest.")
	OptRollback = rbOpt("enabled", flinkconf.TypeBool, "true",
		"Roll back a rescale after which the job fails (at the first memory failure, else the second) to the last parallelism that ran healthy.")
	OptHealthyAfter = rbOpt("healthy-after", flinkconf.TypeDuration, "10 min",
		"A parallelism counts as healthy once the job ran this long at it without a failure.")
	OptRollbackHold = rbOpt("hold", flinkconf.TypeDuration, "2 h",
		"How long a rolled-back parallelism is kept out of scaling decisions.")
)

func rbOpt(key string, t flinkconf.Type, def, desc string) flinkconf.Option {
	return flinkconf.Option{Key: "flinktune.rollback." + key, Type: t, Default: def, HasDefault: def != "", Description: desc}
}

// AllOptions lists the tuner's options (for help texts and docs).
var AllOptions = []flinkconf.Option{OptEnabled, OptMargin, OptMaximizeManaged, OptPercentile, OptHalfLife,
	OptPeakInterval, OptLiveFactor, OptLiveWindow, OptNetworkHeadroom, OptMinObservation, OptMinSaving, OptMinSavingRescale, OptSettle, OptStableWindow, OptStableTrend, OptStableBacklog, OptStableDrain, OptStableMaxWait, OptGCThreshold, OptGCWindow, OptRollbackWindow,
	OptBumpHold, OptJobManager, OptBalanceSlots, OptRollback, OptHealthyAfter, OptRollbackHold}

// Options are the tuner's parsed settings.
type Options struct {
	// Apply is job.autoscaler.memory.tuning.enabled: automatic mode rather than recommendations.
	Apply            bool
	Margin           float64
	MaximizeManaged  bool
	Percentile       float64
	HalfLife         time.Duration
	PeakInterval     time.Duration
	LiveFactor       float64
	LiveWindow       time.Duration
	NetworkHeadroom  float64
	MinObservation   time.Duration
	MinSaving        float64
	MinSavingRescale float64
	Settle           time.Duration
	StableWindow     time.Duration
	StableTrend      float64
	StableBacklog    time.Duration
	StableDrain      time.Duration
	StableMaxWait    time.Duration
	GCThreshold      float64
	GCWindow         time.Duration
	RollbackWindow   time.Duration
	BumpHold         time.Duration
	JobManager       bool
	BalanceSlots     bool
	Rollback         bool
	HealthyAfter     time.Duration
	RollbackHold     time.Duration
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	o, err := ParseOptions(flinkconf.New())
	if err != nil {
		panic(err)
	}
	return o
}

// ParseOptions reads the tuner's options from a job's configuration (nil: defaults), naming
// the key and value of every bad setting and what is accepted.
func ParseOptions(cfg *flinkconf.Config) (Options, error) {
	r := flinkconf.NewReader(cfg)
	r.Expect = expect
	o := read(r)
	o.checkRanges(r)
	if es := r.Errors(); len(es) > 0 {
		return o, InvalidOptions(es)
	}
	return o, nil
}

// InvalidOptions is the error ParseOptions returns for the tuner's bad settings es (the
// policies name the ones their own options did not).
func InvalidOptions(es flinkconf.OptionErrors) error {
	return fmt.Errorf("invalid memory tuning options: %w", es)
}

// expect says what the tuner's option types accept, in place of Flink's parse messages.
var expect = map[flinkconf.Type]string{
	flinkconf.TypeBool:     "want true or false",
	flinkconf.TypeDouble:   "want a number",
	flinkconf.TypeDuration: "want a duration such as 30 s, 5 min or 24 h",
}

// read parses every option, in AllOptions' order (the order their errors are listed in).
func read(r *flinkconf.Reader) Options {
	var o Options
	o.Apply = r.Bool(OptEnabled)
	o.Margin = r.Double(OptMargin)
	o.MaximizeManaged = r.Bool(OptMaximizeManaged)
	o.Percentile = r.Double(OptPercentile)
	o.HalfLife = r.Duration(OptHalfLife)
	o.PeakInterval = r.Duration(OptPeakInterval)
	o.LiveFactor = r.Double(OptLiveFactor)
	o.LiveWindow = r.Duration(OptLiveWindow)
	o.NetworkHeadroom = r.Double(OptNetworkHeadroom)
	o.MinObservation = r.Duration(OptMinObservation)
	o.MinSaving = r.Double(OptMinSaving)
	o.MinSavingRescale = r.Double(OptMinSavingRescale)
	o.Settle = r.Duration(OptSettle)
	o.StableWindow = r.Duration(OptStableWindow)
	o.StableTrend = r.Double(OptStableTrend)
	o.StableBacklog = r.Duration(OptStableBacklog)
	o.StableDrain = r.Duration(OptStableDrain)
	o.StableMaxWait = r.Duration(OptStableMaxWait)
	o.GCThreshold = r.Double(OptGCThreshold)
	o.GCWindow = r.Duration(OptGCWindow)
	o.RollbackWindow = r.Duration(OptRollbackWindow)
	o.BumpHold = r.Duration(OptBumpHold)
	o.JobManager = r.Bool(OptJobManager)
	o.BalanceSlots = r.Bool(OptBalanceSlots)
	o.Rollback = r.Bool(OptRollback)
	o.HealthyAfter = r.Duration(OptHealthyAfter)
	o.RollbackHold = r.Duration(OptRollbackHold)
	return o
}

// checkRanges records every option whose value is out of its range (a value that did not
// parse is named once, for that).
func (o Options) checkRanges(r *flinkconf.Reader) {
	r.Check(o.Margin >= 0 && o.Margin <= 10, OptMargin, "must be in [0, 10]")
	r.Check(o.Percentile > 0 && o.Percentile <= 1, OptPercentile, "must be in (0, 1]")
	r.Check(o.HalfLife >= time.Minute, OptHalfLife, "must be at least 1 min")
	r.Check(o.PeakInterval >= time.Second, OptPeakInterval, "must be at least 1 s")
	r.Check(o.LiveFactor == 0 || o.LiveFactor >= 1, OptLiveFactor, "must be 0 (off) or at least 1")
	r.Check(o.LiveWindow >= time.Second, OptLiveWindow, "must be at least 1 s")
	r.Check(o.NetworkHeadroom >= 1 && o.NetworkHeadroom <= 100, OptNetworkHeadroom, "must be in [1, 100]")
	r.Check(o.MinObservation >= 0, OptMinObservation, "must not be negative")
	r.Check(o.MinSaving >= 0 && o.MinSaving <= 1, OptMinSaving, "must be in [0, 1]")
	r.Check(o.MinSavingRescale >= 0 && o.MinSavingRescale < 1, OptMinSavingRescale, "must be in [0, 1)")
	r.Check(o.Settle >= 0, OptSettle, "must not be negative")
	r.Check(o.StableWindow >= time.Second, OptStableWindow, "must be at least 1 s")
	r.Check(o.StableTrend > 0, OptStableTrend, "must be positive")
	r.Check(o.StableBacklog >= 0, OptStableBacklog, "must not be negative")
	r.Check(o.StableDrain >= 0, OptStableDrain, "must not be negative")
	r.Check(o.StableMaxWait >= 0, OptStableMaxWait, "must not be negative")
	r.Check(o.GCThreshold > 0 && o.GCThreshold <= 1, OptGCThreshold, "must be in (0, 1]")
	r.Check(o.GCWindow >= time.Second, OptGCWindow, "must be at least 1 s")
	r.Check(o.RollbackWindow >= 0, OptRollbackWindow, "must not be negative")
	r.Check(o.BumpHold >= 0, OptBumpHold, "must not be negative")
	r.Check(o.HealthyAfter >= 0, OptHealthyAfter, "must not be negative")
	r.Check(o.RollbackHold >= 0, OptRollbackHold, "must not be negative")
}
