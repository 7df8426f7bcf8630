package flinkrest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	jobID    = "8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d"
	sourceID = "cbc357ccb763df2852fee8c4fc7d55f2"
)

// recorder remembers the requests a test server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (r *recorder) add(req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	r.body = append(r.body, string(b))
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

func (r *recorder) last() (*http.Request, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1], r.body[len(r.body)-1]
}

// fixtureServer serves the fixtures at their REST paths (with and without /v1).
func fixtureServer(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	routes := map[string]string{
		"GET /config":                  "config.json",
		"GET /overview":                "overview.json",
		"GET /jobs":                    "jobs.json",
		"GET /jobs/overview":           "jobs_overview.json",
		"GET /jobs/" + jobID:           "job_details.json",
		"GET /jobs/" + jobID + "/plan": "job_plan.json",
		"GET /jobs/" + jobID + "/vertices/" + sourceID:                       "vertex_details.json",
		"GET /jobs/" + jobID + "/metrics":                                    "job_metrics.json",
		"GET /taskmanagers":                                                  "taskmanagers.json",
		"GET /taskmanagers/orders-enricher-taskmanager-1-1":                  "taskmanager_details.json",
		"GET /taskmanagers/metrics":                                          "taskmanagers_metrics_agg.json",
		"GET /jobmanager/config":                                             "jobmanager_config.json",
		"GET /jobs/" + jobID + "/jobmanager/config":                          "jobmanager_config.json",
		"GET /jobmanager/metrics":                                            "jobmanager_metrics.json",
		"GET /jobs/" + jobID + "/checkpoints":                                "checkpoints.json",
		"GET /jobs/" + jobID + "/exceptions":                                 "job_exceptions.json",
		"GET /jobs/" + jobID + "/resource-requirements":                      "resource_requirements.json",
		"GET /jobs/" + jobID + "/vertices/" + sourceID + "/subtasks/metrics": "",
	}
	var calls map[string]json.RawMessage
	if err := json.Unmarshal(readFixture(t, "savepoint_async.json"), &calls); err != nil {
		t.Fatal(err)
	}
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		path := strings.TrimPrefix(r.URL.Path, "/v1")
		key := r.Method + " " + path
		w.Header().Set("Content-Type", "application/json")
		switch {
		case key == "PUT /jobs/"+jobID+"/resource-requirements":
			w.Write([]byte("{}"))
			return
		case key == "POST /jobs/"+jobID+"/savepoints":
			w.WriteHeader(http.StatusAccepted)
			w.Write(calls["POST /jobs/:jobid/savepoints response (202)"])
			return
		case strings.HasPrefix(key, "GET /jobs/"+jobID+"/savepoints/"):
			w.Write(calls["GET /jobs/:jobid/savepoints/:triggerid when done"])
			return
		}
		name, ok := routes[key]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":["Not found: ` + path + `"]}`))
			return
		}
		if name == "" { // subtask metrics: names listing without get, aggregates with get
			name = "vertex_subtasks_metrics_ids.json"
			if r.URL.Query().Has("get") {
				name = "vertex_subtasks_metrics_agg.json"
			}
		}
		w.Write(readFixture(t, name))
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func newClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := New(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientTypedCalls(t *testing.T) {
	srv, rec := fixtureServer(t)
	c := newClient(t, srv.URL)
	ctx := context.Background()

	cfg, err := c.Config(ctx)
	if err != nil || cfg.FlinkVersion != "1.20.1" {
		t.Fatalf("Config: %+v %v", cfg, err)
	}
	ov, err := c.Overview(ctx)
	if err != nil || ov.SlotsTotal != 4 || ov.TaskManagers != 2 {
		t.Errorf("Overview: %+v %v", ov, err)
	}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs.Jobs) != 1 || jobs.Jobs[0].Status != JobRunning {
		t.Errorf("Jobs: %+v %v", jobs, err)
	}
	jo, err := c.JobsOverview(ctx)
	if err != nil || jo.Jobs[0].Name != "orders-enricher" || jo.Jobs[0].Tasks["running"] != 10 {
		t.Errorf("JobsOverview: %+v %v", jo, err)
	}
	jd, err := c.JobDetails(ctx, jobID)
	if err != nil || len(jd.Vertices) != 3 || len(jd.Plan.Nodes) != 3 {
		t.Errorf("JobDetails: %v", err)
	}
	plan, err := c.JobPlan(ctx, jobID)
	if err != nil || len(plan.Nodes) != 3 || plan.Nodes[1].Inputs[0].ShipStrategy != "HASH" {
		t.Errorf("JobPlan: %+v %v", plan, err)
	}
	vd, err := c.VertexDetails(ctx, jobID, sourceID)
	if err != nil || len(vd.Subtasks) != 4 || vd.Subtasks[2].TaskManagerID != "orders-enricher-taskmanager-1-2" {
		t.Errorf("VertexDetails: %v", err)
	}
	names, err := c.VertexMetricNames(ctx, jobID, sourceID)
	if err != nil || len(names) != 49 || names[0] != "busyTimeMsPerSecond" {
		t.Errorf("VertexMetricNames: %d %v", len(names), err)
	}
	if req, _ := rec.last(); req.URL.RawQuery != "" {
		t.Errorf("names listing sent a query: %q", req.URL.RawQuery)
	}
	agg, err := c.VertexMetrics(ctx, jobID, sourceID, []string{"busyTimeMsPerSecond", "Source__a+b/c.numRecordsIn"}, []string{AggMax, AggSum})
	if err != nil || len(agg) != 6 || agg[0].Max.Float() != 340.2 {
		t.Errorf("VertexMetrics: %+v %v", agg, err)
	}
	req, _ := rec.last()
	if req.URL.RawQuery != "get=busyTimeMsPerSecond,Source__a%2Bb%2Fc.numRecordsIn&agg=max,sum" {
		t.Errorf("metrics query %q", req.URL.RawQuery)
	}
	if got := req.URL.Query()["get"]; len(got) != 1 || got[0] != "busyTimeMsPerSecond,Source__a+b/c.numRecordsIn" {
		t.Errorf("decoded get %q", got)
	}
	n := rec.count()
	if agg, err := c.VertexMetrics(ctx, jobID, sourceID, nil, nil); agg != nil || err != nil || rec.count() != n {
		t.Errorf("VertexMetrics without names made a call or returned data")
	}
	jm, err := c.JobMetrics(ctx, jobID, []string{"numRestarts"})
	if err != nil || jm[0].ID != "numRestarts" || jm[0].Value != "1" {
		t.Errorf("JobMetrics: %+v %v", jm, err)
	}
	tms, err := c.TaskManagers(ctx)
	if err != nil || len(tms.TaskManagers) != 2 || tms.TaskManagers[0].MemoryConfiguration.TaskHeap != 1530082070 {
		t.Errorf("TaskManagers: %v", err)
	}
	tmd, err := c.TaskManagerDetails(ctx, "orders-enricher-taskmanager-1-1")
	if err != nil || len(tmd.AllocatedSlots) != 2 || tmd.Metrics.HeapMax != 1664090112 || *tmd.Metrics.MemorySegmentsTotal != 10977 {
		t.Errorf("TaskManagerDetails: %v", err)
	}
	tmm, err := c.TaskManagerMetrics(ctx, []string{"Status.JVM.Memory.Heap.Max"}, []string{AggMin, AggMax, AggAvg})
	if err != nil || len(tmm) != 5 {
		t.Errorf("TaskManagerMetrics: %v", err)
	}
	if req, _ := rec.last(); req.URL.Path != "/taskmanagers/metrics" || req.URL.RawQuery != "get=Status.JVM.Memory.Heap.Max&agg=min,max,avg" {
		t.Errorf("TM metrics request %s?%s", req.URL.Path, req.URL.RawQuery)
	}
	jmc, err := c.JobManagerConfig(ctx)
	if err != nil || jmc.Map()["jobmanager.scheduler"] != "adaptive" {
		t.Errorf("JobManagerConfig: %v", err)
	}
	jjc, err := c.JobManagerConfigForJob(ctx, jobID)
	if err != nil || jjc.Map()["job.autoscaler.metrics.window"] != "10m" {
		t.Errorf("JobManagerConfigForJob: %v", err)
	}
	jmm, err := c.JobManagerMetrics(ctx, []string{"taskSlotsTotal", "taskSlotsAvailable"})
	if err != nil || jmm[0].Value != "4" {
		t.Errorf("JobManagerMetrics: %v", err)
	}
	cp, err := c.Checkpoints(ctx, jobID)
	if err != nil || cp.Counts.Completed != 58 {
		t.Errorf("Checkpoints: %v", err)
	}
	ex, err := c.Exceptions(ctx, jobID, 5)
	if err != nil || len(ex.ExceptionHistory.Entries) != 1 {
		t.Errorf("Exceptions: %v", err)
	}
	if req, _ := rec.last(); req.URL.RawQuery != "maxExceptions=5" {
		t.Errorf("exceptions query %q", req.URL.RawQuery)
	}
	rr, err := c.ResourceRequirements(ctx, jobID)
	if err != nil || rr[sourceID].Parallelism.UpperBound != 4 {
		t.Errorf("ResourceRequirements: %+v %v", rr, err)
	}
	rr[sourceID] = JobVertexResourceRequirements{ParallelismBounds{1, 8}}
	if err := c.SetResourceRequirements(ctx, jobID, rr); err != nil {
		t.Errorf("SetResourceRequirements: %v", err)
	}
	req, body := rec.last()
	var sent JobResourceRequirements
	if req.Method != http.MethodPut || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &sent) != nil || sent[sourceID].Parallelism.UpperBound != 8 {
		t.Errorf("PUT %s %q %s", req.Method, req.Header.Get("Content-Type"), body)
	}
	trig, err := c.TriggerSavepoint(ctx, jobID, SavepointTriggerRequest{TargetDirectory: "s3://sp", FormatType: FormatCanonical})
	if err != nil || trig != "5e9f1c0a7b3d4e2f8a6c1b0d9e8f7a6b" {
		t.Errorf("TriggerSavepoint: %q %v", trig, err)
	}
	if _, body := rec.last(); body != `{"target-directory":"s3://sp","cancel-job":false,"formatType":"CANONICAL"}` {
		t.Errorf("savepoint request body %s", body)
	}
	st, err := c.SavepointStatus(ctx, jobID, trig)
	if err != nil || st.Status.ID != QueueCompleted || st.Operation == nil || !strings.HasPrefix(st.Operation.Location, "s3://") {
		t.Errorf("SavepointStatus: %+v %v", st, err)
	}
	var status map[string]any
	if err := c.Get(ctx, "/v1/jobs?x=1", &status); err != nil || status["jobs"] == nil {
		t.Errorf("Get: %v %v", status, err)
	}
	for _, r := range rec.reqs {
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != "flinktune" {
			t.Fatalf("headers %v", r.Header)
		}
	}
}

