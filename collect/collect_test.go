package collect

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

const (
	fixtureDir = "../testdata/flink/fixtures"
	jobID      = "8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d"
	sourceID   = "cbc357ccb763df2852fee8c4fc7d55f2"
	keyedID    = "90bea66de1c231edf33913ecd54406c1"
	sinkID     = "6d2677a0ecc3fd8df0b72ec675edf8f4"
)

func decodeFixture(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := flinkrest.Decode(b, v); err != nil {
		t.Fatal(err)
	}
}

// fakeFlink is a small Flink REST server built from the fixtures. Metric answers honour
// get and agg like Flink; faults are injected per path (without query).
type fakeFlink struct {
	mu        sync.Mutex
	t         testing.TB
	config    flinkrest.DashboardConfiguration
	overview  flinkrest.MultipleJobsDetails
	details   flinkrest.JobDetailsInfo
	names     []string                     // listing of every vertex
	vertexAgg []flinkrest.AggregatedMetric // aggregates of every vertex
	tmAgg     []flinkrest.AggregatedMetric
	jmMetrics []flinkrest.Metric
	jobMetric []flinkrest.Metric
	exc       string // exceptions body
	tms       flinkrest.TaskManagersInfo
	jobConfig flinkrest.ConfigurationInfo
	reqs      string // resource-requirements body
	gcMissing bool   // an old Flink: any TM query naming the GC metric answers []
	fail      map[string]int
	requests  []string // "METHOD path?query"
}

