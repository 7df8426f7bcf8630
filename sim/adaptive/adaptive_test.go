package adaptive

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scheduler"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fakeEnv struct {
	slots int
	req   []scheduler.VertexRequirement
}

func (e *fakeEnv) Slots() int                                  { return e.slots }
func (e *fakeEnv) Requirements() []scheduler.VertexRequirement { return e.req }

type event struct {
	at   time.Duration
	kind string
	p    map[string]int
}

type recorder struct{ events []event }

func (r *recorder) Deploy(now time.Time, p map[string]int) {
	r.events = append(r.events, event{now.Sub(t0), "deploy", p})
}
func (r *recorder) Rescale(now time.Time, c Cause) {
	r.events = append(r.events, event{now.Sub(t0), "rescale:" + string(c), nil})
}
func (r *recorder) Fail(now time.Time, reason string) {
	r.events = append(r.events, event{now.Sub(t0), "fail", nil})
}

func (r *recorder) String() string {
	s := ""
	for _, e := range r.events {
		s += fmt.Sprintf("%v %s %v; ", e.at, e.kind, e.p)
	}
	return s
}

func (r *recorder) first(kind string) (time.Duration, bool) {
	for _, e := range r.events {
		if e.kind == kind || (kind == "rescale" && len(e.kind) > 7 && e.kind[:7] == "rescale") {
			return e.at, true
		}
	}
	return 0, false
}

func opts(t *testing.T, v Version, extra map[string]string) Options {
	t.Helper()
	m := map[string]string{"jobmanager.scheduler": "adaptive", "execution.checkpointing.interval": "10s"}
	for k, val := range extra {
		m[k] = val
	}
	o, err := OptionsFromConfig(flinkconf.FromMap(m), v)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// runTimeline drives the worked timeline of flink-scheduling.md §A.11: one vertex [1..8],
// 2-slot TaskManagers, checkpoints every 10 s after the job runs, 2 TMs at 0, more at 25 s.
// Checkpoints complete instantly; at a tick, a checkpoint completion is reported before timers.
func runTimeline(t *testing.T, o Options, slotsAt25 int) *recorder {
	env := &fakeEnv{slots: 4, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 1, Upper: 8}}}
	rec := &recorder{}
	s := New(o, env, rec)
	s.Start(t0)
	var entered time.Duration = -1
	for sec := 0; sec <= 200; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		if sec == 25 {
			env.slots = slotsAt25
			s.OnResources(now)
		}
		if s.State() == Executing {
			if entered < 0 {
				entered = now.Sub(t0)
			}
			if d := now.Sub(t0) - entered; d > 0 && d%(10*time.Second) == 0 {
				s.OnCheckpoint(now, true)
			}
		} else {
			entered = -1
		}
		s.Advance(now)
		if s.State() == Executing && entered < 0 {
			entered = now.Sub(t0)
		}
	}
	return rec
}

func TestWorkedTimelinePerVersion(t *testing.T) {
	cases := []struct {
		v       Version
		slots   int
		rescale time.Duration
	}{
		{V118, 8, 25 * time.Second},
		{V119, 8, 55 * time.Second},
		{V120, 8, 55 * time.Second}, // as 1.19: no checkpoint trigger before 2.0
		{V2, 8, 50 * time.Second},
		// Only one extra TaskManager: sufficient, not desired.
		{V119, 6, 55 * time.Second},
		{V2, 6, 85 * time.Second},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%dslots", c.v, c.slots), func(t *testing.T) {
			rec := runTimeline(t, opts(t, c.v, nil), c.slots)
			if len(rec.events) < 3 {
				t.Fatalf("events: %s", rec)
			}
			first := rec.events[0]
			if first.kind != "deploy" || first.at != 10*time.Second || first.p["v"] != 4 {
				t.Errorf("submission: %s; want deploy at 10s with p=4", rec)
			}
			at, ok := rec.first("rescale")
			if !ok || at != c.rescale {
				t.Errorf("rescale at %v (found %v), want %v; events %s", at, ok, c.rescale, rec)
			}
			// Restarting → WaitingForResources: desired resources deploy at once, merely
			// sufficient ones wait for resource-stabilization-timeout (10 s) again.
			wantDeploy := c.rescale
			if c.slots < 8 {
				wantDeploy += 10 * time.Second
			}
			redeploy := rec.events[2]
			if redeploy.kind != "deploy" || redeploy.at != wantDeploy || redeploy.p["v"] != c.slots {
				t.Errorf("redeploy %+v, want p=%d at %v", redeploy, c.slots, wantDeploy)
			}
			if rec.events[1].kind != "rescale:resources" {
				t.Errorf("cause %s", rec.events[1].kind)
			}
		})
	}
}

