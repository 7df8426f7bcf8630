//go:build integration

package local_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/scenario"
)

// TestAutoscaleKafka is "autoscaling a real job" on Kafka: testdata/autoscale-kafka.yaml (load
// ×1 → ×3 → ×1 into a real topic on a KRaft broker, with a start backlog; the schedule starts
// when the job runs, at the origin the producer announces) runs compressed
// (FLINKTUNE_AUTOSCALE_COMPRESS, default 2) on real Flink, its source reading the topic with
// Flink's Kafka connector, under flinktune run --compress with the scenario's autoscaler
// options. It checks that flinktune PUTs resource requirements, the job rescales up, the Kafka
// lag (the source's own pendingRecords) drains back under the SLO, and parallelism comes back
// down; it records decision times, rescale downtimes and the drain. Policies:
// FLINKTUNE_AUTOSCALE_POLICY (default flinktune); versions: FLINKTUNE_AUTOSCALE_VERSIONS (default
// the first prepared). FLINKTUNE_AUTOSCALE=0 skips it.
func TestAutoscaleKafka(t *testing.T) {
	if os.Getenv("FLINKTUNE_AUTOSCALE") == "0" {
		t.Skip("FLINKTUNE_AUTOSCALE=0")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if vs := strings.Fields(os.Getenv("FLINKTUNE_AUTOSCALE_VERSIONS")); len(vs) > 0 {
		var picked []*local.Dist
		for _, d := range dists {
			for _, v := range vs {
				if d.Version == v {
					picked = append(picked, d)
				}
			}
		}
		if len(picked) == 0 {
			t.Fatalf("FLINKTUNE_AUTOSCALE_VERSIONS=%q: none of them is prepared (%s)", vs, os.Getenv(local.DistsEnv))
		}
		dists = picked
	} else {
		dists = dists[:1]
	}
	policyNames := strings.Fields(os.Getenv("FLINKTUNE_AUTOSCALE_POLICY"))
	if len(policyNames) == 0 {
		policyNames = []string{"flinktune"}
	}
	compress := 2.0
	if s := os.Getenv("FLINKTUNE_AUTOSCALE_COMPRESS"); s != "" {
		if compress, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatalf("FLINKTUNE_AUTOSCALE_COMPRESS=%q: %v", s, err)
		}
	}
	bin := buildFlinktune(t)
	for _, d := range dists {
		for _, policy := range policyNames {
			t.Run(d.Version+"/"+policy, func(t *testing.T) { autoscaleKafka(t, d, bin, policy, compress) })
		}
	}
}

// kafkaRun is what TestAutoscaleKafka measures, in seconds of the compressed run; times of
// the run count from the load origin the producer announced.
type kafkaRun struct {
	FlinkVersion string  `json:"flinkVersion"`
	Policy       string  `json:"policy"`
	Compress     float64 `json:"compress"`
	// SubmitToRunning is from the submission to every vertex running, when the load starts;
	// OriginAnnounced from then to the producer's announcement that its schedule started.
	SubmitToRunning float64 `json:"secondsSubmitToRunning"`
	OriginAnnounced float64 `json:"secondsOriginAnnounced"`
	// UpStepAt and DownStepAt are when the load rose to ×3 and fell back to ×1.
	UpStepAt   float64 `json:"upStepAt"`
	DownStepAt float64 `json:"downStepAt"`
	// Decisions are flinktune's PUTs of resource requirements (the work vertex's upper bound).
	Decisions []kafkaEvent `json:"decisions"`
	// Rescales are the work vertex's parallelism changes as Flink reports them, each with the
	// time the job was not RUNNING around it.
	Rescales []kafkaEvent `json:"rescales"`
	// StartLag is the Kafka lag (pendingRecords) first read; PeakLag the highest.
	StartLag float64 `json:"startLag"`
	PeakLag  float64 `json:"peakLag"`
	// DrainedAt is when the lag, in seconds of input at the current rate, fell back under the
	// SLO's maxLag after the scale-up (-1: never); CaughtUpAt when under one second of input.
	DrainedAt  float64 `json:"drainedAt"`
	AboveSLOAt float64 `json:"aboveSloAt"` // first time the lag exceeded the SLO (-1: never)
	CaughtUpAt float64 `json:"caughtUpAt"`
	MaxP       int     `json:"maxParallelism"`
	FinalP     int     `json:"finalParallelism"`
	// WallSeconds is the whole test case, cluster and broker start included.
	WallSeconds float64 `json:"wallSeconds"`
}

type kafkaEvent struct {
	At          float64 `json:"at"`
	From        int     `json:"from"`
	To          int     `json:"to"`
	DowntimeSec float64 `json:"downtimeSeconds,omitempty"` // not RUNNING, as polled every 0.5 s
	// DecisionToRunningSec is from the decision (its PUT seen) to the rescaled job RUNNING.
	DecisionToRunningSec float64 `json:"decisionToRunningSeconds,omitempty"`
}

