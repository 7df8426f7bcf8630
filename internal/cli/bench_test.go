package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestBenchOneDocument: -o json is one list whatever the number of scenarios and policies
// (an object for one policy, an array for two and concatenated documents for two scenarios
// would each need a different reader); -o yaml is the same document.
func TestBenchOneDocument(t *testing.T) {
	f := filepath.Join(t.TempDir(), "short.yaml")
	if err := os.WriteFile(f, []byte(strings.Replace(cliScenario, "duration: 1h", "duration: 10m", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Scenario string `json:"scenario" yaml:"scenario"`
		Policy   string `json:"policy" yaml:"policy"`
	}
	for _, tc := range []struct {
		args []string
		n    int
	}{
		{[]string{"--policy", "flinktune"}, 1},
		{[]string{"--policy", "flinktune", "--policy", "operator"}, 2},
		{[]string{"--policy", "operator", "--scenario", f}, 2},
	} {
		for _, format := range []string{"json", "yaml"} {
			args := append([]string{"bench", "--scenario", f, "-o", format}, tc.args...)
			out, errOut, code := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, errOut)
			}
			var list []result
			var err error
			if format == "json" {
				dec := json.NewDecoder(strings.NewReader(out))
				err = dec.Decode(&list)
				if err == nil && dec.More() {
					t.Errorf("%v: more than one document:\n%s", args, out)
				}
			} else {
				err = yaml.Unmarshal([]byte(out), &list)
			}
			if err != nil || len(list) != tc.n || list[0].Scenario != "cli" || list[0].Policy == "" {
				t.Errorf("%v: %d results %+v (%v); want a list of %d:\n%.300s", args, len(list), list, err, tc.n, out)
			}
		}
	}
}

// --slo-objective takes its value with or without '=' and names a bad one: a usage error
// (exit 2) before any run.
func TestBenchSLOObjectiveFlag(t *testing.T) {
	f := filepath.Join(t.TempDir(), "short.yaml")
	if err := os.WriteFile(f, []byte(strings.Replace(cliScenario, "duration: 1h", "duration: 5m", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--slo-objective", "off"}, {"--slo-objective=always"}, {}} {
		all := append([]string{"bench", "--scenario", f, "--policy", "flinktune", "-o", "json"}, args...)
		if _, errOut, code := runCLI(t, all...); code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
	_, errOut, code := runCLI(t, "bench", "--scenario", f, "--slo-objective", "yes")
	if code != 2 || !strings.Contains(errOut, `--slo-objective "yes": want stricter, always or off`) {
		t.Errorf("--slo-objective yes: exit %d, %q; want exit 2 naming the value", code, errOut)
	}
}
