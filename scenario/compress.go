package scenario

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// Compression bounds: below 1 a "compression" would stretch the scenario; beyond 1000 even
// Flink's shortest timers would have to fire more often than a JVM can act on them.
const (
	MinCompression = 1
	MaxCompression = 1000
)

// A FlinkTimer is one of Flink's own timers that has an option: a compressed scenario sets it
// explicitly (scenarios/FORMAT.md, "Time scale"), since a real Flink runs at factor 1.
type FlinkTimer struct {
	// Keys are the option's key for the version first, then the other keys Flink reads for it
	// (deprecated names); a value at any of them is the one scaled.
	Keys []string
	// Default is Flink's default for the version; 0 when the timer is off unless set.
	Default time.Duration
}

// FlinkTimers lists the timers with options that shape how fast a job is observed and
// rescaled, per Flink line (keys and defaults from JobManagerOptions and MetricOptions).
func FlinkTimers(v Version) []FlinkTimer {
	common := []FlinkTimer{
		{Keys: []string{"metrics.fetcher.update-interval"}, Default: 10 * time.Second},
		{Keys: []string{"execution.checkpointing.interval"}},
	}
	const p = "jobmanager.adaptive-scheduler."
	if !v.AtLeast(V20) {
		return append(common,
			FlinkTimer{Keys: []string{p + "resource-wait-timeout"}, Default: 5 * time.Minute},
			FlinkTimer{Keys: []string{p + "resource-stabilization-timeout"}, Default: 10 * time.Second},
			// 1.19 and 1.20 only: the cooldown after a rescale and the forced-rescale bound.
			FlinkTimer{Keys: []string{p + "scaling-interval.min"}, Default: cooldownDefault(v)},
			FlinkTimer{Keys: []string{p + "scaling-interval.max"}},
			FlinkTimer{Keys: []string{p + "max-delay-for-scale-trigger"}})
	}
	return append(common,
		FlinkTimer{Keys: []string{p + "submission.resource-wait-timeout", p + "resource-wait-timeout"}, Default: 5 * time.Minute},
		FlinkTimer{Keys: []string{p + "submission.resource-stabilization-timeout", p + "resource-stabilization-timeout"}, Default: 10 * time.Second},
		FlinkTimer{Keys: []string{p + "executing.cooldown-after-rescaling", p + "scaling-interval.min"}, Default: 30 * time.Second},
		FlinkTimer{Keys: []string{p + "executing.resource-stabilization-timeout", p + "scaling-interval.max"}, Default: 60 * time.Second},
		// Derived from the checkpoint interval when unset, and so compressed with it.
		FlinkTimer{Keys: []string{p + "rescale-trigger.max-delay", p + "max-delay-for-scale-trigger"}})
}

func cooldownDefault(v Version) time.Duration {
	if v.AtLeast(V119) {
		return 30 * time.Second
	}
	return 0 // 1.18 has no cooldown
}

// CompressFlinkTimers returns the settings that run Flink's timers (FlinkTimers) of conf f
// times faster: each timer set in conf is divided by f at the key it is set at; each unset one
// with a default gets default/f at its version's key. conf itself is not changed.
func CompressFlinkTimers(conf map[string]string, v Version, f float64) (map[string]string, error) {
	if err := checkCompression(f); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range FlinkTimers(v) {
		key, d := t.Keys[0], t.Default
		for _, k := range t.Keys {
			if raw, ok := conf[k]; ok {
				pd, err := flinkconf.ParseDuration(raw)
				if err != nil {
					return nil, fmt.Errorf("%s: %q: %v", k, raw, err)
				}
				key, d = k, pd
				break
			}
		}
		if d > 0 {
			out[key] = formatScaled(d, f)
		}
	}
	return out, nil
}

