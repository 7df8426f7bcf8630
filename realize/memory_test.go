package realize

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
	"gopkg.in/yaml.v3"
)

var updateMemoryGolden = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "memory", name), got, *updateMemoryGolden, "go test ./realize -update")
}

// A tuned change as the memory tuner writes it, on a configuration that has a total Flink
// size (to be removed), a legacy key that conflicts with nesting, and quoting traps.
var (
	current = map[string]string{
		"taskmanager.memory.process.size":     "4g",
		"taskmanager.memory.flink.size":       "3g",
		"taskmanager.numberOfTaskSlots":       "4",
		"state.backend":                       "hashmap",
		"state.backend.type":                  "hashmap",
		"jobmanager.memory.process.size":      "1600m",
		"taskmanager.memory.managed.fraction": "0.4",
	}
	overrides = map[string]string{
		"taskmanager.memory.process.size":       "1390 mb",
		"taskmanager.memory.task.heap.size":     "789 mb",
		"taskmanager.memory.managed.size":       "0 bytes",
		"taskmanager.memory.network.min":        "9 mb",
		"taskmanager.memory.network.max":        "9 mb",
		"taskmanager.memory.jvm-metaspace.size": "144 mb",
		"taskmanager.memory.managed.fraction":   "0.0",
		"jobmanager.memory.process.size":        "663 mb",
		"jobmanager.memory.heap.size":           "247 mb",
	}
	removals = []string{"taskmanager.memory.flink.size"}
)

func TestRenderersGolden(t *testing.T) {
	golden(t, "flink-conf.diff", FlinkConfDiff(current, overrides, removals))
	golden(t, "flink-conf-no-current.diff", FlinkConfDiff(nil, overrides, removals))
	golden(t, "config-yaml.diff", ConfigYAMLDiff(current, overrides, removals))
	golden(t, "config-yaml-no-current.diff", ConfigYAMLDiff(nil, overrides, removals))
	golden(t, "dynamic.txt", DynamicProperties(overrides, removals)+"\n")
	patch, err := FlinkDeploymentPatch(overrides, removals, map[string]int{"cbc357ccb763df2852fee8c4fc7d55f2": 8, "90bea66de1c231edf33913ecd54406c1": 12})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "flinkdeployment-patch.yaml", patch)
}

func TestFlinkConfDiffRoundTrip(t *testing.T) {
	// Applying the "+" lines and dropping the "-" keys to the current file gives the new config.
	diff := FlinkConfDiff(current, overrides, removals)
	got := map[string]string{}
	for k, v := range current {
		got[k] = v
	}
	for _, line := range strings.Split(diff, "\n")[2:] {
		switch {
		case strings.HasPrefix(line, "-"):
			k, _, _ := strings.Cut(line[1:], ": ")
			delete(got, k)
		}
	}
	for _, line := range strings.Split(diff, "\n")[2:] {
		if strings.HasPrefix(line, "+") {
			k, v, _ := strings.Cut(line[1:], ": ")
			got[k] = v
		}
	}
	want := Applied(current, overrides, removals)
	if len(got) != len(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	// Parsed as Flink parses a legacy file, the "+" side derives the same values.
	var plus []string
	for _, line := range strings.Split(diff, "\n") {
		if strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "+++") {
			plus = append(plus, line[1:])
		}
	}
	cfg, _, err := flinkconf.Parse([]byte(strings.Join(plus, "\n")), "diff", flinkconf.FormatFlat)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Get("taskmanager.memory.process.size"); v != "1390 mb" {
		t.Errorf("parsed %q", v)
	}
}

func TestConfigYAMLDiffParses(t *testing.T) {
	// The "+" side (with the unchanged context lines) is valid YAML that flattens back to the
	// new values.
	diff := ConfigYAMLDiff(current, overrides, removals)
	var after []string
	for _, line := range strings.Split(diff, "\n")[2:] {
		if strings.HasPrefix(line, "+") || strings.HasPrefix(line, " ") {
			after = append(after, line[1:])
		}
	}
	cfg, _, err := flinkconf.ParseYAML([]byte(strings.Join(after, "\n")), "diff")
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(after, "\n"))
	}
	for k, v := range overrides {
		if current[k] == v {
			continue
		}
		if got, _ := cfg.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if cfg.Has("taskmanager.memory.flink.size") {
		t.Error("removed key on the + side")
	}
	// Keys that cannot nest stay flat.
	tr := newTree()
	tr.insert("a.b", "1")
	tr.insert("a.b.c", "2")
	tr.insert("a", "3")
	lines := strings.Join(tr.lines(), "\n")
	if _, _, err := flinkconf.ParseYAML([]byte(lines), "t"); err != nil {
		t.Errorf("conflicting keys render invalid YAML: %v\n%s", err, lines)
	}
}