func TestTaskManagerIDIsEscaped(t *testing.T) {
	srv, rec := fixtureServer(t)
	c := newClient(t, srv.URL)
	_, err := c.TaskManagerDetails(context.Background(), "10.0.0.5:35871-4f9a/1c")
	if !IsNotFound(err) {
		t.Fatalf("want 404, got %v", err)
	}
	if req, _ := rec.last(); req.URL.RawPath != "/taskmanagers/10.0.0.5:35871-4f9a%2F1c" && req.URL.EscapedPath() != "/taskmanagers/10.0.0.5:35871-4f9a%2F1c" {
		t.Errorf("path %q", req.URL.EscapedPath())
	}
}

func TestAPIError(t *testing.T) {
	srv, rec := fixtureServer(t)
	var sleeps []time.Duration
	c := newClient(t, srv.URL, WithRetries(3, time.Millisecond, time.Second), WithSleep(recordSleep(&sleeps)))
	_, err := c.JobDetails(context.Background(), "00000000000000000000000000000000")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Errors[0] != "Not found: /jobs/00000000000000000000000000000000" || apiErr.Method != "GET" {
		t.Fatalf("got %v", err)
	}
	if rec.count() != 1 || len(sleeps) != 0 {
		t.Errorf("4xx retried: %d requests", rec.count())
	}
	if !IsNotFound(err) || StatusCode(err) != 404 || IsTimeout(err) {
		t.Errorf("classification of %v", err)
	}
	if !strings.Contains(err.Error(), "HTTP 404") || !strings.Contains(err.Error(), "Not found") {
		t.Errorf("message %q", err)
	}
}

