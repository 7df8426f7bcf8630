package flinktune

import (
	"math"
	"testing"
	"time"
)

// A job whose source reports no lag, losing a TaskManager every 15 minutes: each restart's
// catch-up reads the source at the job's full capacity. Taken for demand, that showed the
// bottleneck at 100% at any parallelism and chained scale-ups; the backlog the restart
// explains is paid off at the demand before it instead.
func TestRestartCatchUpWithoutLagMetricIsNotDemand(t *testing.T) {
	j := newToy(constant(15000),
		&toyVertex{id: "src", p: 2, capacity: 40000, sel: 1, maxP: 128},
		&toyVertex{id: "map", p: 4, capacity: 5000, sel: 1, maxP: 128})
	j.noLag, j.restart, j.failEvery = true, 3*time.Minute, 15*time.Minute
	if r := run(t, New(DefaultOptions()), j, 95*time.Minute); len(r.rescales) != 0 {
		t.Errorf("rescaled a job at 75%% utilization after its failures' catch-up: at %v to %v", r.rescales, r.final)
	}
}

// The lag metric gone for good while a backlog drains: the backlog it last reported is paid
// off at the demand, not read as demand once the metric is taken as gone.
func TestLagMetricLostWhileDraining(t *testing.T) {
	j := newToy(constant(15000),
		&toyVertex{id: "src", p: 2, capacity: 40000, sel: 1, maxP: 128},
		&toyVertex{id: "map", p: 4, capacity: 4500, sel: 1, maxP: 128})
	j.lag, j.lagUntil = 15000*120, 90*time.Second // 2 minutes behind, draining at 3,000/s
	if r := run(t, New(DefaultOptions()), j, time.Hour); len(r.rescales) != 0 {
		t.Errorf("rescaled a job at 83%% utilization draining its backlog: at %v to %v", r.rescales, r.final)
	}
}

// With neither lag nor busy time, a vertex's capacity is only the highest rate it read, so its
// utilization is ~100% at any load: no evidence for a scale-up (each one raised the rate read
// and called for the next).
func TestNoLagNoBusyTimeIsNoSaturation(t *testing.T) {
	j := newToy(func(d time.Duration) float64 { return 9000 + 300*math.Sin(d.Seconds()/50) },
		&toyVertex{id: "src", p: 2, capacity: 40000, sel: 1, maxP: 128},
		&toyVertex{id: "map", p: 4, capacity: 5000, sel: 1, maxP: 128})
	j.noLag, j.noBusy = true, true
	if r := run(t, New(DefaultOptions()), j, time.Hour); len(r.rescales) != 0 {
		t.Errorf("rescaled a job at 45%% utilization measured by its rates alone: at %v to %v", r.rescales, r.final)
	}
}

// The accounting itself: the level while the backlog lasts, the rate read once it is paid
// off (and from then on), nothing after catch-up.duration or from a damaged state.
func TestUnseenIngest(t *testing.T) {
	o := DefaultOptions()
	at := t0
	seed := func() *Policy {
		p := New(o)
		p.st.Unseen = map[string]*unseenLag{"src": {Level: 100, Lag: 1000, At: at, Since: at.Add(30 * time.Second)}}
		return p
	}
	t.Run("paid off", func(t *testing.T) {
		p := seed()
		// 1,000 left at `at` and 100/s arriving since; read 300/s from 30 s on.
		in := 0.0
		var got []float64
		for s := 1; s <= 6; s++ {
			tm := at.Add(time.Duration(30+10*s) * time.Second)
			in += 300 * 10
			got = append(got, p.unseenIngest("src", tm, 300, 10, in))
		}
		// At 40 s 2,000 are left (the level), at 50 s none (the 2,000 read on top of the level
		// were backlog: the level again), then the rate is demand.
		want := []float64{100, 100, 300, 300, 300, 300}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Errorf("sample %d: ingest %.1f, want %.1f (all: %v)", i, got[i], want[i], got)
			}
		}
		if p.st.Unseen["src"] != nil {
			t.Error("a paid-off backlog is still accounted")
		}
	})
	t.Run("expired", func(t *testing.T) {
		p := seed()
		tm := at.Add(30*time.Second + o.CatchUp + time.Second)
		if got := p.unseenIngest("src", tm, 300, 10, 1e6); got != 300 {
			t.Errorf("ingest %.1f after catch-up.duration, want the rate 300", got)
		}
	})
	t.Run("damaged", func(t *testing.T) {
		future := at.Add(1000 * time.Hour)
		for _, u := range []unseenLag{{Level: math.NaN(), At: at, Since: at}, {Level: 100, Lag: -1, At: at, Since: at},
			{Level: math.Inf(1), At: at, Since: at}, {Level: 100, In0: -5, At: at, Since: at},
			{Level: 100, Lag: 1e9, At: at, Since: future}, {Level: 100, Lag: 1e9, At: future, Since: at}} {
			p := New(o)
			p.st.Unseen = map[string]*unseenLag{"src": &u}
			if got := p.unseenIngest("src", at.Add(time.Minute), 300, 10, 0); got != 300 {
				t.Errorf("%+v: ingest %.1f, want the rate 300", u, got)
			}
		}
	})
}

// FuzzUnseenIngest: whatever a saved state holds, the demand read is finite and between the
// rate read and the level before the restart.
func FuzzUnseenIngest(f *testing.F) {
	f.Add(100.0, 1000.0, 0.0, 0.0, int64(0), int64(30), 300.0, 10.0, 3000.0, int64(40))
	f.Add(5e4, 1e9, 1e6, 2e6, int64(-60), int64(0), 0.0, 10.0, 0.0, int64(10))
	f.Add(1e300, 1e300, 0.0, 0.0, int64(0), int64(0), 1e300, 1e-9, 1e300, int64(1))
	f.Fuzz(func(t *testing.T, level, lag, in0, left float64, atSec, sinceSec int64, rate, dt, in float64, nowSec int64) {
		if rate < 0 || dt <= 0 || in < 0 || math.IsNaN(rate+dt+in) || math.IsInf(rate+dt+in, 0) || nowSec < 0 || nowSec > 1e9 || atSec < -1e9 || atSec > 1e9 || sinceSec < -1e9 || sinceSec > 1e9 {
			return // what a sample can hold: a rate and a counter read over a positive interval
		}
		p := New(DefaultOptions())
		u := &unseenLag{Level: level, Lag: lag, In0: in0, Left: left,
			At: t0.Add(time.Duration(atSec) * time.Second), Since: t0.Add(time.Duration(sinceSec) * time.Second)}
		p.st.Unseen = map[string]*unseenLag{"src": u}
		valid := validUnseen(u, t0.Add(time.Duration(nowSec)*time.Second))
		got := p.unseenIngest("src", t0.Add(time.Duration(nowSec)*time.Second), rate, dt, in)
		if math.IsNaN(got) || math.IsInf(got, 0) || got < 0 {
			t.Fatalf("ingest %v", got)
		}
		lo, hi := rate, rate
		if valid {
			lo, hi = math.Min(rate, level), math.Max(rate, level)
		}
		if got < lo*(1-1e-9)-1e-9 || got > hi*(1+1e-9)+1e-9 {
			t.Fatalf("ingest %v outside [%v, %v] (rate %v, level %v)", got, lo, hi, rate, level)
		}
	})
}
