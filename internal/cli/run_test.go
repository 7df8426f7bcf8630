package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUsageErrors(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "run.yaml")
	os.WriteFile(cfg, []byte("clusters:\n  - url: http://x:8081\n    tiemout: 5s\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "no cluster"},
		{[]string{"run", "--flink", "http://x:8081", "--policy", "magic"}, `--policy "magic"`},
		{[]string{"run", "--flink", "http://x:8081", "--interval", "soon"}, `--interval "soon"`},
		{[]string{"run", "--flink", "http://x:8081", "--header", "novalue"}, `--header "novalue"`},
		{[]string{"run", "--flink", "http://x:8081", "--set", "broken"}, "want key=value"},
		{[]string{"run", "--config", cfg}, "field tiemout not found"},
		{[]string{"run", "--flink", "http://x:8081", "--token-env", "FLINKTUNE_TEST_UNSET_TOKEN"}, "FLINKTUNE_TEST_UNSET_TOKEN"},
	}
	for _, tc := range tests {
		_, errOut, code := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage error containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

func FuzzLoadRunConfig(f *testing.F) {
	f.Add([]byte("clusters:\n  - url: http://x:8081\n    headers: {A: b}\ninterval: 10s\n"))
	f.Add([]byte("dataDir: /tmp\nconfig: {job.autoscaler.enabled: 'true'}\n"))
	f.Add([]byte("clusters: [{}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "run.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		rc, err := loadRunConfig(path)
		if err != nil {
			return
		}
		for _, c := range rc.Clusters {
			if c.URL == "" {
				t.Fatalf("accepted a cluster without url: %+v", rc)
			}
		}
	})
}
