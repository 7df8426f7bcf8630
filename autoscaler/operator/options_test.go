package operator

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

func TestDefaultOptionsMatchTheOperator(t *testing.T) {
	o := DefaultOptions()
	checks := []struct {
		name      string
		got, want any
	}{
		{"enabled", o.Enabled, false},
		{"scaling.enabled", o.ScalingEnabled, true},
		{"metrics.window", o.MetricsWindow, 15 * time.Minute},
		{"stabilization.interval", o.StabilizationInterval, 5 * time.Minute},
		{"utilization.target", o.UtilizationTarget, 0.7},
		{"target.utilization.boundary", o.UtilizationBoundary, 0.3},
		{"utilization.max set", !math.IsNaN(o.UtilizationMax), false},
		{"utilization.min set", !math.IsNaN(o.UtilizationMin), false},
		{"scale-down.interval", o.ScaleDownInterval, time.Hour},
		{"vertex.min-parallelism", o.VertexMinParallelism, 1},
		{"vertex.max-parallelism", o.VertexMaxParallelism, 200},
		{"scale-down.max-factor", o.MaxScaleDownFactor, 0.6},
		{"scale-up.max-factor", o.MaxScaleUpFactor, 100000.0},
		{"catch-up.duration", o.CatchUpDuration, 30 * time.Minute},
		{"restart.time", o.RestartTime, 5 * time.Minute},
		{"restart.time-tracking.enabled", o.TrackRestartTime, false},
		{"restart.time-tracking.limit", o.RestartTimeLimit, 15 * time.Minute},
		{"backlog-processing.lag-threshold", o.BacklogLagThreshold, 5 * time.Minute},
		{"observed-true-processing-rate.lag-threshold", o.ObservedTPRLag, 30 * time.Second},
		{"observed-true-processing-rate.switch-threshold", o.ObservedTPRSwitch, 0.15},
		{"observed-true-processing-rate.min-observations", o.ObservedTPRMinObs, 2},
		{"scaling.effectiveness.detection.enabled", o.EffectivenessDetection, false},
		{"scaling.effectiveness.threshold", o.EffectivenessThreshold, 0.1},
		{"memory.gc-pressure.threshold", o.GCPressureThreshold, 1.0},
		{"memory.heap-usage.threshold", o.HeapUsageThreshold, 1.0},
		{"memory.tuning.enabled", o.MemoryTuning, false},
		{"memory.tuning.scale-down-compensation.enabled", o.MemoryScaling, true},
		{"memory.tuning.overhead", o.MemoryTuningOverhead, 0.2},
		{"memory.tuning.maximize-managed-memory", o.MaximizeManagedMemory, false},
		{"history.max.count", o.HistoryMaxCount, 3},
		{"history.max.age", o.HistoryMaxAge, 24 * time.Hour},
		{"metrics.busy-time.aggregator", o.BusyTimeAggregator, AggMax},
		{"scaling.event.interval", o.ScalingEventInterval, 30 * time.Minute},
		{"flink.rest-client.timeout", o.RestClientTimeout, 10 * time.Second},
		{"quota.memory set", o.HasMemoryQuota, false},
		{"quota.cpu set", o.HasCPUQuota, false},
		{"legacy adjust mode", o.LegacyAdjustMode, "EVENLY_SPREAD"},
		{"legacy adjust mode set", o.LegacyAdjustModeSet, false},
		{"alignment mode", o.AlignmentMode, "BALANCED"},
		{"alignment mode set", o.AlignmentModeSet, false},
		{"observed-scalability.enabled", o.ObservedScalability, false},
		{"observed-scalability.min-observations", o.ScalabilityMinObservations, 3},
		{"observed-scalability.coefficient-min", o.ScalabilityCoefficientMin, 0.5},
		{"variant", o.Variant, Variant116},
		{"time zone", o.Location.String(), "UTC"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(o.ExcludedPeriods)+len(o.VertexExcludeIDs)+len(o.CustomEvaluators)+len(o.CustomExecutors) != 0 {
		t.Error("list options default to empty")
	}
}

func TestOptionDefinitions(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range AllOptions {
		if o.Description == "" {
			t.Errorf("%s has no description", o.Key)
		}
		if seen[o.Key] {
			t.Errorf("%s defined twice", o.Key)
		}
		seen[o.Key] = true
		if strings.HasPrefix(o.Key, Prefix) && !slices.Contains(o.Keys(), LegacyPrefix+strings.TrimPrefix(o.Key, Prefix)) {
			t.Errorf("%s lacks the legacy fallback key", o.Key)
		}
	}
	if got := OptUtilizationTarget.String(); got != "Key: 'job.autoscaler.utilization.target' , default: 0.7 (fallback keys: [{key=kubernetes.operator.job.autoscaler.utilization.target, isDeprecated=false}, {key=kubernetes.operator.job.autoscaler.target.utilization, isDeprecated=false}, {key=job.autoscaler.target.utilization, isDeprecated=true}])" {
		t.Errorf("String() = %s", got)
	}
}

func parse(t *testing.T, kv ...string) (Options, error) {
	t.Helper()
	cfg := flinkconf.New()
	for i := 0; i < len(kv); i += 2 {
		cfg.Set(kv[i], kv[i+1])
	}
	return ParseOptions(cfg)
}

func TestFallbackAndDeprecatedKeys(t *testing.T) {
	cases := []struct {
		kv   []string
		want float64
	}{
		{[]string{"job.autoscaler.target.utilization", "0.5"}, 0.5},
		{[]string{"kubernetes.operator.job.autoscaler.target.utilization", "0.4"}, 0.4},
		{[]string{"kubernetes.operator.job.autoscaler.utilization.target", "0.3"}, 0.3},
		// Fallback keys are tried before the deprecated key, in declaration order.
		{[]string{"job.autoscaler.target.utilization", "0.5", "kubernetes.operator.job.autoscaler.target.utilization", "0.4"}, 0.4},
		{[]string{"kubernetes.operator.job.autoscaler.target.utilization", "0.4", "kubernetes.operator.job.autoscaler.utilization.target", "0.3"}, 0.3},
		{[]string{"job.autoscaler.utilization.target", "0.9", "kubernetes.operator.job.autoscaler.utilization.target", "0.3", "job.autoscaler.target.utilization", "0.5"}, 0.9},
	}
	for _, c := range cases {
		o, err := parse(t, c.kv...)
		if err != nil || o.UtilizationTarget != c.want {
			t.Errorf("%v: target %v (%v), want %v", c.kv, o.UtilizationTarget, err, c.want)
		}
	}
	o, err := parse(t, "job.autoscaler.scale-up.grace-period", "10 min")
	if err != nil || o.ScaleDownInterval != 10*time.Minute {
		t.Errorf("scale-up.grace-period is the deprecated scale-down.interval: %v %v", o.ScaleDownInterval, err)
	}
	o, err = parse(t, "kubernetes.operator.job.autoscaler.metrics.window", "3 min", "kubernetes.operator.job.autoscaler.enabled", "true")
	if err != nil || o.MetricsWindow != 3*time.Minute || !o.Enabled {
		t.Errorf("legacy prefix: %+v %v", o.MetricsWindow, err)
	}
	o, err = parse(t, "job.autoscaler.scaling.key-group.partitions.adjust.mode", "maximize_utilisation",
		"job.autoscaler.metrics.busy-time.aggregator", "avg")
	if err != nil || o.LegacyAdjustMode != "MAXIMIZE_UTILISATION" || !o.LegacyAdjustModeSet || o.BusyTimeAggregator != AggAvg {
		t.Errorf("enums are case-insensitive: %+v %v", o, err)
	}
	o, err = parse(t, "job.autoscaler.vertex.exclude.ids", "a; 'b;c' ;\"d\"\"e\"", "job.autoscaler.quota.memory", "2g", "job.autoscaler.quota.cpu", "3.5")
	if err != nil || !slices.Equal(o.VertexExcludeIDs, []string{"a", "b;c", `d"e`}) || o.MemoryQuota != 2<<30 || o.CPUQuota != 3.5 || !o.HasMemoryQuota || !o.HasCPUQuota {
		t.Errorf("lists and quotas: %q %v", o.VertexExcludeIDs, err)
	}
	o, err = parse(t, OptVariant.Key, "1.15", OptTimeZone.Key, "Europe/Berlin")
	if err != nil || o.Variant != Variant115 || o.Location.String() != "Europe/Berlin" {
		t.Errorf("variant/timezone: %v %v", o.Variant, err)
	}
	o, err = parse(t, OptVariant.Key, "1.10.0")
	if err != nil || o.Variant != Variant110 || !o.Variant.Pre116() || o.Variant.String() != "1.10" {
		t.Errorf("variant 1.10: %v %v", o.Variant, err)
	}
}

func TestParseErrorsNameKeyAndValue(t *testing.T) {
	cases := []struct {
		kv      []string
		key     string
		message string
	}{
		{[]string{"job.autoscaler.enabled", "3"}, "job.autoscaler.enabled", "Could not parse value '3' for key 'job.autoscaler.enabled'."},
		{[]string{"job.autoscaler.utilization.target", "high"}, "job.autoscaler.utilization.target", "Could not parse value 'high' for key 'job.autoscaler.utilization.target'."},
		{[]string{"kubernetes.operator.job.autoscaler.metrics.window", "5 fortnights"}, "job.autoscaler.metrics.window", "Could not parse value '5 fortnights' for key 'job.autoscaler.metrics.window'."},
		{[]string{"job.autoscaler.metrics.busy-time.aggregator", "P99"}, "job.autoscaler.metrics.busy-time.aggregator", "Expected one of: [[AVG, MAX, MIN]]"},
		{[]string{"job.autoscaler.vertex.exclude.ids", "'unclosed"}, "job.autoscaler.vertex.exclude.ids", "Quoting was not closed properly"},
		{[]string{OptVariant.Key, "2.0"}, OptVariant.Key, "expected 1.16 (main), 1.15 or 1.10"},
		{[]string{OptTimeZone.Key, "Mars/Olympus"}, OptTimeZone.Key, "IANA time zone"},
	}
	for _, c := range cases {
		_, err := parse(t, c.kv...)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Key != c.key || !strings.Contains(err.Error(), c.message) || !strings.Contains(err.Error(), c.kv[1]) {
			t.Errorf("%v: error %v", c.kv, err)
		}
	}
}

func TestValidation(t *testing.T) {
	on := []string{"job.autoscaler.enabled", "true"}
	cases := []struct {
		kv   []string
		want string // "" = valid
	}{
		{[]string{"job.autoscaler.scale-down.max-factor", "-0.1"}, "The AutoScalerOption job.autoscaler.scale-down.max-factor is invalid, it should be a value within the range [0.0, +Infinity]"},
		{[]string{"job.autoscaler.scale-down.max-factor", "1.5"}, ""},
		{[]string{"job.autoscaler.scale-up.max-factor", "-1"}, "job.autoscaler.scale-up.max-factor is invalid"},
		{[]string{"job.autoscaler.utilization.target", "1.01"}, "it should be a value within the range [0.0, 1.0]"},
		{[]string{"job.autoscaler.target.utilization.boundary", "-0.2"}, "job.autoscaler.target.utilization.boundary is invalid"},
		{[]string{"job.autoscaler.utilization.max", "0.6"}, "job.autoscaler.utilization.max is invalid, it should be a value within the range [0.7, 1.0]"},
		{[]string{"job.autoscaler.utilization.max", "0.7"}, ""},
		{[]string{"job.autoscaler.utilization.min", "0.8"}, "job.autoscaler.utilization.min is invalid, it should be a value within the range [0.0, 0.7]"},
		{[]string{"job.autoscaler.memory.gc-pressure.threshold", "1.1"}, "gc-pressure.threshold is invalid"},
		{[]string{"job.autoscaler.memory.heap-usage.threshold", "-1"}, "heap-usage.threshold is invalid"},
		// Feature options are validated only with their feature on.
		{[]string{"job.autoscaler.observed-scalability.coefficient-min", "0"}, ""},
		{[]string{"job.autoscaler.observed-scalability.coefficient-min", "0", "job.autoscaler.observed-scalability.enabled", "true"}, "range [0.01, 1.0]"},
		{[]string{"job.autoscaler.scaling.effectiveness.threshold", "2", "job.autoscaler.scaling.effectiveness.detection.enabled", "true"}, "scaling.effectiveness.threshold is invalid"},
		{[]string{"job.autoscaler.scaling.effectiveness.threshold", "2"}, ""},
		{[]string{"job.autoscaler.memory.tuning.overhead", "1.5", "job.autoscaler.memory.tuning.enabled", "true"}, "memory.tuning.overhead is invalid"},
		{[]string{"job.autoscaler.excluded.periods", "09:13:17-08:15:18"}, "neither a valid daily expression nor a valid cron expression"},
		{[]string{"job.autoscaler.excluded.periods", "* * * ? * 2,5 && * * 11-13 * * ?"}, "can not be configured as dailyExpression && dailyExpression or cronExpression && cronExpression"},
		{[]string{"job.autoscaler.excluded.periods", "a && b && c"}, "Invalid value a && b && c in the autoscaler config job.autoscaler.excluded.periods"},
		{[]string{"job.autoscaler.excluded.periods", "09:13:17-11:15:18;14:01:20-16:00:00"}, ""},
	}
	for _, c := range cases {
		_, err := parse(t, append(append([]string{}, on...), c.kv...)...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: unexpected %v", c.kv, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want %q", c.kv, err, c.want)
		}
		// Nothing is validated while the autoscaler is disabled.
		if _, err := parse(t, c.kv...); err != nil {
			t.Errorf("%v disabled: %v", c.kv, err)
		}
	}
	_, err := parse(t, append(on, "job.autoscaler.utilization.target", "1.5")...)
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Key != "job.autoscaler.utilization.target" || oe.Value != "1.5" || !strings.HasSuffix(err.Error(), "(got '1.5')") {
		t.Errorf("validation errors name the key and the value: %#v", err)
	}
}

func TestSplitEscaped(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"a;b", []string{"a", "b"}, false},
		{" a ; b ", []string{"a", "b"}, false},
		{"a;;b", []string{"a", "", "b"}, false},
		{";a", []string{"a"}, false},
		{"'a;b';c", []string{"a;b", "c"}, false},
		{`"it''s";'it''s'`, []string{"it''s", "it's"}, false},
		{"'a'b", nil, true},
		{"'a", nil, true},
		{"", nil, false},
	}
	for _, c := range cases {
		got, err := splitEscaped(c.in, ';')
		if (err != nil) != c.err || (!c.err && !slices.Equal(got, c.want)) {
			t.Errorf("splitEscaped(%q) = %q, %v", c.in, got, err)
		}
	}
	m, err := parseMapOption(`v1:3,"'v:2':4"`)
	if err != nil || m["v1"] != "3" || m["v:2"] != "4" {
		t.Errorf("map option %v %v", m, err)
	}
	if _, err := parseMapOption("v1"); err == nil {
		t.Error("a map item without ':' is an error")
	}
}

