package controller

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeCluster serves snapshots from in-memory jobs and records requirement changes.
type fakeCluster struct {
	mu       sync.Mutex
	jobs     map[string]*fakeJob
	failList bool
	puts     []map[string]int
}

type fakeJob struct {
	parallelism map[string]int
	lag         float64
	failCollect bool
	panicky     bool
	config      map[string]string
	status      string // default RUNNING
}

func (f *fakeCluster) ListJobs(context.Context) ([]JobRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failList {
		return nil, errors.New("connection refused")
	}
	var out []JobRef
	for id := range f.jobs {
		out = append(out, JobRef{ID: id, Name: "job-" + id, State: "RUNNING"})
	}
	return out, nil
}

func (f *fakeCluster) Collect(_ context.Context, ref JobRef, now time.Time) (*autoscaler.Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[ref.ID]
	if j.failCollect {
		return nil, errors.New("GET /jobs/x/vertices/y/subtasks/metrics: 503")
	}
	if j.panicky {
		panic("boom")
	}
	snap := &autoscaler.Snapshot{Time: now, JobID: ref.ID, Status: "RUNNING", Config: map[string]string{}}
	if j.status != "" {
		snap.Status = j.status
	}
	for k, v := range j.config {
		snap.Config[k] = v
	}
	for _, v := range []string{"src", "sink"} {
		snap.Vertices = append(snap.Vertices, autoscaler.Vertex{ID: v, Parallelism: j.parallelism[v],
			Metrics: map[string]autoscaler.Aggregate{"lag": {Sum: j.lag}}})
	}
	return snap, nil
}

