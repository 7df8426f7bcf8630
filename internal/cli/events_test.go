package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestEventsFromDataDir(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, job := range []string{"aaaa1111", "bbbb2222"} {
		st.CommitCycle(store.Cycle{Info: store.JobInfo{Key: store.JobKey{Cluster: "c", JobID: job}},
			Events: []store.Event{{Event: autoscaler.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: "Normal", Reason: "ScalingReport", Message: "scale up " + job}}}})
	}
	st.Close()

	out, _, code := runCLI(t, "events", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "ScalingReport") || !strings.Contains(out, "scale up aaaa1111") || !strings.Contains(out, "scale up bbbb2222") {
		t.Fatalf("table (%d):\n%s", code, out)
	}
	out, _, code = runCLI(t, "events", "--data-dir", dir, "--job", "BBBB", "-o", "json")
	var evs []store.Event
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 1 || evs[0].JobID != "bbbb2222" {
		t.Fatalf("json (%d): %s", code, out)
	}
	_, errOut, code := runCLI(t, "events", "--data-dir", t.TempDir())
	if code != ExitFailure || !strings.Contains(errOut, "no flinktune data") {
		t.Errorf("empty dir: %d %s", code, errOut)
	}
	_, errOut, code = runCLI(t, "events", "-o", "xml")
	if code != ExitUsage || !strings.Contains(errOut, `--output "xml"`) {
		t.Errorf("bad output: %d %s", code, errOut)
	}
}

func TestEventsFromServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events" || r.URL.Query().Get("job") != "abc" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode([]store.Event{{Event: autoscaler.Event{JobID: "abc", Reason: "Scaling", Message: "m"}}})
	}))
	defer srv.Close()
	out, _, code := runCLI(t, "events", "--server", srv.URL, "--job", "abc")
	if code != 0 || !strings.Contains(out, "Scaling") {
		t.Errorf("%d %s", code, out)
	}
}
