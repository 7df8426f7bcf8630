package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
)

func populatedStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		st.CommitCycle(store.Cycle{Info: store.JobInfo{Key: store.JobKey{Cluster: "c", JobID: fmt.Sprintf("job%d", i%3)}},
			PolicyState: []byte(`{"x":"` + strings.Repeat("p", 300) + `"}`),
			Events: []store.Event{{Event: autoscaler.Event{Time: t0.Add(time.Duration(i) * time.Minute), Type: "Normal",
				Reason: "ScalingReport", Message: strings.Repeat("m", 200)}}}})
	}
	st.Close()
	return dir
}

// TestStoreCommands: a truncated store is refused by run with the way out, reported by
// check (exit 1), repaired (damaged file kept), and healthy afterwards.
func TestStoreCommands(t *testing.T) {
	dir := populatedStore(t)
	out, _, code := runCLI(t, "store", "check", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "healthy") || !strings.Contains(out, "300 events") {
		t.Fatalf("healthy check (%d):\n%s", code, out)
	}
	path := filepath.Join(dir, store.FileName)
	fi, _ := os.Stat(path)
	os.Truncate(path, fi.Size()/2)

	_, errOut, code := runCLI(t, "run", "--flink", "http://127.0.0.1:1", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(errOut, "is damaged") || !strings.Contains(errOut, "flinktune store repair --data-dir "+dir) {
		t.Fatalf("run on a damaged store (%d): %s", code, errOut)
	}
	out, _, code = runCLI(t, "store", "check", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "truncated") {
		t.Fatalf("check (%d):\n%s", code, out)
	}
	out, _, code = runCLI(t, "store", "export", "--data-dir", dir)
	var d store.Dump
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || len(d.Events) == 0 || len(d.Problems) == 0 {
		t.Fatalf("export (%d): %.300s", code, out)
	}
	out, _, code = runCLI(t, "store", "repair", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "repaired") || !strings.Contains(out, "damaged file is at") {
		t.Fatalf("repair (%d):\n%s", code, out)
	}
	out, _, code = runCLI(t, "store", "check", "--data-dir", dir, "-o", "json")
	var rep store.Report
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Healthy || rep.Events != len(d.Events) {
		t.Fatalf("check after repair (%d):\n%s", code, out)
	}
	if m, _ := filepath.Glob(path + ".damaged-*"); len(m) != 1 {
		t.Errorf("damaged copy: %v", m)
	}
	if _, _, code := runCLI(t, "store", "nope"); code != ExitUsage {
		t.Errorf("unknown subcommand exit %d", code)
	}
}
