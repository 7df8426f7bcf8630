package operator

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// The examples of reference/autoscaler.md §6.
func TestAlignmentExamples(t *testing.T) {
	cases := []struct {
		name                         string
		conf                         map[string]string
		current, target, parts, maxP int
		lower, upper                 int
		ships                        []string
		want, limitedEvents          int
	}{
		{"BALANCED reduces load", nil, 16, 24, 0, 128, 1, math.MaxInt32, []string{ShipHash}, 26, 0},
		{"EVENLY_SPREAD divisor", map[string]string{"scaling.parallelism-alignment.mode": "EVENLY_SPREAD"}, 16, 24, 0, 128, 1, math.MaxInt32, []string{ShipHash}, 32, 0},
		{"OFF", map[string]string{"scaling.parallelism-alignment.mode": "OFF"}, 16, 24, 0, 128, 1, math.MaxInt32, []string{ShipHash}, 24, 0},
		{"not applicable without HASH or partitions", nil, 16, 24, 0, 128, 1, math.MaxInt32, []string{ShipRebalance}, 24, 0},
		{"legacy MAXIMIZE_UTILISATION", map[string]string{"scaling.key-group.partitions.adjust.mode": "MAXIMIZE_UTILISATION"}, 10, 25, 0, 128, 1, 128, []string{ShipHash}, 26, 0},
		{"legacy partitions scale-down", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 6, 3, 15, 128, 1, math.MaxInt32, nil, 3, 0},
		{"legacy partitions scale-up", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 7, 9, 15, 128, 1, math.MaxInt32, nil, 15, 0},
		{"legacy relaxed search", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 20, 18, 35, 30, 1, math.MaxInt32, nil, 18, 0},
		{"legacy blocks", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 22, 25, 35, 30, 20, math.MaxInt32, nil, 22, 1},
		{"main EVENLY_SPREAD does not block", map[string]string{"scaling.parallelism-alignment.mode": "EVENLY_SPREAD"}, 22, 25, 35, 30, 20, math.MaxInt32, nil, 25, 0},
		{"main BALANCED does not block", nil, 22, 25, 35, 30, 20, math.MaxInt32, nil, 25, 0},
		{"legacy 200 partitions", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 80, 112, 200, 128, 1, math.MaxInt32, nil, 100, 1},
		{"legacy prime 199", map[string]string{"scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}, 24, 96, 199, math.MaxInt32, 1, math.MaxInt32, nil, 199, 0},
		{"legacy prime 199 maximize", map[string]string{"scaling.key-group.partitions.adjust.mode": "MAXIMIZE_UTILISATION"}, 24, 96, 199, math.MaxInt32, 1, math.MaxInt32, nil, 100, 0},
		{"partition cap regression (BALANCED)", nil, 10, 20, 15, 720, 1, 200, nil, 20, 0},
		{"1.15 default is blocking EVENLY_SPREAD", map[string]string{"flinktune.operator.variant": "1.15"}, 22, 25, 35, 30, 20, math.MaxInt32, nil, 22, 1},
		{"1.15 ignores the new key", map[string]string{"flinktune.operator.variant": "1.15", "scaling.parallelism-alignment.mode": "OFF"}, 10, 20, 15, 720, 1, 200, nil, 15, 1},
		{"unknown mode falls back to BALANCED", map[string]string{"scaling.parallelism-alignment.mode": "balanced"}, 16, 24, 0, 128, 1, math.MaxInt32, []string{ShipHash}, 26, 0},
	}
	for _, c := range cases {
		cfg := flinkconf.New()
		for k, v := range c.conf {
			if !strings.HasPrefix(k, "flinktune.") {
				k = Prefix + k
			}
			cfg.Set(k, v)
		}
		o, err := ParseOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cy, events := testCycle(&o, t0)
		got := cy.align("v", c.current, c.target, c.parts, c.maxP, c.lower, c.upper, c.ships, &EvaluatedSet{})
		if got != c.want || countReason(*events, ReasonScalingLimited) != c.limitedEvents {
			t.Errorf("%s: %d with %d ScalingLimited events, want %d with %d", c.name, got, countReason(*events, ReasonScalingLimited), c.want, c.limitedEvents)
		}
	}
}

func TestScalingLimitedEventText(t *testing.T) {
	o, _ := ParseOptions(flinkconf.FromMap(map[string]string{Prefix + "scaling.key-group.partitions.adjust.mode": "EVENLY_SPREAD"}))
	cy, events := testCycle(&o, t0)
	cy.align("v1", 10, 20, 15, 720, 1, 200, nil, &EvaluatedSet{})
	if len(*events) != 1 {
		t.Fatalf("events %+v", *events)
	}
	e := (*events)[0]
	want := "Scaling limited detected for v1 (expected parallelism: 20, actual parallelism 15). Scaling limited due to numKeyGroupsOrPartitions : 15，upperBoundForAlignment(maxParallelism or parallelismUpperLimit): 200, parallelismLowerLimit: 1."
	if e.Message != want || e.Key != "ScalingLimitedv1" || e.Type != "Warning" || e.Interval != 30*time.Minute {
		t.Errorf("event %+v", e)
	}
}

// keyGroupsMode is a custom alignment mode: it rounds up to a multiple of its "step" parameter.
type keyGroupsMode struct{ seen *AlignmentContext }

func (m *keyGroupsMode) IsApplicable(*AlignmentContext) bool { return true }

func (m *keyGroupsMode) AlignParallelism(ctx *AlignmentContext) int {
	m.seen = ctx
	step, _, _ := ctx.Conf.Int(flinkconf.Option{Key: "step", Type: flinkconf.TypeInt, Default: "1", HasDefault: true})
	s := int(step)
	return (ctx.New + s - 1) / s * s
}

func TestCustomAlignmentMode(t *testing.T) {
	mode := &keyGroupsMode{}
	o, err := ParseOptions(flinkconf.FromMap(map[string]string{
		Prefix + "scaling.parallelism-alignment.mode":                   "steps",
		LegacyPrefix + "scaling.parallelism-alignment.mode.steps.class": "com.example.Steps",
		LegacyPrefix + "scaling.parallelism-alignment.mode.steps.step":  "3",
		Prefix + "scaling.parallelism-alignment.mode.steps.step":        "4",
	}))
	if err != nil {
		t.Fatal(err)
	}
	o.Plugins.AlignmentModes = map[string]AlignmentMode{"com.example.Steps": mode}
	cy, _ := testCycle(&o, t0)
	// Applies even to a vertex without HASH inputs; the canonical parameter wins over the legacy one.
	if got := cy.align("v", 2, 5, 0, 128, 1, 200, []string{ShipForward}, &EvaluatedSet{}); got != 8 {
		t.Errorf("custom mode: %d", got)
	}
	if mode.seen == nil || mode.seen.Current != 2 || mode.seen.UpperLimit != 200 {
		t.Errorf("context %+v", mode.seen)
	}
	o.Plugins.AlignmentModes = nil
	if got := resolveAlignmentMode(&o); got != builtinMode(AlignBalanced) {
		t.Errorf("an unregistered class falls back to BALANCED, got %v", got)
	}
}

// The 1.15 variant's other two differences (§1 rows 2 and 3).
func TestVariant115(t *testing.T) {
	var h History
	for i, in := range []float64{0, 100} { // counter rate 100/s, gauge mean 50/s
		s := &Sample{Time: t0.Add(time.Duration(i) * time.Second), Vertices: map[string]*Values{"v": {}}}
		s.Vertices["v"].Set(MetricNumRecordsIn, in)
		s.Vertices["v"].Set(MetricNumRecordsInPerSecond, []float64{40, 60}[i])
		s.Vertices["v"].Set(MetricLoad, 0.5)
		s.Vertices["v"].Set(MetricNumRecordsOut, in)
		h = h.put(s)
	}
	top, _ := NewTopology([]*VertexInfo{{ID: "u", Parallelism: 1, MaxParallelism: 1}, {ID: "v", Parallelism: 2, MaxParallelism: 128, Inputs: []Input{{"u", ShipRebalance}}}})
	for i := range h {
		h[i].Vertices["u"] = &Values{}
		h[i].Vertices["u"].Set(MetricNumRecordsIn, float64(i)*100)
		h[i].Vertices["u"].Set(MetricLoad, 0.5)
		h[i].Vertices["u"].Set(MetricLag, 0)
	}
	for _, c := range []struct {
		variant string
		tpr     float64
	}{{"1.16", 100}, {"1.15", 200}} {
		o, _ := ParseOptions(flinkconf.FromMap(map[string]string{OptVariant.Key: c.variant}))
		em, err := Evaluate(&o, top, h, time.Minute, "job")
		if err != nil {
			t.Fatal(err)
		}
		if got := em.Vertices["v"].Average(MetricTrueProcessingRate); got != c.tpr {
			t.Errorf("%s: TPR %v, want %v", c.variant, got, c.tpr)
		}
	}
	// Expected processing rate: 1.16 TPR/p×p', 1.15 TPR × capped factor. TPR 10 at p 10,
	// target 200, max factor 0.4 (14), aligned to 15 (a divisor of 720 key groups).
	for _, c := range []struct {
		variant  string
		expected float64
	}{{"1.16", 15}, {"1.15", 14}} {
		o, _ := ParseOptions(flinkconf.FromMap(map[string]string{OptVariant.Key: c.variant, Prefix + "scale-up.max-factor": "0.4",
			Prefix + "utilization.target": "1", Prefix + "catch-up.duration": "0", Prefix + "scaling.parallelism-alignment.mode": "EVENLY_SPREAD"}))
		m := evaluatedVertex(&o, 10, 720, 0, 200, 0, 10, 0)
		cy, _ := testCycle(&o, t0)
		ch, err := cy.computeScaleTargetParallelism("v", []string{ShipHash}, m, nil, 0, NewDelayedScaleDown())
		if err != nil {
			t.Fatal(err)
		}
		if ch.New != 15 || m.Current(MetricExpectedProcessingRate) != c.expected {
			t.Errorf("%s: %d, expected rate %v, want %v", c.variant, ch.New, m.Current(MetricExpectedProcessingRate), c.expected)
		}
	}
}

// The delayed scale-down deque of §7.
func TestDelayedScaleDownDeque(t *testing.T) {
	d := NewDelayedScaleDown()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	d.trigger("v", at(0), 80, false)
	d.trigger("v", at(10), 90, false) // evicts 80
	d.trigger("v", at(40), 72, true)
	d.trigger("v", at(59), 64, false)
	info := d.trigger("v", at(60), 70, true) // evicts 64
	if info.FirstTriggerTime != at(0) || len(info.Recommended) != 3 {
		t.Fatalf("deque %+v", info)
	}
	best, err := info.maxRecommended(at(0))
	if err != nil || best.Parallelism != 90 || best.OutsideUtilizationBound {
		t.Errorf("max %+v %v", best, err)
	}
	best, _ = info.maxRecommended(at(11)) // 90 leaves the window
	if best.Parallelism != 72 || !best.OutsideUtilizationBound {
		t.Errorf("max after eviction %+v", best)
	}
	d.clearVertex("v")
	if _, err := (&VertexDelayedScaleDown{}).maxRecommended(at(0)); err == nil || len(d.Vertices) != 0 || !d.updated {
		t.Error("cleared")
	}
}

// Release 1.10.0's delayed scale-down: optional (a change that never opens the job-wide gate)
// until scale-down.interval has passed since the first recommendation, then required with the
// latest recommendation — not the window's maximum of 1.15.
func TestDelayedScaleDown110(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	cases := []struct {
		variant string
		steps   []struct {
			t, newP     int
			wantNew     int
			wantOutside bool
		}
	}{
		{"1.10", []struct {
			t, newP     int
			wantNew     int
			wantOutside bool
		}{{0, 8, 8, false}, {30, 9, 9, false}, {60, 6, 6, true}, {70, 7, 7, true}}},
		{"1.15", []struct {
			t, newP     int
			wantNew     int
			wantOutside bool
		}{{0, 8, 10, false}, {30, 9, 10, false}, {60, 6, 9, true}, {70, 7, 9, true}}},
	}
	for _, c := range cases {
		o, _ := ParseOptions(flinkconf.FromMap(map[string]string{OptVariant.Key: c.variant, Prefix + "scale-down.interval": "60s"}))
		dsd := NewDelayedScaleDown()
		for _, s := range c.steps {
			cy, _ := testCycle(&o, at(s.t))
			ch, err := cy.applyScaleDownInterval(dsd, "v", s.newP, 10, true)
			if err != nil || ch.New != s.wantNew || ch.OutsideUtilizationBound != s.wantOutside {
				t.Errorf("%s at %ds: recommended %d -> %+v %v, want new %d outside %v", c.variant, s.t, s.newP, ch, err, s.wantNew, s.wantOutside)
			}
		}
	}
}

// Release 1.10.0's alignment against 1.15's legacy EVENLY_SPREAD: a source with a prime
// partition count above the target, a source running above its partition count, keyed vertices.
func TestAlign110(t *testing.T) {
	cases := []struct {
		name                       string
		current, newP, parts, maxP int
		lower, upper               int
		want110                    int
	}{
		{"prime partitions, scale down: fallback, not back to 31", 31, 11, 31, 128, 1, 200, 11},
		{"prime partitions, scale up: fallback below the divisor", 5, 7, 31, 128, 1, 200, 7},
		{"above the partition count", 14, 6, 3, 128, 1, 200, 3},
		{"key groups: next divisor up to N/2", 14, 6, 0, 128, 1, 200, 8},
		{"key groups: target above N/2 scans to N", 10, 70, 0, 128, 1, 200, 128},
		{"upper limit stops the scan", 10, 70, 0, 128, 1, 100, 64},
		{"partitions: a divisor above N/2 when the target is", 10, 7, 11, 128, 1, 200, 11},
		{"partitions: fallback when no divisor up to N/2", 10, 4, 11, 128, 1, 200, 4},
	}
	for _, c := range cases {
		ctx := &AlignmentContext{Vertex: "v", Current: c.current, New: c.newP, NumSourcePartitions: c.parts, MaxParallelism: c.maxP,
			LowerLimit: c.lower, UpperLimit: c.upper, InputShips: []string{ShipHash}}
		limited := 0
		if got := align110(ctx, func(int) { limited++ }); got != c.want110 {
			t.Errorf("%s: %d, want %d", c.name, got, c.want110)
		}
	}
}