func autoscaleKafka(t *testing.T, d *local.Dist, bin, policy string, compress float64) {
	start := time.Now()
	full, err := scenario.Load("testdata/autoscale-kafka.yaml")
	if err != nil {
		t.Fatal(err)
	}
	full.FlinkVersion = local.ScenarioVersion(d) // Flink's timers are set with the version's keys
	sc, err := full.Compress(compress, policies.IsTimelineDuration)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	// The producer's schedule starts when every vertex runs, and every time below counts from the
	// origin it announced: counted from the submission, the client JVM and the deployment took
	// a loaded machine's share of the compressed ×1 phase (30 s), adding its input to the start
	// backlog, so the policy saw less of the level before the ×3 step than the scenario says.
	job := startScenarioJob(t, ctx, d, sc, jobSetup{Kafka: true, WaitRunning: true, LoadWhenRunning: true})
	c, jobID, origin := job.Cluster, job.JobID, job.Origin
	t.Logf("job running %s after its submission began; load origin %d announced %s after StartLoad; load average %.1f",
		job.Running.Sub(job.Submitted).Round(100*time.Millisecond), origin.UnixMilli(),
		job.Announced.Sub(job.Running).Round(10*time.Millisecond), loadAverage())
	ids := vertexIDs(t, ctx, c, jobID, "work", "log")
	workID, srcID := ids[0], ids[1]

	// The scenario's autoscaler options at full scale, compressed by run itself.
	dataDir, runLog := t.TempDir(), ""
	if logs := os.Getenv("FLINKTUNE_FLINK_LOGS"); logs != "" {
		// Kept with the logs: `flinktune store export` shows the policy's state, and run's
		// debug log every cycle's reason (why a scale-down waits, is held or not sized).
		dataDir = filepath.Join(logs, strings.ReplaceAll(t.Name(), "/", "_")+"-data")
		runLog = dataDir + ".log"
	}
	args := []string{"run", "--flink", c.RESTURL, "--all-jobs", "--interval", "5s",
		"--policy", policy, "--data-dir", dataDir, "--log-level", "debug",
		"--compress", strconv.FormatFloat(compress, 'g', -1, 64)}
	for k, v := range full.JobConfig(&full.Jobs[0]) {
		if strings.HasPrefix(k, "job.autoscaler.") || strings.HasPrefix(k, "flinktune.") {
			args = append(args, "--set", k+"="+v)
		}
	}
	run := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stopRun := func() { // the data directory is run's until it stops
		if !stopped {
			stopped = true
			_ = run.Process.Signal(syscall.SIGTERM)
			_ = run.Wait()
			if runLog != "" {
				_ = os.WriteFile(runLog, out.Bytes(), 0o644)
			}
			t.Logf("flinktune run (policy %s):\n%s", policy, tailString(infoLines(out.String()), 3000))
			t.Logf("each change of the policy's reason (run's clock):\n%s", tailString(strings.Join(reasonChanges(out.String()), "\n"), 6000))
		}
	}
	defer stopRun()

	upAt, downAt := loadSteps(sc)
	maxLag := sc.SLO.MaxLag.Seconds()
	res := kafkaRun{FlinkVersion: d.Version, Policy: policy, Compress: compress, UpStepAt: upAt.Seconds(),
		DownStepAt: downAt.Seconds(), DrainedAt: -1, CaughtUpAt: -1, AboveSLOAt: -1, StartLag: -1,
		SubmitToRunning: job.Running.Sub(job.Submitted).Seconds(), OriginAnnounced: job.Announced.Sub(job.Running).Seconds()}
	var (
		p, upper       = 1, 1
		notRunningFrom = time.Duration(-1)
		settledAt      time.Duration // the last restart or rescale: lag reads right after it are not yet Kafka's
		downAfterFall  bool
		scaledUp       bool
		decidedAt      time.Time // wall time of the last decision seen
		deadline       = downAt + 150*time.Second
	)
	for time.Since(origin) < deadline {
		time.Sleep(500 * time.Millisecond)
		now := time.Since(origin)
		wp, state := mapParallelismNamed(ctx, c, jobID, "work")
		if u := upperBound(ctx, c, jobID, workID); u > 0 && u != upper {
			t.Logf("%6.1fs: flinktune set work's upper bound %d → %d", now.Seconds(), upper, u)
			res.Decisions = append(res.Decisions, kafkaEvent{At: now.Seconds(), From: upper, To: u})
			upper, decidedAt = u, time.Now()
		}
		justDown := time.Duration(0) // the not-running time that ended at this poll
		switch {
		case state != "RUNNING" && notRunningFrom < 0:
			notRunningFrom = now
		case state == "RUNNING" && notRunningFrom >= 0:
			down := now - notRunningFrom
			t.Logf("%6.1fs: job RUNNING again after %s", now.Seconds(), down.Round(100*time.Millisecond))
			if n := len(res.Rescales); n > 0 && res.Rescales[n-1].DowntimeSec == 0 && wp == p {
				res.Rescales[n-1].DowntimeSec = down.Seconds()
			}
			notRunningFrom, justDown = -1, down
			settledAt = now
		}
		if wp > 0 && wp != p {
			t.Logf("%6.1fs: work parallelism %d → %d (%s)", now.Seconds(), p, wp, state)
			ev := kafkaEvent{At: now.Seconds(), From: p, To: wp, DowntimeSec: justDown.Seconds()}
			if !decidedAt.IsZero() {
				// From the PUT (seen within half a second) to the new execution graph RUNNING,
				// by Flink's own status timestamp.
				if ts := runningSince(ctx, c, jobID); ts.After(decidedAt) {
					ev.DecisionToRunningSec = ts.Sub(decidedAt).Seconds()
				}
			}
			res.Rescales = append(res.Rescales, ev)
			scaledUp = scaledUp || wp > p
			downAfterFall = downAfterFall || wp < p && now > downAt
			settledAt = now
			p = wp
			res.MaxP = max(res.MaxP, wp)
		}
		// A restarted Kafka source reports no lag until its first fetch: wait a few seconds.
		if state == "RUNNING" && now-settledAt > 5*time.Second {
			if lag, ok := pendingRecords(ctx, c, jobID, srcID); ok {
				if res.StartLag < 0 {
					res.StartLag = lag
					t.Logf("%6.1fs: Kafka lag (pendingRecords) %0.f", now.Seconds(), lag)
				}
				res.PeakLag = max(res.PeakLag, lag)
				lagSec := lag / rateAt(sc, now)
				if lagSec > maxLag && res.AboveSLOAt < 0 {
					res.AboveSLOAt = now.Seconds()
					t.Logf("%6.1fs: lag %.0f (%.1f s of input) above the SLO's maxLag %s", now.Seconds(), lag, lagSec, sc.SLO.MaxLag)
				}
				if scaledUp && res.AboveSLOAt >= 0 && res.DrainedAt < 0 && lagSec < maxLag {
					res.DrainedAt = now.Seconds()
					t.Logf("%6.1fs: lag %.0f (%.1f s of input) back under the SLO's maxLag %s", now.Seconds(), lag, lagSec, sc.SLO.MaxLag)
				}
				if scaledUp && res.CaughtUpAt < 0 && lagSec < 1 {
					res.CaughtUpAt = now.Seconds()
					t.Logf("%6.1fs: caught up: lag %.0f", now.Seconds(), lag)
				}
			}
		}
		// The first scale-down after the fall ends the run. Whether it goes to 1 or 2 is decided
		// by one noisy sample: the flinktune policy sizes it for the window's highest 5 s ingest
		// sample plus the drain of the restart's lag, at 80% of a ~96 r/s subtask (77 r/s),
		// against 60 r/s whose real samples scatter by ±10 r/s (the MetricFetcher's 1 s
		// staleness in a 5 s cycle); at 2, that estimate is 35–38% utilization, not below
		// utilization.min (35%), so it stays there. The operator policy halves at most
		// (scale-down.max-factor 0.6: 4 → 2).
		if downAfterFall && state == "RUNNING" {
			break
		}
	}
	res.FinalP = p
	res.WallSeconds = time.Since(start).Seconds()
	// Why each decision was taken (and why the last scale-down stopped where it did).
	stopRun()
	for _, e := range events(t, bin, dataDir) {
		if r, _ := e["reason"].(string); strings.HasPrefix(r, "Scaling") || r == "AutoscalerError" {
			t.Logf("event %s: %v", r, e["message"])
		}
	}
	testutil.WriteResult(t, fmt.Sprintf("autoscale-kafka-%s-%s", d.Version, policy), res)

	if res.StartLag <= 0 {
		t.Errorf("the Kafka source reported no start backlog as pendingRecords (first read %.0f)", res.StartLag)
	}
	if len(res.Decisions) == 0 || res.Decisions[0].To <= 1 {
		t.Errorf("flinktune did not PUT a larger upper bound for the work vertex (decisions %+v)", res.Decisions)
	}
	if res.MaxP <= 1 {
		t.Errorf("the real job was not scaled up after the ×3 step at %s", upAt)
	}
	if res.AboveSLOAt < 0 {
		t.Errorf("the Kafka lag never exceeded the SLO's maxLag %s (start backlog %d records at %.0f r/s; peak lag %.0f)",
			sc.SLO.MaxLag, sc.Jobs[0].Load[0].Backlog, sc.Jobs[0].Load[0].Rate, res.PeakLag)
	} else if res.DrainedAt < 0 {
		t.Errorf("the Kafka lag never drained under the SLO after the scale-up (peak %.0f)", res.PeakLag)
	}
	if !downAfterFall || res.FinalP >= res.MaxP {
		t.Errorf("parallelism did not come back down within %s of the load's fall (max %d, now %d)", deadline-downAt, res.MaxP, res.FinalP)
	} else if res.FinalP != 1 {
		t.Logf("down to %d, not 1 (see the loop's end for why 2 is within the policies' rules)", res.FinalP)
	}
	if strings.Contains(out.String(), "panic") {
		t.Error("flinktune run panicked")
	}
	if strings.Contains(out.String(), "plan has no node") {
		t.Error("flinktune run reported a rescale's transient plan as an error")
	}
}