func (f *fakeCluster) Realize(_ context.Context, snap *autoscaler.Snapshot, target map[string]int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j := f.jobs[snap.JobID]
	changed := false
	for v, p := range target {
		if j.parallelism[v] != p {
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	cp := map[string]int{}
	for v, p := range target {
		j.parallelism[v] = p
		cp[v] = p
	}
	f.puts = append(f.puts, cp)
	return true, nil
}

// doublingPolicy doubles every vertex once when lag appears; its state records the decision.
type doublingPolicy struct {
	State struct {
		Decided bool           `json:"decided"`
		Target  map[string]int `json:"target"`
		Cycles  int            `json:"cycles"`
	}
}

func (p *doublingPolicy) Name() string { return "doubling" }
func (p *doublingPolicy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	p.State.Cycles++
	d := autoscaler.Decision{Ready: true, Parallelism: p.State.Target}
	if !p.State.Decided && snap.Vertices[0].Metrics["lag"].Sum > 0 {
		p.State.Decided = true
		p.State.Target = map[string]int{}
		for _, v := range snap.Vertices {
			p.State.Target[v.ID] = v.Parallelism * 2
		}
		d.Parallelism, d.Scaled, d.Reason = p.State.Target, true, "lag"
		d.Events = []autoscaler.Event{{Type: autoscaler.EventNormal, Reason: "ScalingReport", Message: "double", Key: "ScalingExecutor"}}
	}
	return d, nil
}
func (p *doublingPolicy) Applied(time.Time, map[string]int) {}
func (p *doublingPolicy) MarshalState() ([]byte, error)     { return json.Marshal(p.State) }
func (p *doublingPolicy) RestoreState(b []byte) error       { return json.Unmarshal(b, &p.State) }

func factory(name string, _ *flinkconf.Config) (autoscaler.Policy, error) {
	if name != "doubling" {
		return nil, errors.New("unknown policy")
	}
	return &doublingPolicy{}, nil
}

func newFake() *fakeCluster {
	return &fakeCluster{jobs: map[string]*fakeJob{
		"a": {parallelism: map[string]int{"src": 1, "sink": 2}, lag: 100},
		"b": {parallelism: map[string]int{"src": 3, "sink": 3}, lag: 100},
	}}
}

func newController(t *testing.T, st *store.Store, f *fakeCluster, opts Options) *Controller {
	t.Helper()
	opts.Policy = "doubling"
	opts.AllJobs = true
	return New(st, []Cluster{{Name: "http://fake:8081", Collector: f, Realizer: f}}, factory, opts)
}

func TestRescaleAndIdempotence(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFake()
	c := newController(t, st, f, Options{Metrics: NewMetrics()})
	rep := c.RunOnce(context.Background(), t0)
	if rep.Jobs != 2 || rep.Scaled != 2 || rep.Realized != 2 || len(rep.Errors) != 0 {
		t.Fatalf("first cycle: %+v", rep)
	}
	if f.jobs["a"].parallelism["sink"] != 4 || f.jobs["b"].parallelism["src"] != 6 {
		t.Fatalf("not rescaled: %+v %+v", f.jobs["a"], f.jobs["b"])
	}
	// The policy re-asserts its target every cycle; nothing is sent again.
	rep = c.RunOnce(context.Background(), t0.Add(10*time.Second))
	if rep.Realized != 0 || len(f.puts) != 2 {
		t.Fatalf("second cycle re-sent: %+v puts %v", rep, f.puts)
	}
	key := store.JobKey{Cluster: "http://fake:8081", JobID: "a"}
	js, _, _ := st.Job(key)
	if js.Intent == nil || !js.Intent.Applied || js.Intent.Parallelism["sink"] != 4 {
		t.Errorf("intent %+v", js.Intent)
	}
	h, _ := st.History(key, time.Time{})
	if len(h) != 2 || h[0].Action != store.ActionDecided || h[1].Action != store.ActionApplied ||
		h[1].From["sink"] != 2 || h[1].To["sink"] != 4 {
		t.Errorf("history %+v", h)
	}
	evs, _ := st.Events(store.EventQuery{JobID: "a"})
	var reasons []string
	for _, e := range evs {
		reasons = append(reasons, e.Reason)
	}
	if strings.Join(reasons, ",") != "ScalingReport,Scaling" {
		t.Errorf("events %v", reasons)
	}
}

func TestIsolationAndNoDecisionOnBadData(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	f := newFake()
	f.jobs["bad"] = &fakeJob{parallelism: map[string]int{"src": 1, "sink": 1}, lag: 1, failCollect: true}
	f.jobs["panic"] = &fakeJob{parallelism: map[string]int{"src": 1, "sink": 1}, lag: 1, panicky: true}
	c := newController(t, st, f, Options{})
	rep := c.RunOnce(context.Background(), t0)
	if rep.Realized != 2 || len(rep.Errors) != 2 {
		t.Fatalf("report %+v", rep)
	}
	if f.jobs["bad"].parallelism["src"] != 1 {
		t.Error("a job with failed collection was scaled")
	}
	evs, _ := st.Events(store.EventQuery{JobID: "bad"})
	if len(evs) != 1 || evs[0].Reason != "AutoscalerError" || !strings.Contains(evs[0].Message, "no decision taken") {
		t.Errorf("events %+v", evs)
	}
	evs, _ = st.Events(store.EventQuery{JobID: "panic"})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "panic: boom") {
		t.Errorf("panic events %+v", evs)
	}
	f.failList = true
	if rep := c.RunOnce(context.Background(), t0.Add(time.Minute)); len(rep.Errors) != 1 || rep.Jobs != 0 {
		t.Errorf("cluster outage: %+v", rep)
	}
}

func TestDryRunAndDisabled(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	f := newFake()
	f.jobs["b"].config = map[string]string{KeyScalingEnabled: "false"}
	c := newController(t, st, f, Options{})
	c.RunOnce(context.Background(), t0)
	if f.jobs["b"].parallelism["src"] != 3 || f.jobs["a"].parallelism["src"] != 2 {
		t.Fatalf("scaling.enabled=false must only recommend: %+v %+v", f.jobs["a"], f.jobs["b"])
	}
	h, _ := st.History(store.JobKey{Cluster: "http://fake:8081", JobID: "b"}, time.Time{})
	if len(h) != 1 || !h[0].DryRun || h[0].Action != store.ActionRecommended {
		t.Errorf("history %+v", h)
	}

	st2, _ := store.Open(t.TempDir())
	defer st2.Close()
	f2 := newFake()
	c2 := newController(t, st2, f2, Options{DryRun: true})
	c2.RunOnce(context.Background(), t0)
	if len(f2.puts) != 0 {
		t.Errorf("dry run sent %v", f2.puts)
	}
}

// TestRestartKeepsStateAndNoDuplicateRescale stops a controller after it decided and applied,
// starts a new one on the same data directory, and checks that the policy state is restored
// (no second decision) and nothing is sent twice.
func TestRestartKeepsStateAndNoDuplicateRescale(t *testing.T) {
	dir := t.TempDir()
	f := newFake()
	st, _ := store.Open(dir)
	c := newController(t, st, f, Options{})
	c.RunOnce(context.Background(), t0)
	st.Close()

	st, _ = store.Open(dir)
	defer st.Close()
	c = newController(t, st, f, Options{})
	for i := 1; i <= 3; i++ {
		rep := c.RunOnce(context.Background(), t0.Add(time.Duration(i)*10*time.Second))
		if rep.Scaled != 0 || rep.Realized != 0 {
			t.Fatalf("after restart cycle %d: %+v", i, rep)
		}
	}
	if len(f.puts) != 2 {
		t.Errorf("puts %v", f.puts)
	}
	js, _, _ := st.Job(store.JobKey{Cluster: "http://fake:8081", JobID: "a"})
	var s struct{ Cycles int }
	json.Unmarshal(js.PolicyState, &s)
	if s.Cycles != 4 {
		t.Errorf("restored policy ran %d cycles, want 4 (1 before + 3 after restart)", s.Cycles)
	}
}

type configPolicy struct{ doublingPolicy }

func (p *configPolicy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	d, err := p.doublingPolicy.Cycle(snap)
	if d.Scaled {
		d.ConfigOverrides = map[string]string{"taskmanager.memory.process.size": "2g"}
		d.ConfigRemovals = []string{"taskmanager.memory.flink.size"}
	}
	return d, err
}

type fakeConfig struct {
	applied []map[string]string
	order   *[]string
}

func (f *fakeConfig) RealizeConfig(_ context.Context, _ *autoscaler.Snapshot, o map[string]string, _ []string) (bool, error) {
	f.applied = append(f.applied, o)
	*f.order = append(*f.order, "config")
	return true, nil
}

type orderRealizer struct {
	*fakeCluster
	order *[]string
}

func (o orderRealizer) Realize(ctx context.Context, s *autoscaler.Snapshot, t map[string]int) (bool, error) {
	*o.order = append(*o.order, "parallelism")
	return o.fakeCluster.Realize(ctx, s, t)
}

func TestConfigRealizedBeforeRescale(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	f := newFake()
	delete(f.jobs, "b")
	var order []string
	fc := &fakeConfig{order: &order}
	fac := func(string, *flinkconf.Config) (autoscaler.Policy, error) { return &configPolicy{}, nil }
	c := New(st, []Cluster{{Name: "x", Collector: f, Realizer: orderRealizer{f, &order}, Config: fc}}, fac, Options{AllJobs: true})
	c.RunOnce(context.Background(), t0)
	if strings.Join(order, ",") != "config,parallelism" || fc.applied[0]["taskmanager.memory.process.size"] != "2g" {
		t.Fatalf("order %v applied %v", order, fc.applied)
	}
	evs, _ := st.Events(store.EventQuery{})
	found := false
	for _, e := range evs {
		if e.Reason == "ConfigurationApplied" && strings.Contains(e.Message, "taskmanager.memory.process.size=2g, -taskmanager.memory.flink.size") {
			found = true
		}
	}
	if !found {
		t.Errorf("events %+v", evs)
	}
	// Dry run: nothing applied.
	st2, _ := store.Open(t.TempDir())
	defer st2.Close()
	order = nil
	fc2 := &fakeConfig{order: &order}
	c = New(st2, []Cluster{{Name: "x", Collector: newFake(), Realizer: newFake(), Config: fc2}}, fac, Options{AllJobs: true, DryRun: true})
	c.RunOnce(context.Background(), t0)
	if len(fc2.applied) != 0 {
		t.Errorf("dry run applied config %v", fc2.applied)
	}
}

// slowConfig is a configuration realizer that says how long it needs (restarting processes).
type slowConfig struct {
	fakeConfig
	need     time.Duration
	deadline time.Duration // the time left when RealizeConfig was called
}

func (s *slowConfig) RealizeTimeout() time.Duration { return s.need }

func (s *slowConfig) RealizeConfig(ctx context.Context, snap *autoscaler.Snapshot, o map[string]string, r []string) (bool, error) {
	if d, ok := ctx.Deadline(); ok {
		s.deadline = time.Until(d)
	}
	return s.fakeConfig.RealizeConfig(ctx, snap, o, r)
}

func TestConfigRealizerOwnTimeout(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	f := newFake()
	delete(f.jobs, "b")
	var order []string
	sc := &slowConfig{fakeConfig: fakeConfig{order: &order}, need: 10 * time.Minute}
	fac := func(string, *flinkconf.Config) (autoscaler.Policy, error) { return &configPolicy{}, nil }
	c := New(st, []Cluster{{Name: "x", Collector: f, Realizer: f, Config: sc}}, fac, Options{AllJobs: true, RealizeTimeout: 30 * time.Second})
	c.RunOnce(context.Background(), t0)
	if len(sc.applied) != 1 || sc.deadline < 9*time.Minute {
		t.Errorf("a realizer needing 10 min got %s (applied %v)", sc.deadline, sc.applied)
	}
}
