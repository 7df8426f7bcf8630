package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
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
		{[]string{"local", "submit", "--dir", dir, "--scenario", "x.yaml", "--load-from", "later"}, ExitUsage, `--load-from "later": want running or submit`},
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

// startLoadWhenRunning writes the load's origin only once every vertex runs, after the job was
// seen deploying, and leaves it unwritten (naming the way out) when the job never runs.
func TestStartLoadWhenRunning(t *testing.T) {
	var polls atomic.Int32
	deployed := 3 // polls before every vertex runs
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(polls.Add(1))
		status := "DEPLOYING"
		if r.URL.Path == "/jobs/ready" && n > deployed {
			status = "RUNNING"
		}
		json.NewEncoder(w).Encode(map[string]any{"state": "RUNNING",
			"vertices": []map[string]string{{"status": "RUNNING"}, {"status": status}}})
	}))
	defer srv.Close()

	dir := t.TempDir()
	spec := &local.JobSpec{Name: "j"}
	spec.LoadOnSignal(dir, time.Now())
	var progress bytes.Buffer
	before := time.Now()
	var confirmed time.Time
	confirm := func(at time.Time) error {
		if strings.Contains(progress.String(), "load schedule started") {
			t.Error("load schedule reported started before its producer confirmed the origin")
		}
		confirmed = at
		return nil
	}
	if err := startLoadWhenRunning(context.Background(), &progress, srv.URL, "ready", spec, 10*time.Second, confirm); err != nil {
		t.Fatal(err)
	}
	if confirmed.UnixMilli() != spec.OriginMs {
		t.Errorf("the producer was asked to confirm origin %d, the origin written is %d", confirmed.UnixMilli(), spec.OriginMs)
	}
	if got := int(polls.Load()); got <= deployed {
		t.Errorf("load started after %d polls, before the job ran (poll %d)", got, deployed+1)
	}
	if _, err := os.Stat(spec.OriginFile); err != nil || spec.OriginMs < before.UnixMilli() {
		t.Errorf("origin file %s: %v, origin %d (submitted at %d)", spec.OriginFile, err, spec.OriginMs, before.UnixMilli())
	}
	if !strings.Contains(progress.String(), "waiting up to 10s") || !strings.Contains(progress.String(), "load schedule started at") {
		t.Errorf("progress: %q", progress.String())
	}

	stuck := &local.JobSpec{Name: "k"}
	stuck.LoadOnSignal(dir, time.Now().Add(time.Second))
	err := startLoadWhenRunning(context.Background(), &progress, srv.URL, "stuck", stuck, time.Second, nil)
	if err == nil || !strings.Contains(err.Error(), "--load-from submit") || !strings.Contains(err.Error(), "not running after 1s") {
		t.Errorf("a job that never runs: %v", err)
	}
	if _, err := os.Stat(stuck.OriginFile); !os.IsNotExist(err) {
		t.Errorf("the origin of a job that never ran was written: %v", err)
	}

	// A producer that never reads the origin: the command fails, saying so, and reports no start.
	quiet := &local.JobSpec{Name: "q"}
	quiet.LoadOnSignal(dir, time.Now().Add(2*time.Second))
	progress.Reset()
	err = startLoadWhenRunning(context.Background(), &progress, srv.URL, "ready", quiet, 10*time.Second,
		func(time.Time) error { return errors.New("kafka-load-q did not announce its load origin within 15s") })
	if err == nil || !strings.Contains(err.Error(), "producer has not started its schedule") || !strings.Contains(err.Error(), "did not announce") {
		t.Errorf("a producer that did not start: %v", err)
	}
	if strings.Contains(progress.String(), "load schedule started") {
		t.Errorf("progress reports a start the producer never made: %q", progress.String())
	}
}
