//go:build integration

package local_test

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
)

// TestRealizerRollback is the process realizer's rollback on real Flink: a memory change whose
// TaskManager cannot come back (a JVM metaspace of 24 MiB, which flinktune's model and Flink's
// derive without complaint but in which a TaskManager's classes do not fit, so the JVM dies
// before it registers) must leave the cluster on the previous memory: the TaskManager restarted
// with the previous flags, the job RUNNING at its parallelism again, and nothing recorded as
// applied.
func TestRealizerRollback(t *testing.T) {
	d := firstDist(t)
	sc := loadScenario(t, "testdata/tune-real.yaml")
	conf := local.ScenarioClusterConfig(sc)
	conf["taskmanager.memory.process.size"] = "1g" // the previous memory; 2 GiB is not needed here
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	job := startScenarioJob(t, ctx, d, sc, jobSetup{Conf: conf, WaitRunning: true})
	c := job.Cluster
	before, err := registeredTMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := c.DeriveTaskManager(nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]string{"taskmanager.memory.jvm-metaspace.size": "24m"}
	next, err := c.DeriveTaskManager(bad)
	if err != nil {
		t.Fatalf("the bad change must derive (it is the JVM, not the model, that refuses it): %v", err)
	}
	// A TaskManager registers in 3–6 s here even under load; a bad one may hang unregistered
	// (1.20.5 did, once) until this timeout, which bounds the test's time in CI.
	r := &local.ProcessRealizer{Cluster: c, RegisterTimeout: 45 * time.Second, RunningTimeout: 2 * time.Minute,
		StableFor: 15 * time.Second, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}
	start := time.Now()
	sent, realizeErr := r.RealizeConfig(ctx, &autoscaler.Snapshot{JobID: job.JobID}, bad, nil)
	took := time.Since(start)
	t.Logf("RealizeConfig (metaspace %d MiB) after %s: sent %v, %v", next.JVMMetaspace>>20, took.Round(100*time.Millisecond), sent, realizeErr)
	if realizeErr == nil || !strings.Contains(realizeErr.Error(), "rolled back") {
		t.Fatalf("want an error saying the change was rolled back, got %v", realizeErr)
	}
	if strings.Contains(realizeErr.Error(), "failed too") {
		t.Fatalf("the rollback itself failed: %v", realizeErr)
	}

	// The cluster as before: as many TaskManagers, each running the previous memory, in its
	// command line and as it reports itself; the job RUNNING at its parallelism, and staying so.
	after, err := registeredTMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("%d TaskManagers registered after the rollback, %d before", len(after), len(before))
	}
	replaced := 0
	for _, tm := range after {
		if tm.Process != prev.TotalProcess || tm.Heap != prev.JVMHeap() {
			t.Errorf("TaskManager %s reports process %d, heap %d after the rollback; want the previous %d, %d",
				tm.ID, tm.Process, tm.Heap, prev.TotalProcess, prev.JVMHeap())
		}
		if !strings.Contains(fmtTMs(before), tm.ID) {
			replaced++
		}
	}
	if replaced == 0 {
		t.Error("no TaskManager was restarted: the change was not attempted")
	}
	for _, p := range c.TMs {
		if !p.Alive() {
			continue
		}
		args, err := p.Cmdline()
		if err != nil {
			t.Fatal(err)
		}
		if want := "-XX:MaxMetaspaceSize=" + strconv.FormatInt(prev.JVMMetaspace, 10); !slices.Contains(args, want) {
			t.Errorf("%s (pid %d) does not run the previous metaspace %s: %v", p.ID, p.PID, want, args)
		}
	}
	for range 10 {
		var j struct {
			State string `json:"state"`
		}
		if err := c.GetJSON(ctx, "/jobs/"+job.JobID, &j); err != nil || j.State != "RUNNING" {
			t.Fatalf("job %s is %q after the rollback (%v)", job.JobID, j.State, err)
		}
		time.Sleep(time.Second)
	}
	st, err := local.ReadMemoryState(c.Spec.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Overrides) > 0 {
		t.Errorf("the failed change was recorded as applied: %v", st.Overrides)
	}
	fs, _ := failures(ctx, c, job.JobID)
	testutil.WriteResult(t, "realizer-rollback-"+d.Version, map[string]any{
		"flinkVersion":   d.Version,
		"change":         bad,
		"before":         before,
		"after":          after,
		"secondsTotal":   took.Seconds(),
		"error":          realizeErr.Error(),
		"jobFailures":    len(fs),
		"previousMemory": prev.TotalProcess,
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func fmtTMs(tms []tmMemory) string {
	var ids []string
	for _, tm := range tms {
		ids = append(ids, tm.ID)
	}
	return strings.Join(ids, " ")
}
