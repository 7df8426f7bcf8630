package memory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// vector is one line of testdata/vectors/flink-memory-*.jsonl (reference §15).
type vector struct {
	ID           string            `json:"id"`
	Source       string            `json:"source"`
	Test         string            `json:"test"`
	Category     string            `json:"category"`
	Config       map[string]string `json:"config"`
	Env          map[string]string `json:"env"`
	Expect       map[string]any    `json:"expect"`
	ExpectFlink2 map[string]any    `json:"expect_flink2"`
}

func loadVectors(t testing.TB, name string) []vector {
	t.Helper()
	data, err := os.ReadFile("../testdata/vectors/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []vector
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		var v vector
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s:%d: %v", name, line, err)
		}
		out = append(out, v)
	}
	return out
}

// normalize turns a Go value into what JSON decoding with UseNumber gives, so that results and
// expectations compare field by field with exact integers.
func normalize(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// dynamicSet splits "-D k=v -D k2=v2" into its key=value pairs; Flink's order is a HashMap
// artefact, so the vectors are compared as sets (§15.3).
func dynamicSet(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "-D ") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// diffExpect lists every field where got differs from want.
func diffExpect(got, want map[string]any) []string {
	var diffs []string
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			diffs = append(diffs, fmt.Sprintf("%s: missing, want %v", k, w))
		case !wok:
			diffs = append(diffs, fmt.Sprintf("%s: unexpected %v", k, g))
		case k == "dynamic_configs":
			gs, _ := g.(string)
			ws, _ := w.(string)
			if !slices.Equal(dynamicSet(gs), dynamicSet(ws)) {
				diffs = append(diffs, fmt.Sprintf("%s:\n   got %v\n  want %v", k, dynamicSet(gs), dynamicSet(ws)))
			}
		case !reflect.DeepEqual(g, w):
			diffs = append(diffs, fmt.Sprintf("%s:\n   got %v\n  want %v", k, g, w))
		}
	}
	return diffs
}

func TestVectorsTaskManager(t *testing.T) {
	vs := loadVectors(t, "flink-memory-tm.jsonl")
	if len(vs) != 664 {
		t.Fatalf("loaded %d TaskManager vectors, want 664", len(vs))
	}
	runVectors(t, vs, func(v vector, p Profile) map[string]any {
		tm, err := DeriveTaskManager(ConfigFromStrings(v.Config, v.ID), v.Env, p)
		return ExpectTaskManager(tm, err)
	})
}

func TestVectorsJobManager(t *testing.T) {
	vs := loadVectors(t, "flink-memory-jm.jsonl")
	if len(vs) != 533 {
		t.Fatalf("loaded %d JobManager vectors, want 533", len(vs))
	}
	runVectors(t, vs, func(v vector, p Profile) map[string]any {
		jm, err := DeriveJobManager(ConfigFromStrings(v.Config, v.ID), v.Env, p)
		return ExpectJobManager(jm, err)
	})
}

func runVectors(t *testing.T, vs []vector, derive func(vector, Profile) map[string]any) {
	for _, p := range []Profile{Flink1, Flink2} {
		passed := 0
		for _, v := range vs {
			want := v.Expect
			if p == Flink2 && v.ExpectFlink2 != nil {
				want = v.ExpectFlink2
			}
			got := normalize(t, derive(v, p))
			if diffs := diffExpect(got, normalize(t, want)); len(diffs) > 0 {
				cfg, _ := json.Marshal(v.Config)
				t.Errorf("%s [%s] %s env=%v\n  %s", v.ID, p, cfg, v.Env, strings.Join(diffs, "\n  "))
				continue
			}
			passed++
		}
		t.Logf("%s: %d/%d vectors pass", p, passed, len(vs))
	}
}