func newFakeFlink(t testing.TB) *fakeFlink {
	f := &fakeFlink{t: t, fail: map[string]int{}}
	decodeFixture(t, "config.json", &f.config)
	decodeFixture(t, "jobs_overview.json", &f.overview)
	decodeFixture(t, "job_details.json", &f.details)
	var ids []flinkrest.MetricName
	decodeFixture(t, "vertex_subtasks_metrics_ids.json", &ids)
	for _, m := range ids {
		f.names = append(f.names, m.ID)
	}
	decodeFixture(t, "vertex_subtasks_metrics_agg.json", &f.vertexAgg)
	decodeFixture(t, "taskmanagers_metrics_agg.json", &f.tmAgg)
	decodeFixture(t, "jobmanager_metrics.json", &f.jmMetrics)
	decodeFixture(t, "job_metrics.json", &f.jobMetric)
	eb, err := os.ReadFile(filepath.Join(fixtureDir, "job_exceptions.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.exc = string(eb)
	decodeFixture(t, "taskmanagers.json", &f.tms)
	decodeFixture(t, "jobmanager_config.json", &f.jobConfig)
	b, err := os.ReadFile(filepath.Join(fixtureDir, "resource_requirements.json"))
	if err != nil {
		t.Fatal(err)
	}
	f.reqs = string(b)
	return f
}

func (f *fakeFlink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	if status, ok := f.fail[r.URL.Path]; ok {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(flinkrest.ErrorResponse{Errors: []string{"injected fault"}})
		return
	}
	q := r.URL.Query()
	get := splitList(q.Get("get"))
	aggs := splitList(q.Get("agg"))
	var out any
	switch p := r.URL.Path; {
	case p == "/config":
		out = f.config
	case p == "/jobs/overview":
		out = f.overview
	case p == "/jobs/"+jobID:
		out = f.details
	case p == "/jobs/"+jobID+"/jobmanager/config":
		out = f.jobConfig
	case p == "/jobs/"+jobID+"/resource-requirements":
		w.Write([]byte(f.reqs))
		return
	case p == "/jobs/"+jobID+"/exceptions":
		w.Write([]byte(f.exc))
		return
	case p == "/jobs/"+jobID+"/metrics":
		var ms []flinkrest.Metric
		for _, m := range f.jobMetric {
			if slices.Contains(get, m.ID) {
				ms = append(ms, m)
			}
		}
		out = ms
	case strings.HasPrefix(p, "/jobs/"+jobID+"/vertices/") && strings.HasSuffix(p, "/subtasks/metrics"):
		if len(get) == 0 {
			ids := make([]flinkrest.MetricName, len(f.names))
			for i, n := range f.names {
				ids[i] = flinkrest.MetricName{ID: n}
			}
			out = ids
		} else {
			out = filterAgg(f.vertexAgg, get, aggs)
		}
	case p == "/taskmanagers/metrics":
		if f.gcMissing && slices.Contains(get, TMGCTimePerSecond) {
			out = []flinkrest.AggregatedMetric{}
		} else {
			out = filterAgg(f.tmAgg, get, aggs)
		}
	case p == "/jobmanager/metrics":
		var ms []flinkrest.Metric
		for _, m := range f.jmMetrics {
			if slices.Contains(get, m.ID) {
				ms = append(ms, m)
			}
		}
		out = ms
	case p == "/taskmanagers":
		out = f.tms
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(flinkrest.ErrorResponse{Errors: []string{"Not found: " + p}})
		return
	}
	if err := json.NewEncoder(w).Encode(out); err != nil {
		f.t.Errorf("encoding %s: %v", r.URL.Path, err)
	}
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// filterAgg answers like Flink: only requested names, only requested aggregates (all
// without agg).
func filterAgg(all []flinkrest.AggregatedMetric, get, aggs []string) []flinkrest.AggregatedMetric {
	out := []flinkrest.AggregatedMetric{}
	for _, a := range all {
		if !slices.Contains(get, a.ID) {
			continue
		}
		if len(aggs) > 0 {
			keep := func(name string, v *flinkrest.Double) *flinkrest.Double {
				if slices.Contains(aggs, name) {
					return v
				}
				return nil
			}
			a.Min, a.Max, a.Avg, a.Sum, a.Skew = keep("min", a.Min), keep("max", a.Max), keep("avg", a.Avg), keep("sum", a.Sum), keep("skew", a.Skew)
		}
		out = append(out, a)
	}
	return out
}

func (f *fakeFlink) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

func (f *fakeFlink) edit(fn func(f *fakeFlink)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func countPrefix(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// setup starts the fake cluster and a collector reading it through a real client.
func setup(t *testing.T) (*fakeFlink, *Collector) {
	t.Helper()
	f := newFakeFlink(t)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client, err := flinkrest.New(srv.URL, flinkrest.WithRetries(0, 0, 0), flinkrest.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return f, New(client, Options{Cluster: srv.URL, CallTimeout: 5 * time.Second})
}

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCollectFromFixtures(t *testing.T) {
	f, c := setup(t)
	snap, err := c.Collect(context.Background(), jobID, now)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Time != now || snap.JobID != jobID || snap.JobName != "orders-enricher" || snap.FlinkVersion != "1.20.1" || snap.Status != "RUNNING" {
		t.Errorf("job fields: %+v", snap)
	}
	if !snap.RunningSince.Equal(time.UnixMilli(1767222004210)) {
		t.Errorf("RunningSince %v", snap.RunningSince)
	}
	if len(snap.Vertices) != 3 {
		t.Fatalf("%d vertices", len(snap.Vertices))
	}
	src, keyed, sink := snap.Vertex(sourceID), snap.Vertex(keyedID), snap.Vertex(sinkID)
	if !src.IsSource() || src.Parallelism != 4 || src.MaxParallelism != 128 || src.SlotSharingGroup != "a5d8c2f1e0b94d3c8a7b6c5d4e3f2a1b" ||
		src.WriteRecords != 35987211 || src.AccumulatedBusyTime != 4519880.0 || src.Name != "Source: kafka-orders -> Filter" {
		t.Errorf("source vertex %+v", src)
	}
	if len(keyed.Inputs) != 1 || keyed.Inputs[0] != (autoscaler.Edge{From: sourceID, Ship: "HASH"}) || keyed.ReadRecords != 35987211 {
		t.Errorf("keyed vertex %+v", keyed.Inputs)
	}
	if len(sink.Inputs) != 1 || sink.Inputs[0] != (autoscaler.Edge{From: keyedID, Ship: "REBALANCE"}) || sink.Parallelism != 2 || sink.Finished {
		t.Errorf("sink vertex %+v", sink)
	}
	if len(src.MetricNames) != 49 || src.MetricNames[0] != "busyTimeMsPerSecond" {
		t.Errorf("metric names %d", len(src.MetricNames))
	}
	busy := src.Metrics["busyTimeMsPerSecond"]
	if busy.Max != 340.2 || busy.Min != 298.0 || busy.Avg != 313.95 || busy.Sum != 1255.8 || busy.Skew != 4.1806 {
		t.Errorf("busy %+v", busy)
	}
	if src.Metrics["Source__kafka-orders.pendingRecords"].Sum != 61717 || src.Metrics["Source__kafka-orders.numRecordsInPerSecond"].Sum != 10000 {
		t.Errorf("source metrics %+v", src.Metrics)
	}
	// The answer has exactly the six entries Flink returned; names Flink lacked are absent.
	if len(src.Metrics) != 6 {
		t.Errorf("%d metrics: %v", len(src.Metrics), src.Metrics)
	}
	if _, ok := src.Metrics["idleTimeMsPerSecond"]; ok {
		t.Error("a metric Flink did not return appeared")
	}
	heap := snap.TaskManagerMetrics[TMHeapUsed]
	if heap.Max != 688914432 || heap.Min != 612368384 || !math.IsNaN(heap.Sum) || !math.IsNaN(heap.Skew) {
		t.Errorf("TM heap %+v", heap)
	}
	if snap.TaskManagerMetrics[TMGCTimePerSecond].Max != 18.9 || len(snap.TaskManagerMetrics) != 5 {
		t.Errorf("TM metrics %+v", snap.TaskManagerMetrics)
	}
	if snap.SlotsTotal != 4 || snap.SlotsAvailable != 0 || snap.NumTaskManagers != 2 {
		t.Errorf("slots %d/%d TMs %d", snap.SlotsTotal, snap.SlotsAvailable, snap.NumTaskManagers)
	}
	if snap.CompletedCheckpoints != 58 { // numberOfCompletedCheckpoints in the fixture
		t.Errorf("completed checkpoints %d, want 58", snap.CompletedCheckpoints)
	}
	if snap.Config["jobmanager.scheduler"] != "adaptive" || snap.Config["job.autoscaler.metrics.window"] != "10m" {
		t.Errorf("config %v", snap.Config)
	}
	if len(snap.Requirements) != 3 || snap.Requirements[sinkID] != (autoscaler.Bounds{Lower: 1, Upper: 2}) {
		t.Errorf("requirements %v", snap.Requirements)
	}
	if snap.Cluster == "" {
		t.Error("cluster not set")
	}

	reqs := f.take()
	// The vertex query asks for the selection, escaped, with no agg (all aggregates).
	wantGet := "get=Source__kafka-orders.numRecordsIn,Source__kafka-orders.numRecordsInPerSecond,Source__kafka-orders.numRecordsOut," +
		"Source__kafka-orders.numRecordsOutPerSecond,Source__kafka-orders.pendingRecords,backPressuredTimeMsPerSecond,busyTimeMsPerSecond," +
		"idleTimeMsPerSecond,numRecordsInPerSecond,numRecordsOutPerSecond"
	if !slices.Contains(reqs, "GET /jobs/"+jobID+"/vertices/"+sourceID+"/subtasks/metrics?"+wantGet) {
		t.Errorf("vertex metric query missing; requests:\n%s", strings.Join(reqs, "\n"))
	}
	tmq := "GET /taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max,Status.JVM.Memory.Heap.Used,Status.JVM.Memory.Heap.Committed," +
		"Status.Flink.Memory.Managed.Used,Status.Flink.Memory.Managed.Total,Status.JVM.Memory.Metaspace.Used,Status.JVM.Memory.Metaspace.Max," +
		"Status.Shuffle.Netty.UsedMemorySegments,Status.Shuffle.Netty.TotalMemorySegments," +
		"Status.JVM.GarbageCollector.All.TimeMsPerSecond&agg=min,max,avg"
	jmq := "GET /jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable,Status.JVM.Memory.Heap.Used,Status.JVM.Memory.Heap.Max," +
		"Status.JVM.Memory.Heap.Committed,Status.JVM.Memory.Metaspace.Used,Status.JVM.Memory.Metaspace.Max," +
		"Status.JVM.GarbageCollector.All.TimeMsPerSecond"
	if !slices.Contains(reqs, tmq) || !slices.Contains(reqs, jmq) {
		t.Errorf("cluster queries missing; requests:\n%s", strings.Join(reqs, "\n"))
	}
	// The job restarted once (numRestarts 1): its exception history is read on first sight.
	if !slices.Contains(reqs, "GET /jobs/"+jobID+"/metrics?get=numRestarts,lastCheckpointDuration,lastCheckpointSize,lastCheckpointFullSize,numberOfCompletedCheckpoints") || !slices.Contains(reqs, "GET /jobs/"+jobID+"/exceptions?maxExceptions=10") {
		t.Errorf("restart queries missing; requests:\n%s", strings.Join(reqs, "\n"))
	}
	// 1 version + details + config + 3×(names + metrics) + TM + JM + restarts + exceptions + TMs + requirements.
	if len(reqs) != 15 {
		t.Errorf("%d requests:\n%s", len(reqs), strings.Join(reqs, "\n"))
	}
}

func TestNamesCachedForNonSources(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	listing := func(reqs []string, vertex string) int {
		return countPrefix(reqs, "GET /jobs/"+jobID+"/vertices/"+vertex+"/subtasks/metrics?") - countPrefix(reqs, "GET /jobs/"+jobID+"/vertices/"+vertex+"/subtasks/metrics?get=")
	}
	if _, err := c.Collect(ctx, jobID, now); err != nil {
		t.Fatal(err)
	}
	reqs := f.take()
	if listing(reqs, sourceID) != 1 || listing(reqs, keyedID) != 1 || listing(reqs, sinkID) != 1 {
		t.Fatalf("first cycle lists every vertex")
	}
	// Second cycle: only the source is listed again; /config is cached by the client.
	snap, err := c.Collect(ctx, jobID, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	reqs = f.take()
	if listing(reqs, sourceID) != 1 || listing(reqs, keyedID) != 0 || listing(reqs, sinkID) != 0 || countPrefix(reqs, "GET /config") != 0 {
		t.Errorf("second cycle requests:\n%s", strings.Join(reqs, "\n"))
	}
	if len(snap.Vertex(keyedID).MetricNames) != 49 {
		t.Error("cached names not in the snapshot")
	}
	// A restart (timestamps.RUNNING moves) drops the cache.
	f.edit(func(f *fakeFlink) { f.details.Timestamps["RUNNING"] += 60000 })
	if _, err := c.Collect(ctx, jobID, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if reqs = f.take(); listing(reqs, keyedID) != 1 || listing(reqs, sinkID) != 1 {
		t.Errorf("restart did not refresh names")
	}
	// So does a changed vertex set.
	f.edit(func(f *fakeFlink) {
		v := f.details.Vertices[2]
		v.ID = "11111111111111111111111111111111"
		f.details.Vertices = append(f.details.Vertices, v)
		n := f.details.Plan.Nodes[0]
		n.ID = v.ID
		f.details.Plan.Nodes = append(f.details.Plan.Nodes, n)
	})
	if _, err := c.Collect(ctx, jobID, now.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if reqs = f.take(); listing(reqs, keyedID) != 1 || listing(reqs, "11111111111111111111111111111111") != 1 {
		t.Errorf("new vertex set did not refresh names")
	}
	// A listing without busy time (metrics not registered yet) is not cached.
	f.edit(func(f *fakeFlink) { f.names = []string{"numRecordsIn"}; f.details.Timestamps["RUNNING"] += 60000 })
	c.Collect(ctx, jobID, now.Add(4*time.Minute))
	f.edit(func(f *fakeFlink) { f.names = []string{"busyTimeMsPerSecond"} })
	f.take()
	snap, err = c.Collect(ctx, jobID, now.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if reqs = f.take(); listing(reqs, keyedID) != 1 || len(snap.Vertex(keyedID).MetricNames) != 1 {
		t.Errorf("incomplete listing was cached")
	}
	// Forget drops everything.
	c.Forget(jobID)
	c.Collect(ctx, jobID, now.Add(6*time.Minute))
	if reqs = f.take(); listing(reqs, keyedID) != 1 {
		t.Errorf("Forget kept the cache")
	}
}

func TestGCFallback(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) { f.gcMissing = true })
	ctx := context.Background()
	snap, err := c.Collect(ctx, jobID, now)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.take()
	if n := countPrefix(reqs, "GET /taskmanagers/metrics"); n != 2 {
		t.Errorf("probe + fallback: %d TM queries", n)
	}
	if _, ok := snap.TaskManagerMetrics[TMGCTimePerSecond]; ok || snap.TaskManagerMetrics[TMHeapMax].Max != 1664090112 {
		t.Errorf("TM metrics %v", snap.TaskManagerMetrics)
	}
	// The probe result is remembered: one query without the GC name.
	if _, err := c.Collect(ctx, jobID, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	reqs = f.take()
	if countPrefix(reqs, "GET /taskmanagers/metrics") != 1 || countPrefix(reqs, "GET /taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max,Status.JVM.Memory.Heap.Used,Status.JVM.Memory.Heap.Committed,Status.Flink.Memory.Managed.Used,Status.Flink.Memory.Managed.Total,Status.JVM.Memory.Metaspace.Used,Status.JVM.Memory.Metaspace.Max,Status.Shuffle.Netty.UsedMemorySegments,Status.Shuffle.Netty.TotalMemorySegments&") != 1 {
		t.Errorf("after probe:\n%s", strings.Join(reqs, "\n"))
	}
	// No TaskManager metrics at all is not a collection error (policies decide).
	f.edit(func(f *fakeFlink) { f.tmAgg = nil })
	snap, err = c.Collect(ctx, jobID, now.Add(2*time.Minute))
	if err != nil || len(snap.TaskManagerMetrics) != 0 {
		t.Errorf("empty TM metrics: %v %v", snap, err)
	}
}

func TestFaultsNameTheCall(t *testing.T) {
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/config", 500, "GET /config"},
		{"/jobs/" + jobID, 404, "GET /jobs/{jobid}"},
		{"/jobs/" + jobID + "/jobmanager/config", 500, "GET /jobs/{jobid}/jobmanager/config"},
		{"/jobs/" + jobID + "/vertices/" + keyedID + "/subtasks/metrics", 503, "vertex " + keyedID},
		{"/taskmanagers/metrics", 500, "GET /taskmanagers/metrics"},
		{"/jobmanager/metrics", 500, "GET /jobmanager/metrics"},
		{"/jobs/" + jobID + "/metrics", 503, "GET /jobs/{jobid}/metrics?get=numRestarts,lastCheckpointDuration,lastCheckpointSize,lastCheckpointFullSize,numberOfCompletedCheckpoints"},
		{"/jobs/" + jobID + "/exceptions", 500, "GET /jobs/{jobid}/exceptions"},
		{"/taskmanagers", 502, "GET /taskmanagers"},
		{"/jobs/" + jobID + "/resource-requirements", 500, "GET /jobs/{jobid}/resource-requirements"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, c := setup(t)
			f.edit(func(f *fakeFlink) { f.fail[tc.path] = tc.status })
			snap, err := c.Collect(context.Background(), jobID, now)
			if snap != nil || err == nil {
				t.Fatalf("partial snapshot returned: %v %v", snap, err)
			}
			var ce *CallError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || flinkrest.StatusCode(err) != tc.status {
				t.Errorf("error %q (want it to name %q and carry status %d)", err, tc.want, tc.status)
			}
			if !strings.Contains(err.Error(), "injected fault") {
				t.Errorf("error %q lacks Flink's message", err)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	client, _ := flinkrest.New(srv.URL, flinkrest.WithRetries(0, 0, 0))
	c := New(client, Options{})
	if _, err := c.Collect(context.Background(), jobID, now); err == nil || !strings.Contains(err.Error(), "GET /config") {
		t.Errorf("outage: %v", err)
	}
	if _, err := c.ListJobs(context.Background()); err == nil || !strings.Contains(err.Error(), "GET /jobs/overview") {
		t.Errorf("outage: %v", err)
	}
}

func TestNotRunningSkipsMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(f *fakeFlink)
		want string
	}{
		{"restarting", func(f *fakeFlink) { f.details.State = "RESTARTING" }, "RESTARTING"},
		{"deploying tasks", func(f *fakeFlink) {
			f.details.Vertices[1].Tasks["RUNNING"] = 3
			f.details.Vertices[1].Tasks["DEPLOYING"] = 1
		}, "CREATED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t)
			f.edit(tc.edit)
			snap, err := c.Collect(context.Background(), jobID, now)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Status != tc.want || len(snap.Vertices) != 3 || snap.Config["jobmanager.scheduler"] != "adaptive" {
				t.Errorf("snapshot %+v", snap)
			}
			reqs := f.take()
			if countPrefix(reqs, "GET /jobs/"+jobID+"/vertices/") != 0 || countPrefix(reqs, "GET /taskmanagers") != 0 {
				t.Errorf("metrics read for a job that does not run:\n%s", strings.Join(reqs, "\n"))
			}
			if snap.SlotsTotal != -1 || snap.SlotsAvailable != -1 {
				t.Errorf("slots %d/%d, want -1", snap.SlotsTotal, snap.SlotsAvailable)
			}
			// Restarts and the failure behind them are read even then.
			if snap.NumRestarts != 1 || len(snap.Exceptions) != 1 {
				t.Errorf("restarts %d exceptions %v", snap.NumRestarts, snap.Exceptions)
			}
		})
	}
}

func TestFinishedVertex(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) {
		f.details.Vertices[0].Status = "FINISHED"
		f.details.Vertices[0].Tasks = map[string]int{"FINISHED": 4}
	})
	snap, err := c.Collect(context.Background(), jobID, now)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Status != "RUNNING" || !snap.Vertex(sourceID).Finished || snap.Vertex(sourceID).MetricNames != nil {
		t.Errorf("finished vertex %+v", snap.Vertex(sourceID))
	}
	if countPrefix(f.take(), "GET /jobs/"+jobID+"/vertices/"+sourceID) != 0 {
		t.Error("metrics read for a finished vertex")
	}
}

func TestRequirementsOnlyForAdaptive(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) {
		for i := range f.jobConfig {
			if f.jobConfig[i].Key == "jobmanager.scheduler" {
				f.jobConfig[i].Value = "default"
			}
		}
	})
	snap, err := c.Collect(context.Background(), jobID, now)
	if err != nil || snap.Requirements != nil || countPrefix(f.take(), "GET /jobs/"+jobID+"/resource-requirements") != 0 {
		t.Errorf("default scheduler: requirements %v, err %v", snap.Requirements, err)
	}
	// Reactive mode runs the adaptive scheduler.
	f.edit(func(f *fakeFlink) {
		f.jobConfig = append(f.jobConfig, flinkrest.ConfigurationEntry{Key: "scheduler-mode", Value: "REACTIVE"})
	})
	if snap, err = c.Collect(context.Background(), jobID, now); err != nil || len(snap.Requirements) != 3 {
		t.Errorf("reactive: %v %v", snap.Requirements, err)
	}
	// FLINK-32341: an empty GET body is tolerated and leaves the requirements unknown.
	f.edit(func(f *fakeFlink) { f.reqs = "" })
	if snap, err = c.Collect(context.Background(), jobID, now); err != nil || snap.Requirements != nil {
		t.Errorf("empty body: %v %v", snap.Requirements, err)
	}
	// A development build without a version still gets its requirements read.
	f3, c3 := setup(t)
	f3.edit(func(f *fakeFlink) { f.config.FlinkVersion = "<unknown>" })
	if snap, err = c3.Collect(context.Background(), jobID, now); err != nil || len(snap.Requirements) != 3 || snap.FlinkVersion != "<unknown>" {
		t.Errorf("unknown version: %v %v", snap, err)
	}
	// Flink before 1.18 has no resource requirements.
	f2, c2 := setup(t)
	f2.edit(func(f *fakeFlink) { f.config.FlinkVersion = "1.17.2" })
	if snap, err = c2.Collect(context.Background(), jobID, now); err != nil || snap.Requirements != nil || countPrefix(f2.take(), "GET /jobs/"+jobID+"/resource-requirements") != 0 {
		t.Errorf("1.17: %v %v", snap.Requirements, err)
	}
}

func TestInconsistentPlanIsAnError(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) { f.details.Plan.Nodes = f.details.Plan.Nodes[1:] })
	if _, err := c.Collect(context.Background(), jobID, now); err == nil || !strings.Contains(err.Error(), "plan has no node") {
		t.Errorf("got %v", err)
	}
}

// During a rescale the adaptive scheduler's job details can list vertices the plan does not
// have yet (seen on real Flink 1.20): a job that is not running is reported as not running, not
// as an error.
func TestInconsistentPlanWhileRestartingIsNotAnError(t *testing.T) {
	for _, state := range []string{"RESTARTING", "CREATED"} {
		f, c := setup(t)
		f.edit(func(f *fakeFlink) { f.details.Plan.Nodes = f.details.Plan.Nodes[1:]; f.details.State = state })
		snap, err := c.Collect(context.Background(), jobID, now)
		if err != nil {
			t.Fatalf("%s: %v", state, err)
		}
		if snap.Status == "RUNNING" || len(snap.Vertices) != 0 {
			t.Errorf("%s: status %s with %d vertices, want a job not running without vertices", state, snap.Status, len(snap.Vertices))
		}
	}
}

func TestListJobs(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) {
		j := f.overview.Jobs[0]
		for _, s := range []struct{ id, state string }{{"00000000000000000000000000000002", "FINISHED"}, {"00000000000000000000000000000001", "RESTARTING"}, {"00000000000000000000000000000003", "CANCELED"}, {"00000000000000000000000000000004", "FAILED"}} {
			j.JID, j.State = s.id, s.state
			f.overview.Jobs = append(f.overview.Jobs, j)
		}
	})
	jobs, err := c.ListJobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != "00000000000000000000000000000001" || jobs[0].State != "RESTARTING" ||
		jobs[1].ID != jobID || jobs[1].Name != "orders-enricher" || !jobs[1].StartTime.Equal(time.UnixMilli(1767222000000)) {
		t.Errorf("jobs %+v", jobs)
	}
}