func recordSleep(out *[]time.Duration) func(context.Context, time.Duration) error {
	var mu sync.Mutex
	return func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*out = append(*out, d)
		mu.Unlock()
		return ctx.Err()
	}
}

// flaky answers the first `fail` requests with status (and an optional Retry-After).
func flaky(t *testing.T, fail, status int, retryAfter string) (*httptest.Server, *recorder) {
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if rec.count() <= fail {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			w.Write([]byte(`{"errors":["Internal server error."]}`))
			return
		}
		w.Write(readFixture(t, "config.json"))
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestRetriesWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fail       int
		status     int
		retryAfter string
		retries    int
		wantSleeps []time.Duration
		wantErr    bool
	}{
		{"500 twice then ok", 2, 500, "", 3, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, false},
		{"backoff capped", 4, 502, "", 5, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 50 * time.Millisecond}, false},
		{"exhausted", 10, 503, "", 2, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, true},
		{"retry-after raises the wait", 1, 503, "1", 2, []time.Duration{50 * time.Millisecond}, false},
		{"429 retried", 1, 429, "", 1, []time.Duration{10 * time.Millisecond}, false},
		{"no retries configured", 1, 500, "", 0, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := flaky(t, tc.fail, tc.status, tc.retryAfter)
			var sleeps []time.Duration
			c := newClient(t, srv.URL, WithRetries(tc.retries, 10*time.Millisecond, 50*time.Millisecond), WithSleep(recordSleep(&sleeps)))
			cfg, err := c.Config(context.Background())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tc.wantErr && cfg.FlinkVersion != "1.20.1" {
				t.Errorf("config %+v", cfg)
			}
			if rec.count() != len(tc.wantSleeps)+1 {
				t.Errorf("%d requests, want %d", rec.count(), len(tc.wantSleeps)+1)
			}
			if !equalDurations(sleeps, tc.wantSleeps) {
				t.Errorf("sleeps %v, want %v", sleeps, tc.wantSleeps)
			}
			if tc.wantErr {
				var reqErr *RequestError
				if !errors.As(err, &reqErr) || reqErr.Attempts != tc.retries+1 || StatusCode(err) != tc.status {
					t.Errorf("error %#v", err)
				}
				if tc.retries > 0 && !strings.Contains(err.Error(), "attempts") {
					t.Errorf("message %q does not count attempts", err)
				}
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNonIdempotentNeverRetried(t *testing.T) {
	srv, rec := flaky(t, 5, 500, "")
	var sleeps []time.Duration
	c := newClient(t, srv.URL, WithRetries(3, time.Millisecond, time.Millisecond), WithSleep(recordSleep(&sleeps)))
	_, err := c.TriggerSavepoint(context.Background(), jobID, SavepointTriggerRequest{})
	if StatusCode(err) != 500 || rec.count() != 1 || len(sleeps) != 0 {
		t.Errorf("POST: err %v, %d requests", err, rec.count())
	}
	// PUT resource-requirements is idempotent: retried.
	srv2, rec2 := flaky(t, 2, 500, "")
	c2 := newClient(t, srv2.URL, WithRetries(3, time.Millisecond, time.Millisecond), WithSleep(recordSleep(&sleeps)))
	if err := c2.SetResourceRequirements(context.Background(), jobID, JobResourceRequirements{}); err != nil || rec2.count() != 3 {
		t.Errorf("PUT: err %v, %d requests", err, rec2.count())
	}
}

func TestDeadline(t *testing.T) {
	rec := new(recorder)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	var sleeps []time.Duration
	c := newClient(t, srv.URL, WithTimeout(30*time.Millisecond), WithRetries(1, time.Millisecond, time.Millisecond), WithSleep(recordSleep(&sleeps)))
	_, err := c.Overview(context.Background())
	if !IsTimeout(err) {
		t.Fatalf("want a timeout, got %v", err)
	}
	if rec.count() != 2 {
		t.Errorf("timeouts of GET are retried: %d requests", rec.count())
	}
	if !strings.Contains(err.Error(), "deadline exceeded after 30ms") || !strings.Contains(err.Error(), "GET /overview") {
		t.Errorf("message %q", err)
	}
	// The caller's own cancellation is not a per-call timeout and is never retried.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(5 * time.Millisecond); cancel() }()
	c2 := newClient(t, srv.URL, WithTimeout(10*time.Second), WithRetries(3, time.Millisecond, time.Millisecond), WithSleep(recordSleep(&sleeps)))
	before := rec.count()
	_, err = c2.Overview(ctx)
	if !errors.Is(err, context.Canceled) || IsTimeout(err) || rec.count() != before+1 {
		t.Errorf("cancel: %v, %d requests", err, rec.count()-before)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var sleeps []time.Duration
	c := newClient(t, url, WithRetries(2, time.Millisecond, time.Millisecond), WithSleep(recordSleep(&sleeps)))
	_, err := c.JobsOverview(context.Background())
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("want connection refused, got %v", err)
	}
	var reqErr *RequestError
	if !errors.As(err, &reqErr) || reqErr.Attempts != 3 || len(sleeps) != 2 || StatusCode(err) != 0 {
		t.Errorf("err %v attempts, %d sleeps", err, len(sleeps))
	}
}

func TestDecodeErrorNotRetried(t *testing.T) {
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.Write([]byte(`{"flink-version": 1`))
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, WithSleep(func(context.Context, time.Duration) error { return nil }))
	_, err := c.Config(context.Background())
	if err == nil || !strings.Contains(err.Error(), "decoding response") || rec.count() != 1 {
		t.Errorf("err %v after %d requests", err, rec.count())
	}
}

func TestAuthAndHeaders(t *testing.T) {
	rec := new(recorder)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.Write(readFixture(t, "config.json"))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		url  string
		opts []Option
		auth string
	}{
		{"basic", srv.URL, []Option{WithBasicAuth("flink", "s3cret")}, "Basic Zmxpbms6czNjcmV0"},
		{"bearer", srv.URL, []Option{WithBearerToken("tok-123")}, "Bearer tok-123"},
		{"userinfo in URL", strings.Replace(srv.URL, "http://", "http://flink:s3cret@", 1), nil, "Basic Zmxpbms6czNjcmV0"},
		{"none", srv.URL, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append(tc.opts, WithHeader("X-Tenant", "team-a"), WithHeader("X-Tenant", "team-b"))
			c := newClient(t, tc.url, opts...)
			if _, err := c.Config(context.Background()); err != nil {
				t.Fatal(err)
			}
			req, _ := rec.last()
			if got := req.Header.Get("Authorization"); got != tc.auth {
				t.Errorf("Authorization %q, want %q", got, tc.auth)
			}
			if got := req.Header.Values("X-Tenant"); len(got) != 2 || got[0] != "team-a" || got[1] != "team-b" {
				t.Errorf("X-Tenant %v", got)
			}
		})
	}
}

func TestTLSWithCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(readFixture(t, "config.json"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caPath, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv.URL, WithCAFile(caPath))
	if cfg, err := c.Config(context.Background()); err != nil || cfg.FlinkVersion != "1.20.1" {
		t.Fatalf("with CA file: %v", err)
	}
	// The CA also applies on top of a caller's HTTP client.
	c = newClient(t, srv.URL, WithHTTPClient(&http.Client{Transport: &http.Transport{}}), WithCAFile(caPath))
	if _, err := c.Config(context.Background()); err != nil {
		t.Fatalf("with CA file and custom client: %v", err)
	}
	// Without the CA the server is not trusted; a certificate error is not retried.
	var sleeps []time.Duration
	c = newClient(t, srv.URL, WithSleep(recordSleep(&sleeps)), WithRetries(3, time.Millisecond, time.Millisecond))
	if _, err := c.Config(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") || len(sleeps) != 0 {
		t.Errorf("untrusted server: %v after %d retries", err, len(sleeps))
	}
	// Broken CA files fail at construction, naming the file.
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := New(srv.URL, WithCAFile(bad)); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad CA file: %v", err)
	}
	if _, err := New(srv.URL, WithCAFile(filepath.Join(dir, "missing.pem"))); err == nil {
		t.Error("missing CA file accepted")
	}
}

