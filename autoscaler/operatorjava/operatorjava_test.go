package operatorjava

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

func TestDecision(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	snap := &autoscaler.Snapshot{Time: now, JobID: "j", Status: "RUNNING",
		Vertices: []autoscaler.Vertex{{ID: "a", Parallelism: 2}, {ID: "b", Parallelism: 4}}}
	cases := []struct {
		name   string
		o      JobOutcome
		scaled bool
		par    map[string]int
		reason string
	}{
		{"new decision", JobOutcome{Status: "RUNNING", Decided: map[string]int{"a": 3}, Overrides: map[string]string{"a": "3", "b": "4"},
			Events: []Event{{Type: "Normal", Reason: "ScalingReport", Message: "m"}}}, true, map[string]int{"a": 3, "b": 4}, "rescaling a=3"},
		{"re-applied overrides", JobOutcome{Status: "RUNNING", Overrides: map[string]string{"a": "3", "gone": "7"}}, false, map[string]int{"a": 3}, "no new decision"},
		{"not running", JobOutcome{Status: "CREATED"}, false, nil, "job is CREATED"},
	}
	for _, c := range cases {
		d := decision(snap, c.o)
		if d.Scaled != c.scaled || !d.Ready || d.Reason != c.reason || len(d.Parallelism) != len(c.par) {
			t.Errorf("%s: %+v", c.name, d)
		}
		for v, p := range c.par {
			if d.Parallelism[v] != p {
				t.Errorf("%s: %s=%d, want %d", c.name, v, d.Parallelism[v], p)
			}
		}
		for _, e := range d.Events {
			if e.JobID != "j" || !e.Time.Equal(now) {
				t.Errorf("%s: event %+v", c.name, e)
			}
		}
	}
}

func TestClasspathNotBuilt(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvHarnessDir, dir)
	if _, err := Classpath(); !errors.Is(err, ErrNoHarness) {
		t.Fatalf("empty dir: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "target", "classes", "dev"), 0o755)
	os.WriteFile(filepath.Join(dir, "target", "classpath.txt"), []byte("/a.jar:/b.jar\n"), 0o644)
	cp, err := Classpath()
	if err != nil || cp != filepath.Join(dir, "target", "classes")+":/a.jar:/b.jar" {
		t.Fatalf("classpath %q %v", cp, err)
	}
}

func TestStartRejectsBadAddress(t *testing.T) {
	for _, addr := range []string{"", "localhost:8081", "http://"} {
		if _, err := Start(Config{RESTAddress: addr, Classpath: "x"}); err == nil || !strings.Contains(err.Error(), "REST address") {
			t.Errorf("%q: %v", addr, err)
		}
	}
}

func TestPolicyNeedsAnAddress(t *testing.T) {
	p, err := NewPolicy(flinkconf.FromMap(map[string]string{"job.autoscaler.enabled": "true", "taskmanager.numberOfTaskSlots": "2"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.options["job.autoscaler.enabled"] != "true" || len(p.options) != 1 {
		t.Errorf("options %v", p.options)
	}
	_, err = p.Cycle(&autoscaler.Snapshot{Cluster: "simulator", JobID: "j"})
	if err == nil || !strings.Contains(err.Error(), OptRESTAddress.Key) {
		t.Errorf("no address: %v", err)
	}
	if b, _ := p.MarshalState(); string(b) != "{}" || p.Name() != Name {
		t.Error("state/name")
	}
}
