package openapi

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	specPath   = "../../testdata/flink/rest_v1_dispatcher.yml"
	fixtureDir = "../../testdata/flink/fixtures"
	jobID      = "8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d"
	vertexID   = "cbc357ccb763df2852fee8c4fc7d55f2"
)

var (
	loadOnce sync.Once
	loaded   *Spec
	loadErr  error
)

func spec(t testing.TB) *Spec {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = Load(specPath) })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return loaded
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureCalls maps each fixture to the call it answers.
var fixtureCalls = map[string]struct{ method, path string }{
	"config.json":                      {"GET", "/config"},
	"overview.json":                    {"GET", "/v1/overview"},
	"jobs.json":                        {"GET", "/jobs"},
	"jobs_overview.json":               {"GET", "/jobs/overview"},
	"job_details.json":                 {"GET", "/jobs/" + jobID},
	"job_plan.json":                    {"GET", "/jobs/" + jobID + "/plan"},
	"vertex_details.json":              {"GET", "/jobs/" + jobID + "/vertices/" + vertexID},
	"vertex_subtasks_metrics_ids.json": {"GET", "/jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/metrics"},
	"vertex_subtasks_metrics_agg.json": {"GET", "/jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/metrics?get=busyTimeMsPerSecond"},
	"vertex_metrics.json":              {"GET", "/jobs/" + jobID + "/vertices/" + vertexID + "/metrics?get=0.busyTimeMsPerSecond"},
	"job_metrics.json":                 {"GET", "/jobs/" + jobID + "/metrics"},
	"jobmanager_metrics.json":          {"GET", "/jobmanager/metrics?get=taskSlotsTotal"},
	"taskmanagers.json":                {"GET", "/taskmanagers"},
	"taskmanager_details.json":         {"GET", "/taskmanagers/orders-enricher-taskmanager-1-1"},
	"taskmanagers_metrics_agg.json":    {"GET", "/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max&agg=min,max,avg"},
	"jobmanager_config.json":           {"GET", "/jobs/" + jobID + "/jobmanager/config"},
	"checkpoints.json":                 {"GET", "/jobs/" + jobID + "/checkpoints"},
	"resource_requirements.json":       {"GET", "/jobs/" + jobID + "/resource-requirements"},
	"job_exceptions.json":              {"GET", "/jobs/" + jobID + "/exceptions"},
}

func TestLoad(t *testing.T) {
	s := spec(t)
	if s.Version != "v1/1.19-SNAPSHOT" {
		t.Errorf("version %q", s.Version)
	}
	if n := len(s.Paths()); n != 65 {
		t.Errorf("%d paths, want 65", n)
	}
	if got := s.Methods("/jobs/{jobid}/resource-requirements"); strings.Join(got, ",") != "GET,PUT" {
		t.Errorf("methods %v", got)
	}
	if _, err := Parse([]byte("openapi: 2.0\n")); err == nil {
		t.Error("accepted a non-3.x document")
	}
	if _, err := Parse([]byte("openapi: 3.0.1\npaths: {}\ncomponents: {schemas: {A: {$ref: '#/components/schemas/B'}}}\n")); err == nil {
		t.Error("accepted a spec without the schemas the deviations patch")
	}
}

func TestMatch(t *testing.T) {
	s := spec(t)
	for path, want := range map[string]string{
		"/jobs/overview":                              "/jobs/overview",
		"/jobs/metrics?get=a":                         "/jobs/metrics",
		"/jobs/" + jobID:                              "/jobs/{jobid}",
		"/v1/jobs/" + jobID + "/checkpoints/config":   "/jobs/{jobid}/checkpoints/config",
		"/jobs/" + jobID + "/checkpoints/" + vertexID: "/jobs/{jobid}/checkpoints/{triggerid}",
		"/taskmanagers/metrics":                       "/taskmanagers/metrics",
		"/taskmanagers/tm-1/metrics":                  "/taskmanagers/{taskmanagerid}/metrics",
		"/jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/3/metrics": "/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics",
		"/jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/metrics":   "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics",
	} {
		got, ok := s.Match(path)
		if !ok || got != want {
			t.Errorf("Match(%s) = %q %v, want %q", path, got, ok, want)
		}
	}
	if _, ok := s.Match("/nope"); ok {
		t.Error("matched /nope")
	}
}

