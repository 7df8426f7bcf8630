package tuning_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/realize"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
	"github.com/flinktune/flinktune/store"
	"github.com/flinktune/flinktune/tuning"
)

// counting counts the configuration changes a policy hands to the realizer.
type counting struct {
	autoscaler.Policy
	applied int
	log     *strings.Builder
}

func (c *counting) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	d, err := c.Policy.Cycle(snap)
	if len(d.ConfigOverrides) > 0 {
		c.applied++
		for _, e := range d.Events {
			if e.Reason == tuning.ReasonRecommendation {
				fmt.Fprintf(c.log, "%s %s\n", snap.Time.Format("15:04:05"), firstLine(e.Message))
			}
		}
	}
	return d, err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

type simResult struct {
	stats   sim.Stats
	applied int
	log     string
}

func runScenario(t testing.TB, name, policy string, enabled, tuned, memoryOnly bool) simResult {
	return runScenarioWith(t, name, policy, enabled, nil, tuned, memoryOnly)
}

func runScenarioWith(t testing.TB, name, policy string, enabled bool, wrap func(autoscaler.Policy) autoscaler.Policy, tuned, memoryOnly bool) simResult {
	sc, err := scenarios.Load(name) // a file, or a built-in scenario
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := simrest.New(s, simrest.Options{})
	hc := &http.Client{Transport: simrest.RoundTripper(srv)}
	client, err := flinkrest.New("http://simulator", flinkrest.WithHTTPClient(hc), flinkrest.WithTimeout(5*time.Second), flinkrest.WithRetries(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.(interface{ TempDir() string }).TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := flinkconf.New()
	base.Set("job.autoscaler.memory.tuning.enabled", fmt.Sprint(enabled))
	var wrapped []*counting
	var logb strings.Builder
	factory := func(n string, cfg *flinkconf.Config) (autoscaler.Policy, error) {
		p, err := policies.New(n, cfg)
		if err == nil && wrap != nil {
			return wrap(p), nil
		}
		if err != nil || !tuned {
			return p, err
		}
		o, err := tuning.ParseOptions(cfg)
		if err != nil {
			return nil, err
		}
		o.Apply = true // the operator's own tuning may be off in this run; ours is on
		if !memoryOnly {
			o.MinSaving = 1 // only with a rescale, or for safety
		}
		cp := &counting{Policy: tuning.WithTuner(p, o), log: &logb}
		wrapped = append(wrapped, cp)
		return cp, nil
	}
	cl := controller.FlinkCluster("simulator", client, 15*time.Second)
	cl.Config = &realize.SimConfig{BaseURL: "http://simulator", Client: hc}
	ctl := controller.New(st, []controller.Cluster{cl}, factory,
		controller.Options{Policy: policy, AllJobs: true, Base: base, Interval: 10 * time.Second, Parallelism: 1})
	ctx := context.Background()
	for !s.Done() {
		srv.Advance(10 * time.Second)
		ctl.RunOnce(ctx, s.Now())
	}
	ids := s.JobIDs()
	stats, _ := s.Stats(ids[0])
	res := simResult{stats: stats, log: logb.String()}
	for _, w := range wrapped {
		res.applied += w.applied
	}
	return res
}

// TestSimulatorScenarios runs the example scenarios with memory tuning enabled: the operator's
// policy with its own tuner, the operator's policy with this tuner (same scaling, other tuner)
// and the flinktune policy with this tuner, against untuned baselines. It takes minutes:
// FLINKTUNE_TUNING_SIM=1 runs it; FLINKTUNE_TUNING_SCENARIOS=a,b picks scenarios;
// FLINKTUNE_TUNING_MEMORY_ONLY=1 also applies worthwhile changes without a rescale (a memory-only
// restart, needed where a job never rescales); FLINKTUNE_TUNING_ONLY=1 runs only the last.
func TestSimulatorScenarios(t *testing.T) {
	if os.Getenv("FLINKTUNE_TUNING_SIM") == "" {
		t.Skip("set FLINKTUNE_TUNING_SIM=1 to run the scenarios (minutes)")
	}
	names := scenarios.Names()
	if v := os.Getenv("FLINKTUNE_TUNING_SCENARIOS"); v != "" {
		names = strings.Split(v, ",")
	}
	memOnly := os.Getenv("FLINKTUNE_TUNING_MEMORY_ONLY") != ""
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			if os.Getenv("FLINKTUNE_TUNING_OPONLY") != "" {
				r := runScenario(t, name, "operator", false, true, memOnly)
				t.Logf("operator + our tuner: avg TM process %.0f MiB tm-config %d\n%s", r.stats.TaskManagerProcessBytesAvg/(1<<20), r.stats.TaskManagerConfigChanges, r.log)
				return
			}
			ft := runScenario(t, name, "flinktune", true, true, memOnly)
			if os.Getenv("FLINKTUNE_TUNING_ONLY") != "" {
				row := ft.stats
				t.Logf("flinktune + tuner: avg TM process %.0f MiB OOM %d container %d\n%s", row.TaskManagerProcessBytesAvg/(1<<20), row.OOMKills, row.ContainerKills, ft.log)
				return
			}
			base := runScenario(t, name, "flinktune", false, false, false)
			opBase := runScenario(t, name, "operator", false, false, false)
			op := runScenario(t, name, "operator", true, false, false)
			t.Logf("4 runs in %s", time.Since(start).Round(time.Millisecond))
			row := func(label string, r simResult) {
				st := r.stats
				t.Logf("%-22s avg TM process %7.0f MiB  OOM %d  container %d  restarts %d  tm-config %d  rescales %d  lag-viol %.0fs applied %d",
					label, st.TaskManagerProcessBytesAvg/(1<<20), st.OOMKills, st.ContainerKills, st.Restarts, st.TaskManagerConfigChanges, st.Rescales, st.LagViolationSeconds, r.applied)
			}
			opFt := runScenario(t, name, "operator", false, true, memOnly)
			row("flinktune untuned", base)
			row("operator untuned", opBase)
			row("operator (tuning)", op)
			row("operator + our tuner", opFt)
			row("flinktune + tuner", ft)
			if testing.Verbose() {
				t.Log("\n" + ft.log)
			}
			cut := 1 - ft.stats.TaskManagerProcessBytesAvg/base.stats.TaskManagerProcessBytesAvg
			opCut := 1 - op.stats.TaskManagerProcessBytesAvg/opBase.stats.TaskManagerProcessBytesAvg
			opFtCut := 1 - opFt.stats.TaskManagerProcessBytesAvg/opBase.stats.TaskManagerProcessBytesAvg
			t.Logf("flinktune tuner cut: %.1f%% (flinktune policy), %.1f%% (operator policy); operator tuner cut: %.1f%%", cut*100, opFtCut*100, opCut*100)
			if opFt.stats.OOMKills+opFt.stats.ContainerKills > 0 {
				t.Errorf("%d OOM and %d container kills with our tuner under the operator's scaling", opFt.stats.OOMKills, opFt.stats.ContainerKills)
			}
			if ft.stats.OOMKills+ft.stats.ContainerKills > 0 {
				t.Errorf("%d OOM and %d container kills with the tuner", ft.stats.OOMKills, ft.stats.ContainerKills)
			}
		})
	}
}

