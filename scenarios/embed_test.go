package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltIns(t *testing.T) {
	names := Names()
	if !slices.Equal(names, []string{"kafka-diurnal", "taskmanager-loss", "wordcount-ramp"}) {
		t.Fatalf("names %v", names)
	}
	for _, n := range names {
		sc, err := Open(n)
		if err != nil {
			t.Fatal(err)
		}
		if sc.Name != n {
			t.Errorf("%s: name %q", n, sc.Name)
		}
		// The embedded copy is the file in this directory.
		data, _ := Read(n + ".yaml")
		disk, err := os.ReadFile(n + ".yaml")
		if err != nil || string(data) != string(disk) {
			t.Errorf("%s: embedded copy differs from the file", n)
		}
	}
}

func TestLoadFileOrName(t *testing.T) {
	if sc, err := Load("wordcount-ramp"); err != nil || sc.Name != "wordcount-ramp" {
		t.Fatalf("%v %v", sc, err)
	}
	p := filepath.Join(t.TempDir(), "mine.yaml")
	os.WriteFile(p, []byte("duration: 1h\ncluster: {}\njobs:\n  - vertices: [{id: s, capacity: 1}]\n    load: [{source: s, at: 0, rate: 1}]\n"), 0o644)
	if sc, err := Load(p); err != nil || sc.Name != "mine" {
		t.Fatalf("%v %v", sc, err)
	}
	_, err := Load("nope")
	if err == nil || !strings.Contains(err.Error(), "built-in: kafka-diurnal, taskmanager-loss, wordcount-ramp") {
		t.Errorf("%v", err)
	}
	if _, err := Open("nope"); err == nil {
		t.Error("Open of an unknown name succeeded")
	}
}
