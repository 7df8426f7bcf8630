package flinkrest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// headerSink records the secrets each request arrived with.
type headerSink struct {
	mu   sync.Mutex
	seen []string
}

func (h *headerSink) handler(tag string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, fmt.Sprintf("%s %s auth=%q gw=%q", tag, r.Method, r.Header.Get("Authorization"), r.Header.Get("X-Gateway-Secret")))
		h.mu.Unlock()
		w.Write([]byte(`{"flink-version":"1.20.1"}`))
	}
}

// TestRedirectsCarryNoSecretsElsewhere reproduces issue 13: a bearer token and a --header
// secret followed redirects to another port. Same origin keeps them, another port or host
// gets neither.
func TestRedirectsCarryNoSecretsElsewhere(t *testing.T) {
	sink := &headerSink{}
	other := httptest.NewServer(sink.handler("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/config", http.StatusFound)
	})
	mux.HandleFunc("/overview", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/here", http.StatusFound)
	})
	mux.HandleFunc("/here", sink.handler("same"))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL, WithBearerToken("s3cret"), WithHeader("X-Gateway-Secret", "g4te"))
	var cfg DashboardConfiguration
	if err := c.Get(context.Background(), "/config", &cfg); err != nil {
		t.Fatal(err)
	}
	var ov map[string]any
	if err := c.Get(context.Background(), "/overview", &ov); err != nil {
		t.Fatal(err)
	}
	want := []string{`other GET auth="" gw=""`, `same GET auth="Bearer s3cret" gw="g4te"`}
	if strings.Join(sink.seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests after redirects:\n%s\nwant\n%s", strings.Join(sink.seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestPutNeverFollowsARedirectElsewhere: the rescale PUT is not sent to another origin, nor
// turned into a GET by a 301/302/303; a 307 to the same origin is followed with its body.
func TestPutNeverFollowsARedirectElsewhere(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	var puts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/jobs/away/resource-requirements", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/jobs/found/resource-requirements", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jobs/moved/resource-requirements", http.StatusFound) // would become a GET
	})
	mux.HandleFunc("/jobs/temp/resource-requirements", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/jobs/moved/resource-requirements", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/jobs/moved/resource-requirements", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			if b, _ := io.ReadAll(r.Body); bytes.Contains(b, []byte(`"upperBound":4`)) {
				puts.Add(1)
			}
		}
		w.Write([]byte(`{}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL, WithBearerToken("s3cret"))
	req := JobResourceRequirements{"v": {Parallelism: ParallelismBounds{LowerBound: 1, UpperBound: 4}}}
	for _, job := range []string{"away", "found"} {
		err := c.SetResourceRequirements(context.Background(), job, req)
		if err == nil || StatusCode(err)/100 != 3 || !strings.Contains(err.Error(), "not followed") {
			t.Errorf("PUT redirected (%s): %v", job, err)
		}
	}
	if otherHits.Load() != 0 || puts.Load() != 0 {
		t.Errorf("PUT reached the redirect target: other %d, same-origin %d", otherHits.Load(), puts.Load())
	}
	if err := c.SetResourceRequirements(context.Background(), "temp", req); err != nil || puts.Load() != 1 {
		t.Errorf("same-origin 307: %v (puts %d)", err, puts.Load())
	}
}

// TestBodyBoundPerEndpoint: a metric answer larger than its bound fails as bad data without
// being buffered whole; a job details answer of several MiB is still fine.
func TestBodyBoundPerEndpoint(t *testing.T) {
	big := func(n int) string {
		var b strings.Builder
		b.WriteString(`[`)
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"metric-%d","value":"1.0"}`, i)
		}
		b.WriteString(`]`)
		return b.String()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/jobmanager/metrics", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big(limitMetrics+10)) })
	mux.HandleFunc("/jobs/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"jid":"j","name":"`+strings.Repeat("x", 5<<20)+`","vertices":[]}`)
	})
	mux.HandleFunc("/taskmanagers", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"taskmanagers":[`)
		for range limitLarge / 8 {
			io.WriteString(w, `{},{},{}`) // endless in spirit: 3 x the bound
		}
		io.WriteString(w, `{}]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL)
	if _, err := c.JobManagerMetrics(context.Background(), []string{"x"}); err == nil || !IsBadResponse(err) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized metrics: %v", err)
	}
	if _, err := c.TaskManagers(context.Background()); err == nil || !IsBadResponse(err) {
		t.Errorf("oversized TaskManager list: %v", err)
	}
	d, err := c.JobDetails(context.Background(), "j")
	if err != nil || len(d.Name) != 5<<20 {
		t.Errorf("5 MiB job details: %v", err)
	}
}