func TestV120WithoutCheckpointsRescalesAfterCooldown(t *testing.T) {
	o := opts(t, V120, map[string]string{"execution.checkpointing.interval": "0"})
	// 1.20 has no trigger delay (FLIP-461 is 2.0): the change is evaluated at once (cooldown applies).
	m := map[string]string{"jobmanager.scheduler": "adaptive"}
	o, err := OptionsFromConfig(flinkconf.FromMap(m), V120)
	if err != nil || o.MaxTriggerDelay != 0 {
		t.Fatalf("%v %+v", err, o)
	}
	rec := runTimeline(t, o, 8)
	if at, _ := rec.first("rescale"); at != 55*time.Second {
		t.Errorf("rescale at %v, want 55s: %s", at, rec)
	}
}

func TestV119ScalingIntervalMaxForcesSmallIncrease(t *testing.T) {
	// min-parallelism-increase 4: 4 → 6 is not enough, but scaling-interval.max forces it.
	o := opts(t, V119, map[string]string{
		"jobmanager.adaptive-scheduler.min-parallelism-increase": "4",
		"jobmanager.adaptive-scheduler.scaling-interval.max":     "60s",
	})
	rec := runTimeline(t, o, 6)
	// Change at 25 → maybeRescale at 55 (no) → now−lastRescale 45 ≤ 60 → force at 55+60 = 115.
	if at, _ := rec.first("rescale"); at != 115*time.Second {
		t.Errorf("rescale at %v, want 115s: %s", at, rec)
	}
	o = opts(t, V119, map[string]string{"jobmanager.adaptive-scheduler.min-parallelism-increase": "4"})
	rec = runTimeline(t, o, 6)
	if at, ok := rec.first("rescale"); ok {
		t.Errorf("rescaled at %v without scaling-interval.max: %s", at, rec)
	}
}

func TestRequirementsCauseAndScaleDown(t *testing.T) {
	for _, v := range []Version{V118, V119, V120, V2} {
		env := &fakeEnv{slots: 8, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 1, Upper: 8}}}
		rec := &recorder{}
		s := New(opts(t, v, nil), env, rec)
		s.Start(t0)
		if s.State() != Executing {
			t.Fatalf("%s: desired resources at start must deploy at once, state %s", v, s.State())
		}
		entered := 0
		for sec := 1; sec <= 300; sec++ {
			now := t0.Add(time.Duration(sec) * time.Second)
			if sec == 95 {
				env.req = []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 1, Upper: 3}}
				s.OnNewRequirements(now)
			}
			if s.State() == Executing && sec > entered && (sec-entered)%10 == 0 {
				s.OnCheckpoint(now, true)
			}
			s.Advance(now)
			if rec.events[len(rec.events)-1].kind == "deploy" && rec.events[len(rec.events)-1].at == now.Sub(t0) {
				entered = sec
			}
		}
		if len(rec.events) != 3 || rec.events[1].kind != "rescale:requirements" || rec.events[2].p["v"] != 3 {
			t.Errorf("%s: %s", v, rec)
		}
		// 1.18 at once; 1.19 and 1.20 cooldown already over (95 > 30) → at once; 2.x: Idling →
		// Stabilizing(95) → desired at the next checkpoint (100).
		want := map[Version]time.Duration{V118: 95 * time.Second, V119: 95 * time.Second, V120: 95 * time.Second, V2: 100 * time.Second}[v]
		if rec.events[1].at != want {
			t.Errorf("%s: scale-down at %v, want %v", v, rec.events[1].at, want)
		}
	}
}

func TestWaitTimeoutFailsWhenInsufficient(t *testing.T) {
	env := &fakeEnv{slots: 1, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 2, Upper: 4}}}
	rec := &recorder{}
	s := New(opts(t, V119, nil), env, rec)
	s.Start(t0)
	s.Advance(t0.Add(4 * time.Minute))
	if len(rec.events) != 0 {
		t.Fatalf("early: %s", rec)
	}
	s.Advance(t0.Add(5 * time.Minute))
	if len(rec.events) != 1 || rec.events[0].kind != "fail" || s.State() != Finished {
		t.Errorf("%s state %s", rec, s.State())
	}
}

