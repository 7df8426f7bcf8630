package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// A fake flinktune tree: integration tests that record results directly, through a helper,
// a method or a function value, one that records nothing, and an untagged one.
var fakeTree = map[string]string{
	"go.mod": "module github.com/flinktune/flinktune\n\ngo 1.22\n",
	"scripts/integration.d/10-real-flink.sh": `#!/usr/bin/env bash
[ "$FLINKTUNE_PREPARE_ONLY" = 1 ] || exit 3
echo "-- classpaths ready"
echo "FLINKTUNE_FLINK_DISTS=/dists/$FLINKTUNE_FLINK_VERSIONS"
`,
	"pkga/a_integration_test.go": `//go:build integration

package pkga

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteResult stands in for testutil.WriteResult (the fake tree cannot import it).
func WriteResult(t *testing.T, name, v string) {
	dir := os.Getenv("FLINKTUNE_RESULTS_DIR")
	os.WriteFile(filepath.Join(dir, name+".json"), []byte(v), 0o644)
}

func TestDirect(t *testing.T) {
	WriteResult(t, "direct", "{\"dists\": \""+os.Getenv("FLINKTUNE_FLINK_DISTS")+"\", \"full\": \""+os.Getenv("FLINKTUNE_FULL_MATRIX")+"\"}")
}

func helper(t *testing.T) { WriteResult(t, "helper", "[{\"p\": 2, \"busy\": 0.5}, {\"p\": 4, \"busy\": 0.25}]") }

func TestThroughHelper(t *testing.T) { t.Run("sub", helper) }

type rec struct{ t *testing.T }

func (r rec) done() { WriteResult(r.t, "method", "{\"env\": \""+os.Getenv("EXTRA")+"\"}") }

func TestThroughMethod(t *testing.T) { rec{t}.done() }

func TestRecordsNothing(t *testing.T) { t.Fatal("must not run") }
`,
	"pkgb/b_test.go": `package pkgb

import "testing"

func WriteResult() {}

func TestUntagged(t *testing.T) { WriteResult() }
`,
}

func TestDiscoverResultTests(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, fakeTree)
	got, err := discoverResultTests(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Package+" "+r.Name)
	}
	want := "./pkga TestDirect,./pkga TestThroughHelper,./pkga TestThroughMethod"
	if strings.Join(names, ",") != want {
		t.Errorf("discovered %v, want %s", names, want)
	}
	pattern, pkgs := testPattern(got)
	if pattern != "^TestDirect$|^TestThroughHelper$|^TestThroughMethod$" || strings.Join(pkgs, ",") != "./pkga" {
		t.Errorf("pattern %q packages %v", pattern, pkgs)
	}
}

// The repository's own real-Flink tests are found (a test renamed or moved still is).
func TestDiscoverResultTestsInTree(t *testing.T) {
	got, err := discoverResultTests("../..")
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, r := range got {
		found[r.Name] = true
	}
	for _, name := range []string{"TestFidelityRealFlink", "TestTwinRealFlink"} {
		if !found[name] {
			t.Errorf("%s not discovered among %v", name, got)
		}
	}
}

