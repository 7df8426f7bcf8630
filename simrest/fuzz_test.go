package simrest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/sim"
)

// FuzzServe sends arbitrary requests (method, path, query, body) to the server: it must never
// panic (other than the deliberate connection abort of an unavailable fault, absent here) and
// must always answer JSON.
func FuzzServe(f *testing.F) {
	sc := conformanceScenario(f, "1.20")
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		f.Fatal(err)
	}
	srv := New(s, Options{})
	srv.Advance(time.Minute)
	jid := s.JobIDs()[0]
	vid := sim.VertexID("orders", "enrich")
	for _, seed := range []struct{ method, path, body string }{
		{"GET", "/jobs/" + jid + "/vertices/" + vid + "/subtasks/metrics?get=busyTimeMsPerSecond&agg=max,skew&subtasks=0-1,3", ""},
		{"GET", "/taskmanagers/metrics?get=a,,b&agg=", ""},
		{"PUT", "/jobs/" + jid + "/resource-requirements", `{"` + vid + `": {"parallelism": {"lowerBound": -1, "upperBound": 7}}}`},
		{"GET", "/v1/jobs/" + jid + "/exceptions?maxExceptions=-3", ""},
		{"PATCH", "/jobs/" + jid + "?mode=stop", ""},
		{"POST", "/jobs/" + jid + "/savepoints", `{"cancel-job": "yes"}`},
		{"PUT", "/flinktune/v1/taskmanager-config?mode=merge", `{"taskmanager.memory.process.size": "1g"}`},
		{"GET", "/jobs/" + jid + "/vertices/" + vid + "/subtasks/99999999999999999999/metrics", ""},
	} {
		f.Add(seed.method, seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, "http://sim"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON %q", method, path, rec.Body.String())
		}
		if rec.Code >= 400 {
			var e struct{ Errors []string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Errors) == 0 {
				t.Fatalf("%s %s: %d without an errors body: %s", method, path, rec.Code, rec.Body.String())
			}
		}
	})
}