func FuzzParseOptions(f *testing.F) {
	f.Add("job.autoscaler.utilization.target", "0.5", "job.autoscaler.enabled", "true")
	f.Add("job.autoscaler.excluded.periods", "* * 9-17 ? * MON-FRI && 09:00-10:00", "job.autoscaler.enabled", "true")
	f.Add("job.autoscaler.vertex.exclude.ids", "'a;b';\"c\"", "job.autoscaler.scale-down.interval", "-1")
	f.Add("kubernetes.operator.job.autoscaler.utilization.max", "NaN", "job.autoscaler.enabled", "TRUE")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		cfg := flinkconf.New()
		cfg.Set(k1, v1)
		cfg.Set(k2, v2)
		o, err := ParseOptions(cfg)
		if err != nil {
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Key == "" {
				t.Fatalf("errors must name the key: %v", err)
			}
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("parsed options must validate: %v", err)
		}
		for _, p := range o.ExcludedPeriods {
			if _, err := ParseExcludedPeriod(p); err != nil {
				t.Fatalf("validated period %q fails to parse", p)
			}
		}
	})
}

// Several bad settings are all named, in the order the options are declared, each in the
// operator's words (Flink's message, then the value).
func TestParseNamesEveryBadKey(t *testing.T) {
	_, err := parse(t, OptTimeZone.Key, "Mars/Olympus", "job.autoscaler.metrics.busy-time.aggregator", "P99",
		"job.autoscaler.utilization.target", "high", "kubernetes.operator.job.autoscaler.enabled", "3")
	var es OptionErrors
	if !errors.As(err, &es) {
		t.Fatalf("error %#v is not OptionErrors", err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	want := []string{"job.autoscaler.enabled", "job.autoscaler.utilization.target", "job.autoscaler.metrics.busy-time.aggregator", OptTimeZone.Key}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if got := es[0].Error(); got != "Could not parse value '3' for key 'job.autoscaler.enabled'. Cause: Unrecognized option for boolean: 3. Expected either true or false(case insensitive) (got '3')" {
		t.Errorf("first error %q", got)
	}
	if msg := err.Error(); strings.Count(msg, "; ") != 3 || strings.Contains(msg, "\n") {
		t.Errorf("one line, four errors: %s", msg)
	}
}

// Every option out of range is named, in the validator's order.
func TestValidateNamesEveryBadKey(t *testing.T) {
	_, err := parse(t, "job.autoscaler.enabled", "true", "job.autoscaler.excluded.periods", "a && b && c",
		"job.autoscaler.memory.heap-usage.threshold", "-1", "job.autoscaler.scale-down.max-factor", "-0.1")
	var es OptionErrors
	if !errors.As(err, &es) || len(es) != 3 {
		t.Fatalf("error %v, want three", err)
	}
	for i, key := range []string{"job.autoscaler.scale-down.max-factor", "job.autoscaler.memory.heap-usage.threshold", "job.autoscaler.excluded.periods"} {
		if es[i].Key != key {
			t.Errorf("error %d names %s, want %s", i, es[i].Key, key)
		}
	}
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Key != "job.autoscaler.scale-down.max-factor" || oe.Value != "-0.1" {
		t.Errorf("errors.As finds the first: %#v", oe)
	}
}
