package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/realize"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
	"gopkg.in/yaml.v3"
)

var updateTuneGolden = flag.Bool("update-tune", false, "rewrite the tune command's golden files")

const (
	tuneFixtures = "../../testdata/flink/fixtures"
	tuneJobID    = "8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d"
)

// fakeFlinkForTune serves the fixtures of one running job; the TaskManager heap follows a
// sawtooth over the samples so the histogram has something to chew on.
type fakeFlinkForTune struct {
	t           *testing.T
	mu          sync.Mutex
	tmCalls     int
	detailCalls int
	files       map[string][]byte
	restarts    string
	exc         string
}

func newFakeFlinkForTune(t *testing.T) *fakeFlinkForTune {
	f := &fakeFlinkForTune{t: t, files: map[string][]byte{}, restarts: "0"}
	for _, name := range []string{"config.json", "jobs_overview.json", "job_details.json", "jobmanager_config.json",
		"vertex_subtasks_metrics_ids.json", "vertex_subtasks_metrics_agg.json", "jobmanager_metrics.json", "taskmanagers.json",
		"resource_requirements.json", "job_exceptions.json"} {
		b, err := os.ReadFile(filepath.Join(tuneFixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		f.files[name] = b
	}
	return f
}

func (f *fakeFlinkForTune) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	get := strings.Split(r.URL.Query().Get("get"), ",")
	file := ""
	switch p := r.URL.Path; {
	case p == "/config":
		file = "config.json"
	case p == "/jobs/overview":
		file = "jobs_overview.json"
	case p == "/jobs/"+tuneJobID:
		// The JobManager's clock ("now") advances one interval per sample, like the fake clock.
		var d map[string]any
		if err := json.Unmarshal(f.files["job_details.json"], &d); err != nil {
			f.t.Error(err)
		}
		d["now"] = tuneStart.Add(time.Duration(f.detailCalls) * 10 * time.Second).UnixMilli()
		f.detailCalls++
		json.NewEncoder(w).Encode(d)
		return
	case p == "/jobs/"+tuneJobID+"/jobmanager/config":
		file = "jobmanager_config.json"
	case p == "/jobs/"+tuneJobID+"/resource-requirements":
		file = "resource_requirements.json"
	case p == "/jobs/"+tuneJobID+"/exceptions":
		w.Write([]byte(f.exc))
		return
	case p == "/taskmanagers":
		file = "taskmanagers.json"
	case strings.HasSuffix(p, "/subtasks/metrics"):
		file = "vertex_subtasks_metrics_ids.json"
		if r.URL.Query().Get("get") != "" {
			file = "vertex_subtasks_metrics_agg.json"
		}
	case p == "/jobs/"+tuneJobID+"/metrics":
		fmt.Fprintf(w, `[{"id":"numRestarts","value":%q}]`, f.restarts)
		return
	case p == "/jobmanager/metrics":
		var all []map[string]string
		json.Unmarshal(f.files["jobmanager_metrics.json"], &all)
		all = append(all, map[string]string{"id": "Status.JVM.Memory.Metaspace.Used", "value": "73400320"})
		var out []map[string]string
		for _, m := range all {
			if slices.Contains(get, m["id"]) {
				out = append(out, m)
			}
		}
		json.NewEncoder(w).Encode(out)
		return
	case p == "/taskmanagers/metrics":
		i := f.tmCalls
		f.tmCalls++
		heap := 600<<20 + (i%6)*(80<<20)
		type agg struct {
			ID  string  `json:"id"`
			Min float64 `json:"min"`
			Max float64 `json:"max"`
			Avg float64 `json:"avg"`
		}
		all := []agg{
			{"Status.JVM.Memory.Heap.Max", 1664090112, 1664090112, 1664090112},
			{"Status.JVM.Memory.Heap.Used", float64(heap) * 0.8, float64(heap), float64(heap) * 0.9},
			{"Status.Flink.Memory.Managed.Used", 978257920, 1081889408, 1035073664},
			{"Status.JVM.Memory.Metaspace.Used", 98566144, 115343360, 105844800},
			{"Status.Shuffle.Netty.UsedMemorySegments", 20, 41, 30},
			{"Status.JVM.GarbageCollector.All.TimeMsPerSecond", 12.4, 18.9, 15.65},
		}
		var out []agg
		for _, a := range all {
			if slices.Contains(get, a.ID) {
				out = append(out, a)
			}
		}
		json.NewEncoder(w).Encode(out)
		return
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"errors":["Not found: %s"]}`, p)
		return
	}
	w.Write(f.files[file])
}

// runTune runs tune with a clock that advances by the sleeps (no real waiting).
func runTune(t *testing.T, deps tuneDeps, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := newRootCmd()
	for _, c := range root.Commands() {
		if c.Name() == "tune" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newTuneCommand(deps))
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	code = ExitOK
	if err != nil {
		fmt.Fprintln(&errb, "flinktune:", err)
		code = ExitFailure
		var ue usageError
		if errorsAs(err, &ue) {
			code = ExitUsage
		}
	}
	return out.String(), errb.String(), code
}

func errorsAs(err error, ue *usageError) bool {
	for err != nil {
		if u, ok := err.(usageError); ok {
			*ue = u
			return true
		}
		type unwrapper interface{ Unwrap() error }
		w, ok := err.(unwrapper)
		if !ok {
			return false
		}
		err = w.Unwrap()
	}
	return false
}

// fakeClock is a clock that moves only when slept on.
func fakeClock(start time.Time) tuneDeps {
	now := start
	return tuneDeps{
		now:   func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
	}
}

func tuneGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "tune", name), got, *updateTuneGolden || updatingGolden(), "go test ./internal/cli -run TestTune -update-tune")
}

var tuneStart = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestTuneGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"table.txt", nil},
		{"json.json", []string{"-o", "json"}},
		{"flink-conf.txt", []string{"-o", "flink-conf"}},
		{"config-yaml.txt", []string{"-o", "config-yaml"}},
		{"dynamic.txt", []string{"-o", "dynamic"}},
		{"k8s-patch.yaml", []string{"-o", "k8s-patch", "--target", "90bea66de1c231edf33913ecd54406c1=8"}},
		{"maximize.txt", []string{"--set", "job.autoscaler.memory.tuning.maximize-managed-memory=true", "--set", "job.autoscaler.memory.tuning.enabled=true"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(newFakeFlinkForTune(t)) // every case sees the same job history
			defer srv.Close()
			args := append([]string{"tune", "--flink", srv.URL, "--duration", "12m", "--interval", "10s"}, c.args...)
			out, errOut, code := runTune(t, fakeClock(tuneStart), args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			out = strings.ReplaceAll(out, srv.URL, "http://flink:8081")
			tuneGolden(t, c.name, out)
		})
	}
}

func TestTuneJSONContract(t *testing.T) {
	f := newFakeFlinkForTune(t)
	f.exc = `{"root-exception": null, "timestamp": null, "all-exceptions": [], "truncated": false, "exceptionHistory": {"truncated": false, "entries": [
	  {"exceptionName": "java.lang.OutOfMemoryError", "stacktrace": "java.lang.OutOfMemoryError: Metaspace\n", "timestamp": ` +
		fmt.Sprint(tuneStart.Add(-time.Minute).UnixMilli()) + `, "failureLabels": {}, "concurrentExceptions": []}]}}`
	f.restarts = "1"
	srv := httptest.NewServer(f)
	defer srv.Close()
	out, errOut, code := runTune(t, fakeClock(tuneStart), "tune", "--flink", srv.URL, "--job", tuneJobID, "--duration", "11m", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rec struct {
		Overrides  map[string]string `json:"overrides"`
		Removals   []string          `json:"removals"`
		Worthwhile bool              `json:"worthwhile"`
		Safety     bool              `json:"safety"`
		Limit      int64             `json:"limitProcessBytes"`
		Proposed   int64             `json:"proposedProcessBytes"`
		Observed   struct {
			Events []struct {
				Kind string `json:"kind"`
			} `json:"events"`
		} `json:"observed"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	// The metaspace OOM in the history bumps metaspace: a safety change.
	if !rec.Safety || !rec.Worthwhile || len(rec.Observed.Events) != 1 || rec.Observed.Events[0].Kind != "oom-metaspace" {
		t.Errorf("safety %v worthwhile %v events %+v", rec.Safety, rec.Worthwhile, rec.Observed.Events)
	}
	// The overrides derive to a TaskManager within the job's 4096m.
	cfg := flinkconf.FromMap(map[string]string{"taskmanager.memory.process.size": "4096m", "taskmanager.numberOfTaskSlots": "2",
		"jobmanager.memory.process.size": "2048m", "state.backend.type": "rocksdb"})
	for _, k := range rec.Removals {
		cfg.Delete(k)
	}
	for k, v := range rec.Overrides {
		cfg.Set(k, v)
	}
	tm, err := memory.DeriveTaskManager(cfg, nil, memory.Flink1)
	if err != nil {
		t.Fatal(err)
	}
	if tm.TotalProcess != rec.Proposed || tm.TotalProcess > 4096<<20 || rec.Limit != 4096<<20 {
		t.Errorf("process %d proposed %d limit %d", tm.TotalProcess, rec.Proposed, rec.Limit)
	}
	if tm.JVMMetaspace < 256<<20 {
		t.Errorf("metaspace %d after a metaspace OOM at 256m", tm.JVMMetaspace)
	}
	if !strings.Contains(errOut, "sampling job "+tuneJobID+" every 10s for 11m0s (67 samples)") {
		t.Errorf("stderr %q", errOut)
	}
}

func TestTuneUsageErrors(t *testing.T) {
	f := newFakeFlinkForTune(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tune"}, ExitUsage, "--flink is required"},
		{[]string{"tune", "--flink", srv.URL, "-o", "xml"}, ExitUsage, `--output "xml": want one of table, json`},
		{[]string{"tune", "--flink", srv.URL, "--duration", "soon"}, ExitUsage, `--duration "soon"`},
		{[]string{"tune", "--flink", srv.URL, "--interval", "0"}, ExitUsage, `--interval "0"`},
		{[]string{"tune", "--flink", srv.URL, "--target", "x"}, ExitUsage, `--target "x": want VERTEX_ID=PARALLELISM`},
		{[]string{"tune", "--flink", srv.URL, "--set", "nokey"}, ExitUsage, "nokey"},
		{[]string{"tune", "--flink", srv.URL, "--duration", "0", "--set", "flinktune.memory.tuning.percentile=2"}, ExitUsage,
			`flinktune.memory.tuning.percentile: invalid value "2"`},
		{[]string{"tune", "--flink", srv.URL, "--duration", "0", "--target", "abc=4"}, ExitUsage, "has no vertex abc"},
		{[]string{"tune", "--flink", srv.URL, "--duration", "0", "--job", "0000"}, ExitUsage, `--job "0000": want a Flink job id`},
		{[]string{"tune", "--flink", srv.URL, "--duration", "0", "--job", strings.Repeat("0", 32)}, ExitFailure, "no sample of job 00000000000000000000000000000000 succeeded"},
		{[]string{"tune", "--flink", "http://127.0.0.1:1", "--duration", "0", "--job", strings.Repeat("a", 32), "--timeout", "200ms"}, ExitFailure, "no sample"},
		{[]string{"tune", "extra"}, ExitUsage, "tune takes no arguments"},
	}
	for _, c := range cases {
		_, errOut, code := runTune(t, fakeClock(tuneStart), c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q lacks %q", c.args, code, c.code, errOut, c.want)
		}
	}
}

func TestTuneHelpTeaches(t *testing.T) {
	out, _, code := runTune(t, fakeClock(tuneStart), "tune", "--help")
	for _, want := range []string{"--flink", "--duration", "k8s-patch", "Example", "never exceeds"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestTuneAgainstSimulator runs tune end to end over loopback HTTP against the simulator in
// lockstep, applies the recommendation through the simulator's extension endpoint, and runs on
// without an out-of-memory kill.
func TestTuneAgainstSimulator(t *testing.T) {
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
	start := s.Now()
	srv.Advance(time.Minute) // deployed and running
	now := start.Add(time.Minute)
	deps := tuneDeps{
		now:   func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { srv.Advance(d); now = now.Add(d); return nil },
	}
	out, errOut, code := runTune(t, deps, "tune", "--flink", hs.URL, "--duration", "12m", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rec struct {
		Overrides  map[string]string `json:"overrides"`
		Removals   []string          `json:"removals"`
		Worthwhile bool              `json:"worthwhile"`
		Limit      int64             `json:"limitProcessBytes"`
		Proposed   int64             `json:"proposedProcessBytes"`
		Pools      []struct {
			Pool     string `json:"pool"`
			Proposed int64  `json:"proposed"`
		} `json:"pools"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Worthwhile || rec.Proposed > rec.Limit || float64(rec.Proposed) > 0.7*float64(rec.Limit) {
		t.Fatalf("worthwhile %v: proposed %d of %d", rec.Worthwhile, rec.Proposed, rec.Limit)
	}
	for _, p := range rec.Pools {
		if p.Pool == "managed" && p.Proposed != 0 {
			t.Errorf("hashmap job keeps managed memory %d", p.Proposed)
		}
	}
	// Apply through the extension endpoint; a second application sends nothing.
	rz := &realize.SimConfig{BaseURL: hs.URL}
	sent, err := rz.RealizeConfig(context.Background(), nil, rec.Overrides, rec.Removals)
	if err != nil || !sent {
		t.Fatalf("realize: sent %v err %v", sent, err)
	}
	if sent, err := rz.RealizeConfig(context.Background(), nil, rec.Overrides, rec.Removals); err != nil || sent {
		t.Fatalf("second realize: sent %v err %v", sent, err)
	}
	if got := s.TaskManagerConfig().Map()["taskmanager.memory.process.size"]; got != rec.Overrides["taskmanager.memory.process.size"] {
		t.Errorf("simulator runs process size %q", got)
	}
	// Twenty minutes on the tuned TaskManagers (the job restarts once onto them).
	for range 120 {
		srv.Advance(10 * time.Second)
	}
	st, _ := s.Stats(s.JobIDs()[0])
	if st.OOMKills != 0 || st.ContainerKills != 0 || st.TaskManagerConfigChanges != 1 {
		t.Errorf("after tuning: %d OOM kills, %d container kills, %d config changes", st.OOMKills, st.ContainerKills, st.TaskManagerConfigChanges)
	}
	// The other formats render the same change.
	for _, o := range []string{"flink-conf", "config-yaml", "dynamic", "k8s-patch", "table"} {
		out, errOut, code := runTune(t, deps, "tune", "--flink", hs.URL, "--duration", "0", "-o", o)
		if code != 0 || out == "" {
			t.Errorf("-o %s: exit %d %s", o, code, errOut)
		}
		if o == "k8s-patch" {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(out), &doc); err != nil || doc["spec"] == nil {
				t.Errorf("k8s patch does not parse: %v\n%s", err, out)
			}
		}
	}
}

// TestTuneCrashLoop: tune on a job that never runs (issue 10's heap-state OOM loop) prints the
// diagnosis from the exception history and the fix, and the fix ends the loop.
func TestTuneCrashLoop(t *testing.T) {
	sc, err := scenario.Load(filepath.Join("..", "..", "scenarios", "failures", "heap-state-oom.yaml"))
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
	srv.Advance(5 * time.Minute) // several out-of-memory failures
	now := s.Now()
	deps := tuneDeps{
		now:   func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { srv.Advance(d); now = now.Add(d); return nil },
	}
	out, errOut, code := runTune(t, deps, "tune", "--flink", hs.URL, "--duration", "30s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Diagnosis (job ", "oom-heap", "pool at fault: heap", "java.lang.OutOfMemoryError: Java heap space",
		"Fix:", "taskmanager.memory.managed.size: 0 bytes", "-D ", "FlinkDeployment patch", "re-split"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = runTune(t, deps, "tune", "--flink", hs.URL, "--duration", "0", "-o", "json")
	if code != 0 {
		t.Fatalf("json: exit %d: %s", code, errOut)
	}
	var rec struct {
		Overrides map[string]string `json:"overrides"`
		Removals  []string          `json:"removals"`
		Safety    bool              `json:"safety"`
		Diagnosis []struct {
			Kind, Pool string
		} `json:"diagnosis"`
		Limit    int64 `json:"limitProcessBytes"`
		Proposed int64 `json:"proposedProcessBytes"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Safety || len(rec.Diagnosis) == 0 || rec.Diagnosis[0].Kind != "oom-heap" || rec.Proposed > rec.Limit {
		t.Fatalf("recommendation %+v", rec)
	}
	rz := &realize.SimConfig{BaseURL: hs.URL}
	if sent, err := rz.RealizeConfig(context.Background(), nil, rec.Overrides, rec.Removals); err != nil || !sent {
		t.Fatalf("realize: sent %v err %v", sent, err)
	}
	before, _ := s.Stats(s.JobIDs()[0])
	for range 60 {
		srv.Advance(10 * time.Second)
	}
	after, _ := s.Stats(s.JobIDs()[0])
	if after.OOMKills != before.OOMKills {
		t.Errorf("the fix did not end the loop: %d → %d OOM kills", before.OOMKills, after.OOMKills)
	}
}