func TestFixturesValidate(t *testing.T) {
	s := spec(t)
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "savepoint_async.json" {
			continue
		}
		call, ok := fixtureCalls[name]
		if !ok {
			t.Errorf("fixture %s has no call in the table", name)
			continue
		}
		if err := s.ValidateResponse(call.method, call.path, 200, fixture(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSavepointFixtureValidates(t *testing.T) {
	s := spec(t)
	var calls map[string]json.RawMessage
	if err := json.Unmarshal(fixture(t, "savepoint_async.json"), &calls); err != nil {
		t.Fatal(err)
	}
	check := func(key, method, path string, status int) {
		body, ok := calls[key]
		if !ok {
			t.Fatalf("savepoint_async.json lacks %q", key)
		}
		if err := s.ValidateResponse(method, path, status, body); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	sp := "/jobs/" + jobID + "/savepoints/5e9f1c0a7b3d4e2f8a6c1b0d9e8f7a6b"
	check("POST /jobs/:jobid/savepoints response (202)", "POST", "/jobs/"+jobID+"/savepoints", 202)
	check("GET /jobs/:jobid/savepoints/:triggerid while running", "GET", sp, 200)
	check("GET /jobs/:jobid/savepoints/:triggerid when done", "GET", sp, 200)
	check("GET ... when failed", "GET", sp, 200)
	check("PATCH /jobs/:jobid/rescaling?parallelism=8 (503)", "PATCH", "/jobs/"+jobID+"/rescaling?parallelism=8", 503)
	if err := s.ValidateSchema("SavepointTriggerRequestBody", calls["POST /jobs/:jobid/savepoints request"]); err != nil {
		t.Error(err)
	}
	if err := s.ValidateSchema("JobResourceRequirementsBody", fixture(t, "resource_requirements.json")); err != nil {
		t.Error(err)
	}
}

// mutate applies edit to the decoded fixture and returns the re-encoded body.
func mutate(t *testing.T, name string, edit func(v any) any) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(fixture(t, name), &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(edit(v))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func obj(v any) map[string]any { return v.(map[string]any) }
func arr(v any) []any          { return v.([]any) }

func TestBrokenBodiesFail(t *testing.T) {
	s := spec(t)
	jobPath := "/jobs/" + jobID
	aggPath := jobPath + "/vertices/" + vertexID + "/subtasks/metrics"
	cases := []struct {
		name, method, path string
		status             int
		body               []byte
		wantPath, wantMsg  string
	}{
		{"string for int64", "GET", jobPath, 200, mutate(t, "job_details.json", func(v any) any {
			obj(arr(obj(v)["vertices"])[1])["metrics"].(map[string]any)["read-records"] = "35987211"
			return v
		}), "$.vertices[1].metrics.read-records", "want an integer"},
		{"bad job state", "GET", jobPath, 200, mutate(t, "job_details.json", func(v any) any {
			obj(v)["state"] = "RUNING"
			return v
		}), "$.state", "is not one of"},
		{"int32 overflow", "GET", jobPath, 200, mutate(t, "job_details.json", func(v any) any {
			obj(arr(obj(v)["vertices"])[0])["parallelism"] = 3000000000
			return v
		}), "$.vertices[0].parallelism", "out of int32 range"},
		{"fractional integer", "GET", jobPath, 200, []byte(strings.Replace(string(fixture(t, "job_details.json")), `"duration": 3600000`, `"duration": 3600000.5`, 1)), "$.duration", "not an integer"},
		{"plan node without id", "GET", jobPath + "/plan", 200, mutate(t, "job_plan.json", func(v any) any {
			delete(obj(arr(obj(obj(v)["plan"])["nodes"])[2]), "id")
			return v
		}), "$.plan.nodes[2]", `missing required property "id"`},
		{"plan input without ship strategy", "GET", jobPath, 200, mutate(t, "job_details.json", func(v any) any {
			delete(obj(arr(obj(arr(obj(obj(v)["plan"])["nodes"])[0])["inputs"])[0]), "ship_strategy")
			return v
		}), "$.plan.nodes[0].inputs[0]", `"ship_strategy"`},
		{"bad job id", "GET", "/jobs", 200, []byte(`{"jobs":[{"id":"x8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d","status":"RUNNING"}]}`), "$.jobs[0].id", "does not match"},
		{"metrics wrapped like the spec", "GET", "/jobmanager/metrics", 200, []byte(`{"metrics":[{"id":"taskSlotsTotal","value":"4"}]}`), "$", "want an array"},
		{"metric value as number", "GET", "/jobmanager/metrics", 200, []byte(`[{"id":"taskSlotsTotal","value":4}]`), "$[0].value", "want a string"},
		{"aggregate as string", "GET", aggPath, 200, []byte(`[{"id":"busyTimeMsPerSecond","max":"340.2"}]`), "$[0].max", "want a number"},
		{"aggregate without id", "GET", aggPath, 200, []byte(`[{"max":1.0}]`), "$[0]", `missing required property "id"`},
		{"null where not nullable", "GET", "/config", 200, []byte(`{"flink-version":null}`), "$.flink-version", "null"},
		{"bad checkpoint class", "GET", jobPath + "/checkpoints", 200, mutate(t, "checkpoints.json", func(v any) any {
			obj(arr(obj(v)["history"])[0])["className"] = "pending"
			return v
		}), "$.history[0].className", "is not one of"},
		{"bad field inside a discriminated subtype", "GET", jobPath + "/checkpoints", 200, mutate(t, "checkpoints.json", func(v any) any {
			obj(arr(obj(v)["history"])[1])["discarded"] = "no"
			return v
		}), "$.history[1].discarded", "want a boolean"},
		{"resource requirement bound as string", "GET", jobPath + "/resource-requirements", 200, []byte(`{"` + vertexID + `":{"parallelism":{"lowerBound":"1","upperBound":4}}}`), `$.` + vertexID + `.parallelism.lowerBound`, "want an integer"},
		{"error body without errors", "GET", jobPath, 404, []byte(`{"message":"not found"}`), "$", `missing required property "errors"`},
		{"undocumented status", "GET", jobPath, 202, []byte(`{}`), "$", "status 202 is not documented"},
		{"content where none documented", "PUT", jobPath + "/resource-requirements", 200, []byte(`{"ok":true}`), "$", "no body"},
		{"invalid JSON", "GET", "/config", 200, []byte(`{"a":NaN}`), "$", "invalid JSON"},
		{"job config with Java names", "GET", jobPath + "/config", 200, []byte(`{"jobId":"` + jobID + `","jobName":"x"}`), "$", `missing required property "jid"`},
		{"timestamp map with a string", "GET", jobPath, 200, mutate(t, "job_details.json", func(v any) any {
			obj(obj(v)["timestamps"])["RUNNING"] = "now"
			return v
		}), "$.timestamps.RUNNING", "want an integer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ValidateResponse(tc.method, tc.path, tc.status, tc.body)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("got %v, want a *ValidationError", err)
			}
			for _, v := range verr.Violations {
				if v.Path == tc.wantPath && strings.Contains(v.Message, tc.wantMsg) {
					return
				}
			}
			t.Errorf("no violation at %s containing %q in:\n%v", tc.wantPath, tc.wantMsg, err)
		})
	}
}

func TestReportsEveryViolation(t *testing.T) {
	body := []byte(`{"refresh-interval":"3000","timezone-offset":1.5,"features":{"web-submit":"no"}}`)
	err := spec(t).ValidateResponse("GET", "/config", 200, body)
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Violations) != 3 {
		t.Fatalf("want 3 violations, got %v", err)
	}
	if !strings.Contains(err.Error(), "$.features.web-submit") || !strings.Contains(err.Error(), "[DashboardConfiguration]") {
		t.Errorf("message: %v", err)
	}
}

func TestDeviationsAccepted(t *testing.T) {
	s := spec(t)
	jobPath := "/jobs/" + jobID
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"NaN aggregates as strings", "GET", jobPath + "/vertices/" + vertexID + "/subtasks/metrics", 200, `[{"id":"busyTimeMsPerSecond","min":"NaN","max":"Infinity","avg":"-Infinity","sum":0,"skew":0.0}]`},
		{"names listing", "GET", "/taskmanagers/metrics", 200, `[{"id":"Status.JVM.Memory.Heap.Used"}]`},
		{"free-form TaskManager id", "GET", "/taskmanagers", 200, `{"taskmanagers":[{"id":"10.0.0.5:35871-4f9a1c","path":"p","dataPort":1,"jmxPort":-1,"timeSinceLastHeartbeat":1,"slotsNumber":1,"freeSlots":0}]}`},
		{"2.x plan with empty inputs and string optimizer properties", "GET", jobPath + "/plan", 200, `{"plan":{"jid":"` + jobID + `","name":"j","type":"STREAMING","nodes":[{"id":"` + vertexID + `","parallelism":1,"operator":"","operator_strategy":"","description":"d","inputs":[],"optimizer_properties":""}]}}`},
		{"job config wire names", "GET", jobPath + "/config", 200, `{"jid":"` + jobID + `","name":"j","execution-config":{"restart-strategy":"x","job-parallelism":4,"object-reuse-mode":false,"user-config":{}}}`},
		{"empty body on PUT", "PUT", jobPath + "/resource-requirements", 200, `{}`},
		{"no body on cancel", "PATCH", jobPath + "?mode=cancel", 202, ``},
		{"savepoint in progress", "GET", jobPath + "/savepoints/" + vertexID, 200, `{"status":{"id":"IN_PROGRESS"},"operation":null}`},
		{"error body", "GET", jobPath, 404, `{"errors":["Job could not be found."]}`},
		{"exceptions of a job that never failed", "GET", jobPath + "/exceptions", 200, `{"root-exception":null,"timestamp":null,"all-exceptions":[],"truncated":false,"exceptionHistory":{"entries":[],"truncated":false}}`},
		{"NaN accumulated busy time", "GET", jobPath + "/vertices/" + vertexID + "/subtasks/0", 200, `{"subtask":0,"status":"RUNNING","attempt":0,"metrics":{"accumulated-busy-time":"NaN"}}`},
	} {
		if err := s.ValidateResponse(tc.method, tc.path, tc.status, []byte(tc.body)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestNotInSpec(t *testing.T) {
	s := spec(t)
	for _, c := range [][2]string{{"GET", "/jobs/" + jobID + "/vertices/" + vertexID + "/jm-operator-metrics"}, {"DELETE", "/jobs/" + jobID}} {
		if err := s.ValidateResponse(c[0], c[1], 200, []byte(`[]`)); !errors.Is(err, ErrNotInSpec) {
			t.Errorf("%s %s: %v, want ErrNotInSpec", c[0], c[1], err)
		}
	}
}

func TestDeviationsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Deviations() {
		if d.ID == "" || d.Where == "" || d.Spec == "" || d.Wire == "" || d.Reason == "" || d.apply == nil {
			t.Errorf("deviation %+v is incompletely documented", d)
		}
		if seen[d.ID] {
			t.Errorf("duplicate deviation %s", d.ID)
		}
		seen[d.ID] = true
	}
	for _, id := range []string{"MetricCollectionBareArray", "AggregatedMetricsBareArray", "PlanIsStructured", "ResourceIDFreeForm", "SkewAggregation", "JobConfigWireNames", "NonFiniteNumbers", "ErrorBody"} {
		if !seen[id] {
			t.Errorf("deviation %s missing", id)
		}
	}
	// Deviations returns a copy: callers cannot change what Load applies.
	d := Deviations()
	d[0].ID = "changed"
	if Deviations()[0].ID == "changed" {
		t.Error("Deviations exposes the package's list")
	}
}

func BenchmarkValidateJobDetails(b *testing.B) {
	s := spec(b)
	body := fixture(b, "job_details.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ValidateResponse("GET", "/jobs/"+jobID, 200, body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzValidateResponse(f *testing.F) {
	s := spec(f)
	for name := range fixtureCalls {
		f.Add(fixtureCalls[name].path, fixture(f, name))
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		// Must never panic; any error must be a ValidationError or a not-in-spec error.
		err := s.ValidateResponse("GET", path, 200, body)
		var verr *ValidationError
		if err != nil && !errors.As(err, &verr) && !errors.Is(err, ErrNotInSpec) {
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
	})
}
