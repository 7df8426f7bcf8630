package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteResult(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ResultsDirEnv, dir)
	WriteResult(t, "tiny/budget 50m", map[string]float64{"rssMB": 61.5})
	data, err := os.ReadFile(filepath.Join(dir, "tiny_budget_50m.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]float64
	if err := json.Unmarshal(data, &got); err != nil || got["rssMB"] != 61.5 {
		t.Fatalf("got %s (%v)", data, err)
	}
}

func TestWriteResultWithoutDirWritesNothing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(ResultsDirEnv, "")
	WriteResult(t, "x", 1) // only logs
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("wrote %d files without %s", len(entries), ResultsDirEnv)
	}
}
