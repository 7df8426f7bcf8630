package adaptive

import (
	"fmt"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// Version is the Flink line whose adaptive scheduler is reproduced.
type Version int

// Versions with distinct Executing behaviour (flink-scheduling.md §A.3).
const (
	V118 Version = iota // rescale at once on change
	V119                // cooldown scaling-interval.min, optional forced rescale after scaling-interval.max
	// V120 behaves as 1.19. FLIP-461 (rescale on a completed checkpoint) shipped in 2.0, not
	// 1.20: flink-core 1.20.5 has no max-delay-for-scale-trigger option and flink-runtime
	// 1.20.5 no DefaultRescaleManager, and a real 1.20.5 job rescales without waiting for a
	// checkpoint (sim/CALIBRATION.md).
	V120
	V2 // DefaultStateTransitionManager phases
)

func (v Version) String() string { return [...]string{"1.18", "1.19", "1.20", "2.0"}[v] }

// ParseVersion maps "1.18", "1.19", "1.20", "2.0" to a Version.
func ParseVersion(s string) (Version, error) {
	switch s {
	case "1.18":
		return V118, nil
	case "1.19":
		return V119, nil
	case "1.20":
		return V120, nil
	case "2.0":
		return V2, nil
	}
	return 0, fmt.Errorf("unsupported Flink version %q: want 1.18, 1.19, 1.20 or 2.0", s)
}

// Options are the scheduler options of one job, resolved for its version (§A.5, §A.6).
type Options struct {
	Version Version
	// Adaptive is jobmanager.scheduler: adaptive; false is the default scheduler, which runs
	// the configured parallelism and never rescales.
	Adaptive bool
	// Reactive is scheduler-mode: reactive (upper bounds = max parallelism, wait forever).
	Reactive bool
	// ResourceWaitTimeout < 0 waits forever.
	ResourceWaitTimeout time.Duration
	// StabilizationTimeout is the submission resource-stabilization-timeout.
	StabilizationTimeout time.Duration
	// MinParallelismIncrease is the per-vertex increase that justifies a scale-up (≤ 1.20).
	MinParallelismIncrease int
	// Cooldown is scaling-interval.min (1.19, 1.20) or executing.cooldown-after-rescaling (2.x).
	Cooldown time.Duration
	// ScalingIntervalMax forces a rescale on merely sufficient resources after this
	// (1.19, 1.20); 0 disables it.
	ScalingIntervalMax time.Duration
	// ExecutingStabilization is 2.x's executing.resource-stabilization-timeout.
	ExecutingStabilization time.Duration
	// MaxTriggerDelay is rescale-trigger.max-delay (2.x).
	MaxTriggerDelay time.Duration
	// MaxCheckpointFailures consecutive failed checkpoints also trigger (2.x).
	MaxCheckpointFailures int
}

// OptionsFromConfig resolves the scheduler options of a job from its effective configuration
// for version v. Errors name the key and the bad value.
func OptionsFromConfig(cfg *flinkconf.Config, v Version) (Options, error) {
	o := Options{Version: v}
	sched, _ := cfg.String(flinkconf.Scheduler)
	o.Adaptive = strings.EqualFold(strings.TrimSpace(sched), "adaptive")
	if mode, ok := cfg.String(flinkconf.SchedulerMode); ok && strings.EqualFold(strings.TrimSpace(mode), "reactive") {
		// Reactive mode implies the adaptive scheduler.
		o.Adaptive, o.Reactive = true, true
	}
	var err error
	dur := func(opt flinkconf.Option, def time.Duration) time.Duration {
		if err != nil {
			return 0
		}
		d, ok, ferr := cfg.Duration(opt)
		if ferr != nil {
			err = ferr
			return 0
		}
		if !ok {
			return def
		}
		return d
	}
	o.ResourceWaitTimeout = dur(flinkconf.ResourceWaitTimeout, 5*time.Minute)
	o.StabilizationTimeout = dur(flinkconf.ResourceStabilizationTimeout, 10*time.Second)
	if o.Reactive {
		// Reactive mode changes the defaults, not explicit settings.
		if !cfg.IsConfigured(flinkconf.ResourceWaitTimeout) {
			o.ResourceWaitTimeout = -1
		}
		if !cfg.IsConfigured(flinkconf.ResourceStabilizationTimeout) {
			o.StabilizationTimeout = 0
		}
	}
	if v <= V120 {
		mi, _, ferr := cfg.Int(flinkconf.MinParallelismIncrease)
		if ferr != nil {
			return o, ferr
		}
		if mi < 1 {
			return o, fmt.Errorf("%s: invalid value %d: want ≥ 1", flinkconf.MinParallelismIncrease.Key, mi)
		}
		o.MinParallelismIncrease = int(mi)
	}
	if v >= V119 {
		o.Cooldown = dur(flinkconf.ScalingIntervalMin, 30*time.Second)
	}
	if v == V119 || v == V120 {
		o.ScalingIntervalMax = dur(flinkconf.ScalingIntervalMax, 0)
		if o.ScalingIntervalMax > 0 && o.ScalingIntervalMax <= o.Cooldown {
			return o, fmt.Errorf("%s (%s) must be greater than %s (%s)", flinkconf.ScalingIntervalMax.Key,
				flinkconf.FormatDuration(o.ScalingIntervalMax), flinkconf.ScalingIntervalMin.Key, flinkconf.FormatDuration(o.Cooldown))
		}
	}
	if v >= V2 {
		o.ExecutingStabilization = dur(flinkconf.ExecutingStabilization, 60*time.Second)
	}
	if v >= V2 {
		n, _, ferr := cfg.Int(flinkconf.RescaleMaxCheckpointFailures)
		if ferr != nil {
			return o, ferr
		}
		o.MaxCheckpointFailures = int(n)
		// Derived default (§A.5): checkpoint interval × (failures + 1), 0 without checkpoints.
		interval := dur(flinkconf.CheckpointingInterval, 0)
		o.MaxTriggerDelay = dur(flinkconf.RescaleTriggerMaxDelay, interval*time.Duration(n+1))
	}
	if err != nil {
		return o, err
	}
	return o, nil
}