func TestDynamicPropertiesQuoting(t *testing.T) {
	got := DynamicProperties(map[string]string{"a.b": "1 mb", "c": "it's", "d": "plain-1.5"}, nil)
	want := `-D 'a.b=1 mb' -D 'c=it'\''s' -D d=plain-1.5`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if DynamicProperties(nil, nil) != "" {
		t.Error("empty change renders something")
	}
}

func TestFlinkDeploymentPatch(t *testing.T) {
	patch, err := FlinkDeploymentPatch(overrides, removals, nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			FlinkConfiguration map[string]*string `yaml:"flinkConfiguration"`
			TaskManager        struct {
				Resource struct {
					Memory string `yaml:"memory"`
				} `yaml:"resource"`
			} `yaml:"taskManager"`
			JobManager struct {
				Resource struct {
					Memory string `yaml:"memory"`
				} `yaml:"resource"`
			} `yaml:"jobManager"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(patch), &doc); err != nil {
		t.Fatal(err)
	}
	// The operator sets the TaskManager resource memory to the process size in bytes.
	if doc.Spec.TaskManager.Resource.Memory != "1457520640" || doc.Spec.JobManager.Resource.Memory != "695205888" {
		t.Errorf("resources %+v %+v", doc.Spec.TaskManager, doc.Spec.JobManager)
	}
	if v, ok := doc.Spec.FlinkConfiguration["taskmanager.memory.flink.size"]; !ok || v != nil {
		t.Errorf("removal not null: %v", v)
	}
	if v := doc.Spec.FlinkConfiguration["taskmanager.memory.managed.fraction"]; v == nil || *v != "0.0" {
		t.Errorf("a float-looking value must stay a string: %v", v)
	}
	if _, ok := doc.Spec.FlinkConfiguration[ParallelismOverridesKey]; ok {
		t.Error("parallelism overrides without parallelism")
	}
	if _, err := FlinkDeploymentPatch(map[string]string{"taskmanager.memory.process.size": "lots"}, nil, nil); err == nil ||
		!strings.Contains(err.Error(), `taskmanager.memory.process.size: "lots" is not a memory size`) {
		t.Errorf("bad size: %v", err)
	}
	empty, err := FlinkDeploymentPatch(nil, nil, nil)
	if err != nil || strings.TrimSpace(empty) != "spec: {}" {
		t.Errorf("empty patch %q %v", empty, err)
	}
}

// TestSimConfigAgainstSimulator applies a configuration change to the simulator over loopback
// HTTP: the TaskManagers roll onto it, and the same change again sends nothing.
func TestSimConfigAgainstSimulator(t *testing.T) {
	sc, err := scenarios.Open("wordcount-ramp")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := simrest.New(s, simrest.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	srv.Advance(2 * time.Minute)
	rz := &SimConfig{BaseURL: hs.URL + "/"}
	ctx := context.Background()
	if sent, err := rz.RealizeConfig(ctx, nil, nil, nil); sent || err != nil {
		t.Errorf("empty change: sent %v err %v", sent, err)
	}
	ov := map[string]string{"taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.size": "0 bytes"}
	sent, err := rz.RealizeConfig(ctx, nil, ov, []string{"taskmanager.memory.flink.size"})
	if err != nil || !sent {
		t.Fatalf("sent %v err %v", sent, err)
	}
	cfg := s.TaskManagerConfig().Map()
	if cfg["taskmanager.memory.process.size"] != "2g" || cfg["taskmanager.memory.managed.size"] != "0 bytes" ||
		cfg["taskmanager.numberOfTaskSlots"] != "4" || cfg["jobmanager.scheduler"] != "adaptive" {
		t.Errorf("simulator config %v", cfg)
	}
	if sent, err := rz.RealizeConfig(ctx, nil, ov, []string{"taskmanager.memory.flink.size"}); sent || err != nil {
		t.Errorf("idempotent: sent %v err %v", sent, err)
	}
	srv.Advance(2 * time.Minute)
	st, _ := s.Stats(s.JobIDs()[0])
	if st.TaskManagerConfigChanges != 1 {
		t.Errorf("%d configuration roll-outs", st.TaskManagerConfigChanges)
	}
	// A configuration the memory model rejects is refused with Flink's message; nothing changes.
	_, err = rz.RealizeConfig(ctx, nil, map[string]string{"taskmanager.memory.process.size": "100m"}, nil)
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("rejected config: %v", err)
	}
	if got := s.TaskManagerConfig().Map()["taskmanager.memory.process.size"]; got != "2g" {
		t.Errorf("a rejected change was applied: %s", got)
	}
	// Transport failures and non-JSON answers are errors.
	down := &SimConfig{BaseURL: "http://127.0.0.1:1", Client: &http.Client{Timeout: time.Second}}
	if _, err := down.RealizeConfig(ctx, nil, ov, nil); err == nil {
		t.Error("no error from a closed port")
	}
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }))
	defer junk.Close()
	if _, err := (&SimConfig{BaseURL: junk.URL}).RealizeConfig(ctx, nil, ov, nil); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("junk answer: %v", err)
	}
}
