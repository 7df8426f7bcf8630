package local

import (
	"context"
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

// WaitLoadOrigin returns the origin a Kafka producer announced in its output, and only a whole
// announcement: a producer that has not announced one (its schedule not started, or the line
// half written), that exited, or whose line does not parse is an error, not an origin.
func TestWaitLoadOrigin(t *testing.T) {
	exited := make(chan struct{})
	close(exited)
	cases := []struct {
		name    string
		out     *string // the producer's output file; nil: not created yet
		done    chan struct{}
		want    time.Time
		wantErr string
	}{
		{"announced", ptr("ready\nload origin 1796000000123\n"), nil, time.UnixMilli(1_796_000_000_123), ""},
		{"announced after other output", ptr("ready\nWARN slow broker\nload origin 1796000000123\n"), nil, time.UnixMilli(1_796_000_000_123), ""},
		{"not started", ptr("ready\n"), nil, time.Time{}, "did not announce"},
		{"line half written", ptr("ready\nload origin 17960"), nil, time.Time{}, "did not announce"},
		{"no output yet", nil, nil, time.Time{}, "did not announce"},
		{"exited", ptr("ready\n"), exited, time.Time{}, "exited before"},
		{"garbled", ptr("ready\nload origin soon\n"), nil, time.Time{}, "load origin soon"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{ID: "kafka-load-x", Out: filepath.Join(t.TempDir(), "kafka-load-x.out"), done: tc.done}
			if tc.out != nil {
				if err := os.WriteFile(p.Out, []byte(*tc.out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := WaitLoadOrigin(context.Background(), p, 0)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// ConfirmLoadOrigin accepts only the origin that was written: a producer that announced
// another (an older origin file) or none is an error naming it.
func TestConfirmLoadOrigin(t *testing.T) {
	want := time.UnixMilli(1_796_000_000_123)
	cases := []struct {
		name, out, wantErr string
	}{
		{"the origin written", "ready\nload origin 1796000000123\n", ""},
		{"another origin", "ready\nload origin 1796000000000\n", "announced load origin 1796000000000, but the origin written is 1796000000123"},
		{"none", "ready\n", "did not announce"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{ID: "kafka-load-x", Out: filepath.Join(t.TempDir(), "kafka-load-x.out")}
			if err := os.WriteFile(p.Out, []byte(tc.out), 0o644); err != nil {
				t.Fatal(err)
			}
			err := ConfirmLoadOrigin(context.Background(), p, want, 0)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}
