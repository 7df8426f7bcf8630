package flinktune

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

func TestParseOptionsBadKeyEachType(t *testing.T) {
	for _, c := range []struct{ key, value, want string }{
		{"job.autoscaler.scaling.enabled", "maybe", `job.autoscaler.scaling.enabled: invalid value "maybe" (Could not parse value 'maybe' for key 'job.autoscaler.scaling.enabled'. Cause: Unrecognized option for boolean: maybe`},
		{"job.autoscaler.utilization.target", "high", `job.autoscaler.utilization.target: invalid value "high" (Could not parse value 'high' for key 'job.autoscaler.utilization.target'. Cause: For input string: "high")`},
		{"job.autoscaler.vertex.max-parallelism", "lots", `job.autoscaler.vertex.max-parallelism: invalid value "lots" (Could not parse value 'lots'`},
		// A deprecated key is named as given.
		{"kubernetes.operator.flinktune.lag.max", "1 fortnight", `kubernetes.operator.flinktune.lag.max: invalid value "1 fortnight" (Could not parse value '1 fortnight' for key 'flinktune.lag.max'. Cause: Time interval unit label 'fortnight'`},
		{"job.autoscaler.utilization.target", "0", `job.autoscaler.utilization.target: invalid value "0" (must be in (0, 1])`},
	} {
		_, err := ParseOptions(flinkconf.FromMap(map[string]string{c.key: c.value}))
		if err == nil || !strings.HasPrefix(err.Error(), "invalid flinktune policy options: "+c.want) {
			t.Errorf("%s=%s: error\n %v\nwant prefix\n %s", c.key, c.value, err, c.want)
		}
	}
}

// Several bad settings, some not parsing and some out of range, are all named in the order the
// options are declared.
func TestParseOptionsNamesEveryBadKey(t *testing.T) {
	_, err := ParseOptions(flinkconf.FromMap(map[string]string{
		"flinktune.lag.max":                                 "0 s",
		"job.autoscaler.vertex.min-parallelism":             "0",
		"kubernetes.operator.job.autoscaler.metrics.window": "ten minutes",
		"job.autoscaler.utilization.target":                 "high",
		"job.autoscaler.scaling.enabled":                    "maybe",
	}))
	var es flinkconf.OptionErrors
	if !errors.As(err, &es) {
		t.Fatalf("error %#v is not OptionErrors", err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := []string{"job.autoscaler.scaling.enabled", "job.autoscaler.utilization.target",
		"kubernetes.operator.job.autoscaler.metrics.window", "job.autoscaler.vertex.min-parallelism", "flinktune.lag.max"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	// The band is not checked against a target that did not parse.
	if strings.Contains(err.Error(), "utilization.max") || strings.Contains(err.Error(), "utilization.min") {
		t.Errorf("band checked against a bad target: %v", err)
	}
	if !strings.Contains(err.Error(), `job.autoscaler.vertex.min-parallelism: invalid value "0" (must be at least 1); flinktune.lag.max: invalid value "0 s" (must be positive)`) {
		t.Errorf("range errors: %v", err)
	}
}
