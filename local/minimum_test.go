package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The bisected smallest TaskManager (recorded once per Flink version by the integration test
// TestBisectTaskManagerMinimum, in testdata/memory-tuning-minimum-V.json) is consistent: the
// record is the file's version, the minimum is the smallest probe that ran, every smaller
// probe failed, and the method and probe duration are named.
func TestBisectedMinimumRecord(t *testing.T) {
	files, err := filepath.Glob("testdata/memory-tuning-minimum-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bisection record in testdata (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { checkMinimumRecord(t, f) })
	}
}

func checkMinimumRecord(t *testing.T, file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		FlinkVersion, Method, ProbeDuration string
		Probes                              []struct {
			TaskHeapBytes, ProcessBytes int64
			OK                          bool
		}
		MinimumTaskHeapBytes, MinimumProcessBytes int64
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.FlinkVersion == "" || rec.Method == "" || rec.ProbeDuration == "" || len(rec.Probes) == 0 {
		t.Fatalf("record lacks its version, method, probe duration or probes: %+v", rec)
	}
	if want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "memory-tuning-minimum-"), ".json"); rec.FlinkVersion != want {
		t.Errorf("%s records Flink %s", file, rec.FlinkVersion)
	}
	found := false
	for _, p := range rec.Probes {
		if p.OK && p.TaskHeapBytes < rec.MinimumTaskHeapBytes {
			t.Errorf("probe at %d bytes of task heap ran, below the recorded minimum %d", p.TaskHeapBytes, rec.MinimumTaskHeapBytes)
		}
		if p.OK && p.TaskHeapBytes == rec.MinimumTaskHeapBytes && p.ProcessBytes == rec.MinimumProcessBytes {
			found = true
		}
		if !p.OK && p.TaskHeapBytes >= rec.MinimumTaskHeapBytes {
			t.Errorf("probe at %d bytes failed, at or above the recorded minimum %d", p.TaskHeapBytes, rec.MinimumTaskHeapBytes)
		}
	}
	if !found {
		t.Errorf("the recorded minimum (%d task heap, %d process) is no probe that ran", rec.MinimumTaskHeapBytes, rec.MinimumProcessBytes)
	}
}