// TestBenchOnFlinkFakeTree runs the whole command on the fake tree: it prepares each version
// with the tree's script, runs the discovered tests with the results directory, the version's
// classpath and --env set, and aggregates what they wrote.
func TestBenchOnFlinkFakeTree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a small module")
	}
	root := t.TempDir()
	writeFiles(t, root, fakeTree)
	out := filepath.Join(t.TempDir(), "res.json")
	_, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", "1.20.5,2.2.1", "--out", out, "--env", "EXTRA=yes")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc benchFlinkDoc
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 6 || len(doc.Runs) != 2 || doc.Machine.Cores == 0 || doc.Date == "" {
		t.Fatalf("doc: %d results, %d runs, machine %+v:\n%s", len(doc.Results), len(doc.Runs), doc.Machine, b)
	}
	for _, r := range doc.Results {
		var v map[string]any
		json.Unmarshal(r.Value, &v)
		if r.Name == "direct" && (v["dists"] != "/dists/"+r.Version || v["full"] != "1") {
			t.Errorf("%s: %s ran without its version's classpath or the full matrix", r.Version, r.Value)
		}
		if r.Name == "method" && v["env"] != "yes" {
			t.Errorf("--env not passed: %s", r.Value)
		}
	}
	for _, run := range doc.Runs {
		if run.Failed != 0 || len(run.Tests) != 3 {
			t.Errorf("run %+v", run)
		}
	}
	md, err := os.ReadFile(strings.TrimSuffix(out, ".json") + ".md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Flink 2.2.1: helper", "| busy | p |", "| 0.25 | 4 |", "| TestThroughMethod | github.com/flinktune/flinktune/pkga | pass |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	// A failing test fails the command, and its failure is in the results.
	writeFiles(t, root, map[string]string{"pkga/fail_integration_test.go": "//go:build integration\n\npackage pkga\n\nimport \"testing\"\n\nfunc TestFails(t *testing.T) { WriteResult(t, \"x\", \"1\"); t.Fatal(\"boom\") }\n"})
	_, stderr, code = simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", "1.20.5", "--out", out)
	if code == 0 || !strings.Contains(stderr, "fail TestFails") {
		t.Errorf("a failing test: exit %d, %s", code, stderr)
	}
}

// TestBenchOnFlinkLock runs the matching tests one by one under --lock: the command waits
// while another holds the lock, each test is its own go test run, and the lock is free after.
func TestBenchOnFlinkLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a small module")
	}
	root := t.TempDir()
	writeFiles(t, root, fakeTree)
	lockPath := filepath.Join(t.TempDir(), "flink.lock")
	held, err := flock(context.Background(), lockPath)
	if err != nil {
		t.Fatal(err)
	}
	const hold = 1500 * time.Millisecond
	time.AfterFunc(hold, held)
	out := filepath.Join(t.TempDir(), "res.json")
	start := time.Now()
	_, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", "1.20.5", "--out", out,
		"--lock", lockPath, "--run", "TestDirect|TestThroughMethod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if took := time.Since(start); took < hold {
		t.Errorf("the command took %s: it did not wait for the lock held %s", took, hold)
	}
	if n := strings.Count(stderr, "go test -tags integration"); n != 2 {
		t.Errorf("%d go test runs, want one per test (2):\n%s", n, stderr)
	}
	var doc benchFlinkDoc
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 1 || len(doc.Runs[0].Tests) != 2 || doc.Runs[0].Failed != 0 || len(doc.Results) != 2 {
		t.Errorf("runs %+v, %d results", doc.Runs, len(doc.Results))
	}
	free, err := flock(context.Background(), lockPath)
	if err != nil {
		t.Fatal(err)
	}
	free()
	if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--out", out, "--lock", lockPath, "--run", "TestNone"); code == 0 || !strings.Contains(stderr, "matches no integration test") {
		t.Errorf("--run matching nothing: exit %d, %s", code, stderr)
	}
}