func TestNewValidatesInput(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts []Option
	}{
		{"jobmanager:8081", nil},
		{"ftp://jobmanager", nil},
		{"http://", nil},
		{"http://jm:8081", []Option{WithTimeout(0)}},
		{"http://jm:8081", []Option{WithRetries(-1, 0, 0)}},
		{"http://jm:8081", []Option{WithRetries(1, time.Second, time.Millisecond)}},
		{"http://jm:8081", []Option{WithBearerToken("")}},
		{"http://jm:8081", []Option{WithHTTPClient(nil)}},
		{"http://jm:8081", []Option{WithTLSConfig(nil)}},
		{"http://jm:8081", []Option{WithHeader("", "x")}},
	} {
		if _, err := New(tc.url, tc.opts...); err == nil {
			t.Errorf("New(%q, %d opts) accepted", tc.url, len(tc.opts))
		}
	}
}

func TestBasePathPrefix(t *testing.T) {
	srv, rec := fixtureServer(t)
	mux := http.NewServeMux()
	mux.Handle("/gw/flink/", http.StripPrefix("/gw/flink", srv.Config.Handler))
	gw := httptest.NewServer(mux)
	defer gw.Close()
	c := newClient(t, gw.URL+"/gw/flink/")
	if _, err := c.Overview(context.Background()); err != nil {
		t.Fatal(err)
	}
	if req, _ := rec.last(); req.URL.Path != "/overview" {
		t.Errorf("path %q", req.URL.Path)
	}
	if c.BaseURL() != gw.URL+"/gw/flink" {
		t.Errorf("BaseURL %q", c.BaseURL())
	}
}

