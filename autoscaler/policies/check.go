package policies

import (
	"errors"
	"fmt"
	"strings"

	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/tuning"
)

// OptPolicy picks a job's policy (the control loop's default otherwise).
var OptPolicy = flinkconf.Option{Key: "flinktune.policy", Type: flinkconf.TypeString,
	Description: "Scaling policy of the job: " + "flinktune or operator (default: flinktune run --policy)."}

// checkedPrefixes are the namespaces whose every key must be a known option: a misspelt key
// there would otherwise be ignored silently and its default used.
var checkedPrefixes = []string{operator.Prefix, operator.LegacyPrefix, "flinktune."}

// dynamicPrefixes hold keys named by the user (custom evaluators and executors).
var dynamicPrefixes = []string{"metrics.custom-evaluator.", "scaling.custom-executor."}

// KnownOptions lists every option of the job.autoscaler.* and flinktune.* namespaces that some
// policy, the memory tuner or the control loop reads.
func KnownOptions() []flinkconf.Option {
	var all []flinkconf.Option
	all = append(all, operator.AllOptions...)
	all = append(all, flinktune.AllOptions...)
	all = append(all, tuning.AllOptions...)
	return append(all, OptTuner, OptPolicy)
}

// Check validates the job.autoscaler.* and flinktune.* options of cfg for the named policies
// (all of them when none is named): every key must be known (a misspelling gets a "did you
// mean") and every value must parse and lie in its range, whether or not the autoscaler is
// enabled yet. Other keys pass untouched. Errors name the key and the value.
func Check(cfg *flinkconf.Config, names ...string) error {
	var errs []error
	known := map[string]bool{}
	var keys []string
	for _, o := range KnownOptions() {
		for _, k := range o.Keys() {
			if !known[k] {
				known[k] = true
				keys = append(keys, k)
			}
		}
	}
	for _, key := range cfg.Keys() {
		if known[key] || !hasAnyPrefix(key, checkedPrefixes) || isDynamic(key) {
			continue
		}
		if best, ok := flinkconf.Closest(key, keys); ok {
			errs = append(errs, fmt.Errorf("unknown option %s: did you mean %s?", key, best))
		} else {
			errs = append(errs, fmt.Errorf("unknown option %s: no policy reads it (see the job.autoscaler.* and flinktune.* options in `go doc ./autoscaler/operator` and `go doc ./autoscaler/flinktune`)", key))
		}
	}
	if v, ok := cfg.String(OptPolicy); ok && !Valid(v) {
		errs = append(errs, fmt.Errorf("%s: invalid value %q (want one of %s)", OptPolicy.Key, v, strings.Join(Names(), ", ")))
	}
	if len(names) == 0 {
		names = Names()
	}
	// Values are checked as an enabled autoscaler checks them: ranges apply only then.
	on := cfg.Clone()
	on.Set(operator.OptEnabled.Key, "true")
	if v, ok := cfg.Get(operator.OptEnabled.Key); ok {
		if _, _, e := cfg.Bool(operator.OptEnabled); e != nil {
			errs = append(errs, fmt.Errorf("%s: invalid value %q (want true or false)", operator.OptEnabled.Key, v))
		}
	}
	seen := map[string]bool{}
	for _, name := range names {
		if _, err := New(name, on); err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func hasAnyPrefix(key string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func isDynamic(key string) bool {
	for _, p := range []string{operator.Prefix, operator.LegacyPrefix} {
		if rest, ok := strings.CutPrefix(key, p); ok && hasAnyPrefix(rest, dynamicPrefixes) {
			return true
		}
	}
	return false
}