// blockingAPI never answers; every call must still end at the per-call deadline.
type blockingAPI struct{ API }

func (blockingAPI) FlinkVersion(ctx context.Context) (flinkrest.Version, error) {
	<-ctx.Done()
	return flinkrest.Version{}, ctx.Err()
}

func TestCallDeadline(t *testing.T) {
	c := New(blockingAPI{}, Options{CallTimeout: 20 * time.Millisecond})
	_, err := c.Collect(context.Background(), jobID, now)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "GET /config") {
		t.Errorf("got %v", err)
	}
}

func TestSelectVertexMetrics(t *testing.T) {
	var ids []flinkrest.MetricName
	decodeFixture(t, "vertex_subtasks_metrics_ids.json", &ids)
	var names []string
	for _, m := range ids {
		names = append(names, m.ID)
	}
	got := SelectVertexMetrics(append(names, "busyTimeMsPerSecond", "Map.pendingRecords", "Sourcex.numRecordsIn", "Source__x.numRecordsInX"))
	want := []string{"Map.pendingRecords", "Source__kafka-orders.numRecordsIn", "Source__kafka-orders.numRecordsInPerSecond",
		"Source__kafka-orders.numRecordsOut", "Source__kafka-orders.numRecordsOutPerSecond", "Source__kafka-orders.pendingRecords",
		"backPressuredTimeMsPerSecond", "busyTimeMsPerSecond", "idleTimeMsPerSecond", "numRecordsInPerSecond", "numRecordsOutPerSecond"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if SelectVertexMetrics(nil) != nil {
		t.Error("selection from nothing")
	}
}

func TestEffectiveStatus(t *testing.T) {
	v := func(status string, tasks map[string]int) flinkrest.JobVertex {
		return flinkrest.JobVertex{Status: status, Tasks: tasks}
	}
	for _, tc := range []struct {
		state string
		vs    []flinkrest.JobVertex
		want  string
	}{
		{"RUNNING", []flinkrest.JobVertex{v("RUNNING", map[string]int{"RUNNING": 2, "CREATED": 0}), v("FINISHED", map[string]int{"FINISHED": 1})}, "RUNNING"},
		{"RUNNING", []flinkrest.JobVertex{v("RUNNING", map[string]int{"RUNNING": 1, "INITIALIZING": 1})}, "CREATED"},
		{"RUNNING", []flinkrest.JobVertex{v("DEPLOYING", nil)}, "CREATED"},
		{"RUNNING", []flinkrest.JobVertex{v("RUNNING", nil)}, "RUNNING"},
		{"FAILING", []flinkrest.JobVertex{v("RUNNING", map[string]int{"RUNNING": 1})}, "FAILING"},
		{"RESTARTING", nil, "RESTARTING"},
	} {
		if got := EffectiveStatus(&flinkrest.JobDetailsInfo{State: tc.state, Vertices: tc.vs}); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.state, tc.vs, got, tc.want)
		}
	}
}

