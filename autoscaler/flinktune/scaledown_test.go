package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// A low level of 45 minutes: the demand counts as low once the window's peak has left the
// waited-for span (about 19 minutes after the step down), so the scale-down came at 69 minutes,
// and the step back up at 75 reversed it (gen-44, 62, 161's shape). A flat level now waits
// settle, which this one does not last; the job is never restarted.
func TestFlatLevelWaitsForSettle(t *testing.T) {
	rate := func(el time.Duration) float64 {
		if el >= 30*time.Minute && el < 75*time.Minute {
			return 3000
		}
		return 16000
	}
	j := newToy(rate, &toyVertex{id: "src", p: 2, capacity: 20000, sel: 1}, &toyVertex{id: "map", p: 5, capacity: 5000, sel: 1, maxP: 128})
	r := run(t, New(DefaultOptions()), j, 2*time.Hour)
	if len(r.rescales) != 0 {
		t.Errorf("a 45-minute low level must not cause a scale-down (settle 35 min): rescales at %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
}

func TestDownWait(t *testing.T) {
	o := DefaultOptions()
	p := New(o)
	long := max(o.ScaleDownInterval, o.Settle)
	// ingest 10000/s; over settle (2100 s) a slope of -1/s sheds 21%, -0.2/s 4%.
	tests := []struct {
		name    string
		ingest  float64
		slope   float64
		surplus bool
		want    time.Duration
	}{
		{"flat level waits settle", 10000, 0, false, long},
		{"rising demand waits settle", 10000, 2, false, long},
		{"slight fall is a level", 10000, -0.2, false, long},
		{"falling demand (an evening) waits the interval", 10000, -1, false, o.ScaleDownInterval},
		{"catch-up surplus waits the interval", 10000, 0, true, o.ScaleDownInterval},
		{"no demand is no trend", 0, -1, false, long},
	}
	for _, tc := range tests {
		e := &evaluation{ingest: tc.ingest, slope: tc.slope}
		if got := p.downWait(e, tc.surplus); got != tc.want {
			t.Errorf("%s: waits %v, want %v", tc.name, got, tc.want)
		}
	}
}

// afterRealSpike is real Flink 2.2.1's state in TestAutoscaleScenario 40 s after the ×3 load
// fell back to 60/s (stop 24's fourth run, from its controller store): the source raised to 3
// by busy time a loaded machine inflated (220/s per subtask), the work vertex at 4 with 70/s
// per subtask (81/s at p = 1), a learned restart downtime of 35 s, and the test's compressed
// windows (catch-up 1 min, settle and scale-down.interval 30 s, 4 slots).
func afterRealSpike(peak float64) (*Policy, *evaluation) {
	o := DefaultOptions()
	o.CatchUp, o.Settle, o.ScaleDownInterval, o.MaxParallelism = time.Minute, 30*time.Second, 30*time.Second, 4
	p := New(o)
	p.st.Downtimes = []float64{35.4}
	p.st.CheckpointIntervalSec = 5
	p.st.Efficiency = map[string][]obsPt{"src": {{P: 1, Rate: 226}, {P: 3, Rate: 220}}, "work": {{P: 1, Rate: 80.6}, {P: 4, Rate: 70.2}}}
	src := vertexInfo{ID: "src", P: 3, Source: true}
	work := vertexInfo{ID: "work", P: 4, Inputs: []string{"src"}}
	all := map[string]bool{"src": true}
	return p, &evaluation{
		order: []vertexInfo{src, work},
		models: map[string]*vertexModel{
			"src":  {info: src, perSubtask: 220, known: true, hot: 1, minSeen: 1, alpha: p.alpha("src")},
			"work": {info: work, perSubtask: 70.2, known: true, hot: 1, minSeen: 1, alpha: p.alpha("work")},
		},
		demand:   map[string]float64{"src": 60.6, "work": 60.6},
		peak:     map[string]float64{"src": peak, "work": peak},
		forecast: map[string]float64{"src": 60.6, "work": 60.6},
		catchUp:  map[string]float64{},
		feeds:    map[string]map[string]bool{"src": all, "work": all},
		lagSecOf: map[string]float64{"src": 0},
		lagKnown: true,
		ingest:   60.6,
	}
}

// Whether a vertex is deep enough below the target to start a scale-down is judged on its
// lasting demand; the lag the scale-down's own restart leaves is drained by the smaller size,
// which counts it. With the drain counted in (38/s over the test's 1-minute catch-up), the
// work vertex at 22% sat above utilization.min, the scale-down was started by the source
// alone (a quarter of the subtasks, no slot) and left the work vertex at 4 for good.
func TestScaleDownJudgedOnLastingDemand(t *testing.T) {
	for _, tc := range []struct {
		name     string
		peak     float64
		wantWork int // the work vertex's parallelism after the decision
	}{
		{"real Flink 2.2.1, peak 63/s", 63, 2},
		{"the demand's own peak at 22%", 60.6, 2},
		{"a peak at 60% stays", 170, 4},
	} {
		p, e := afterRealSpike(tc.peak)
		sz := p.size(e, srcCapacity(e, nil))
		now := t0.Add(time.Hour)
		p.st.LastChange, p.st.LastDir = now.Add(-4*time.Minute), 1
		p.st.LowSince = now.Add(-30 * time.Second)
		target, _, why := p.scaleDown(&autoscaler.Snapshot{Time: now}, e, sz)
		got, ok := target["work"]
		if !ok {
			got = 4
		}
		if got != tc.wantWork {
			t.Errorf("%s: work vertex at %d after %v (%q), want %d", tc.name, got, target, why, tc.wantWork)
		}
	}
}
