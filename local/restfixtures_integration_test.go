//go:build integration

package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/local"
)

// TestRecordRESTFixtures runs flinktune (run --dry-run, tune, and the rescale calls of its
// REST client) against a real cluster running the workload job, through a recording proxy.
// The requests flinktune made, with the real responses, are the REST fixtures of
// testdata/real-flink/<version>/ that the simulator is checked against in the plain unit tests
// (simrest). With FLINKTUNE_RECORD_FIXTURES=1 the fixtures are rewritten; otherwise the test
// fails when flinktune now makes a request that has no fixture.
func TestRecordRESTFixtures(t *testing.T) {
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	bin := buildFlinktune(t)
	for _, d := range dists {
		t.Run(d.Version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			c := startCluster(t, ctx, d, 2)
			jobID, err := c.SubmitWorkload(ctx, local.Workload{Rate: 100, Parallelism: 2, MapService: 200 * time.Microsecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.WaitJobRunning(ctx, jobID, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			time.Sleep(8 * time.Second) // the metric fetcher's first rounds
			rec := newRecorder(t, c.RESTURL)
			defer rec.srv.Close()

			runFor(t, ctx, 14*time.Second, bin, "run", "--flink", rec.srv.URL, "--all-jobs", "--dry-run",
				"--interval", "2s", "--data-dir", t.TempDir(), "--log-level", "warn")
			runFor(t, ctx, 0, bin, "tune", "--flink", rec.srv.URL, "--job", jobID, "--duration", "4s", "--interval", "2s", "-o", "json")
			// The rescale path of flinktune run (not taken in --dry-run): read and re-apply the
			// current requirements, as the realizer does.
			cl, err := flinkrest.New(rec.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			rr, err := cl.ResourceRequirements(ctx, jobID)
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.SetResourceRequirements(ctx, jobID, rr); err != nil {
				t.Fatal(err)
			}

			var details struct {
				Vertices []struct {
					ID string `json:"id"`
				} `json:"vertices"`
			}
			if err := c.GetJSON(ctx, "/jobs/"+jobID, &details); err != nil {
				t.Fatal(err)
			}
			var vids []string
			for _, v := range details.Vertices {
				vids = append(vids, v.ID)
			}
			fixtures := rec.fixtures(jobID, vids)
			t.Logf("Flink %s: flinktune made %d requests, %d distinct", d.Version, rec.count(), len(fixtures))
			dir := filepath.Join("..", "testdata", "real-flink", d.Version)
			if os.Getenv("FLINKTUNE_RECORD_FIXTURES") == "1" {
				writeFixtures(t, dir, fixtures)
				return
			}
			known := map[string]bool{}
			for _, f := range readIndex(t, dir) {
				known[f.key()] = true
			}
			for _, f := range fixtures {
				if !known[f.key()] && strings.HasSuffix(f.Path, "/exceptions") {
					// Fetched only after a restart, which a loaded machine can cause.
					t.Logf("flinktune requested %s %s?%s after a restart; no fixture recorded for it", f.Method, f.Path, f.Query)
					continue
				}
				if !known[f.key()] {
					t.Errorf("flinktune now requests %s %s?%s (vertex %d), which has no fixture in %s: re-record with FLINKTUNE_RECORD_FIXTURES=1",
						f.Method, f.Path, f.Query, f.Vertex, dir)
				}
			}
		})
	}
}

// Fixture is one recorded request of flinktune and Flink's answer (index.json of a version).
type Fixture struct {
	Method string `json:"method"`
	// Path has {jobid}, {vertexid} and {taskmanagerid} in place of the ids.
	Path string `json:"path"`
	// Query is the query string with its parameters sorted.
	Query string `json:"query,omitempty"`
	// Vertex is the index of {vertexid} in the job's vertex list (-1: none).
	Vertex int    `json:"vertex"`
	Status int    `json:"status"`
	File   string `json:"file,omitempty"`
	body   []byte
}

func (f Fixture) key() string {
	return fmt.Sprintf("%s %s?%s #%d", f.Method, f.Path, f.Query, f.Vertex)
}

type exchange struct {
	method, path, query string
	status              int
	body                []byte
}

type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []exchange
}

func newRecorder(t *testing.T, target string) *recorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		r.mu.Lock()
		r.log = append(r.log, exchange{resp.Request.Method, resp.Request.URL.Path, resp.Request.URL.RawQuery, resp.StatusCode, body})
		r.mu.Unlock()
		return nil
	}
	r.srv = httptest.NewServer(proxy)
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

var tmIDPattern = regexp.MustCompile(`/taskmanagers/tm-\d+`)

// fixtures are the distinct requests, ids replaced by placeholders, each with the last answer.
func (r *recorder) fixtures(jobID string, vertexIDs []string) []Fixture {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKey := map[string]Fixture{}
	var order []string
	for _, e := range r.log {
		f := Fixture{Method: e.method, Vertex: -1, Status: e.status, body: e.body}
		p := strings.TrimPrefix(e.path, "/v1")
		p = strings.ReplaceAll(p, jobID, "{jobid}")
		for i, v := range vertexIDs {
			if strings.Contains(p, v) {
				p, f.Vertex = strings.ReplaceAll(p, v, "{vertexid}"), i
			}
		}
		f.Path = tmIDPattern.ReplaceAllString(p, "/taskmanagers/{taskmanagerid}")
		if q, err := url.ParseQuery(e.query); err == nil {
			for k, vs := range q {
				for i, v := range vs {
					parts := strings.Split(v, ",")
					slices.Sort(parts)
					vs[i] = strings.Join(parts, ",")
				}
				q[k] = vs
			}
			f.Query = q.Encode()
		}
		if _, seen := byKey[f.key()]; !seen {
			order = append(order, f.key())
		}
		byKey[f.key()] = f
	}
	var out []Fixture
	for _, k := range order {
		out = append(out, byKey[k])
	}
	return out
}

func writeFixtures(t *testing.T, dir string, fs []Fixture) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range fs {
		if len(bytes.TrimSpace(fs[i].body)) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(fs[i].body, &v); err != nil {
			t.Fatalf("%s: answer is not JSON: %v", fs[i].key(), err)
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		fs[i].File = fmt.Sprintf("%03d.json", i)
		if err := os.WriteFile(filepath.Join(dir, fs[i].File), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.MarshalIndent(fs, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "index.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readIndex(t *testing.T, dir string) []Fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatalf("%v: record the fixtures with FLINKTUNE_RECORD_FIXTURES=1", err)
	}
	var fs []Fixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

// buildFlinktune builds the flinktune binary once for the test.
func buildFlinktune(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "flinktune")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/flinktune")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runFor runs flinktune; a positive d stops it with SIGTERM after d.
func runFor(t *testing.T, ctx context.Context, d time.Duration, bin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if d > 0 {
		timer := time.AfterFunc(d, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
		defer timer.Stop()
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("flinktune %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("flinktune %s:\n%s", args[0], tailString(out.String(), 1500))
}

func tailString(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
