package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// snapshot is a two-vertex job at time t (job clock) with the given parallelism.
func snapshot(t time.Time, par int, restarts int) *autoscaler.Snapshot {
	nan := autoscaler.Missing()
	heap := nan
	heap.Max = 512 << 20
	return &autoscaler.Snapshot{
		Time: t, JobID: "job1", JobName: "wordcount", Status: "RUNNING", NumTaskManagers: 2, SlotsTotal: 8, NumRestarts: restarts,
		Vertices: []autoscaler.Vertex{
			{ID: "src", Name: "Source: in", Parallelism: par, Metrics: map[string]autoscaler.Aggregate{
				"busyTimeMsPerSecond":       {Avg: 500, Max: 600, Min: 400, Sum: 1000},
				"numRecordsOutPerSecond":    {Sum: 800},
				"Source__in.pendingRecords": {Sum: 3000, Avg: 1500, Max: 2000, Min: 1000}}},
			{ID: "map", Name: "Map: m", Parallelism: par, Inputs: []autoscaler.Edge{{From: "src", Ship: "REBALANCE"}}},
		},
		TaskManagerMetrics: map[string]autoscaler.Aggregate{"Status.JVM.Memory.Heap.Used": heap},
		Config: map[string]string{"job.autoscaler.enabled": "true", "flinktune.lag.max": "1 min",
			"taskmanager.memory.process.size": "4g", "pipeline.name": "x"},
	}
}

var key1 = store.JobKey{Cluster: "http://flink:8081", JobID: "job1"}

func ready(reason string) autoscaler.Decision {
	return autoscaler.Decision{Ready: true, Reason: reason, Evaluated: map[string]map[string]float64{
		"src": {"LOAD": 0.9, "TRUE_PROCESSING_RATE": 1000, "TARGET_DATA_RATE": 500, "LAG": 1000},
		"map": {"LOAD": math.NaN(), "TRUE_PROCESSING_RATE": 2000, "TARGET_DATA_RATE": 500},
	}}
}

func TestRecorderKeepsTheNewestPoints(t *testing.T) {
	r := NewRecorder(5)
	for i := range 12 {
		r.ObserveCycle(key1, "flinktune", snapshot(t0.Add(time.Duration(i)*time.Minute), 1+i, 0), ready("balanced"), t0.Add(time.Duration(i)*time.Second))
	}
	d, ok, err := r.Detail(nil, key1, 0)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if len(d.Series.T) != 5 {
		t.Fatalf("kept %d samples, want 5", len(d.Series.T))
	}
	for j, want := range []int{8, 9, 10, 11, 12} {
		if got := d.Series.Vertices["src"].Parallelism[j]; got != float32(want) {
			t.Errorf("sample %d: parallelism %v, want %d (oldest first)", j, got, want)
		}
		if d.Series.T[j] != unix(t0.Add(time.Duration(want-1)*time.Minute)) {
			t.Errorf("sample %d: t %v", j, d.Series.T[j])
		}
	}
	// The window is job time: the last 2 minutes are 3 samples.
	d, _, _ = r.Detail(nil, key1, 2*time.Minute)
	if len(d.Series.T) != 3 {
		t.Errorf("window 2m: %d samples, want 3", len(d.Series.T))
	}
	// Lag in seconds is the sources' backlog over their target rate; the SLO comes from the options.
	if got := d.Series.LagSeconds[0]; got != 2 {
		t.Errorf("lag %v s, want 1000 records / 500 per s = 2", got)
	}
	if d.LagMax != 60 {
		t.Errorf("lagMax %v, want 60 (flinktune.lag.max: 1 min)", d.LagMax)
	}
	if _, ok := d.Options["pipeline.name"]; ok || d.Options["flinktune.lag.max"] != "1 min" || d.Memory["taskmanager.memory.process.size"] != "4g" {
		t.Errorf("options %v, memory %v", d.Options, d.Memory)
	}
}

func TestRecorderNotReadyUsesFlinksNumbers(t *testing.T) {
	r := NewRecorder(10)
	d := autoscaler.Decision{Ready: false, Reason: "collecting metrics", Evaluated: map[string]map[string]float64{"src": {"LOAD": 0, "TARGET_DATA_RATE": 0}}}
	r.ObserveCycle(key1, "flinktune", snapshot(t0, 1, 0), d, t0)
	det, _, _ := r.Detail(nil, key1, 0)
	v := det.Series.Vertices["src"]
	if v.Busy[0] != 0.5 {
		t.Errorf("busy %v, want Flink's busyTimeMsPerSecond 500/1000 (the policy's 0 is a placeholder)", v.Busy[0])
	}
	if v.TargetRate[0] != 800 || v.TrueRate[0] != 1600 {
		t.Errorf("rates %v %v, want Flink's observed 800/s and 800/0.5 (the policy's 0 is a placeholder)", v.TargetRate[0], v.TrueRate[0])
	}
	if m := det.Series.Vertices["map"]; !math.IsNaN(float64(m.TargetRate[0])) || !math.IsNaN(float64(m.Busy[0])) {
		t.Errorf("map without metrics: %+v, want absent", m)
	}
	if det.Series.Backlog[0] != 3000 {
		t.Errorf("backlog %v, want pendingRecords 3000", det.Series.Backlog[0])
	}
}

