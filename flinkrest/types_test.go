package flinkrest

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtureDir = "../testdata/flink/fixtures"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureTypes maps every fixture (except the keyed savepoint_async.json) to its wire type.
var fixtureTypes = map[string]func() any{
	"config.json":                      func() any { return new(DashboardConfiguration) },
	"overview.json":                    func() any { return new(ClusterOverview) },
	"jobs.json":                        func() any { return new(JobIDsWithStatus) },
	"jobs_overview.json":               func() any { return new(MultipleJobsDetails) },
	"job_details.json":                 func() any { return new(JobDetailsInfo) },
	"job_plan.json":                    func() any { return new(JobPlanInfo) },
	"vertex_details.json":              func() any { return new(JobVertexDetailsInfo) },
	"vertex_subtasks_metrics_ids.json": func() any { return new([]MetricName) },
	"vertex_subtasks_metrics_agg.json": func() any { return new([]AggregatedMetric) },
	"vertex_metrics.json":              func() any { return new([]Metric) },
	"job_metrics.json":                 func() any { return new([]Metric) },
	"jobmanager_metrics.json":          func() any { return new([]Metric) },
	"taskmanagers.json":                func() any { return new(TaskManagersInfo) },
	"taskmanager_details.json":         func() any { return new(TaskManagerDetailsInfo) },
	"taskmanagers_metrics_agg.json":    func() any { return new([]AggregatedMetric) },
	"jobmanager_config.json":           func() any { return new(ConfigurationInfo) },
	"checkpoints.json":                 func() any { return new(CheckpointingStatistics) },
	"resource_requirements.json":       func() any { return new(JobResourceRequirements) },
	"job_exceptions.json":              func() any { return new(JobExceptionsInfoWithHistory) },
}

var savepointTypes = map[string]func() any{
	"POST /jobs/:jobid/savepoints request":                 func() any { return new(SavepointTriggerRequest) },
	"POST /jobs/:jobid/savepoints response (202)":          func() any { return new(TriggerResponse) },
	"GET /jobs/:jobid/savepoints/:triggerid while running": func() any { return new(SavepointStatus) },
	"GET /jobs/:jobid/savepoints/:triggerid when done":     func() any { return new(SavepointStatus) },
	"GET ... when failed":                                  func() any { return new(SavepointStatus) },
	"PATCH /jobs/:jobid/rescaling?parallelism=8 (503)":     func() any { return new(ErrorResponse) },
}

// checkRoundTrip decodes body into the wire type, re-encodes it and requires that the
// result equals the original as generic JSON (every field modelled, nothing invented) and
// that decoding the re-encoding gives the same Go value.
func checkRoundTrip(t *testing.T, name string, body []byte, newT func() any) {
	t.Helper()
	v := newT()
	if err := Decode(body, v); err != nil {
		t.Fatalf("%s: decode: %v", name, err)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: encode: %v", name, err)
	}
	var want, got any
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatalf("%s: re-encoded JSON invalid: %v\n%s", name, err, enc)
	}
	if d := jsonDiff("$", want, got); d != "" {
		t.Errorf("%s: re-encoding differs from the fixture: %s", name, d)
	}
	v2 := newT()
	if err := Decode(enc, v2); err != nil {
		t.Fatalf("%s: decode re-encoding: %v", name, err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Errorf("%s: decode(encode(x)) != x", name)
	}
}

// jsonDiff returns the first difference between two generic JSON values, with its path.
func jsonDiff(path string, a, b any) string {
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return path + ": object vs " + typeName(b)
		}
		for k, x := range av {
			y, ok := bv[k]
			if !ok {
				return path + "." + k + ": missing after re-encoding"
			}
			if d := jsonDiff(path+"."+k, x, y); d != "" {
				return d
			}
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				return path + "." + k + ": added by re-encoding"
			}
		}
		return ""
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return path + ": array length/type differs"
		}
		for i := range av {
			if d := jsonDiff(path+"["+itoa(i)+"]", av[i], bv[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if !reflect.DeepEqual(a, b) {
			return path + ": " + toJSON(a) + " vs " + toJSON(b)
		}
		return ""
	}
}

func typeName(v any) string { return reflect.TypeOf(v).String() }
func itoa(i int) string     { b, _ := json.Marshal(i); return string(b) }
func toJSON(v any) string   { b, _ := json.Marshal(v); return string(b) }

func TestFixturesRoundTrip(t *testing.T) {
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		if name == "savepoint_async.json" {
			continue
		}
		newT, ok := fixtureTypes[name]
		if !ok {
			t.Errorf("fixture %s has no wire type in the test table", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, name, readFixture(t, name), newT) })
	}
	if seen != len(fixtureTypes) {
		t.Errorf("tested %d fixtures, table has %d", seen, len(fixtureTypes))
	}
}