// TestBenchOnFlinkInParts puts a matrix together from several invocations into one --out: a
// version run on its own keeps the other version's run and results, and a rerun of one test
// (--run) replaces only that test's result and adds its run to the list.
func TestBenchOnFlinkInParts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a small module")
	}
	root := t.TempDir()
	writeFiles(t, root, fakeTree)
	out := filepath.Join(t.TempDir(), "res.json")
	read := func() benchFlinkDoc {
		t.Helper()
		var doc benchFlinkDoc
		b, _ := os.ReadFile(out)
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, v := range []string{"1.20.5", "2.2.1"} {
		if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", v, "--out", out); code != 0 {
			t.Fatalf("%s: exit %d: %s", v, code, stderr)
		}
	}
	doc := read()
	logs, _ := filepath.Glob(strings.TrimSuffix(out, ".json") + ".d-logs/*-go-test.jsonl")
	if len(logs) != 2 {
		t.Fatalf("go test logs %v, want one per version", logs)
	}
	before, _ := os.ReadFile(logs[1])
	if len(doc.Runs) != 2 || doc.Runs[0].Version != "1.20.5" || doc.Runs[1].Version != "2.2.1" || len(doc.Results) != 6 || doc.Runs[0].Started == "" {
		t.Fatalf("two versions run apart: runs %+v, %d results", doc.Runs, len(doc.Results))
	}
	if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", "2.2.1", "--out", out, "--run", "TestDirect"); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, stderr)
	}
	doc = read()
	if after, _ := os.ReadFile(logs[1]); !strings.HasPrefix(string(after), string(before)) || len(after) == len(before) {
		t.Errorf("the rerun's go test output did not go after the earlier part's in %s", logs[1])
	}
	if len(doc.Runs) != 3 || len(doc.Runs[2].Tests) != 1 || len(doc.Results) != 6 {
		t.Errorf("a rerun of one test: runs %+v, %d results (want 3 runs, 6 results)", doc.Runs, len(doc.Results))
	}
	// A whole run of a version replaces that version's earlier runs.
	if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--repo", root, "--versions", "2.2.1", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if doc = read(); len(doc.Runs) != 2 {
		t.Errorf("a whole run of 2.2.1 after its parts: %d runs, want 2", len(doc.Runs))
	}
	// Re-aggregating the results directory (after a result file was replaced) keeps the runs.
	if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--aggregate", strings.TrimSuffix(out, ".json")+".d", "--versions", "1.20.5,2.2.1", "--out", out); code != 0 {
		t.Fatalf("aggregate: exit %d: %s", code, stderr)
	}
	if doc = read(); len(doc.Runs) != 2 || len(doc.Results) != 6 {
		t.Errorf("re-aggregated: %d runs, %d results, want 2 and 6", len(doc.Runs), len(doc.Results))
	}
}

func TestBenchOnFlinkAggregate(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"1.20.5/twin.json":           `{"at2p": {"predicted": 0.5, "measured": 0.52}, "notes": "a|b"}`,
		"2.2.1/tiny.json":            `[{"budget": "50m", "rssMB": 120.5}]`,
		"1.20.5/logs/TestX/job.json": `{"a log": 1}`,
	})
	out := filepath.Join(t.TempDir(), "all.json")
	_, stderr, code := simCLI(t, "bench", "--on", "flink", "--aggregate", dir, "--versions", "1.20.5,2.2.1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	md, _ := os.ReadFile(filepath.Join(filepath.Dir(out), "all.md"))
	if strings.Contains(string(md), "a log") {
		t.Errorf("a file under logs/ was taken for a result:\n%s", md)
	}
	for _, want := range []string{"| at2p.measured | 0.52 |", "| notes | a\\|b |", "| 50m | 120.5 |", "## Flink 1.20.5: twin"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	writeFiles(t, dir, map[string]string{"1.20.5/bad.json": "{"})
	if _, stderr, code := simCLI(t, "bench", "--on", "flink", "--aggregate", dir, "--out", out); code == 0 || !strings.Contains(stderr, "bad.json is not JSON") {
		t.Errorf("bad file: exit %d, %s", code, stderr)
	}
	if _, stderr, code := simCLI(t, "bench", "--on", "k8s"); code == 0 || !strings.Contains(stderr, `--on "k8s": want sim or flink`) {
		t.Errorf("--on k8s: exit %d, %s", code, stderr)
	}
}

func TestCPUModel(t *testing.T) {
	if got := cpuModel("processor\t: 0\nvendor_id\t: X\nmodel name\t: AMD EPYC 7B13\nflags: a\n"); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
}
