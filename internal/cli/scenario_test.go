package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/scenario"
)

func TestScenarioGenerate(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := simCLI(t, "scenario", "generate", "--seed", "5", "--count", "3", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"gen-5", "gen-6", "gen-7"} {
		sc, err := scenario.Load(filepath.Join(dir, name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != name || !strings.Contains(stderr, name+".yaml") {
			t.Errorf("%s: loaded %q; stderr %q", name, sc.Name, stderr)
		}
	}
	// Stdout: the same bytes as the file, the same every time.
	out1, _, code := simCLI(t, "scenario", "generate", "--seed", "6")
	out2, _, _ := simCLI(t, "scenario", "generate", "--seed", "6")
	file, _ := os.ReadFile(filepath.Join(dir, "gen-6.yaml"))
	if code != 0 || out1 != string(file) || out1 != out2 {
		t.Errorf("stdout differs from the file or between runs")
	}
	two, _, _ := simCLI(t, "scenario", "generate", "--seed", "1", "--count", "2")
	if strings.Count(two, "\n---\n") != 1 {
		t.Errorf("two scenarios on stdout want one separator:\n%s", two)
	}
}

func TestScenarioGenerateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"scenario", "generate"},
		{"scenario", "generate", "--seed", "1", "--count", "0"},
		{"scenario", "generate", "--seed", "x"},
	} {
		_, stderr, code := simCLI(t, args...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

func TestBenchGenerateUsage(t *testing.T) {
	_, stderr, code := simCLI(t, "bench", "--generate", "1", "--policy", "operator")
	if code != 2 || !strings.Contains(stderr, "two policies") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
