package controller

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

// lagPolicy wants every vertex at 8 while there is lag, and decides so (Scaled) in any
// cycle where that is not what runs. Its state keeps the last target, which it reports
// in every later cycle, as the real policies do.
type lagPolicy struct {
	State struct{ Target map[string]int }
}

func (p *lagPolicy) Name() string { return "lag" }
func (p *lagPolicy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	d := autoscaler.Decision{Ready: true, Parallelism: p.State.Target}
	if snap.Status != "RUNNING" || snap.Vertices[0].Metrics["lag"].Sum <= 0 {
		return d, nil // balanced: keeps (reports) its old target
	}
	want := map[string]int{}
	differs := false
	for _, v := range snap.Vertices {
		want[v.ID] = 8
		differs = differs || v.Parallelism != 8
	}
	if differs {
		p.State.Target = want
		d.Parallelism, d.Scaled, d.Reason = want, true, "lag"
	}
	return d, nil
}
func (p *lagPolicy) Applied(time.Time, map[string]int) {}
func (p *lagPolicy) MarshalState() ([]byte, error)     { return json.Marshal(p.State) }
func (p *lagPolicy) RestoreState(b []byte) error       { return json.Unmarshal(b, &p.State) }

func lagFactory(string, *flinkconf.Config) (autoscaler.Policy, error) { return &lagPolicy{}, nil }

var keyA = store.JobKey{Cluster: "http://fake:8081", JobID: "a"}

func oneJob() *fakeCluster {
	return &fakeCluster{jobs: map[string]*fakeJob{"a": {parallelism: map[string]int{"src": 2, "sink": 2}, lag: 100}}}
}

func lagController(st *store.Store, f *fakeCluster, r Realizer, m *Metrics) *Controller {
	return New(st, []Cluster{{Name: "http://fake:8081", Collector: f, Realizer: r}}, lagFactory, Options{AllJobs: true, Metrics: m})
}

func reasons(t *testing.T, st *store.Store) string {
	t.Helper()
	evs, err := st.Events(store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Reason)
	}
	return strings.Join(out, ",")
}

func actions(t *testing.T, st *store.Store) string {
	t.Helper()
	h, err := st.History(keyA, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range h {
		out = append(out, e.Action)
	}
	return strings.Join(out, ",")
}

// killedBeforePut runs one cycle that decides and commits but never sends (the process
// "dies" before the PUT: no realizer), and returns the data directory.
func killedBeforePut(t *testing.T, f *fakeCluster) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	lagController(st, f, nil, nil).RunOnce(context.Background(), t0)
	st.Close()
	if len(f.puts) != 0 {
		t.Fatal("nothing may have been sent")
	}
	return dir
}

// TestStaleIntentDroppedAfterRestart: killed after committing a decision, before the PUT,
// and restarted when the load that motivated it is gone. The restored policy still reports
// the old target; nothing is sent, and the intent is dropped with an event and a history
// entry.
func TestStaleIntentDroppedAfterRestart(t *testing.T) {
	f := oneJob()
	dir := killedBeforePut(t, f)
	f.jobs["a"].lag = 0 // the load changed while flinktune was down
	st, _ := store.Open(dir)
	defer st.Close()
	c := lagController(st, f, f, nil)
	for i := 1; i <= 3; i++ {
		c.RunOnce(context.Background(), t0.Add(time.Duration(i)*time.Hour))
	}
	if len(f.puts) != 0 {
		t.Fatalf("stale intent replayed: %v", f.puts)
	}
	js, _, _ := st.Job(keyA)
	if js.Intent == nil || !js.Intent.Dropped || js.Intent.Applied || js.Intent.SnapshotTime.IsZero() || js.Intent.From["src"] != 2 {
		t.Errorf("intent %+v", js.Intent)
	}
	if got := reasons(t, st); got != "StaleIntentDropped" {
		t.Errorf("events %s", got)
	}
	if got := actions(t, st); got != "decided,dropped" {
		t.Errorf("history %s", got)
	}
}

// TestStaleIntentReappliedOnFreshDecision: the same crash, but the load is still there: the
// first cycle on fresh metrics decides the rescale again and it is applied once.
func TestStaleIntentReappliedOnFreshDecision(t *testing.T) {
	f := oneJob()
	dir := killedBeforePut(t, f)
	st, _ := store.Open(dir)
	defer st.Close()
	c := lagController(st, f, f, nil)
	for i := 1; i <= 3; i++ {
		c.RunOnce(context.Background(), t0.Add(time.Duration(i)*time.Hour))
	}
	if len(f.puts) != 1 || f.puts[0]["src"] != 8 {
		t.Fatalf("puts %v", f.puts)
	}
	if got := actions(t, st); got != "decided,dropped,decided,applied" {
		t.Errorf("history %s", got)
	}
	if got := reasons(t, st); got != "StaleIntentDropped,Scaling" {
		t.Errorf("events %s", got)
	}
}

