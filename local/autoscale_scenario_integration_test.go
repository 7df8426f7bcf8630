//go:build integration

package local_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
)

// TestAutoscaleScenario runs testdata/autoscale-real.yaml (load ×1 → ×3 → ×1, a source with a
// start backlog reporting pendingRecords) on real Flink under flinktune run with each policy of
// FLINKTUNE_AUTOSCALE_POLICY (space-separated, default "flinktune"; windows compressed) and
// checks that the real job's work vertex is scaled up after the ×3 step and back down after the
// load falls. It logs every parallelism change with its time since the load changed and the job's
// restart downtime. It runs on the first prepared version; FLINKTUNE_AUTOSCALE=0 skips it.
func TestAutoscaleScenario(t *testing.T) {
	if os.Getenv("FLINKTUNE_AUTOSCALE") == "0" {
		t.Skip("FLINKTUNE_AUTOSCALE=0")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	policies := strings.Fields(os.Getenv("FLINKTUNE_AUTOSCALE_POLICY"))
	if len(policies) == 0 {
		policies = []string{"flinktune"}
	}
	bin := buildFlinktune(t)
	for _, policy := range policies {
		t.Run(policy, func(t *testing.T) { autoscaleScenario(t, dists[0], bin, policy) })
	}
}

func autoscaleScenario(t *testing.T, d *local.Dist, bin, policy string) {
	sc := loadScenario(t, "testdata/autoscale-real.yaml")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The load starts when every vertex runs: counted from the submission, the client JVM and
	// the deployment took 80-133 s of the schedule on a loaded machine (2.2.1, stop 25), so the
	// policy saw little or none of the ×1 level and of the ×3 step.
	job := startScenarioJob(t, ctx, d, sc, jobSetup{WaitRunning: true, LoadWhenRunning: true})
	c, jobID, origin := job.Cluster, job.JobID, job.Origin
	toRunning := origin.Sub(job.Submitted)
	loadMin, loadMax := loadAverage(), loadAverage()
	t.Logf("job running %s after its submission began; the load starts then (the ×3 step at 40 s); load average %.1f",
		toRunning.Round(100*time.Millisecond), loadMax)
	dataDir, runLog := t.TempDir(), ""
	if logs := os.Getenv("FLINKTUNE_FLINK_LOGS"); logs != "" {
		// Kept with the logs: `flinktune store export` shows the policy's state, and run's
		// debug log every cycle's reason.
		dataDir = filepath.Join(logs, strings.ReplaceAll(t.Name(), "/", "_")+"-data")
		runLog = dataDir + ".log"
	}
	// The flinktune policy decides on at least one minute of samples inside the metric window,
	// so the window must be longer than a minute (90 s).
	run := exec.CommandContext(ctx, bin, "run", "--flink", c.RESTURL, "--all-jobs", "--interval", "10s",
		"--policy", policy, "--data-dir", dataDir, "--log-level", "debug",
		"--set", "job.autoscaler.metrics.window=90s",
		"--set", "job.autoscaler.stabilization.interval=10s",
		"--set", "job.autoscaler.restart.time=10s",
		"--set", "job.autoscaler.catch-up.duration=1m",
		"--set", "job.autoscaler.scale-down.interval=30s",
		// The cluster has 4 slots: a larger target would wait 5 minutes for slots that never come.
		"--set", "job.autoscaler.vertex.max-parallelism=4",
		"--set", "flinktune.settle=30s")
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = run.Process.Signal(syscall.SIGTERM)
		_ = run.Wait()
		if runLog != "" {
			_ = os.WriteFile(runLog, out.Bytes(), 0o644)
		}
		t.Logf("flinktune run (policy %s):\n%s", policy, tailString(out.String(), 4000))
	}()

	// The load: ×3 from 40 s to 170 s. Up must come during it, down after it.
	const up, down = 40 * time.Second, 170 * time.Second
	var (
		p, maxP        = 1, 1
		upAt, downAt   time.Duration
		notRunning     time.Duration
		notRunningFrom time.Duration = -1
	)
	for time.Since(origin) < down+200*time.Second && downAt == 0 {
		time.Sleep(time.Second)
		now := time.Since(origin)
		if l := loadAverage(); l >= 0 {
			loadMin, loadMax = min(loadMin, l), max(loadMax, l)
		}
		wp, state := mapParallelismNamed(ctx, c, jobID, "work")
		switch {
		case state != "RUNNING" && notRunningFrom < 0:
			notRunningFrom = now
		case state == "RUNNING" && notRunningFrom >= 0:
			notRunning += now - notRunningFrom
			t.Logf("%5.0fs: job RUNNING again after %s", now.Seconds(), (now - notRunningFrom).Round(100*time.Millisecond))
			notRunningFrom = -1
		}
		if wp > 0 && wp != p {
			t.Logf("%5.0fs: work parallelism %d → %d (%s)", now.Seconds(), p, wp, state)
			if wp > p && upAt == 0 && now > up {
				upAt = now
			}
			if wp < p && upAt > 0 && now > down {
				downAt = now
			}
			p = wp
			maxP = max(maxP, wp)
		}
	}
	t.Logf("Flink %s, policy %s: up %d after %s of ×3 load, down to %d after %s of ×1 load; job not running %s in all; load average %.1f-%.1f",
		d.Version, policy, maxP, durOrNever(upAt, up), p, durOrNever(downAt, down), notRunning.Round(100*time.Millisecond), loadMin, loadMax)
	secs := func(at, since time.Duration) float64 {
		if at == 0 {
			return -1
		}
		return (at - since).Seconds()
	}
	testutil.WriteResult(t, "autoscale-scenario-"+d.Version+"-"+policy, map[string]any{
		"flinkVersion": d.Version, "policy": policy, "scenario": "local/testdata/autoscale-real.yaml",
		"maxParallelism": maxP, "finalParallelism": p, "secondsUpAfterStep": secs(upAt, up),
		"secondsDownAfterFall": secs(downAt, down), "secondsNotRunning": notRunning.Seconds(),
		"secondsSubmitToRunning": toRunning.Seconds(), "loadAverageMin": loadMin, "loadAverageMax": loadMax})
	if upAt == 0 {
		t.Errorf("policy %s did not scale the real job up after the ×3 step at %s", policy, up)
	} else if upAt > down {
		// Reported, not failed: how fast a policy trusts real (noisy) rates is the policy's
		// matter; this test checks that real Flink is driven both ways.
		t.Logf("policy %s scaled up only after the ×3 load ended (%s)", policy, down)
	}
	if downAt == 0 {
		t.Errorf("policy %s did not scale the real job back down within 200 s of the load's fall", policy)
	}
	if strings.Contains(out.String(), "panic") {
		t.Error("flinktune run panicked")
	}
}

func durOrNever(at, since time.Duration) string {
	if at == 0 {
		return "never"
	}
	return (at - since).Round(time.Second).String()
}

// mapParallelismNamed is the parallelism of the real job's vertex named name and the job
// state (the vertex's own status while it is not running).
func mapParallelismNamed(ctx context.Context, c *local.Cluster, jobID, name string) (int, string) {
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
		if v.Name == name {
			if v.Status != "RUNNING" {
				return v.Parallelism, v.Status
			}
			return v.Parallelism, d.State
		}
	}
	return 0, d.State
}
