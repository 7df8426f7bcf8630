package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// recorder sits between the real autoscaler and the simulator's REST server. It records every
// answer the autoscaler received in the current cycle, and holds back its rescale requests
// (answered as Flink does, 200 {}) until the port has read the same cycle, so both read one
// frozen cluster state. Replay then serves the port from the recording.
type recorder struct {
	h        http.Handler
	mu       sync.Mutex
	answers  map[string]*answer // method+" "+path+"?"+query, the last answer in this cycle
	deferred []deferredPut
	stats    ReplayStats
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

type deferredPut struct {
	path string
	body []byte
}

// ReplayStats counts how the port's requests were served.
type ReplayStats struct {
	// Recorded: answers the autoscaler received, served as they were.
	Recorded int `json:"recorded"`
	// Derived: metric answers cut out of a recorded answer for the same vertex (the port asked
	// for a subset of the names or aggregates the autoscaler asked for).
	Derived int `json:"derived"`
	// Live: answers for requests the autoscaler did not make, read from the simulator in the same
	// frozen state (its rescale requests are still held back).
	Live int `json:"live"`
	// LivePaths are the distinct paths answered live.
	LivePaths []string `json:"livePaths,omitempty"`
}

func newRecorder(h http.Handler) *recorder {
	return &recorder{h: h, answers: map[string]*answer{}}
}

func key(method string, u *url.URL) string {
	return method + " " + cleanPath(u.Path) + "?" + u.Query().Encode()
}

// cleanPath drops a trailing slash and the "/v1" prefix Flink's Java client sends.
func cleanPath(p string) string {
	p = strings.TrimSuffix(p, "/")
	if strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	return p
}

// ServeHTTP is what the real autoscaler talks to.
func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/resource-requirements") {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc.mu.Lock()
		rc.deferred = append(rc.deferred, deferredPut{path: r.URL.Path, body: body})
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("{}"))
		return
	}
	a := rc.serve(r)
	if r.Method == http.MethodGet {
		rc.mu.Lock()
		rc.answers[key(r.Method, r.URL)] = a
		rc.mu.Unlock()
	}
	for k, vs := range a.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (rc *recorder) serve(r *http.Request) *answer {
	rw := httptest.NewRecorder()
	rc.h.ServeHTTP(rw, r)
	return &answer{status: rw.Code, header: rw.Header().Clone(), body: rw.Body.Bytes()}
}

// beginCycle forgets the previous cycle's answers.
func (rc *recorder) beginCycle() {
	rc.mu.Lock()
	clear(rc.answers)
	rc.mu.Unlock()
}

// flush applies the held-back rescale requests to the simulator and returns their statuses.
func (rc *recorder) flush() []int {
	rc.mu.Lock()
	puts := rc.deferred
	rc.deferred = nil
	rc.mu.Unlock()
	var out []int
	for _, p := range puts {
		req := httptest.NewRequest(http.MethodPut, p.path, bytes.NewReader(p.body))
		req.Header.Set("Content-Type", "application/json")
		rw := httptest.NewRecorder()
		rc.h.ServeHTTP(rw, req)
		out = append(out, rw.Code)
	}
	return out
}

// RoundTrip serves the port's requests: recorded, derived or live (see ReplayStats).
func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	rc.mu.Lock()
	a := rc.answers[key(r.Method, r.URL)]
	if a != nil {
		rc.stats.Recorded++
	} else if a = rc.derive(r); a != nil {
		rc.stats.Derived++
	}
	rc.mu.Unlock()
	if a == nil {
		a = rc.serve(r)
		rc.mu.Lock()
		rc.stats.Live++
		p := cleanPath(r.URL.Path)
		if !slices.Contains(rc.stats.LivePaths, p) {
			rc.stats.LivePaths = append(rc.stats.LivePaths, p)
		}
		rc.mu.Unlock()
	}
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: a.header.Clone(),
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: r,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}, nil
}

// derive answers an aggregated metric query (?get=names[&agg=...]) from the recorded answers for
// the same path, if together they hold every requested name. Caller holds rc.mu.
func (rc *recorder) derive(r *http.Request) *answer {
	q := r.URL.Query()
	if r.Method != http.MethodGet || !q.Has("get") || !strings.HasSuffix(r.URL.Path, "/metrics") {
		return nil
	}
	want := strings.Split(q.Get("get"), ",")
	aggs := q.Get("agg")
	have := map[string]map[string]json.RawMessage{}
	prefix := "GET " + cleanPath(r.URL.Path) + "?"
	for k, a := range rc.answers {
		if !strings.HasPrefix(k, prefix) || a.status != http.StatusOK {
			continue
		}
		var entries []map[string]json.RawMessage
		if json.Unmarshal(a.body, &entries) != nil {
			continue
		}
		recQ, _ := url.ParseQuery(strings.TrimPrefix(k, prefix))
		if !recQ.Has("get") || (recQ.Get("agg") != "" && !covers(recQ.Get("agg"), aggs)) {
			continue
		}
		for _, e := range entries {
			var id string
			json.Unmarshal(e["id"], &id)
			have[id] = e
		}
	}
	out := []map[string]json.RawMessage{}
	for _, n := range want {
		e, ok := have[n]
		if !ok {
			return nil
		}
		if aggs != "" {
			cut := map[string]json.RawMessage{"id": e["id"]}
			for _, a := range strings.Split(aggs, ",") {
				if v, ok := e[a]; ok {
					cut[a] = v
				}
			}
			e = cut
		}
		out = append(out, e)
	}
	body, _ := json.Marshal(out)
	return &answer{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}}, body: body}
}

// covers reports whether the recorded aggregates include every wanted one ("" = all).
func covers(recorded, wanted string) bool {
	if wanted == "" {
		return false
	}
	for _, w := range strings.Split(wanted, ",") {
		if !slices.Contains(strings.Split(recorded, ","), w) {
			return false
		}
	}
	return true
}