func TestTrailingDataIsBad(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `[] []`) }))
	defer srv.Close()
	if _, err := newClient(t, srv.URL).JobManagerMetrics(context.Background(), nil); err == nil || !IsBadResponse(err) {
		t.Errorf("trailing data: %v", err)
	}
}

// TestMaxInFlight: a client never runs more calls at once than its bound.
func TestMaxInFlight(t *testing.T) {
	var cur, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
		io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, WithMaxInFlight(3))
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() { c.JobManagerMetrics(context.Background(), []string{"x"}) })
	}
	wg.Wait()
	if peak.Load() != 3 {
		t.Errorf("peak concurrency %d, want 3", peak.Load())
	}
}

// TestConfigErrorsHideThePassword reproduces issue 13: a password in the URL was printed in
// configuration errors.
func TestConfigErrorsHideThePassword(t *testing.T) {
	for _, u := range []string{"http://admin:hunter2@[::1", "ftp://admin:hunter2@host:8081", "http://admin:hunter2@host:notaport/x"} {
		_, err := New(u)
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%v", err)
		}
	}
	for in, want := range map[string]string{
		"http://u:p@h:1/x?y=z": "http://xxxxx@h:1/x?y=z", "h:1": "h:1", "http://h/a@b": "http://h/a@b", "u:p@h": "xxxxx@h",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStreamingDecodeMatchesDecode: the streaming decoder (bare NaN/Infinity quoted on the
// fly, one byte at a time) decodes exactly as Decode does on the whole body.
func TestStreamingDecodeMatchesDecode(t *testing.T) {
	for _, in := range []string{
		`[{"id":"x","min":NaN,"max":Infinity,"avg":-Infinity,"sum":+Infinity}]`,
		`[{"id":"NaN \"Infinity\"","max":-NaN}]`,
		`[{"id":"a","max":1.5e3}]`,
		`{"NaN":NaN}`,
		`[NaN]`,
		`[NaNa]`,
		`[-Infinityx]`,
		`[1,2,3,4,5,6,7,8,9,10,11,NaN,12,-Infinity,13,14,15,16,17,18,19,20,21,22,23,24,25,+Infinity]`,
	} {
		// Length unknown (a 16 KiB buffer) and known (a buffer of the body's size).
		for _, length := range []int64{-1, int64(len(in))} {
			var a, b any
			errA := Decode([]byte(in), &a)
			errB := decodeStream(iotest.OneByteReader(strings.NewReader(in)), length, &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if (errA == nil) != (errB == nil) || !bytes.Equal(ja, jb) {
				t.Errorf("%s (length %d): Decode %s %v, stream %s %v", in, length, ja, errA, jb, errB)
			}
		}
	}
}

func FuzzStreamingDecode(f *testing.F) {
	f.Add([]byte(`[{"id":"x","min":NaN,"max":"Infinity","avg":-Infinity,"sum":null}]`))
	f.Add([]byte(`{"a":[1,2,NaN],"b":"\"NaN\\"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b any
		errA := Decode(data, &a)
		errB := decodeStream(iotest.HalfReader(bytes.NewReader(data)), int64(len(data)), &b)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%q: Decode %v, stream %v", data, errA, errB)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if errA == nil && !bytes.Equal(ja, jb) {
			t.Fatalf("%q: Decode %s, stream %s", data, ja, jb)
		}
	})
}

// BenchmarkJobDetailsCall measures the memory one call costs (B/op) for a job of 200
// vertices: decoded as it streams, no copy of the body is held.
func BenchmarkJobDetailsCall(b *testing.B) {
	var d JobDetailsInfo
	d.JID, d.State = "j", JobRunning
	for i := range 200 {
		id := fmt.Sprintf("%032x", i)
		d.Vertices = append(d.Vertices, JobVertex{ID: id, Name: strings.Repeat("Map ", 20), Parallelism: 4, MaxParallelism: 128, Tasks: map[string]int{"RUNNING": 4}})
		d.Plan.Nodes = append(d.Plan.Nodes, PlanNode{ID: id, Description: strings.Repeat("operator description ", 10)})
	}
	body, _ := json.Marshal(d)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	c, _ := New(srv.URL)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.JobDetails(context.Background(), "j"); err != nil {
			b.Fatal(err)
		}
	}
}
