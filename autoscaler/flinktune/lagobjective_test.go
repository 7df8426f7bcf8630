package flinktune

import (
	"math"
	"testing"
	"time"
)

// A job whose busy time under-reports (the capacity model reads 1.7x the true capacity) and
// whose input exceeds its true capacity: its lag grows without end while the model sees the
// job at 60% utilization. The lag series is the evidence: the policy scales up and the lag
// comes back under the objective. Before the observed rate capped the model, the policy said
// "within target utilization" for the whole run (stuck).
func TestPersistentLagScalesUpWhenModelSaysWithinTarget(t *testing.T) {
	j := newToy(constant(10500), &toyVertex{id: "src", p: 1, capacity: 40000, sel: 1},
		&toyVertex{id: "map", p: 2, capacity: 5000, sel: 1, maxP: 128, busyReport: 0.6})
	p := New(DefaultOptions())
	r := run(t, p, j, 90*time.Minute)
	if len(r.rescales) == 0 || r.dirs[0] != 1 {
		t.Fatalf("no scale-up for a lag growing all run: rescales %v, final %v", r.rescales, r.final)
	}
	// The lag (growing 500/s) crosses the 1-minute objective at 21 minutes.
	if r.rescales[0] > 31*time.Minute {
		t.Errorf("first scale-up at %s, want within 10 min of the lag crossing the objective (21 min)", r.rescales[0])
	}
	if lagSec := j.lag / 10500; lagSec > DefaultOptions().MaxLag.Seconds() {
		t.Errorf("lag at the end %.0fs of input, above the objective %s; final %v", lagSec, DefaultOptions().MaxLag, r.final)
	}
}

// A backlog the job drains, but with a surplus so small that it stays above the objective for
// over an hour: the lag, not the utilization, calls for the scale-up (gen-64's shape).
func TestSlowlyDrainingBacklogScalesUp(t *testing.T) {
	j := newToy(constant(9600), &toyVertex{id: "src", p: 1, capacity: 40000, sel: 1},
		&toyVertex{id: "map", p: 2, capacity: 5000, sel: 1, maxP: 128})
	j.lag = 9600 * 240 // 4 minutes of input behind, draining at 400/s: 96 minutes
	r := run(t, New(DefaultOptions()), j, 60*time.Minute)
	if len(r.rescales) == 0 || r.dirs[0] != 1 {
		t.Fatalf("no scale-up for a backlog above the objective for over an hour: final %v", r.final)
	}
	if lagSec := j.lag / 9600; lagSec > DefaultOptions().MaxLag.Seconds() {
		t.Errorf("lag at the end %.0fs of input, above the objective; final %v", lagSec, r.final)
	}
}

// The downtime of a rescale is learned from the restart it causes, also when that restart is
// reported RUNNING at the very time the rescale was applied (the simulator, a fast cluster);
// a failure's restart long after is not the rescale's downtime.
func TestOwnRestartRecognized(t *testing.T) {
	p := New(DefaultOptions())
	p.Applied(t0, nil)
	if !p.ownRestart(t0) {
		t.Error("a restart RUNNING at the rescale's own time was not taken as the rescale's")
	}
	if !p.ownRestart(t0.Add(20 * time.Second)) {
		t.Error("a restart 20 s after the rescale was not taken as the rescale's")
	}
	if p.ownRestart(t0.Add(-time.Second)) {
		t.Error("a restart before the rescale was taken as the rescale's")
	}
	if p.ownRestart(t0.Add(17 * time.Minute)) {
		t.Error("a restart 17 minutes after the rescale was taken as the rescale's (a failure's recovery)")
	}
	if !p.st.AppliedAt.IsZero() {
		t.Error("a rescale never seen restarting is still waited for")
	}
}

