package tuning

import (
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
)

// Every bad setting is named, values that do not parse and values out of range alike, in
// AllOptions' order, each with what is accepted.
func TestParseOptionsNamesEveryBadKey(t *testing.T) {
	_, err := ParseOptions(flinkconf.FromMap(map[string]string{
		"flinktune.rollback.hold":                                  "-1 s",
		"flinktune.memory.tuning.half-life":                        "soon",
		"flinktune.memory.tuning.percentile":                       "1.5",
		"kubernetes.operator.job.autoscaler.memory.tuning.enabled": "yes",
		"flinktune.memory.tuning.network.headroom":                 "x2",
		"flinktune.memory.tuning.gc-pressure.threshold":            "0",
	}))
	want := `invalid memory tuning options: ` +
		`kubernetes.operator.job.autoscaler.memory.tuning.enabled: invalid value "yes" (want true or false); ` +
		`flinktune.memory.tuning.percentile: invalid value "1.5" (must be in (0, 1]); ` +
		`flinktune.memory.tuning.half-life: invalid value "soon" (want a duration such as 30 s, 5 min or 24 h); ` +
		`flinktune.memory.tuning.network.headroom: invalid value "x2" (want a number); ` +
		`flinktune.memory.tuning.gc-pressure.threshold: invalid value "0" (must be in (0, 1]); ` +
		`flinktune.rollback.hold: invalid value "-1 s" (want a duration such as 30 s, 5 min or 24 h)`
	if err == nil || err.Error() != want {
		t.Errorf("error\n %v\nwant\n %s", err, want)
	}
}