func TestRecorderStates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      autoscaler.Decision
		status string
		dry    bool
		err    error
		want   string
	}{
		{"balanced", ready("within target utilization"), "RUNNING", false, nil, StateBalanced},
		{"scaling", autoscaler.Decision{Ready: true, Scaled: true, Reason: "scale up", Parallelism: map[string]int{"src": 2, "map": 2}}, "RUNNING", false, nil, StateScaling},
		{"stabilizing", autoscaler.Decision{Reason: "stabilizing after a rescale"}, "RUNNING", false, nil, StateStabilizing},
		{"waiting", autoscaler.Decision{Reason: "collecting metrics for 4m"}, "RUNNING", false, nil, StateWaiting},
		{"dry run", ready("scale up recommended"), "RUNNING", true, nil, StateRecommendation},
		{"restarting", ready("x"), "RESTARTING", false, nil, StateFailing},
		{"cycle failed", ready("x"), "RUNNING", false, errors.New("metric collection failed: timeout\nstack"), StateFailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder(10)
			snap := snapshot(t0, 1, 0)
			snap.Status = tc.status
			if tc.dry {
				snap.Config["job.autoscaler.scaling.enabled"] = "false"
			}
			r.ObserveCycle(key1, "flinktune", snap, tc.d, t0)
			if tc.err != nil {
				r.ObserveError(key1, tc.err, t0)
			}
			list := r.List(nil)
			if len(list.Jobs) != 1 {
				t.Fatal(list)
			}
			j := list.Jobs[0]
			if j.State != tc.want {
				t.Errorf("state %q (%s), want %q", j.State, j.Reason, tc.want)
			}
			if tc.err != nil && j.Reason != "metric collection failed: timeout" {
				t.Errorf("reason %q, want the error's first line", j.Reason)
			}
		})
	}
}

func TestRecorderMarkers(t *testing.T) {
	r := NewRecorder(50)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	scale := autoscaler.Decision{Ready: true, Scaled: true, Reason: "scale up: sources fall behind", Parallelism: map[string]int{"src": 1, "map": 4},
		Evaluated: ready("").Evaluated}
	r.ObserveCycle(key1, "operator", snapshot(at(0), 1, 0), ready("balanced"), at(0))
	r.ObserveCycle(key1, "operator", snapshot(at(1), 1, 0), scale, at(1))
	r.ObserveCycle(key1, "operator", snapshot(at(2), 1, 0), scale, at(2)) // decided again while applying
	r.ObserveCycle(key1, "operator", snapshot(at(3), 4, 1), ready("balanced"), at(3))
	mem := autoscaler.Decision{Ready: true, Reason: "heap tight", ConfigOverrides: map[string]string{"taskmanager.memory.task.heap.size": "2g"}}
	r.ObserveCycle(key1, "operator", snapshot(at(4), 4, 1), mem, at(4))
	rb := autoscaler.Decision{Ready: true, Scaled: true, Rollback: true, Reason: "rollback: keeps failing at 4", Parallelism: map[string]int{"src": 1, "map": 1}}
	r.ObserveCycle(key1, "operator", snapshot(at(5), 4, 3), rb, at(5))

	d, _, _ := r.Detail(nil, key1, 0)
	var kinds []string
	for _, m := range d.Markers {
		kinds = append(kinds, m.Kind)
	}
	if got := strings.Join(kinds, ","); got != "rescale,restart,memory,restart,rollback" {
		t.Fatalf("markers %s", got)
	}
	m := d.Markers[0]
	if m.T != unix(at(1)) || m.Reason != scale.Reason || m.From["map"] != 1 || m.To["map"] != 4 || m.Repeats != 1 {
		t.Errorf("rescale marker %+v", m)
	}
	if m.Numbers["map LOAD"] != 0 || m.Numbers["map TRUE_PROCESSING_RATE"] != 2000 {
		t.Errorf("numbers of the changed vertex %v (NaN dropped)", m.Numbers)
	}
	if _, ok := m.Numbers["src LOAD"]; ok {
		t.Errorf("numbers of an unchanged vertex: %v", m.Numbers)
	}
	if !strings.Contains(d.Markers[1].Reason, "apply the rescale") {
		t.Errorf("restart reason %q", d.Markers[1].Reason)
	}
	if d.Markers[2].Config["taskmanager.memory.task.heap.size"] != "2g" {
		t.Errorf("memory marker %+v", d.Markers[2])
	}
	// The last evaluation is the "why": JSON without NaN.
	if _, err := json.Marshal(d); err != nil {
		t.Errorf("detail does not encode: %v", err)
	}
}

