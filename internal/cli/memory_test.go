package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/internal/testutil"
	"gopkg.in/yaml.v3"
)

// Golden files live in testdata/memory; rewrite them with
//
//	go test ./internal/cli -run Memory -update-memory
//
// (or -update, when another test of this package defines that flag).
var updateMemoryGolden = flag.Bool("update-memory", false, "rewrite the memory command's golden files")

func updatingGolden() bool {
	if *updateMemoryGolden {
		return true
	}
	if f := flag.Lookup("update"); f != nil {
		return f.Value.String() == "true"
	}
	return false
}

func runMemoryCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"memory"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "memory", name+".golden"), got, updatingGolden(), "go test ./internal/cli -run Memory -update-memory")
}

func TestMemoryGolden(t *testing.T) {
	const conf = "testdata/memory/flink-conf.yaml"
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
	}{
		{"default-1728m", []string{"--set", "taskmanager.memory.process.size=1728m"}, "", 0},
		{"default-1728m-explain", []string{"--set", "taskmanager.memory.process.size=1728m", "--explain"}, "", 0},
		{"conf-both-table", []string{conf}, "", 0},
		{"conf-both-json", []string{conf, "--output", "json"}, "", 0},
		{"conf-tm-yaml", []string{conf, "--mode", "tm", "-o", "yaml"}, "", 0},
		{"conf-dynamic", []string{conf, "--mode", "both", "-o", "dynamic"}, "", 0},
		{"jm-explain", []string{"--mode", "jm", "--explain", "--set", "jobmanager.memory.flink.size=1280m",
			"--set", "jobmanager.memory.enable-jvm-direct-memory-limit=true"}, "", 0},
		{"yaml-config-flink1", []string{"testdata/memory/config.yaml", "--explain"}, "", 0},
		{"yaml-config-flink2", []string{"testdata/memory/config.yaml", "--profile", "flink2"}, "", 0},
		{"legacy-flink1", []string{"-", "--mode", "both"}, "taskmanager.heap.size: 2g\njobmanager.heap.mb: 1024\n", 0},
		{"legacy-flink2", []string{"-", "--mode", "both", "--profile", "flink2"}, "taskmanager.heap.size: 2g\njobmanager.heap.mb: 1024\n", 1},
		{"fail-bad-size", []string{"--set", "taskmanager.memory.process.size=2g", "--set", "taskmanager.memory.task.heap.size=1.5g", "--explain"}, "", 1},
		{"fail-network-range", []string{"--set", "taskmanager.memory.flink.size=1280m", "--set", "taskmanager.memory.task.heap.size=324m",
			"--set", "taskmanager.memory.managed.size=200m", "--set", "taskmanager.memory.network.min=900m",
			"--set", "taskmanager.memory.network.max=1000m", "--explain"}, "", 1},
		{"fail-json", []string{"--mode", "jm", "-o", "json", "--set", "jobmanager.memory.process.size=1600m",
			"--set", "jobmanager.memory.flink.size=1280m"}, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runMemoryCLI(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			got := out
			if errOut != "" {
				got += "--- stderr\n" + errOut
			}
			checkGolden(t, tt.name, got)
		})
	}
}

