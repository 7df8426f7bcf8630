package simrest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

const rescaleYAML = `
name: e2e
seed: 9
duration: 2h
flinkVersion: "%s"
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 1, min: 1, max: 8, startupDelay: 10s}
jobs:
  - name: wc
    config: {execution.checkpointing.interval: 10s, pipeline.max-parallelism: 64}
    restart: {base: 5s}
    vertices:
      - {id: src, name: "Source: Kafka", parallelism: 1, capacity: 10000, partitions: 8}
      - {id: count, name: "KeyedProcess: count", parallelism: 1, capacity: 4000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 6000}
`

func getJob(t *testing.T, hc *http.Client, base, id string) flinkrest.JobDetailsInfo {
	t.Helper()
	resp, err := hc.Get(base + "/jobs/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j flinkrest.JobDetailsInfo
	b, _ := io.ReadAll(resp.Body)
	if err := flinkrest.Decode(b, &j); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return j
}

// TestRescaleThroughPUT does what a curl session would: read the job, PUT new resource
// requirements, let time pass and see the job rescale.
func TestRescaleThroughPUT(t *testing.T) {
	for _, v := range []string{"1.18", "1.19", "1.20", "2.0"} {
		t.Run(v, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(fmt.Sprintf(rescaleYAML, v)), "e2e.yaml")
			if err != nil {
				t.Fatal(err)
			}
			srv, hs := startServer(t, sc, 2*time.Minute)
			hc := hs.Client()
			id := sim.JobID("e2e", "wc")
			before := getJob(t, hc, hs.URL, id)
			if before.State != "RUNNING" || before.Vertices[1].Parallelism != 1 {
				t.Fatalf("before: %s %+v", before.State, before.Vertices)
			}
			req := flinkrest.JobResourceRequirements{}
			for _, vx := range before.Vertices {
				req[vx.ID] = flinkrest.JobVertexResourceRequirements{Parallelism: flinkrest.ParallelismBounds{LowerBound: 1, UpperBound: 4}}
			}
			body, _ := json.Marshal(req)
			put, _ := http.NewRequest(http.MethodPut, hs.URL+"/jobs/"+id+"/resource-requirements", bytes.NewReader(body))
			put.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(put)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || strings.TrimSpace(string(b)) != "{}" {
				t.Fatalf("PUT: %d %s", resp.StatusCode, b)
			}
			// New TaskManagers take 10 s to register; versions wait for cooldowns and checkpoints.
			srv.Advance(3 * time.Minute)
			after := getJob(t, hc, hs.URL, id)
			for _, vx := range after.Vertices {
				if vx.Parallelism != 4 {
					t.Errorf("vertex %s parallelism %d, want 4", vx.Name, vx.Parallelism)
				}
			}
			if after.Timestamps["RUNNING"] <= before.Timestamps["RUNNING"] {
				t.Errorf("timestamps.RUNNING did not move: %d → %d", before.Timestamps["RUNNING"], after.Timestamps["RUNNING"])
			}
			var got flinkrest.JobResourceRequirements
			r2, _ := hc.Get(hs.URL + "/jobs/" + id + "/resource-requirements")
			b, _ = io.ReadAll(r2.Body)
			r2.Body.Close()
			if err := json.Unmarshal(b, &got); err != nil || got[before.Vertices[0].ID].Parallelism.UpperBound != 4 {
				t.Errorf("GET requirements after PUT: %s", b)
			}
			var st sim.Stats
			srv.Do(func(s *sim.Sim) { st, _ = s.Stats(id) })
			if st.Rescales != 1 || len(st.ParallelismChanges) != 1 || st.ParallelismChanges[0].Cause != "requirements" {
				t.Errorf("stats: rescales %d, changes %+v", st.Rescales, st.ParallelismChanges)
			}
			// The job metric numRestarts counts the rescale (after the next metric refresh).
			var jm []flinkrest.Metric
			r3, _ := hc.Get(hs.URL + "/jobs/" + id + "/metrics?get=numRestarts")
			json.NewDecoder(r3.Body).Decode(&jm)
			r3.Body.Close()
			if len(jm) != 1 || jm[0].Value != "1" {
				t.Errorf("numRestarts: %+v", jm)
			}
		})
	}
}