// Compress returns a copy of s whose timeline runs f times faster (scenarios/FORMAT.md, "Time
// scale"): every point and span of the scenario's time is divided by f (duration; load
// segments' at, ramp, sine period and spike length; faults' at and for; the TaskManagers'
// start-up delay and idle timeout; the restart model, whose restore rate is multiplied by f;
// the SLO's maxLag and settle; Flink's timers with options, set explicitly; and the
// autoscaler options isDuration names, in the scenario's autoscaler block and each job's
// config). Rates, capacities, backlogs, sizes and counts are not scaled: a real job processes
// at its real speed. tick (the simulator's resolution) and a slow REST fault's delay (a
// wall-clock bound) are not scaled either.
func (s *Scenario) Compress(f float64, isDuration func(key string) bool) (*Scenario, error) {
	if err := checkCompression(f); err != nil {
		return nil, err
	}
	c := *s
	div := func(d time.Duration) time.Duration { return time.Duration(math.Round(float64(d) / f)) }
	c.Name = fmt.Sprintf("%s (compressed %gx)", s.Name, f)
	c.Duration = div(s.Duration)
	c.SLO.MaxLag, c.SLO.Settle = div(s.SLO.MaxLag), div(s.SLO.Settle)
	c.Cluster.TaskManagers.StartupDelay = div(s.Cluster.TaskManagers.StartupDelay)
	c.Cluster.TaskManagers.IdleTimeout = div(s.Cluster.TaskManagers.IdleTimeout)
	var err error
	if c.Autoscaler, err = compressOptions(s.Autoscaler, f, isDuration); err != nil {
		return nil, fmt.Errorf("autoscaler: %w", err)
	}
	// Flink's timers are set once, in the cluster's configuration, unless a job sets its own.
	timers, err := CompressFlinkTimers(s.Cluster.Config, s.FlinkVersion, f)
	if err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	c.Cluster.Config = maps.Clone(s.Cluster.Config)
	if c.Cluster.Config == nil {
		c.Cluster.Config = map[string]string{}
	}
	maps.Copy(c.Cluster.Config, timers)
	c.Jobs = make([]Job, len(s.Jobs))
	for i, j := range s.Jobs {
		cj := j
		cj.Vertices = slices.Clone(j.Vertices)
		cj.Restart.Base = div(j.Restart.Base)
		cj.Restart.RestoreRate = int64(math.Round(float64(j.Restart.RestoreRate) * f))
		if cj.Config, err = compressJobConfig(j.Config, s.FlinkVersion, f, isDuration); err != nil {
			return nil, fmt.Errorf("job %s config: %w", j.Name, err)
		}
		cj.Load = slices.Clone(j.Load)
		for k := range cj.Load {
			l := &cj.Load[k]
			l.At, l.Ramp, l.SinePeriod, l.SpikeFor = div(l.At), div(l.Ramp), div(l.SinePeriod), div(l.SpikeFor)
		}
		c.Jobs[i] = cj
	}
	c.Faults = slices.Clone(s.Faults)
	for k := range c.Faults {
		c.Faults[k].At, c.Faults[k].For = div(c.Faults[k].At), div(c.Faults[k].For)
	}
	return &c, nil
}

// compressJobConfig scales a job's own timer and autoscaler keys (only those it sets: the
// cluster's carry the defaults).
func compressJobConfig(conf map[string]string, v Version, f float64, isDuration func(string) bool) (map[string]string, error) {
	out, err := compressOptions(conf, f, isDuration)
	if err != nil {
		return nil, err
	}
	for _, t := range FlinkTimers(v) {
		for _, k := range t.Keys {
			if raw, ok := conf[k]; ok {
				d, perr := flinkconf.ParseDuration(raw)
				if perr != nil {
					return nil, fmt.Errorf("%s: %q: %v", k, raw, perr)
				}
				out[k] = formatScaled(d, f)
			}
		}
	}
	return out, nil
}

// compressOptions divides the values of the keys isDuration names by f.
func compressOptions(conf map[string]string, f float64, isDuration func(string) bool) (map[string]string, error) {
	if conf == nil {
		return nil, nil
	}
	out := maps.Clone(conf)
	for k, raw := range conf {
		if isDuration == nil || !isDuration(k) {
			continue
		}
		d, err := flinkconf.ParseDuration(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %v", k, raw, err)
		}
		out[k] = formatScaled(d, f)
	}
	return out, nil
}

// formatScaled is d/f in Flink's duration syntax, to the millisecond.
func formatScaled(d time.Duration, f float64) string {
	ms := int64(math.Round(float64(d) / f / float64(time.Millisecond)))
	if d > 0 && ms == 0 {
		ms = 1 // a timer that was on stays on
	}
	return flinkconf.FormatDuration(time.Duration(ms) * time.Millisecond)
}

func checkCompression(f float64) error {
	if math.IsNaN(f) || f < MinCompression || f > MaxCompression {
		return fmt.Errorf("compression %v: want a factor between %d and %d (job seconds of the original scenario per second of the compressed one)",
			strings.TrimSpace(fmt.Sprint(f)), MinCompression, MaxCompression)
	}
	return nil
}