func TestSavepointFixtureRoundTrip(t *testing.T) {
	var calls map[string]json.RawMessage
	if err := json.Unmarshal(readFixture(t, "savepoint_async.json"), &calls); err != nil {
		t.Fatal(err)
	}
	for key, body := range calls {
		newT, ok := savepointTypes[key]
		if !ok {
			t.Errorf("savepoint_async.json key %q has no wire type", key)
			continue
		}
		t.Run(key, func(t *testing.T) { checkRoundTrip(t, key, body, newT) })
	}
}

func TestFixtureValues(t *testing.T) {
	var jd JobDetailsInfo
	if err := Decode(readFixture(t, "job_details.json"), &jd); err != nil {
		t.Fatal(err)
	}
	if jd.Timestamps[JobRunning] != 1767222004210 || len(jd.Vertices) != 3 || jd.MaxParallelism != -1 {
		t.Errorf("job details: running=%d vertices=%d maxPar=%d", jd.Timestamps[JobRunning], len(jd.Vertices), jd.MaxParallelism)
	}
	v := jd.Vertices[0]
	if v.SlotSharingGroupID != "a5d8c2f1e0b94d3c8a7b6c5d4e3f2a1b" || v.MaxParallelism != 128 ||
		v.Metrics.WriteRecords != 35987211 || float64(v.Metrics.AccumulatedBusyTime) != 4519880.0 {
		t.Errorf("vertex 0: %+v", v)
	}
	var src *PlanNode
	for i := range jd.Plan.Nodes {
		if jd.Plan.Nodes[i].ID == v.ID {
			src = &jd.Plan.Nodes[i]
		}
	}
	if src == nil || !src.IsSource() || src.Inputs != nil {
		t.Fatalf("source node: %+v", src)
	}
	if in := jd.Plan.Nodes[0].Inputs; len(in) != 1 || in[0].ShipStrategy != "REBALANCE" {
		t.Errorf("sink inputs: %+v", in)
	}

	var agg []AggregatedMetric
	if err := Decode(readFixture(t, "taskmanagers_metrics_agg.json"), &agg); err != nil {
		t.Fatal(err)
	}
	if agg[0].Sum != nil || agg[0].Skew != nil || agg[4].Max.Float() != 18.9 || !math.IsNaN(agg[0].Sum.Float()) {
		t.Errorf("tm aggregates: %+v", agg)
	}

	var cp CheckpointingStatistics
	if err := Decode(readFixture(t, "checkpoints.json"), &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Latest.Completed == nil || cp.Latest.Completed.ExternalPath == nil || cp.Latest.Savepoint != nil ||
		cp.History[0].ClassName != ClassInProgress || cp.Latest.Restored.ID != 57 {
		t.Errorf("checkpoints: %+v", cp.Latest)
	}
}

func TestDouble(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		enc  string
	}{
		{`1.5`, 1.5, `1.5`},
		{`2`, 2, `2.0`},
		{`1664090112.0`, 1664090112, `1.664090112E9`},
		{`"NaN"`, math.NaN(), `"NaN"`},
		{`"Infinity"`, math.Inf(1), `"Infinity"`},
		{`"-Infinity"`, math.Inf(-1), `"-Infinity"`},
		{`null`, math.NaN(), `"NaN"`},
		{`"846.2"`, 846.2, `846.2`},
		{`1e999`, math.Inf(1), `"Infinity"`},
		{`-0.0`, math.Copysign(0, -1), `-0.0`},
		{`0.001`, 0.001, `0.001`},
		{`1.0E-4`, 1e-4, `1.0E-4`},
	} {
		var d Double
		if err := d.UnmarshalJSON([]byte(tc.in)); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := float64(d)
		if !(got == tc.want || math.IsNaN(got) && math.IsNaN(tc.want)) || math.Signbit(got) != math.Signbit(tc.want) && !math.IsNaN(got) {
			t.Errorf("%s: got %v want %v", tc.in, got, tc.want)
		}
		enc, err := json.Marshal(d)
		if err != nil || string(enc) != tc.enc {
			t.Errorf("%s: encoded %s (%v), want %s", tc.in, enc, err, tc.enc)
		}
	}
	for _, bad := range []string{`"abc"`, `true`, `{}`, `"1,5"`} {
		var d Double
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s: accepted as %v", bad, d)
		}
	}
}