func TestPUTRejected(t *testing.T) {
	sc, err := scenario.Parse([]byte(fmt.Sprintf(rescaleYAML, "1.20")), "e2e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startServer(t, sc, time.Minute)
	id := sim.JobID("e2e", "wc")
	src, cnt := sim.VertexID("wc", "src"), sim.VertexID("wc", "count")
	put := func(body string) (int, flinkrest.ErrorResponse) {
		req, _ := http.NewRequest(http.MethodPut, hs.URL+"/jobs/"+id+"/resource-requirements", strings.NewReader(body))
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e flinkrest.ErrorResponse
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	b := func(id string, lo, hi int) string {
		return fmt.Sprintf(`"%s": {"parallelism": {"lowerBound": %d, "upperBound": %d}}`, id, lo, hi)
	}
	cases := []struct {
		body string
		want string
	}{
		{"{" + b(src, 1, 2) + "}", "The request is incomplete, missing job vertex [" + cnt + "] resource requirements."},
		{"{" + b(src, 3, 2) + "," + b(cnt, 1, 1) + "}", "The requested lower bound [3] for job vertex [" + src + "] is higher than the upper bound [2]."},
		{"{" + b(src, 1, 65) + "," + b(cnt, 1, 1) + "}", "The newly requested parallelism 65 for the job vertex " + src + " exceeds its maximum parallelism 64."},
		{"{" + b(src, 0, 2) + "," + b(cnt, 1, 1) + "}", "Both, the requested lower bound [0] and upper bound [2] for job vertex [" + src + "] must be greater than zero."},
		{"{" + b(src, 1, 2) + "," + b(cnt, 1, 1) + "," + b("ffffffffffffffffffffffffffffffff", 1, 1) + "}", "Job vertex [ffffffffffffffffffffffffffffffff] was not found in the JobGraph."},
		{`{"x": 1}`, "Request did not match expected format JobResourceRequirementsBody."},
	}
	for _, c := range cases {
		code, e := put(c.body)
		if code != 400 || len(e.Errors) == 0 || !strings.HasPrefix(e.Errors[0], c.want) {
			t.Errorf("PUT %s: %d %v, want 400 %q", c.body, code, e.Errors, c.want)
		}
	}
	// −1 bounds mean 1 and the max parallelism.
	if code, e := put("{" + b(src, -1, -1) + "," + b(cnt, -1, 2) + "}"); code != 200 {
		t.Errorf("-1 bounds: %d %v", code, e)
	}

	// The default scheduler rejects the request with an errors body.
	sc2, _ := scenario.Parse([]byte(strings.Replace(fmt.Sprintf(rescaleYAML, "1.20"), "jobmanager.scheduler: adaptive", "jobmanager.scheduler: default", 1)), "e2e.yaml")
	_, hs2 := startServer(t, sc2, time.Minute)
	req, _ := http.NewRequest(http.MethodPut, hs2.URL+"/jobs/"+id+"/resource-requirements", strings.NewReader("{"+b(src, 1, 2)+","+b(cnt, 1, 2)+"}"))
	resp, err := hs2.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e flinkrest.ErrorResponse
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode < 400 || len(e.Errors) == 0 || !strings.Contains(strings.Join(e.Errors, " "), "AdaptiveScheduler") {
		t.Errorf("default scheduler PUT: %d %v", resp.StatusCode, e)
	}
}

const faultYAML = `
name: faults
seed: 4
duration: 1h
cluster:
  config: {jobmanager.scheduler: adaptive}
jobs:
  - vertices: [{id: s, capacity: 100}]
    load: [{source: s, at: 0, rate: 10}]
faults:
  - {at: 1m, for: 1m, rest: unavailable}
  - {at: 3m, for: 1m, rest: errors, rate: 0.5}
  - {at: 5m, for: 1m, rest: slow, delay: 2s}
  - {at: 7m, for: 1m, metrics: missing, names: [busyTimeMsPerSecond, "*.pendingRecords"]}
  - {at: 9m, kill: jobmanager, for: 30s}
`

func TestRESTFaultsInProcess(t *testing.T) {
	sc, err := scenario.Parse([]byte(faultYAML), "faults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Slow faults sleep delay × 0.05 of wall time: 100 ms for the 2 s fault.
	srv := New(s, Options{SlowScale: 0.05})
	hc := &http.Client{Transport: RoundTripper(srv)}
	get := func(path string, timeout time.Duration) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://sim"+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get("/overview", time.Second); err != nil || code != 200 {
		t.Fatalf("healthy: %d %v", code, err)
	}
	srv.Advance(90 * time.Second)
	_, err = get("/overview", time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("unavailable: err = %v, want connection refused", err)
	}
	srv.Advance(2 * time.Minute) // 3m30s: errors at rate 0.5
	fails := 0
	for range 200 {
		code, err := get("/overview", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code == 500 {
			fails++
		}
	}
	if fails < 70 || fails > 130 {
		t.Errorf("errors fault at rate 0.5: %d of 200 failed", fails)
	}
	srv.Advance(2 * time.Minute) // 5m30s: slow
	if _, err := get("/overview", 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow with a short deadline: %v, want deadline exceeded", err)
	}
	if code, err := get("/overview", 5*time.Second); err != nil || code != 200 {
		t.Errorf("slow with a long deadline: %d %v", code, err)
	}
	srv.Advance(2 * time.Minute) // 7m30s: metrics missing
	id := s.JobIDs()[0]
	vid := sim.VertexID("job-1", "s")
	var names []flinkrest.MetricName
	resp, err := hc.Get("http://sim/jobs/" + id + "/vertices/" + vid + "/subtasks/metrics")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&names)
	resp.Body.Close()
	for _, n := range names {
		if n.ID == "busyTimeMsPerSecond" || strings.HasSuffix(n.ID, ".pendingRecords") {
			t.Errorf("metric %s should be missing", n.ID)
		}
	}
	if len(names) == 0 {
		t.Error("every metric vanished")
	}
	srv.Advance(110 * time.Second) // 9m20s: JobManager down for 30 s from 9m
	if _, err := get("/overview", time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("JobManager down: %v", err)
	}
	srv.Advance(2 * time.Minute)
	if code, err := get("/jobs/"+id, time.Second); err != nil || code != 200 {
		t.Errorf("after JobManager recovery: %d %v", code, err)
	}
	j, _ := s.Job(id)
	if j.Status != "RUNNING" {
		t.Errorf("job after JobManager recovery: %s", j.Status)
	}
}

func TestUnavailableOverHTTPDropsConnection(t *testing.T) {
	sc, _ := scenario.Parse([]byte(faultYAML), "faults.yaml")
	srv, hs := startServer(t, sc, 90*time.Second)
	_ = srv
	resp, err := hs.Client().Get(hs.URL + "/overview")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("unavailable fault answered %d", resp.StatusCode)
	}
}

// TestDeterministicResponses runs the same scenario twice with the same request sequence and
// compares every response byte for byte.
func TestDeterministicResponses(t *testing.T) {
	run := func() [32]byte {
		sc := conformanceScenario(t, "1.20")
		s, err := sim.New(sc, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := New(s, Options{})
		hc := &http.Client{Transport: RoundTripper(srv)}
		h := sha256.New()
		id := s.JobIDs()[0]
		paths := []string{"/overview", "/jobs/overview", "/jobs/" + id, "/jobs/" + id + "/checkpoints", "/taskmanagers",
			"/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Used,Status.JVM.GarbageCollector.All.TimeMsPerSecond",
			"/jobs/" + id + "/exceptions", "/jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable"}
		for _, vx := range []string{"src", "enrich", "sink"} {
			paths = append(paths, "/jobs/"+id+"/vertices/"+sim.VertexID("orders", vx)+"/subtasks/metrics?get=busyTimeMsPerSecond,numRecordsInPerSecond,backPressuredTimeMsPerSecond,Source__kafka-orders.pendingRecords")
		}
		for step := range 40 {
			srv.Advance(37 * time.Second)
			for _, p := range paths {
				resp, err := hc.Get("http://sim" + p)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				fmt.Fprintf(h, "%d %s %d %s\n", step, p, resp.StatusCode, b)
			}
		}
		st, _ := s.Stats(id)
		b, _ := json.Marshal(st)
		h.Write(b)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		return sum
	}
	a, b := run(), run()
	if a != b {
		t.Error("two identical runs served different bytes")
	}
}

// TestTaskManagerResources: /taskmanagers reports the memory model's pools in bytes and the
// resource profile in MiB (rounded down), as the 4096m fixture shows.
func TestTaskManagerResources(t *testing.T) {
	y := `
duration: 1h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2, taskmanager.memory.process.size: 4096m}
  taskManagers: {initial: 1}
jobs:
  - vertices: [{id: s, capacity: 100}]
    load: [{source: s, at: 0s, rate: 10}]
`
	sc, err := scenario.Parse([]byte(y), "tm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, hs := startServer(t, sc, time.Minute)
	resp, err := hs.Client().Get(hs.URL + "/taskmanagers")
	if err != nil {
		t.Fatal(err)
	}
	var info flinkrest.TaskManagersInfo
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if len(info.TaskManagers) != 1 {
		t.Fatalf("%+v", info)
	}
	tm := info.TaskManagers[0]
	want := flinkrest.TaskExecutorMemoryConfiguration{FrameworkHeap: 134217728, TaskHeap: 1530082070, FrameworkOffHeap: 134217728,
		NetworkMemory: 359703515, ManagedMemory: 1438814063, JVMMetaspace: 268435456, JVMOverhead: 429496736,
		TotalFlinkMemory: 3597035104, TotalProcessMemory: 4294967296}
	if tm.MemoryConfiguration != want {
		t.Errorf("memoryConfiguration %+v", tm.MemoryConfiguration)
	}
	tr := tm.TotalResource
	if tr.CPUCores != 2 || tr.TaskHeapMemory != 1459 || tr.ManagedMemory != 1372 || tr.NetworkMemory != 343 || tr.TaskOffHeapMemory != 0 {
		t.Errorf("totalResource %+v", tr)
	}
	// One slot is allocated to the job: half of each dimension is free.
	fr := tm.FreeResource
	if tm.SlotsNumber != 2 || tm.FreeSlots != 1 || fr.CPUCores != 1 || fr.TaskHeapMemory != 729 || fr.ManagedMemory != 686 || fr.NetworkMemory != 171 {
		t.Errorf("slots %d free %d freeResource %+v", tm.SlotsNumber, tm.FreeSlots, fr)
	}
	if !strings.HasPrefix(tm.Path, "pekko.tcp://flink@10.0.") || tm.JmxPort != -1 {
		t.Errorf("path %s jmx %d", tm.Path, tm.JmxPort)
	}
}