func TestStabilizationResetsWhenInsufficient(t *testing.T) {
	env := &fakeEnv{slots: 2, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 2, Upper: 4}}}
	rec := &recorder{}
	s := New(opts(t, V118, nil), env, rec)
	s.Start(t0) // sufficient at 0: deadline 10s
	env.slots = 1
	s.OnResources(t0.Add(5 * time.Second)) // insufficient: reset
	env.slots = 2
	s.OnResources(t0.Add(8 * time.Second)) // sufficient again: deadline 18s
	s.Advance(t0.Add(10 * time.Second))
	if len(rec.events) != 0 {
		t.Fatalf("deployed before the reset deadline: %s", rec)
	}
	s.Advance(t0.Add(18 * time.Second))
	if len(rec.events) != 1 || rec.events[0].at != 18*time.Second || rec.events[0].p["v"] != 2 {
		t.Errorf("%s", rec)
	}
}

func TestReactiveDefaults(t *testing.T) {
	o, err := OptionsFromConfig(flinkconf.FromMap(map[string]string{"scheduler-mode": "reactive"}), V119)
	if err != nil || !o.Adaptive || !o.Reactive || o.ResourceWaitTimeout != -1 || o.StabilizationTimeout != 0 {
		t.Fatalf("%v %+v", err, o)
	}
	env := &fakeEnv{slots: 3, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 1, Upper: 128}}}
	rec := &recorder{}
	s := New(o, env, rec)
	s.Start(t0)
	if len(rec.events) != 1 || rec.events[0].p["v"] != 3 {
		t.Errorf("reactive must start at once with every slot: %s", rec)
	}
}

func TestDefaultSchedulerNeverRescales(t *testing.T) {
	o, err := OptionsFromConfig(flinkconf.FromMap(map[string]string{}), V120)
	if err != nil || o.Adaptive {
		t.Fatalf("%v %+v", err, o)
	}
	env := &fakeEnv{slots: 2, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 4, Upper: 4}}}
	rec := &recorder{}
	s := New(o, env, rec)
	s.Start(t0)
	s.Advance(t0.Add(time.Hour))
	if len(rec.events) != 0 {
		t.Fatalf("default scheduler started without all slots: %s", rec)
	}
	env.slots = 6
	s.OnResources(t0.Add(time.Hour))
	env.slots = 10
	s.OnResources(t0.Add(2 * time.Hour))
	s.Advance(t0.Add(3 * time.Hour))
	if len(rec.events) != 1 || rec.events[0].p["v"] != 4 {
		t.Errorf("%s", rec)
	}
}

func TestFailureRestartsAfterBackoff(t *testing.T) {
	env := &fakeEnv{slots: 4, req: []scheduler.VertexRequirement{{ID: "v", SlotSharingGroup: "g", Lower: 1, Upper: 4}}}
	rec := &recorder{}
	s := New(opts(t, V119, nil), env, rec)
	s.Start(t0)
	env.slots = 2
	s.OnFailure(t0.Add(time.Minute), 5*time.Second)
	if s.State() != Restarting {
		t.Fatal(s.State())
	}
	s.Advance(t0.Add(time.Minute + 5*time.Second)) // waiting: sufficient, stabilize 10s
	s.Advance(t0.Add(time.Minute + 15*time.Second))
	if len(rec.events) != 2 || rec.events[1].at != 75*time.Second || rec.events[1].p["v"] != 2 {
		t.Errorf("%s", rec)
	}
}

func TestOptionErrors(t *testing.T) {
	_, err := OptionsFromConfig(flinkconf.FromMap(map[string]string{
		"jobmanager.adaptive-scheduler.scaling-interval.min": "60s",
		"jobmanager.adaptive-scheduler.scaling-interval.max": "30s",
	}), V119)
	if err == nil || err.Error() != "jobmanager.adaptive-scheduler.scaling-interval.max (30 s) must be greater than jobmanager.adaptive-scheduler.scaling-interval.min (1 min)" {
		t.Errorf("%v", err)
	}
	_, err = OptionsFromConfig(flinkconf.FromMap(map[string]string{"jobmanager.adaptive-scheduler.resource-wait-timeout": "soon"}), V118)
	if err == nil || err.Error() != "IllegalArgumentException: Could not parse value 'soon' for key 'jobmanager.adaptive-scheduler.resource-wait-timeout'." {
		t.Errorf("%v", err)
	}
	o, err := OptionsFromConfig(flinkconf.FromMap(map[string]string{"execution.checkpointing.interval": "1m"}), V2)
	if err != nil || o.MaxTriggerDelay != 3*time.Minute || o.ExecutingStabilization != time.Minute || o.Cooldown != 30*time.Second {
		t.Errorf("%v %+v", err, o)
	}
}