// persistentLagReason decides from the lag's observed trend, not the model's drain: a lag that
// persisted above the objective calls for a scale-up when, left alone, it stays above it for
// longer than catch-up.duration and longer than a rescale would take; never otherwise. Within
// settle of our own scale-up the rescale must take under worthMargin of the time waiting takes.
func TestPersistentLagReason(t *testing.T) {
	o := DefaultOptions() // lag.max 1 min, catch-up 10 min, settle 35 min
	one := func(trend float64, persisted bool, lagSec, down0 float64, sinceUp time.Duration) string {
		src := vertexInfo{ID: "src", P: 2, Source: true}
		e := &evaluation{order: []vertexInfo{src}, ingest: 1000, now: t0.Add(time.Hour),
			demand:   map[string]float64{"src": 1000},
			lagSecOf: map[string]float64{"src": lagSec},
			feeds:    map[string]map[string]bool{"src": {"src": true}},
			models:   map[string]*vertexModel{"src": {info: src, perSubtask: 600, known: true, hot: 1}},
			lagEv:    map[string]lagEvidence{"src": {persisted: persisted, trend: trend, readRate: 1020}},
		}
		sz := sizing{up: map[string]int{"src": 3}, down0: down0, restart: 1000 * down0}
		p := &Policy{o: o}
		if sinceUp > 0 {
			p.st.LastDir, p.st.LastChange = 1, e.now.Add(-sinceUp)
		}
		return p.persistentLagReason(e, sz)
	}
	for _, tc := range []struct {
		name          string
		trend         float64 // records/s
		persisted     bool
		lagSec, down0 float64
		sinceUp       time.Duration // since our last scale-up (0: none)
		want          bool
	}{
		// 180 s of input, 120 s above the objective: 120,000 records at 20/s is 6,000 s alone;
		// a rescale to 1,800/s drains 180,000 + 30,000 records at 800/s in ~260 s + 70 s.
		{"slow drain", -20, true, 180, 30, 0, true},
		{"growing", +5, true, 180, 30, 0, true},
		{"drains within catch-up", -400, true, 180, 30, 0, false},
		{"not persisted", -20, false, 180, 30, 0, false},
		// A restart so long that the rescale takes longer than waiting.
		{"rescale slower than waiting", -20, true, 180, 7000, 0, false},
		// 600 s of input: 540,000 records above the objective drain in 1,080 s at 500/s; a
		// rescale takes 70 s + 630,000 / 800 = 858 s. Sooner, so taken unless it would follow
		// our own scale-up within settle: then not by worthMargin (gen-125's second restart of
		// its skewed window in 5 minutes).
		{"a little sooner than waiting", -500, true, 600, 30, 0, true},
		{"a little sooner, 5 min after a scale-up", -500, true, 600, 30, 5 * time.Minute, false},
		{"a little sooner, 40 min after a scale-up", -500, true, 600, 30, 40 * time.Minute, true},
		{"well sooner, 5 min after a scale-up", -300, true, 600, 30, 5 * time.Minute, true},
	} {
		got := one(tc.trend, tc.persisted, tc.lagSec, tc.down0, tc.sinceUp)
		if (got != "") != tc.want {
			t.Errorf("%s: reason %q, want a scale-up %v", tc.name, got, tc.want)
		}
	}
}

