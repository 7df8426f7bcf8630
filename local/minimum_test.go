package local

import (
	"encoding/json"
	"os"
	"testing"
)

// The bisected smallest TaskManager (recorded once by the integration test
// TestBisectTaskManagerMinimum) is consistent: the minimum is the smallest probe that ran, every
// smaller probe failed, and the method and probe duration are named.
func TestBisectedMinimumRecord(t *testing.T) {
	b, err := os.ReadFile("testdata/memory-tuning-minimum.json")
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
