package flinkrest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// fuzzRoundTrip checks that whatever Decode accepts encodes, and that the encoding is a
// fixed point: decode(encode(v)) encodes to the same bytes.
func fuzzRoundTrip[T any](t *testing.T, data []byte) {
	var v T
	if Decode(data, &v) != nil {
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("decoded %q but cannot encode: %v", data, err)
	}
	var v2 T
	if err := Decode(enc, &v2); err != nil {
		t.Fatalf("cannot decode own encoding %s: %v", enc, err)
	}
	enc2, err := json.Marshal(v2)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
	}
}

func FuzzDecodeAggregatedMetrics(f *testing.F) {
	f.Add(readFixture(f, "vertex_subtasks_metrics_agg.json"))
	f.Add(readFixture(f, "taskmanagers_metrics_agg.json"))
	f.Add([]byte(`[{"id":"x","min":NaN,"max":"Infinity","avg":-Infinity,"sum":null}]`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip[[]AggregatedMetric](t, data) })
}

func FuzzDecodeMetrics(f *testing.F) {
	f.Add(readFixture(f, "vertex_metrics.json"))
	f.Add(readFixture(f, "jobmanager_metrics.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRoundTrip[[]Metric](t, data)
		fuzzRoundTrip[[]MetricName](t, data)
		var ms []Metric
		if Decode(data, &ms) == nil {
			for _, m := range ms {
				m.Float() // must not panic
			}
		}
	})
}

// compactSeed shrinks a fixture for fuzzing: the engine slows to a crawl on multi-KB seeds
// because it minimizes every interesting input.
func compactSeed[T any](f *testing.F, name string, shrink func(*T)) []byte {
	var v T
	if err := Decode(readFixture(f, name), &v); err != nil {
		f.Fatal(err)
	}
	shrink(&v)
	b, err := json.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzDecodeJobDetails(f *testing.F) {
	f.Add(compactSeed(f, "job_details.json", func(j *JobDetailsInfo) {
		j.Vertices = j.Vertices[:1]
		j.Plan.Nodes = j.Plan.Nodes[1:]
		j.Timestamps = map[string]int64{JobRunning: 1}
		j.StatusCounts = map[string]int{TaskRunning: 1}
		j.Vertices[0].Tasks = map[string]int{TaskRunning: 4}
	}))
	f.Add([]byte(`{"plan":"{\"nodes\":[{\"id\":\"a\",\"inputs\":[]}]}","vertices":[{"metrics":{"accumulated-busy-time":NaN}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip[JobDetailsInfo](t, data) })
}

func FuzzDecodeCheckpoints(f *testing.F) {
	f.Add(compactSeed(f, "checkpoints.json", func(c *CheckpointingStatistics) {
		c.History = c.History[:1]
		c.Summary = CheckpointStatisticsSummary{}
	}))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRoundTrip[CheckpointingStatistics](t, data) })
}

func FuzzQuoteNonFinite(f *testing.F) {
	f.Add([]byte(`{"a":NaN,"b":"NaN","c":[Infinity,-Infinity]}`))
	f.Add(readFixture(f, "vertex_subtasks_metrics_agg.json"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := QuoteNonFinite(data)
		// Valid JSON has no bare non-finite tokens: it must come back unchanged.
		if json.Valid(data) && !bytes.Equal(out, data) {
			t.Fatalf("changed valid JSON %q into %q", data, out)
		}
		// Quoting is idempotent.
		if again := QuoteNonFinite(out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", data, out, again)
		}
	})
}
