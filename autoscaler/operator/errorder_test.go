package operator

import (
	"errors"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

// badValue is a value option o cannot be read from ("" for an option every value reads:
// the alignment mode takes custom names).
func badValue(o flinkconf.Option) string {
	switch o.Key {
	case OptExcludedPeriods.Key, OptVertexExcludeIDs.Key, OptCustomEvaluators.Key, OptCustomExecutors.Key:
		return "'unclosed" // a ';' list with an open quote
	case OptBusyTimeAggregator.Key, OptLegacyAdjustMode.Key:
		return "P99" // no such enum constant
	case OptAlignmentMode.Key:
		return ""
	case OptVariant.Key:
		return "2.0"
	case OptTimeZone.Key:
		return "Mars/Olympus"
	}
	switch o.Type {
	case flinkconf.TypeBool:
		return "maybe"
	case flinkconf.TypeDuration:
		return "5 fortnights"
	case flinkconf.TypeMemorySize:
		return "lots"
	case flinkconf.TypeDouble, flinkconf.TypeFloat, flinkconf.TypeInt, flinkconf.TypeLong:
		return "many"
	}
	return ""
}

// With several unreadable options the error names the first in AllOptions' order, the order
// they are declared and read in, whatever else is bad: a user who fixes errors one at a time
// walks the list from the top. Checked for every pair of options. (The operator reads options
// where it uses them; its DefaultAutoscalerValidator reports an unreadable validated number in
// its own list's order as "Invalid value in the autoscaler config <key>", so for two unreadable
// validated numbers, e.g. utilization.target and scale-down.max-factor, it names the other
// one; recorded, not changed.)
func TestFirstBadOptionInListedOrder(t *testing.T) {
	var bad []flinkconf.Option
	for _, o := range AllOptions {
		if badValue(o) == "" {
			continue
		}
		// Each bad value alone is an error naming its option.
		cfg := flinkconf.New()
		cfg.Set(o.Key, badValue(o))
		var oe *OptionError
		if _, err := ParseOptions(cfg); !errors.As(err, &oe) || oe.Key != o.Key {
			t.Errorf("%s = %q alone: error %v, want one naming it", o.Key, badValue(o), err)
			continue
		}
		bad = append(bad, o)
	}
	if len(bad) < len(AllOptions)-1 { // all but the alignment mode
		t.Fatalf("only %d of %d options have a bad value that reads as one", len(bad), len(AllOptions))
	}
	wrong := 0
	for i, first := range bad {
		for _, later := range bad[i+1:] {
			cfg := flinkconf.New()
			cfg.Set(later.Key, badValue(later)) // set order does not matter
			cfg.Set(first.Key, badValue(first))
			var oe *OptionError
			if _, err := ParseOptions(cfg); !errors.As(err, &oe) || oe.Key != first.Key {
				t.Errorf("%s and %s both bad: the error names %v, want %s", first.Key, later.Key, keyOf(err), first.Key)
				if wrong++; wrong == 5 {
					t.Fatal("(more pairs not checked)")
				}
			}
		}
	}
}

// Range checks run after every option is read, in Validate's list, which begins as the
// operator's DefaultAutoscalerValidator's firstPresent list (scale-down factor, scale-up
// factor, utilization target, its boundary) and goes on with utilization max and min and the
// memory thresholds.
func TestParseErrorsBeforeRangeErrors(t *testing.T) {
	on := []string{OptEnabled.Key, "true"}
	tests := []struct {
		name string
		kv   []string
		want string // the key the error names
	}{
		{"an unreadable option after an out-of-range one", []string{OptUtilizationTarget.Key, "1.5", OptTimeZone.Key, "Mars/Olympus"}, OptTimeZone.Key},
		{"validator order: scale-down before target", []string{OptUtilizationTarget.Key, "1.5", OptMaxScaleDownFactor.Key, "-1"}, OptMaxScaleDownFactor.Key},
		{"validator order: target before boundary", []string{OptUtilizationBoundary.Key, "-1", OptUtilizationTarget.Key, "1.5"}, OptUtilizationTarget.Key},
		{"validator order: heap usage after gc pressure", []string{OptHeapUsageThreshold.Key, "2", OptGCPressureThreshold.Key, "2"}, OptGCPressureThreshold.Key},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, append(append([]string{}, on...), tc.kv...)...)
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Key != tc.want {
				t.Errorf("the error names %v, want %s (%v)", keyOf(err), tc.want, err)
			}
		})
	}
}

// keyOf is the key an option error names, or the error itself.
func keyOf(err error) any {
	var oe *OptionError
	if errors.As(err, &oe) {
		return oe.Key
	}
	return err
}