// runningSince is the job's RUNNING status timestamp: the adaptive scheduler builds a new
// execution graph for each rescale, whose RUNNING time this is.
func runningSince(ctx context.Context, c *local.Cluster, jobID string) time.Time {
	var d struct {
		Timestamps map[string]int64 `json:"timestamps"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID, &d); err != nil || d.Timestamps["RUNNING"] <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(d.Timestamps["RUNNING"])
}

// rateAt is the scenario's (step) input rate at t.
func rateAt(sc *scenario.Scenario, t time.Duration) float64 {
	r := 1.0
	for _, l := range sc.Jobs[0].Load {
		if l.At <= t {
			r = l.Rate
		}
	}
	return r
}

// loadSteps are the times of the ×3 step and of the fall back to ×1 in sc.
func loadSteps(sc *scenario.Scenario) (up, down time.Duration) {
	l := sc.Jobs[0].Load
	return l[1].At, l[2].At
}

// vertexIDs are the ids of the vertices whose names contain each of names.
func vertexIDs(t *testing.T, ctx context.Context, c *local.Cluster, jobID string, names ...string) (ids []string) {
	t.Helper()
	var d struct {
		Vertices []struct{ ID, Name string } `json:"vertices"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID, &d); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		found := ""
		for _, v := range d.Vertices {
			if strings.Contains(v.Name, n) {
				found = v.ID
			}
		}
		if found == "" {
			t.Fatalf("no vertex named like %q in %+v", n, d.Vertices)
		}
		ids = append(ids, found)
	}
	return ids
}