func TestFlinkVersion(t *testing.T) {
	srv, rec := fixtureServer(t)
	c := newClient(t, srv.URL)
	for range 3 {
		v, err := c.FlinkVersion(context.Background())
		if err != nil || v.Major != 1 || v.Minor != 20 || v.Patch != 1 || v.String() != "1.20.1" {
			t.Fatalf("%+v %v", v, err)
		}
	}
	if rec.count() != 1 {
		t.Errorf("version not cached: %d requests", rec.count())
	}
	// A development build's "<unknown>" is reported (and cached) as an unknown version.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"flink-version":"<unknown>"}`))
	}))
	defer srv2.Close()
	c2 := newClient(t, srv2.URL)
	for range 2 {
		v, err := c2.FlinkVersion(context.Background())
		if !errors.Is(err, ErrUnknownVersion) || v.Raw != "<unknown>" || v.Known() {
			t.Errorf("unknown version: %+v %v", v, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in                          string
		major, minor, patch         int
		ok                          bool
		rr, ssg, skew, host, memSeg bool
	}{
		{"1.17.2", 1, 17, 2, true, false, false, false, true, true},
		{"1.18.1", 1, 18, 1, true, true, false, false, true, true},
		{"1.19.0", 1, 19, 0, true, true, true, false, true, true},
		{"1.20.1", 1, 20, 1, true, true, true, true, true, true},
		{"2.0-SNAPSHOT", 2, 0, 0, true, true, true, true, false, false},
		{"2.1.0-rc1", 2, 1, 0, true, true, true, true, false, false},
		{"<unknown>", 0, 0, 0, false, false, false, false, false, false},
		{"", 0, 0, 0, false, false, false, false, false, false},
		{"1", 0, 0, 0, false, false, false, false, false, false},
		{"1.x.0", 0, 0, 0, false, false, false, false, false, false},
	} {
		v, err := ParseVersion(tc.in)
		if (err == nil) != tc.ok || v.Known() != tc.ok || v.Raw != tc.in {
			t.Errorf("%s: %+v err %v", tc.in, v, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, ErrUnknownVersion) {
				t.Errorf("%s: error %v does not wrap ErrUnknownVersion", tc.in, err)
			}
			continue
		}
		if v.Major != tc.major || v.Minor != tc.minor || v.Patch != tc.patch {
			t.Errorf("%s: %+v", tc.in, v)
		}
		if v.HasResourceRequirements() != tc.rr || v.HasSlotSharingGroupID() != tc.ssg || v.HasSkew() != tc.skew ||
			v.HasSubtaskHost() != tc.host || v.HasMemorySegmentMetrics() != tc.memSeg {
			t.Errorf("%s: feature switches wrong", tc.in)
		}
	}
}

func TestResourceRequirementsEmptyBody(t *testing.T) {
	for _, tc := range []struct {
		body    string
		wantNil bool
		wantLen int
	}{{"", true, 0}, {"  \n", true, 0}, {"{}", false, 0}, {`{"` + sourceID + `":{"parallelism":{"lowerBound":1,"upperBound":2}}}`, false, 1}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.body)) }))
		c := newClient(t, srv.URL)
		rr, err := c.ResourceRequirements(context.Background(), jobID)
		srv.Close()
		if err != nil || (rr == nil) != tc.wantNil || len(rr) != tc.wantLen {
			t.Errorf("body %q: %v %v", tc.body, rr, err)
		}
	}
}

func TestEmptyBodyIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	if _, err := c.JobDetails(context.Background(), jobID); err == nil || !strings.Contains(err.Error(), "empty body") {
		t.Errorf("empty job details accepted: %v", err)
	}
}

func TestForeignErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>bad gateway</html>"))
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, WithRetries(0, 0, 0))
	_, err := c.Config(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Errors[0] != "<html>bad gateway</html>" || !apiErr.Retryable() {
		t.Errorf("%v", err)
	}
}
