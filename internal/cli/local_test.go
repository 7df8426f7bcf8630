package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The local commands without a JVM: errors name the fix, bad flags are usage errors, and a
// recorded cluster whose processes are gone reads as not alive.
func TestLocalCommandsWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args     []string
		code     int
		errorHas string
	}{
		{[]string{"local", "status", "--dir", dir}, ExitFailure, "start one with flinktune local up"},
		{[]string{"local", "down", "--dir", dir}, ExitFailure, "no local cluster"},
		{[]string{"local", "up", "--dir", dir, "--taskmanagers", "-1"}, ExitUsage, "--taskmanagers -1"},
		{[]string{"local", "up", "--dir", dir, "-o", "xml"}, ExitUsage, "want one of table, json"},
		{[]string{"local", "up", "--dir", dir, "--set", "novalue"}, ExitUsage, "novalue"},
		{[]string{"local", "up", "--dir", dir, "--dist", filepath.Join(dir, "missing")}, ExitFailure, "10-real-flink.sh"},
	}
	for _, tt := range tests {
		_, errOut, code := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.errorHas) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, errOut, tt.code, tt.errorHas)
		}
	}
}

func TestLocalStatusOfDeadCluster(t *testing.T) {
	dir := t.TempDir()
	state := `{"flinkVersion": "2.2.1", "restUrl": "http://127.0.0.1:1", "ports": [1],
  "processes": [{"role": "jobmanager", "id": "jobmanager", "pid": 2147483646, "log": "/x/jobmanager.log"}]}`
	if err := os.WriteFile(filepath.Join(dir, "cluster.json"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "local", "status", "--dir", dir)
	if code != 0 || !strings.Contains(out, "jobmanager   2147483646 no") {
		t.Errorf("status: exit %d, %q %q", code, out, errOut)
	}
	out, _, _ = runCLI(t, "local", "status", "--dir", dir, "-o", "json")
	if !strings.Contains(out, `"alive": false`) || !strings.Contains(out, `"restUrl": "http://127.0.0.1:1"`) {
		t.Errorf("status -o json: %s", out)
	}
}