func TestQuoteNonFinite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"a":NaN}`, `{"a":"NaN"}`},
		{`[Infinity,-Infinity, NaN ]`, `["Infinity","-Infinity", "NaN" ]`},
		{`{"NaN":"NaN Infinity"}`, `{"NaN":"NaN Infinity"}`},
		{`{"s":"a\"NaN","v":NaN}`, `{"s":"a\"NaN","v":"NaN"}`},
		{`{"a":1}`, `{"a":1}`},
		{`{"NaNx":1}`, `{"NaNx":1}`},
	} {
		if got := string(QuoteNonFinite([]byte(tc.in))); got != tc.want {
			t.Errorf("%s: got %s want %s", tc.in, got, tc.want)
		}
	}
	var agg []AggregatedMetric
	if err := Decode([]byte(`[{"id":"busyTimeMsPerSecond","min":NaN,"max":Infinity,"avg":"NaN","sum":-Infinity}]`), &agg); err != nil {
		t.Fatal(err)
	}
	a := agg[0]
	if !math.IsNaN(a.Min.Float()) || !math.IsInf(a.Max.Float(), 1) || !math.IsNaN(a.Avg.Float()) || !math.IsInf(a.Sum.Float(), -1) || a.Skew != nil {
		t.Errorf("non-finite aggregates: %+v", a)
	}
}

func TestPlanInputsKeepVersionShape(t *testing.T) {
	// 1.x: no inputs key on sources; 2.x: inputs [] - both decode as sources and re-encode as sent.
	for _, in := range []string{
		`{"id":"a","parallelism":1,"operator":"","operator_strategy":"","description":"x","optimizer_properties":{}}`,
		`{"id":"a","parallelism":1,"operator":"","operator_strategy":"","description":"x","inputs":[],"optimizer_properties":{}}`,
	} {
		var n PlanNode
		if err := json.Unmarshal([]byte(in), &n); err != nil {
			t.Fatal(err)
		}
		if !n.IsSource() {
			t.Errorf("%s: not a source", in)
		}
		out, _ := json.Marshal(n)
		if string(out) != in {
			t.Errorf("re-encoded\n %s\nwant\n %s", out, in)
		}
	}
	// The plan as a JSON string (how Flink's Java client carries RawJson).
	var p Plan
	if err := json.Unmarshal([]byte(`"{\"jid\":\"j\",\"name\":\"n\",\"type\":\"STREAMING\",\"nodes\":[]}"`), &p); err != nil || p.JID != "j" {
		t.Errorf("string plan: %+v %v", p, err)
	}
	// Empty optimizer properties encode as {}.
	out, _ := json.Marshal(PlanNode{ID: "b"})
	if !bytes.Contains(out, []byte(`"optimizer_properties":{}`)) {
		t.Errorf("empty optimizer_properties: %s", out)
	}
}

func TestCheckpointSubtypeFields(t *testing.T) {
	path := "s3://x"
	msg := "boom"
	for _, tc := range []struct {
		c        CheckpointStatistics
		has, not []string
	}{
		{CheckpointStatistics{ClassName: ClassCompleted, ExternalPath: &path}, []string{`"external_path":"s3://x"`, `"discarded":false`, `"tasks":{}`, `"savepointFormat":null`}, []string{"failure_"}},
		{CheckpointStatistics{ClassName: ClassCompleted}, []string{`"external_path":null`}, nil},
		{CheckpointStatistics{ClassName: ClassFailed, FailureTimestamp: 5, FailureMessage: &msg}, []string{`"failure_timestamp":5`, `"failure_message":"boom"`}, []string{"external_path", "discarded"}},
		{CheckpointStatistics{ClassName: ClassInProgress, ExternalPath: &path, Discarded: true}, nil, []string{"external_path", "discarded", "failure_"}},
	} {
		out, err := json.Marshal(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range tc.has {
			if !bytes.Contains(out, []byte(h)) {
				t.Errorf("%s: missing %s in %s", tc.c.ClassName, h, out)
			}
		}
		for _, n := range tc.not {
			if bytes.Contains(out, []byte(n)) {
				t.Errorf("%s: unexpected %s in %s", tc.c.ClassName, n, out)
			}
		}
	}
}

func TestNaNEncodesAsString(t *testing.T) {
	out, err := json.Marshal(IOMetricsInfo{AccumulatedBusyTime: Double(math.NaN())})
	if err != nil || !bytes.Contains(out, []byte(`"accumulated-busy-time":"NaN"`)) {
		t.Errorf("%s %v", out, err)
	}
	out, err = json.Marshal(ResourceProfileInfo{CPUCores: 1})
	if err != nil || !bytes.Contains(out, []byte(`"extendedResources":{}`)) || !bytes.Contains(out, []byte(`"cpuCores":1.0`)) {
		t.Errorf("%s %v", out, err)
	}
}

func TestMetricFloat(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want float64
		ok   bool
	}{{"846.2", 846.2, true}, {"4", 4, true}, {"NaN", math.NaN(), true}, {"s3://x", 0, false}} {
		f, err := Metric{ID: "m", Value: tc.v}.Float()
		if (err == nil) != tc.ok || tc.ok && !(f == tc.want || math.IsNaN(f) && math.IsNaN(tc.want)) {
			t.Errorf("%q: %v %v", tc.v, f, err)
		}
	}
}