func TestNumsEncodeNaNAsNull(t *testing.T) {
	b, err := json.Marshal(nums{1.5, float32(math.NaN()), 3, float32(math.Inf(1))})
	if err != nil || string(b) != "[1.5,null,3,null]" {
		t.Errorf("%s %v", b, err)
	}
	b, _ = json.Marshal(nums64{1767225600.5, math.NaN()})
	if string(b) != "[1767225600.5,null]" {
		t.Errorf("%s", b)
	}
}

func TestPlace(t *testing.T) {
	// The job's clock runs 60x the controller's.
	walls := []float64{100, 101, 102}
	ts := []float64{1000, 1060, 1120}
	for _, tc := range []struct{ wall, want float64 }{{101, 1060}, {101.2, 1060.2}, {101.8, 1119.8}, {50, 950}, {200, 1218}} {
		if got := place(walls, ts, time.UnixMilli(int64(tc.wall*1000))); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("place(%v) = %v, want %v", tc.wall, got, tc.want)
		}
	}
}

// newServer serves a recorder and a real store holding one job's decisions and events.
func newServer(t *testing.T) (*httptest.Server, *Recorder) {
	t.Helper()
	st, err := store.OpenWith(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wall := time.Now().Add(-time.Minute).Truncate(time.Second)
	r := NewRecorder(100)
	for i := range 5 {
		r.ObserveCycle(key1, "flinktune", snapshot(t0.Add(time.Duration(i)*time.Minute), 1, 0), ready("balanced"), wall.Add(time.Duration(i)*time.Second))
	}
	_, err = st.CommitCycle(store.Cycle{
		Info:    store.JobInfo{Key: key1, Name: "wordcount", Policy: "flinktune", FirstSeen: wall, LastSeen: wall},
		History: []store.HistoryEntry{{Time: wall.Add(2 * time.Second), Policy: "flinktune", From: map[string]int{"map": 1}, To: map[string]int{"map": 2}, Reason: "scale up", Action: store.ActionApplied}},
		Events:  []store.Event{{Cluster: key1.Cluster, Event: autoscaler.Event{Time: wall.Add(3 * time.Second), JobID: "job1", Type: "Normal", Reason: "ScalingReport", Message: "scaled"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A job the store knows but this process has not cycled.
	other := store.JobKey{Cluster: key1.Cluster, JobID: "job2"}
	if _, err := st.CommitCycle(store.Cycle{Info: store.JobInfo{Key: other, Name: "old", FirstSeen: wall, LastSeen: wall}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(r, st))
	t.Cleanup(srv.Close)
	return srv, r
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAPI(t *testing.T) {
	srv, _ := newServer(t)
	resp, body := get(t, srv.URL+"/api/v1/jobs")
	var list JobList
	if err := json.Unmarshal([]byte(body), &list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if len(list.Jobs) != 2 || list.Jobs[0].JobID != "job2" || list.Jobs[1].Samples != 5 || list.Jobs[0].State != StateWaiting {
		t.Errorf("jobs %+v", list.Jobs)
	}
	q := "/api/v1/job?cluster=" + url.QueryEscape(key1.Cluster) + "&job=job1"
	resp, body = get(t, srv.URL+q)
	var d JobDetail
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, body, err)
	}
	if len(d.History) != 1 || len(d.Events) != 1 || d.History[0].Reason != "scale up" {
		t.Fatalf("history %+v events %+v", d.History, d.Events)
	}
	// Stored times are the controller's; placed on the job's clock through the samples.
	if want := unix(t0.Add(2 * time.Minute)); math.Abs(d.History[0].T-want) > 1e-3 {
		t.Errorf("history placed at %v, want %v", d.History[0].T, want)
	}
	if len(d.Series.T) != 5 || d.Series.HeapUsed[0] != 512<<20 {
		t.Errorf("series %+v", d.Series)
	}
	if !strings.Contains(body, `"heapMax":[null,`) {
		t.Errorf("absent values should be null: %.300s", body)
	}

	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/api/v1/job?job=job1&cluster=" + url.QueryEscape(key1.Cluster) + "&window=15m", 200, ""},
		{"/api/v1/job?job=job1&cluster=" + url.QueryEscape(key1.Cluster) + "&window=all", 200, ""},
		{"/api/v1/job?job=job1&cluster=x&window=soon", 400, `window "soon": want a duration`},
		{"/api/v1/job?cluster=x", 400, "job: required"},
		{"/api/v1/job?job=nope&cluster=x", 404, "no job nope on cluster x"},
		{"/api/v1/job?job=job2&cluster=" + url.QueryEscape(key1.Cluster), 200, ""},
		{"/", 200, "<title>flinktune</title>"},
		{"/app.js", 200, "api/v1/jobs"},
		{"/uplot/uPlot.iife.min.js", 200, "uPlot"},
		{"/uplot/LICENSE", 200, "Leon Sorokin"},
		{"/nope.js", 404, ""},
	} {
		resp, body := get(t, srv.URL+tc.path)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("GET %s: %d %.200q, want %d containing %q", tc.path, resp.StatusCode, body, tc.code, tc.msg)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("GET %s sets a cookie", tc.path)
		}
	}
}

func TestAPIIsReadOnly(t *testing.T) {
	srv, _ := newServer(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		for _, p := range []string{"/api/v1/jobs", "/api/v1/job?job=job1", "/"} {
			req, _ := http.NewRequest(m, srv.URL+p, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d, want 405", m, p, resp.StatusCode)
			}
		}
	}
}

// fill gives a recorder n jobs of two vertices with a full history each.
func fill(r *Recorder, n int) {
	for j := range n {
		k := store.JobKey{Cluster: "http://flink:8081", JobID: fmt.Sprintf("job%03d", j)}
		for i := range r.Points() {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			d := ready("within target utilization")
			if i%120 == 60 {
				d = autoscaler.Decision{Ready: true, Scaled: true, Reason: "scale up", Parallelism: map[string]int{"src": 2, "map": 3}, Evaluated: d.Evaluated}
			}
			r.ObserveCycle(k, "flinktune", snapshot(at, 1+i/120, i/120), d, at)
		}
	}
}

// BenchmarkAPI200Jobs measures the dashboard's first load with 200 jobs of full history
// (DefaultPoints each): the job list, and one job's page data.
func BenchmarkAPI200Jobs(b *testing.B) {
	r := NewRecorder(DefaultPoints)
	fill(r, 200)
	h := Handler(r, nil)
	for _, path := range []string{"/api/v1/jobs", "/api/v1/job?cluster=http%3A%2F%2Fflink%3A8081&job=job100&window=all"} {
		b.Run(strings.Split(path, "?")[0][len("/api/v1/"):], func(b *testing.B) {
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
				if w.Code != 200 {
					b.Fatal(w.Code, w.Body.String())
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size)/1024, "KiB")
		})
	}
}

// BenchmarkRecorderMemory reports the heap the recorder holds for 200 jobs of full history.
func BenchmarkRecorderMemory(b *testing.B) {
	for b.Loop() {
		before := heapInUse()
		r := NewRecorder(DefaultPoints)
		fill(r, 200)
		after := heapInUse()
		b.ReportMetric(float64(after-before)/(1<<20), "MiB/200jobs")
		if r.Points() == 0 {
			b.Fatal("unreachable: keeps r alive")
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestConcurrentCyclesAndReads runs the controller's concurrent cycles against the page's
// reads (go test -race finds what they share).
func TestConcurrentCyclesAndReads(t *testing.T) {
	r := NewRecorder(20)
	h := Handler(r, nil)
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			k := store.JobKey{Cluster: "c", JobID: fmt.Sprintf("job%d", w)}
			for i := range 200 {
				d := ready("x")
				if i%10 == 0 {
					d = autoscaler.Decision{Ready: true, Scaled: true, Reason: "up", Parallelism: map[string]int{"src": i, "map": i}}
				}
				r.ObserveCycle(k, "flinktune", snapshot(t0.Add(time.Duration(i)*time.Second), 1+i%3, i/10), d, t0)
			}
		}()
	}
	for range 50 {
		for _, path := range []string{"/api/v1/jobs", "/api/v1/job?cluster=c&job=job1", "/api/v1/job?cluster=c&job=job2&window=30s"} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != 200 && w.Code != 404 {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
		}
	}
	for range 4 {
		<-done
	}
	if l := r.List(nil); len(l.Jobs) != 4 || l.Jobs[0].Samples != 20 {
		t.Errorf("%+v", l.Jobs)
	}
}
