package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A LoadOnSignal spec's sources start their schedule at the origin StartLoad writes; the origin
// is written once and never moves (a restarted job's sources read it again), and the spec sent
// to the job names the file.
func TestStartLoad(t *testing.T) {
	t0 := time.UnixMilli(1_796_000_000_000)
	cases := []struct {
		name   string
		signal bool
		starts []time.Time // StartLoad calls, in order
		want   time.Time   // the origin every call returns
	}{
		{"fixed origin refused", false, []time.Time{t0}, time.Time{}},
		{"first start sets it", true, []time.Time{t0}, t0},
		{"a later start keeps the first", true, []time.Time{t0, t0.Add(95 * time.Second)}, t0},
		{"an earlier start keeps the first too", true, []time.Time{t0, t0.Add(-time.Minute)}, t0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			spec := &JobSpec{Name: "j", OriginMs: t0.Add(-time.Hour).UnixMilli()}
			if tc.signal {
				spec.LoadOnSignal(dir, t0)
			}
			for i, at := range tc.starts {
				got, err := spec.StartLoad(at)
				if !tc.signal {
					if err == nil {
						t.Fatalf("StartLoad on a fixed origin: no error")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(tc.want) || spec.OriginMs != tc.want.UnixMilli() {
					t.Errorf("start %d: origin %v (OriginMs %d), want %v", i, got, spec.OriginMs, tc.want)
				}
			}
			ms, err := readOrigin(spec.OriginFile)
			if err != nil || ms != tc.want.UnixMilli() {
				t.Errorf("origin file holds %d (%v), want %d", ms, err, tc.want.UnixMilli())
			}
			if _, err := os.Stat(spec.OriginFile + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("temporary file left behind: %v", err)
			}
			if filepath.Dir(spec.OriginFile) != dir {
				t.Errorf("origin file %s not in %s", spec.OriginFile, dir)
			}
		})
	}
}

// The job reads "originFile" from the spec; a spec without one keeps its fixed origin.
func TestOriginFileInSpec(t *testing.T) {
	spec := &JobSpec{Name: "j", OriginMs: 5}
	b, _ := json.Marshal(spec)
	if strings.Contains(string(b), "originFile") {
		t.Errorf("fixed origin spec names an origin file: %s", b)
	}
	spec.LoadOnSignal("/d", time.Unix(0, 42))
	b, _ = json.Marshal(spec)
	if !strings.Contains(string(b), `"originFile":"/d/origin-16"`) {
		t.Errorf("spec JSON lacks the origin file: %s", b)
	}
}
