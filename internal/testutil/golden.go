package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Golden compares got with the golden file at path, or, with update, writes it there (its
// directory created). A missing file or a difference fails the test, naming the file, the
// first differing line and how to rewrite the files (howToUpdate, a command), then giving the
// whole new output: a reviewer reads a golden change as the diff the rewrite leaves.
func Golden(t testing.TB, path, got string, update bool, howToUpdate string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with: %s)", err, howToUpdate)
	}
	if want := string(data); got != want {
		t.Errorf("%s differs from the golden file\n%s\nIf the change is intended, rewrite the golden files and review their diff:\n  %s\nThe whole output now:\n%s",
			path, FirstDifference(want, got), howToUpdate, got)
	}
}

// FirstDifference names the first line where got differs from want, with both lines.
func FirstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		wl, gl := lineAt(w, i), lineAt(g, i)
		if wl != gl {
			return fmt.Sprintf("first difference at line %d:\n  want: %s\n  got:  %s", i+1, wl, gl)
		}
	}
	return "no line differs"
}

func lineAt(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of output)"
}
