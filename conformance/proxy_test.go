package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The port's requests are served from what the autoscaler received: exactly, cut out of a
// recorded metric answer, or live; rescale requests wait for flush.
func TestRecorderReplay(t *testing.T) {
	live, puts := 0, 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			puts++
			w.WriteHeader(http.StatusOK)
			return
		}
		live++
		switch strings.TrimPrefix(r.URL.Path, "/v1") {
		case "/jobs/j/vertices/v/subtasks/metrics":
			w.Write([]byte(`[{"id":"busyTimeMsPerSecond","min":1,"max":3,"avg":2,"sum":6},{"id":"numRecordsInPerSecond","min":10,"max":30,"avg":20,"sum":60}]`))
		default:
			w.Write([]byte(`{"n":` + strings.Repeat("1", live) + `}`))
		}
	})
	rc := newRecorder(h)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	replay := func(path string) string {
		req := httptest.NewRequest(http.MethodGet, "http://replay"+path, nil)
		resp, err := rc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	rc.beginCycle()
	first := get("/v1/jobs/j")
	get("/v1/jobs/j/vertices/v/subtasks/metrics?get=busyTimeMsPerSecond,numRecordsInPerSecond")
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v1/jobs/j/resource-requirements", strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || puts != 0 {
		t.Fatalf("put held back: %v %v %d", err, resp, puts)
	}
	if got := replay("/jobs/j"); got != first {
		t.Errorf("recorded: %s, want %s", got, first)
	}
	var cut []map[string]any
	json.Unmarshal([]byte(replay("/jobs/j/vertices/v/subtasks/metrics?get=numRecordsInPerSecond&agg=sum,max")), &cut)
	if len(cut) != 1 || cut[0]["sum"] != 60.0 || cut[0]["max"] != 30.0 || cut[0]["id"] != "numRecordsInPerSecond" || len(cut[0]) != 3 {
		t.Errorf("derived: %v", cut)
	}
	replay("/jobs/j/exceptions")
	if rc.stats.Recorded != 1 || rc.stats.Derived != 1 || rc.stats.Live != 1 || rc.stats.LivePaths[0] != "/jobs/j/exceptions" {
		t.Errorf("stats %+v", rc.stats)
	}
	if st := rc.flush(); len(st) != 1 || st[0] != 200 || puts != 1 {
		t.Errorf("flush %v, %d puts", st, puts)
	}
	rc.beginCycle()
	if replay("/jobs/j") == first {
		t.Error("a new cycle must not replay the previous one")
	}
}