// dyingRealizer applies the change in Flink, then the process dies before recording it.
type dyingRealizer struct{ *fakeCluster }

func (d dyingRealizer) Realize(ctx context.Context, s *autoscaler.Snapshot, t map[string]int) (bool, error) {
	d.fakeCluster.Realize(ctx, s, t)
	panic("killed after Flink accepted the PUT")
}

// TestKilledAfterPutReconciled: Flink took the rescale, the applied record was never
// written; the restarted controller finds it in Flink and records it (history and Scaling
// event), without sending it again.
func TestKilledAfterPutReconciled(t *testing.T) {
	f := oneJob()
	dir := t.TempDir()
	st, _ := store.Open(dir)
	lagController(st, f, dyingRealizer{f}, nil).RunOnce(context.Background(), t0)
	st.Close()
	if len(f.puts) != 1 {
		t.Fatalf("puts %v", f.puts)
	}
	if strings.Contains(reasonsAt(t, dir), "Scaling,") {
		t.Fatal("the test must kill before the record")
	}
	st, _ = store.Open(dir)
	defer st.Close()
	c := lagController(st, f, f, nil)
	for i := 1; i <= 3; i++ {
		c.RunOnce(context.Background(), t0.Add(time.Duration(i)*10*time.Second))
	}
	if len(f.puts) != 1 {
		t.Errorf("re-sent: %v", f.puts)
	}
	got := reasons(t, st)
	if strings.Count(got, "Scaling") != 1 {
		t.Errorf("events %s: want exactly one Scaling", got)
	}
	if got := actions(t, st); got != "decided,reconciled" {
		t.Errorf("history %s", got)
	}
	js, _, _ := st.Job(keyA)
	if js.Intent == nil || !js.Intent.Applied || !strings.Contains(js.Intent.Note, "recorded after the restart") {
		t.Errorf("intent %+v", js.Intent)
	}
}

func reasonsAt(t *testing.T, dir string) string {
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return reasons(t, st) + ","
}

// TestNoChangeWithoutRecord: while the store cannot record (here: closed under the
// controller, as a full disk fails every commit), decisions are not applied, the job is
// unhealthy and the error metrics rise.
func TestNoChangeWithoutRecord(t *testing.T) {
	f := oneJob()
	f.jobs["a"].lag = 0
	st, _ := store.Open(t.TempDir())
	m := NewMetrics()
	c := lagController(st, f, f, m)
	c.RunOnce(context.Background(), t0)
	if err := c.Health(); err != nil {
		t.Fatalf("healthy store: %v", err)
	}
	st.Close()
	f.jobs["a"].lag = 100
	rep := c.RunOnce(context.Background(), t0.Add(time.Minute))
	if len(f.puts) != 0 {
		t.Fatalf("applied without a record: %v", f.puts)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "persist cycle") {
		t.Errorf("errors %v", rep.Errors)
	}
	if err := c.Health(); err == nil {
		t.Error("Health() nil while commits fail")
	}
	if v := counterValue(t, m, "flinktune_store_errors_total"); v < 1 {
		t.Errorf("flinktune_store_errors_total = %v", v)
	}
	if v := counterValue(t, m, "flinktune_jobs_unrecordable"); v != 1 {
		t.Errorf("flinktune_jobs_unrecordable = %v", v)
	}
}

// closingRealizer applies, then the store fails before the applied record (disk full at
// exactly that moment).
type closingRealizer struct {
	*fakeCluster
	st *store.Store
}

func (r closingRealizer) Realize(ctx context.Context, s *autoscaler.Snapshot, t map[string]int) (bool, error) {
	sent, err := r.fakeCluster.Realize(ctx, s, t)
	r.st.Close()
	return sent, err
}

func TestAppliedRecordFailureIsUnhealthyAndReconciled(t *testing.T) {
	f := oneJob()
	dir := t.TempDir()
	st, _ := store.Open(dir)
	c := lagController(st, f, closingRealizer{f, st}, nil)
	rep := c.RunOnce(context.Background(), t0)
	if len(rep.Errors) != 1 || c.Health() == nil {
		t.Fatalf("report %+v health %v", rep, c.Health())
	}
	st, _ = store.Open(dir)
	defer st.Close()
	lagController(st, f, f, nil).RunOnce(context.Background(), t0.Add(time.Minute))
	if got := reasons(t, st); got != "Scaling" {
		t.Errorf("events %s", got)
	}
	if len(f.puts) != 1 {
		t.Errorf("puts %v", f.puts)
	}
}