// upperBound is the upper bound of the vertex's parallelism in the job's resource
// requirements (what flinktune PUTs); 0 when unknown.
func upperBound(ctx context.Context, c *local.Cluster, jobID, vertexID string) int {
	var rr map[string]struct {
		Parallelism struct {
			Upper int `json:"upperBound"`
		} `json:"parallelism"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID+"/resource-requirements", &rr); err != nil {
		return 0
	}
	return rr[vertexID].Parallelism.Upper
}

// pendingRecords is the sum over the source's subtasks of its pendingRecords metric (the
// Kafka connector's lag).
func pendingRecords(ctx context.Context, c *local.Cluster, jobID, vertexID string) (float64, bool) {
	base := "/jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/metrics"
	var names []struct {
		ID string `json:"id"`
	}
	if err := c.GetJSON(ctx, base, &names); err != nil {
		return 0, false
	}
	var keys []string
	for _, n := range names {
		if strings.HasSuffix(n.ID, ".pendingRecords") {
			keys = append(keys, n.ID)
		}
	}
	if len(keys) == 0 {
		return 0, false
	}
	var vals []struct {
		ID  string  `json:"id"`
		Sum float64 `json:"sum"`
	}
	if err := c.GetJSON(ctx, base+"?agg=sum&get="+url.QueryEscape(strings.Join(keys, ",")), &vals); err != nil || len(vals) == 0 {
		return 0, false
	}
	return vals[0].Sum, true
}

// infoLines drops run's debug lines (one per cycle) from its log.
func infoLines(log string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(l, "level=DEBUG") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// reasonChanges lists, from run's debug log, each cycle whose reason differs from the
// cycle before (time and reason): the policy's path from the load's fall to a scale-down.
func reasonChanges(log string) []string {
	var out []string
	last := ""
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `msg="job cycle"`) {
			continue
		}
		_, r, ok := strings.Cut(l, " reason=")
		if !ok {
			continue
		}
		r = strings.Trim(r, `"`)
		kind := reasonKind(r)
		if kind == last {
			continue
		}
		last = kind
		ts, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
		out = append(out, ts+" "+r)
	}
	return out
}

// reasonKind is a reason without its numbers, so that "demand low for 5s" and "for 10s"
// count as one.
func reasonKind(r string) string {
	return strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' || c == '.' {
			return -1
		}
		return c
	}, r)
}