// TestOOMFeedbackThroughTheSimulator: a change that starves the heap is applied to the
// simulator; the TaskManagers die with java.lang.OutOfMemoryError, the collector reads the
// exception history over loopback HTTP, and the tuner rolls the heap back as a safety change.
func TestOOMFeedbackThroughTheSimulator(t *testing.T) {
	sc, err := scenarios.Open("wordcount-ramp")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := simrest.New(s, simrest.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client, err := flinkrest.New(hs.URL, flinkrest.WithRetries(0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	col := collect.New(client, collect.Options{})
	ctx := context.Background()
	tu := tuning.New(tuning.DefaultOptions())
	jobID := s.JobIDs()[0]
	step := func(n int) *autoscaler.Snapshot {
		var snap *autoscaler.Snapshot
		for range n {
			srv.Advance(10 * time.Second)
			sn, err := col.Collect(ctx, jobID, s.Now())
			if err != nil {
				t.Fatal(err)
			}
			tu.Observe(sn)
			snap = sn
		}
		return snap
	}
	snap := step(72) // 12 minutes
	before, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A starving heap: 200 MiB of task heap where the job keeps ~1.1 GiB live.
	starved := &tuning.Recommendation{
		Overrides: map[string]string{"taskmanager.memory.task.heap.size": "200m", "taskmanager.memory.managed.size": "0"},
		Removals:  []string{"taskmanager.memory.process.size"},
		Current:   before.Current,
	}
	cfg := flinkconf.FromMap(snap.Config)
	cfg.Delete("taskmanager.memory.process.size")
	cfg.Set("taskmanager.memory.task.heap.size", "200m")
	cfg.Set("taskmanager.memory.managed.size", "0")
	if starved.Proposed, err = memory.DeriveTaskManager(cfg, nil, memory.Flink1); err != nil {
		t.Fatal(err)
	}
	rz := &realize.SimConfig{BaseURL: hs.URL}
	if sent, err := rz.RealizeConfig(ctx, snap, starved.Overrides, starved.Removals); err != nil || !sent {
		t.Fatalf("sent %v err %v", sent, err)
	}
	tu.Applied(snap.Time, starved)
	snap = step(30)
	st, _ := s.Stats(jobID)
	if st.OOMKills == 0 {
		t.Fatal("the starved heap did not fail: the test proves nothing")
	}
	rec, err := tu.Recommend(snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rolledBack bool
	for _, e := range rec.Observed.Events {
		rolledBack = rolledBack || (e.Kind == "oom-heap" && e.Rollback)
	}
	if !rolledBack || !rec.Safety || !rec.Worthwhile || rec.Proposed.JVMHeap() < before.Current.JVMHeap() {
		t.Errorf("after %d OOM kills: rollback %v safety %v heap %d (before the change %d): %s\n%+v",
			st.OOMKills, rolledBack, rec.Safety, rec.Proposed.JVMHeap(), before.Current.JVMHeap(), rec.Reason, rec.Observed.Events)
	}
	if rec.Proposed.TotalProcess > rec.Original.TotalProcess {
		t.Errorf("rollback above the limit: %d", rec.Proposed.TotalProcess)
	}
}

// TestMetaspaceWarmUpInSimulator: the tuner starts while the TaskManagers still load the job's
// classes (the simulator's class-loading tail, as on real Flink), so the metaspace peak grows
// in the first seconds and then stays flat. The first change must take metaspace down with
// the rest (one roll-out): keeping the running 256m for any growth within 3 × min-observation
// cost Flink 2.2.1 1.58× the bisected minimum in TestMemoryTuningRealJob (local/), and here a
// second roll-out 10 minutes later.
func TestMetaspaceWarmUpInSimulator(t *testing.T) {
	var logb strings.Builder
	wrap := func(p autoscaler.Policy) autoscaler.Policy { return &counting{Policy: p, log: &logb} }
	r := runScenarioWith(t, "testdata/metaspace-warmup.yaml", "flinktune", true, wrap, false, false)
	first, _, _ := strings.Cut(logb.String(), "\n")
	if r.stats.TaskManagerConfigChanges != 1 || !strings.Contains(first, "metaspace 256 MiB → ") || r.stats.OOMKills > 0 {
		t.Fatalf("%d roll-outs, %d OOM kills, want 1 taking metaspace down with it:\n%s", r.stats.TaskManagerConfigChanges, r.stats.OOMKills, logb.String())
	}
}