// A scale-up within settle of a scale-down waits only for a lag that drains: one that grows
// at the rate the branch falls short of the input, and so exceeds the objective before a
// rescale decided now could help, is acted on before it crosses the objective (gen-188: a
// load step 30 minutes after a scale-down grew 63 s of lag for 3 minutes, plus its restart).
func TestEmergencyOnLagThatCannotDrain(t *testing.T) {
	o := DefaultOptions() // lag.max 1 min, restart.time prior 1 min: a rescale helps in ~100 s
	one := func(lagSec, capacity float64) bool {
		src := vertexInfo{ID: "src", P: 2, Source: true}
		e := &evaluation{order: []vertexInfo{src}, ingest: 1000,
			demand:   map[string]float64{"src": 1000},
			lagSecOf: map[string]float64{"src": lagSec},
			feeds:    map[string]map[string]bool{"src": {"src": true}},
			models:   map[string]*vertexModel{"src": {info: src, perSubtask: capacity / 2, known: true, hot: 1}},
		}
		return (&Policy{o: o}).emergency(e)
	}
	for _, tc := range []struct {
		name             string
		lagSec, capacity float64
		want             bool
	}{
		// 20 s behind, 45% short: 20 s + 0.45 × 100 s = 65 s by the time a rescale helps.
		{"step far above the capacity, lag still under the objective", 20, 550, true},
		{"lag above the objective, not draining", 90, 990, true},
		{"lag above the objective, draining", 90, 1100, false},
		{"slightly short, little lag", 5, 950, false},
	} {
		if got := one(tc.lagSec, tc.capacity); got != tc.want {
			t.Errorf("%s: emergency %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A join after a restart: one input drains its backlog at 7,700/s while the other's grows at
// 1,400/s, the join spending its capacity on whichever backlog it reads. The growing lag is
// no shortage of its own: the summed backlog drains at the join's surplus, so it is waited
// out. With the sum growing too, with no vertex shared, or with the source its own bottleneck,
// the growing lag calls for a scale-up as before.
func TestSharedDrainWaitsOutTheJoinsOtherBacklog(t *testing.T) {
	o := DefaultOptions() // lag.max 1 min, catch-up 10 min
	series := func(start, slope float64) ([]float64, []float64) {
		var ts, lags []float64
		for s := 0.0; s <= 140; s += 10 {
			ts, lags = append(ts, s), append(lags, start+slope*s)
		}
		return ts, lags
	}
	one := func(slopeA float64, shared bool, capB float64) (float64, string) {
		a := vertexInfo{ID: "a", P: 1, Source: true}
		b := vertexInfo{ID: "b", P: 1, Source: true}
		join := vertexInfo{ID: "join", P: 8}
		joinFeeds := map[string]bool{"a": true, "b": true}
		if !shared {
			joinFeeds = map[string]bool{"b": true}
		}
		tsA, lagA := series(1_680_000, slopeA)
		tsB, lagB := series(1_650_000, 1400)
		e := &evaluation{order: []vertexInfo{a, b, join}, ingest: 10600, now: t0.Add(time.Hour),
			demand:   map[string]float64{"a": 5900, "b": 4700, "join": 10600},
			lagSecOf: map[string]float64{"a": lagA[len(lagA)-1] / 5900, "b": lagB[len(lagB)-1] / 4700},
			feeds:    map[string]map[string]bool{"a": {"a": true}, "b": {"b": true}, "join": joinFeeds},
			models: map[string]*vertexModel{
				"a":    {info: a, perSubtask: 60000, known: true, hot: 1},
				"b":    {info: b, perSubtask: capB, known: true, hot: 1},
				"join": {info: join, perSubtask: 2100, known: true, hot: 1},
			},
			lagEv: map[string]lagEvidence{
				"a": {persisted: true, trend: slopeA, readRate: 13500, ts: tsA, lags: lagA},
				"b": {persisted: true, trend: 1400, readRate: 3300, ts: tsB, lags: lagB},
			},
		}
		sz := sizing{up: map[string]int{"join": 12}, down0: 215, restart: 158 * 10600}
		p := &Policy{o: o}
		return sharedDrain(e, "b", 60*4700), p.persistentLagReason(e, sz)
	}
	// 1,680,000 - 7,700 × 140 + 1,650,000 + 1,400 × 140 = 2,448,000 records at 6,300/s.
	secs, why := one(-7700, true, 15000)
	if want := (2_448_000 - 60*4700) / 6300.0; math.Abs(secs-want) > 1 {
		t.Errorf("shared drain %.0fs, want %.0fs", secs, want)
	}
	if why != "" {
		t.Errorf("a backlog the join drains within catch-up called for a scale-up: %q", why)
	}
	if secs, why := one(-1000, true, 15000); !math.IsInf(secs, 1) || why == "" {
		t.Errorf("a summed backlog that grows: shared drain %.0fs, reason %q; want +Inf and a scale-up", secs, why)
	}
	if secs, why := one(-7700, false, 15000); !math.IsInf(secs, 1) || why == "" {
		t.Errorf("sources sharing no vertex: shared drain %.0fs, reason %q; want +Inf and a scale-up", secs, why)
	}
	// The second source short of its own capacity (5,000/s for 4,700/s, less than the join's
	// 16,800/s for 10,600/s): its bottleneck is its own, not the join's to drain.
	if secs, why := one(-7700, true, 5000); !math.IsInf(secs, 1) || why == "" {
		t.Errorf("a source that is its own bottleneck: shared drain %.0fs, reason %q; want +Inf and a scale-up", secs, why)
	}
}
