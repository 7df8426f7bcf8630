//go:build integration

package local_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
)

// TestAutoscaleRealJob runs flinktune run (FLINKTUNE_AUTOSCALE_POLICY, default operator;
// windows compressed) against a
// real job whose map vertex cannot keep up (15 ms per record at 100 records/s on parallelism
// 1) and checks that flinktune rescales it in place through the adaptive scheduler: the real
// job's map parallelism rises and the job runs again. It runs on the first prepared version
// (FLINKTUNE_AUTOSCALE=0 skips it) and logs the time to the decision and the rescale downtime.
func TestAutoscaleRealJob(t *testing.T) {
	if os.Getenv("FLINKTUNE_AUTOSCALE") == "0" {
		t.Skip("FLINKTUNE_AUTOSCALE=0")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := dists[0]
	policy := os.Getenv("FLINKTUNE_AUTOSCALE_POLICY")
	if policy == "" {
		policy = "operator"
	}
	bin := buildFlinktune(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, d, 2)
	jobID, err := c.SubmitWorkload(ctx, local.Workload{Rate: 100, Parallelism: 1, MapService: 15 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitJobRunning(ctx, jobID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The flinktune policy decides on at least one minute of samples, so the window is 90 s.
	run := exec.CommandContext(ctx, bin, "run", "--flink", c.RESTURL, "--all-jobs", "--interval", "3s",
		"--policy", policy,
		"--data-dir", t.TempDir(), "--log-level", "debug",
		"--set", "job.autoscaler.metrics.window=90s",
		"--set", "job.autoscaler.stabilization.interval=10s",
		"--set", "job.autoscaler.restart.time=10s",
		"--set", "job.autoscaler.catch-up.duration=1m",
		"--set", "flinktune.settle=30s")
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = run.Process.Signal(syscall.SIGTERM)
		_ = run.Wait()
		if t.Failed() {
			t.Logf("flinktune run:\n%s", tailString(out.String(), 6000))
		}
	}()

	var decided, running time.Duration
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		p, state := mapParallelism(t, ctx, c, jobID)
		if p > 1 && decided == 0 {
			decided = time.Since(start)
		}
		if decided > 0 && state == "RUNNING" {
			running = time.Since(start)
			t.Logf("Flink %s, policy %s: map parallelism 1 → %d, %s after flinktune started; RUNNING again after %s",
				d.Version, policy, p, decided.Round(time.Second), running.Round(time.Second))
			break
		}
	}
	if decided == 0 || running == 0 {
		t.Fatalf("the real job was not rescaled within 5 minutes (map parallelism still 1)")
	}
}

// mapParallelism is the real job's map vertex parallelism and the job state.
func mapParallelism(t *testing.T, ctx context.Context, c *local.Cluster, jobID string) (int, string) {
	t.Helper()
	var d struct {
		State    string `json:"state"`
		Vertices []struct {
			Name        string `json:"name"`
			Parallelism int    `json:"parallelism"`
			Status      string `json:"status"`
		} `json:"vertices"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID, &d); err != nil {
		return 0, ""
	}
	for _, v := range d.Vertices {
		if v.Name == "map" {
			if v.Status != "RUNNING" {
				return v.Parallelism, v.Status
			}
			return v.Parallelism, d.State
		}
	}
	return 0, d.State
}