func TestShipStrategy(t *testing.T) {
	for in, want := range map[string]string{"HASH": "HASH", "rebalance": "REBALANCE", " FORWARD ": "FORWARD", "GLOBAL": "GLOBAL",
		"CUSTOM": "CUSTOM", "": "UNKNOWN", "PARTIAL_HASH": "UNKNOWN"} {
		if got := ShipStrategy(in); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestGaugeInt(t *testing.T) {
	ms := []flinkrest.Metric{{ID: "a", Value: "4"}, {ID: "b", Value: "4.0"}, {ID: "c", Value: "NaN"}, {ID: "d", Value: "x"},
		{ID: "e", Value: "-3"}, {ID: "f", Value: "1e308"}, {ID: "g", Value: "2.5"}}
	for id, want := range map[string]struct {
		n   int
		bad bool
	}{"a": {4, false}, "b": {4, false}, "c": {-1, true}, "d": {-1, true}, "missing": {-1, false},
		"e": {0, true}, "f": {-1, true}, "g": {-1, true}} {
		chk := &checker{job: "j"}
		if got := chk.gaugeInt(ms, id, 100); got != want.n || (chk.err != nil) != want.bad {
			t.Errorf("%s: %d (bad data %v), want %d (bad data %v)", id, got, chk.err, want.n, want.bad)
		}
	}
}

func BenchmarkCollect(b *testing.B) {
	f := newFakeFlink(b)
	srv := httptest.NewServer(f)
	defer srv.Close()
	client, _ := flinkrest.New(srv.URL)
	c := New(client, Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Collect(ctx, jobID, now); err != nil {
			b.Fatal(err)
		}
		f.take()
	}
}

func TestRestartsExceptionsAndJobManagerMetrics(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	snap, err := c.Collect(ctx, jobID, now)
	if err != nil {
		t.Fatal(err)
	}
	if snap.NumRestarts != 1 {
		t.Errorf("NumRestarts %d", snap.NumRestarts)
	}
	if snap.JobManagerMetrics[TMHeapUsed] != 201326592 || snap.JobManagerMetrics[TMHeapMax] != 469762048 || len(snap.JobManagerMetrics) != 2 {
		t.Errorf("JobManagerMetrics %v", snap.JobManagerMetrics)
	}
	want := autoscaler.JobException{Time: time.UnixMilli(1767221995210).UTC(),
		Name:        "org.apache.flink.runtime.io.network.netty.exception.RemoteTransportException",
		Message:     "Connection unexpectedly closed by remote task manager '10.42.2.9:6121 [orders-enricher-taskmanager-1-2]'.",
		TaskManager: "orders-enricher-taskmanager-1-1"}
	if len(snap.Exceptions) != 1 || snap.Exceptions[0] != want {
		t.Errorf("exceptions %+v", snap.Exceptions)
	}
	f.take()

	// Same restart count: the history is not read again.
	snap, err = c.Collect(ctx, jobID, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if reqs := f.take(); countPrefix(reqs, "GET /jobs/"+jobID+"/exceptions") != 0 || snap.Exceptions != nil {
		t.Errorf("history read without a restart: %v", reqs)
	}

	// A new restart (an OOM with a concurrent failure): read, newest first, concurrent after its root.
	f.edit(func(f *fakeFlink) {
		f.jobMetric = []flinkrest.Metric{{ID: "numRestarts", Value: "2"}}
		f.exc = `{"root-exception": null, "timestamp": null, "all-exceptions": [], "truncated": false,
		  "exceptionHistory": {"truncated": false, "entries": [
		    {"exceptionName": "java.lang.OutOfMemoryError", "stacktrace": "java.lang.OutOfMemoryError: Java heap space\n\tat x.y(Z.java:1)\n",
		     "timestamp": 1767222100000, "taskName": "KeyedProcess (1/4)#1", "endpoint": "10.0.0.1:6121", "failureLabels": {},
		     "concurrentExceptions": [{"exceptionName": "java.lang.OutOfMemoryError", "stacktrace": "java.lang.OutOfMemoryError: Metaspace\n",
		       "timestamp": 1767222100001, "taskManagerId": "tm-2", "failureLabels": {}}]},
		    {"exceptionName": "java.lang.Exception", "stacktrace": "java.lang.Exception: older\n", "timestamp": 1767221000000,
		     "failureLabels": {}, "concurrentExceptions": []}]}}`
	})
	// The exception history fails first: the collection fails and the next one retries it.
	f.edit(func(f *fakeFlink) { f.fail["/jobs/"+jobID+"/exceptions"] = 500 })
	if _, err := c.Collect(ctx, jobID, now.Add(2*time.Minute)); err == nil || !strings.Contains(err.Error(), "GET /jobs/{jobid}/exceptions") {
		t.Fatalf("want the exceptions call named, got %v", err)
	}
	f.edit(func(f *fakeFlink) { delete(f.fail, "/jobs/"+jobID+"/exceptions") })
	snap, err = c.Collect(ctx, jobID, now.Add(3*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if snap.NumRestarts != 2 || len(snap.Exceptions) != 3 {
		t.Fatalf("restarts %d exceptions %+v", snap.NumRestarts, snap.Exceptions)
	}
	if e := snap.Exceptions[0]; e.Message != "Java heap space" || e.TaskManager != "10.0.0.1:6121" || !e.Time.Equal(time.UnixMilli(1767222100000)) {
		t.Errorf("root %+v", e)
	}
	if e := snap.Exceptions[1]; e.Message != "Metaspace" || e.TaskManager != "tm-2" {
		t.Errorf("concurrent %+v", e)
	}

	// No numRestarts gauge: -1, no history.
	f.edit(func(f *fakeFlink) { f.jobMetric = nil })
	f.take()
	snap, err = c.Collect(ctx, jobID, now.Add(4*time.Minute))
	if err != nil || snap.NumRestarts != -1 || snap.Exceptions != nil {
		t.Errorf("missing gauge: %v %d %v", err, snap.NumRestarts, snap.Exceptions)
	}
	if countPrefix(f.take(), "GET /jobs/"+jobID+"/exceptions") != 0 {
		t.Error("history read without a restart count")
	}
}

func TestExceptionsNil(t *testing.T) {
	if Exceptions(nil) != nil {
		t.Error("nil history")
	}
}

// TestExceptionsKeepRootCause: a wrapped failure keeps its "Caused by:" lines, so that an
// OutOfMemoryError or missing network buffers under a JobException is still recognized.
func TestExceptionsKeepRootCause(t *testing.T) {
	info := &flinkrest.JobExceptionsInfoWithHistory{ExceptionHistory: flinkrest.JobExceptionHistory{Entries: []flinkrest.RootExceptionInfo{{
		ExceptionInfo: flinkrest.ExceptionInfo{ExceptionName: "org.apache.flink.runtime.JobException", Timestamp: 1000,
			Stacktrace: "org.apache.flink.runtime.JobException: Recovery is suppressed by NoRestartBackoffTimeStrategy\n\tat x.y(Z.java:1)\nCaused by: java.io.IOException: Insufficient number of network buffers: required 9, but only 2 available.\n\tat a.b(C.java:2)\n"},
	}}}}
	got := Exceptions(info)
	if len(got) != 1 || got[0].Message != "Recovery is suppressed by NoRestartBackoffTimeStrategy | Caused by: java.io.IOException: Insufficient number of network buffers: required 9, but only 2 available." {
		t.Fatalf("%+v", got)
	}
}