func TestMemoryOutputsParse(t *testing.T) {
	out, _, code := runMemoryCLI(t, "", "testdata/memory/flink-conf.yaml", "-o", "json", "--explain")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Profile     string
		Warnings    []string
		TaskManager map[string]any `json:"taskmanager"`
		JobManager  map[string]any `json:"jobmanager"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Profile != "flink1" || doc.TaskManager["totalProcess"] != float64(4096<<20) || doc.JobManager["totalProcess"] != float64(1600<<20) {
		t.Errorf("unexpected document: %+v", doc)
	}
	if steps, _ := doc.TaskManager["steps"].([]any); len(steps) < 10 {
		t.Errorf("--explain should add the steps: %v", doc.TaskManager["steps"])
	}
	if !slices.ContainsFunc(doc.Warnings, func(w string) bool {
		return strings.Contains(w, "flink-conf.yaml:12") && strings.Contains(w, "did you mean taskmanager.memory.jvm-metaspace.size")
	}) {
		t.Errorf("misspelt key not warned about with its line: %q", doc.Warnings)
	}

	out, _, code = runMemoryCLI(t, "", "testdata/memory/flink-conf.yaml", "-o", "yaml", "--mode", "jm")
	var y map[string]any
	if code != 0 || yaml.Unmarshal([]byte(out), &y) != nil {
		t.Fatalf("yaml (%d): %s", code, out)
	}
	if jm, _ := y["jobmanager"].(map[string]any); jm["jvmHeap"] != 1<<30 {
		t.Errorf("yaml jobmanager: %v", y["jobmanager"])
	}
}

func TestMemoryUsageErrors(t *testing.T) {
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"--mode", "tx"}, "", `--mode "tx"`},
		{[]string{"--profile", "flink3"}, "", "flink1"},
		{[]string{"-o", "xml"}, "", `--output "xml"`},
		{[]string{"--env", "HEAP=1g"}, "", "FLINK_TM_HEAP=SIZE"},
		{[]string{"--set", "novalue"}, "", "key=value"},
		{[]string{"testdata/memory/missing.yaml"}, "", "missing.yaml"},
		{[]string{"--format", "toml", "--set", "a=b"}, "", "--format"},
		{[]string{"--batch"}, "", "--mode tm or --mode jm"},
		{[]string{"--batch", "--mode", "tm", "--set", "a=b"}, "", "--set cannot be combined"},
		{[]string{"--batch", "--mode", "tm"}, "{\"config\": {}}\n[]\n", "stdin line 2: malformed input"},
		{[]string{"--batch", "--mode", "jm"}, "{\"config\": {\"k\": {}}}\n", `config key "k"`},
		{[]string{"a", "b"}, "", "accepts at most 1 arg"},
	}
	for _, tt := range tests {
		_, errOut, code := runMemoryCLI(t, tt.stdin, tt.args...)
		if code != ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestMemoryEnvAndStdin(t *testing.T) {
	out, _, code := runMemoryCLI(t, "", "--env", "FLINK_TM_HEAP=1g", "-o", "json")
	if code != 0 || !strings.Contains(out, `"totalProcess": 1543503872`) || !strings.Contains(out, "legacy env FLINK_TM_HEAP=1g") {
		t.Errorf("FLINK_TM_HEAP (%d):\n%s", code, out)
	}
	out, _, code = runMemoryCLI(t, "taskmanager.memory.flink.size: 1g\n", "-", "-o", "dynamic")
	if code != 0 || !strings.HasPrefix(out, "-D taskmanager.memory.network.min=107374184b") {
		t.Errorf("stdin config (%d): %s", code, out)
	}
	// A Flink failure in dynamic mode goes to stderr, never to the machine-readable stdout.
	out, errOut, code := runMemoryCLI(t, "", "--set", "taskmanager.memory.process.size=100m", "-o", "dynamic")
	if code != ExitFailure || out != "" || !strings.Contains(errOut, "Sum of configured JVM Metaspace") {
		t.Errorf("failure in dynamic mode (%d): stdout %q stderr %q", code, out, errOut)
	}
}

// TestMemoryBatchVectors runs every test vector through `memory --batch`, as a program would:
// the vector files are piped in unchanged (extra fields are ignored) and each output line must
// match the vector's expectation for the profile.
func TestMemoryBatchVectors(t *testing.T) {
	for _, tc := range []struct{ mode, file string }{{"tm", "flink-memory-tm.jsonl"}, {"jm", "flink-memory-jm.jsonl"}} {
		input, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		var vectors []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(string(input)), "\n") {
			var v map[string]any
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			vectors = append(vectors, v)
		}
		for _, profile := range []string{"flink1", "flink2"} {
			out, errOut, code := runMemoryCLI(t, string(input), "--batch", "--mode", tc.mode, "--profile", profile)
			if code != 0 {
				t.Fatalf("%s %s: exit %d: %s", tc.mode, profile, code, errOut)
			}
			sc := bufio.NewScanner(strings.NewReader(out))
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			i := 0
			for ; sc.Scan(); i++ {
				if i >= len(vectors) {
					t.Fatalf("%s %s: more output lines than inputs", tc.mode, profile)
				}
				v := vectors[i]
				want, _ := v["expect"].(map[string]any)
				if e2, ok := v["expect_flink2"].(map[string]any); ok && profile == "flink2" {
					want = e2
				}
				var got map[string]any
				dec := json.NewDecoder(strings.NewReader(sc.Text()))
				dec.UseNumber()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if diff := expectDiff(got, want); diff != "" {
					t.Errorf("%s [%s]: %s", v["id"], profile, diff)
				}
			}
			if i != len(vectors) {
				t.Errorf("%s %s: %d output lines for %d inputs", tc.mode, profile, i, len(vectors))
			}
		}
	}
}

// expectDiff compares a batch output line with a vector expectation: every expected field,
// dynamic configs as a set of key=value pairs.
func expectDiff(got, want map[string]any) string {
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return k + " missing"
		}
		if k == "dynamic_configs" {
			gs, ws := strings.Split(g.(string), " -D "), strings.Split(w.(string), " -D ")
			slices.Sort(gs)
			slices.Sort(ws)
			if !slices.Equal(gs, ws) {
				return "dynamic_configs differ"
			}
			continue
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			return k + ": got " + string(gj) + ", want " + string(wj)
		}
	}
	return ""
}

// FuzzMemoryBatchLine feeds arbitrary input lines to the batch parser and the derivations: a
// line is either rejected with an error or answered with a JSON record, never a panic.
func FuzzMemoryBatchLine(f *testing.F) {
	f.Add(`{"config": {"taskmanager.memory.process.size": "1728m"}}`)
	f.Add(`{"config": {"jobmanager.memory.heap.size": 1073741824, "jobmanager.memory.enable-jvm-direct-memory-limit": true}, "env": {"FLINK_JM_HEAP": "1g"}}`)
	f.Add(`{"config": {"taskmanager.memory.flink.size": "  "}, "id": "x"}`)
	f.Add(`{"config": null, "env": {"FLINK_TM_HEAP": "2g"}}`)
	f.Add(`[1, 2]`)
	f.Fuzz(func(t *testing.T, line string) {
		text := bytes.TrimSpace([]byte(line))
		if len(text) == 0 || bytes.ContainsAny(text, "\n\r") {
			return // batch input is split into lines first
		}
		if _, _, err := parseBatchLine(text, "fuzz:1"); err != nil {
			return
		}
		for _, mode := range []string{"tm", "jm"} {
			var out bytes.Buffer
			cmd := newMemoryCmd()
			cmd.SetArgs([]string{"--batch", "--mode", mode})
			cmd.SetIn(strings.NewReader(string(text) + "\n"))
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("line accepted by parseBatchLine but batch failed: %v", err)
			}
			var rec map[string]any
			if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
				t.Fatalf("output is not one JSON object: %q", out.String())
			}
		}
	})
}