func TestRetentionRunByTheLoop(t *testing.T) {
	f := oneJob()
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	c := New(st, []Cluster{{Name: "http://fake:8081", Collector: f, Realizer: f}}, lagFactory,
		Options{AllJobs: true, Retention: store.Retention{MaxAge: time.Hour}, RetentionEvery: time.Minute})
	c.RunOnce(context.Background(), t0) // decides and applies: events at t0
	c.wg.Wait()
	f.jobs["a"].lag = 0
	c.RunOnce(context.Background(), t0.Add(2*time.Hour))
	c.wg.Wait()
	if got := reasons(t, st); got != "" {
		t.Errorf("events older than the retention survived: %s", got)
	}
	if got := actions(t, st); got != "" {
		t.Errorf("history older than the retention survived: %s", got)
	}
}

// counterValue sums a metric family's samples.
func counterValue(t *testing.T, m *Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			sum += mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
		}
	}
	return sum
}

// TestReconcileWaitsForRunning: restarted while the job restarts for the rescale Flink
// accepted just before the kill (the old parallelism still shows), the intent is neither
// dropped nor replaced; once the job runs with the new parallelism, it is recorded.
func TestReconcileWaitsForRunning(t *testing.T) {
	f := oneJob()
	dir := killedBeforePut(t, f)
	// Flink got the PUT after all (the kill came after it left) and is restarting the job.
	f.jobs["a"].status = "RESTARTING"
	st, _ := store.Open(dir)
	defer st.Close()
	c := lagController(st, f, f, nil)
	c.RunOnce(context.Background(), t0.Add(time.Minute))
	if got := reasons(t, st); got != "" {
		t.Fatalf("resolved while restarting: %s", got)
	}
	f.jobs["a"].status = ""
	f.jobs["a"].parallelism = map[string]int{"src": 8, "sink": 8}
	c.RunOnce(context.Background(), t0.Add(2*time.Minute))
	if got := reasons(t, st); got != "Scaling" {
		t.Errorf("events %s", got)
	}
	if got := actions(t, st); got != "decided,reconciled" {
		t.Errorf("history %s", got)
	}
	if len(f.puts) != 0 {
		t.Errorf("puts %v", f.puts)
	}
}

// TestOlderIntentFormat: a store written by an older flinktune holds intents without the
// snapshot time, left pending while their rescale (already recorded) was in flight. One
// Flink runs is closed without a second record; one it does not run is dropped as stale.
func TestOlderIntentFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target int
		events string
	}{
		{"in Flink", 2, ""},
		{"not in Flink", 8, "StaleIntentDropped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := oneJob()
			f.jobs["a"].lag = 0
			st, _ := store.Open(t.TempDir())
			defer st.Close()
			st.CommitCycle(store.Cycle{Info: store.JobInfo{Key: keyA}, Intent: &store.Intent{Time: t0,
				Parallelism: map[string]int{"src": tc.target, "sink": tc.target}}})
			lagController(st, f, f, nil).RunOnce(context.Background(), t0.Add(time.Minute))
			js, _, _ := st.Job(keyA)
			if js.Intent.Pending() || len(f.puts) != 0 {
				t.Errorf("intent %+v puts %v", js.Intent, f.puts)
			}
			if got := reasons(t, st); got != tc.events {
				t.Errorf("events %q, want %q", got, tc.events)
			}
		})
	}
}

// fullDiskRealizer applies, then the disk fills up (writes past 8 KiB fail for this
// process) before the applied record is written.
type fullDiskRealizer struct{ *fakeCluster }

func (r fullDiskRealizer) Realize(ctx context.Context, s *autoscaler.Snapshot, t map[string]int) (bool, error) {
	sent, err := r.fakeCluster.Realize(ctx, s, t)
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 8192, Max: ^uint64(0)})
	return sent, err
}

// TestAppliedRecordRetried: the applied record of a rescale Flink took cannot be written;
// the job is unhealthy, and the record goes with its next commit once the disk has room:
// one history entry and one Scaling event, nothing sent twice.
func TestAppliedRecordRetried(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		t.Skip(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig)
	f := oneJob()
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	c := lagController(st, f, fullDiskRealizer{f}, nil)
	rep := c.RunOnce(context.Background(), t0)
	if len(f.puts) != 1 || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "recording the rescale") {
		t.Fatalf("puts %v report %+v", f.puts, rep)
	}
	if c.Health() == nil {
		t.Error("healthy while a rescale is unrecorded")
	}
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig)
	c.clusters[0].Realizer = f
	if rep := c.RunOnce(context.Background(), t0.Add(10*time.Second)); len(rep.Errors) != 0 {
		t.Fatalf("after the disk has room: %+v", rep)
	}
	c.RunOnce(context.Background(), t0.Add(20*time.Second))
	if got := reasons(t, st); got != "Scaling" {
		t.Errorf("events %s", got)
	}
	if got := actions(t, st); got != "decided,applied" {
		t.Errorf("history %s", got)
	}
	if c.Health() != nil || len(f.puts) != 1 {
		t.Errorf("health %v puts %v", c.Health(), f.puts)
	}
}
