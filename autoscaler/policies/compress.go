package policies

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/tuning"
)

// wallClock reports whether a duration option bounds a call on the wall clock (a REST
// timeout) or Flink's own time (a scale-up's wait for TaskManagers to start) rather than
// measuring job time: compression leaves it alone.
func wallClock(key string) bool {
	return strings.Contains(key, "timeout") || key == flinktune.OptSlotWait.Key
}

// IsTimelineDuration reports whether key (at any of its names) is a duration option of a
// policy or the memory tuner that measures job time (a window, an interval, a delay):
// compressing a scenario divides it (scenarios/FORMAT.md, "Time scale").
func IsTimelineDuration(key string) bool {
	for _, o := range KnownOptions() {
		if o.Type == flinkconf.TypeDuration && !wallClock(o.Key) {
			for _, k := range o.Keys() {
				if k == key {
					return true
				}
			}
		}
	}
	return false
}

// policyOptions are the options the named policy reads, its own first (the policies give the
// same keys different defaults).
func policyOptions(policy string) []flinkconf.Option {
	if strings.EqualFold(policy, flinktune.Name) {
		return append(append([]flinkconf.Option{}, flinktune.AllOptions...), tuning.AllOptions...)
	}
	return append(append([]flinkconf.Option{}, operator.AllOptions...), tuning.AllOptions...)
}

// Compress runs the named policy's clocks f times faster: every job-time duration option it
// (and the memory tuner) reads, at the value cfg gives or else the policy's default, is
// divided by f and written into cfg at its main key. This is flinktune run --compress, the
// counterpart of a scenario compressed by f on a real Flink.
func Compress(cfg *flinkconf.Config, policy string, f float64) error {
	if math.IsNaN(f) || f < 1 || f > 1000 {
		return fmt.Errorf("--compress %v: want a factor between 1 and 1000", f)
	}
	done := map[string]bool{}
	for _, o := range policyOptions(policy) {
		if o.Type != flinkconf.TypeDuration || wallClock(o.Key) || done[o.Key] {
			continue
		}
		done[o.Key] = true
		d, ok, err := cfg.Duration(o)
		if err != nil {
			return err
		}
		if !ok || d <= 0 {
			continue // unset without a default, or off
		}
		ms := int64(math.Round(float64(d) / f / float64(time.Millisecond)))
		_, key, found := cfg.Lookup(o)
		if !found {
			key = o.Key
		}
		cfg.Set(key, flinkconf.FormatDuration(time.Duration(max(1, ms))*time.Millisecond))
	}
	return nil
}
