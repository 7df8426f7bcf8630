package sim

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// TestFailureClasses: each failure scenario fails, left alone, with its class's exact
// message (Flink's or the JDK's), and metaspace use warms up from 70 %.
func TestFailureClasses(t *testing.T) {
	for file, want := range map[string]string{
		"heap-state-oom.yaml":  "java.lang.OutOfMemoryError: Java heap space",
		"gc-overhead.yaml":     "java.lang.OutOfMemoryError: GC overhead limit exceeded",
		"metaspace-oom.yaml":   "java.lang.OutOfMemoryError: Metaspace",
		"direct-oom.yaml":      "java.lang.OutOfMemoryError: Cannot reserve 100663296 bytes of direct buffer memory (allocated: ",
		"network-buffers.yaml": "java.io.IOException: Insufficient number of network buffers: required 2336, but only 2048 available. The total number of network buffers is currently set to 2048 of 32768 bytes each.",
		"container-kill.yaml":  "(container exited with code 137: memory limit exceeded)",
	} {
		sc, err := scenario.Load(filepath.Join("..", "scenarios", "failures", file))
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(sc, Options{NoSeries: true})
		if err != nil {
			t.Fatal(err)
		}
		s.AdvanceTo(s.Start().Add(3 * time.Minute))
		found := false
		for _, e := range s.Events() {
			if e.Kind == "failure" && strings.Contains(e.Message, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no failure with %q", file, want)
		}
	}
}

func TestMetaspaceWarmup(t *testing.T) {
	sc, err := scenario.Load(filepath.Join("..", "scenarios", "failures", "metaspace-shrink.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(sc, Options{NoSeries: true})
	if err != nil {
		t.Fatal(err)
	}
	meta := func() float64 {
		m := 0.0
		for _, tm := range s.tms {
			m = max(m, tm.metaspace)
		}
		return m
	}
	s.AdvanceTo(s.Start().Add(2 * time.Minute))
	early := meta()
	s.AdvanceTo(s.Start().Add(50 * time.Minute))
	late := meta()
	full := float64(frameworkMetaspace + 200<<20)
	if early > 0.8*full || late != full {
		t.Errorf("metaspace %0.f early, %.0f after the warm-up, want ≤ %.0f and %.0f", early, late, 0.8*full, full)
	}
}

// TestClassLoadTail: a TaskManager has most of a job's classes at its first deployment and the
// rest within about half a minute (as measured on Flink 1.20.5 and 2.2.1: 35 → 41 MiB in ~30 s,
// then < 1 % more), so a tuner starting then sees growth that slows down.
func TestClassLoadTail(t *testing.T) {
	for _, tc := range []struct {
		after    time.Duration
		min, max float64
	}{
		{0, 0.7, 0.7},
		{10 * time.Second, 0.88, 0.9},
		{30 * time.Second, 0.98, 0.99},
		{2 * time.Minute, 0.9999, 1},
	} {
		if got := classLoadTail(tc.after); got < tc.min || got > tc.max {
			t.Errorf("after %s: %.4f loaded, want %.4f-%.4f", tc.after, got, tc.min, tc.max)
		}
	}
}
