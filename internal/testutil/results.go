package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// ResultsDirEnv names the directory where integration tests against real systems leave their
// measured numbers, one JSON file per result, for `flinktune bench --on flink` to gather.
const ResultsDirEnv = "FLINKTUNE_RESULTS_DIR"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// WriteResult records v as <$FLINKTUNE_RESULTS_DIR>/<name>.json when that variable is set, and
// logs it either way, so that numbers measured on real Flink are never only in a test log.
func WriteResult(t testing.TB, name string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("result %s: %v", name, err)
	}
	t.Logf("result %s: %s", name, data)
	dir := os.Getenv(ResultsDirEnv)
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("result %s: %v", name, err)
	}
	path := filepath.Join(dir, unsafeName.ReplaceAllString(name, "_")+".json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		t.Fatalf("result %s: %v", name, err)
	}
}
