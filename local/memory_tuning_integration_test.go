//go:build integration

package local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
)

// Memory tuning on real jobs through the process realizer (flinktune run --local-dir): a
// heap-starved job's OutOfMemoryError loop ended by the rescue, and over-provisioned
// TaskManagers tuned down to within 25% of the smallest TaskManager that runs the job (found by
// TestBisectTaskManagerMinimum and recorded per version in testdata/memory-tuning-minimum-V.json).

// minimumFile is the bisection's record for a Flink version: each version bisects with the
// pools its own tuner chose (2.2.1's tuner keeps a smaller metaspace than 1.20.5's).
func minimumFile(version string) string {
	return "testdata/memory-tuning-minimum-" + version + ".json"
}

type failure struct {
	At      time.Time
	Name    string
	OOM     bool
	OOMText string // the OutOfMemoryError's line, with its message
}

// failures reads the job's exception history (newest first in Flink; returned oldest first).
func failures(ctx context.Context, c *local.Cluster, jobID string) ([]failure, error) {
	var ex struct {
		History struct {
			Entries []struct {
				Name       string `json:"exceptionName"`
				Stacktrace string `json:"stacktrace"`
				Timestamp  int64  `json:"timestamp"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID+"/exceptions?maxExceptions=1000", &ex); err != nil {
		return nil, err
	}
	var out []failure
	for _, e := range ex.History.Entries {
		oom := strings.Contains(e.Name, "OutOfMemoryError") || strings.Contains(e.Stacktrace, "java.lang.OutOfMemoryError")
		f := failure{At: time.UnixMilli(e.Timestamp), Name: e.Name, OOM: oom}
		for line := range strings.Lines(e.Stacktrace) {
			if i := strings.Index(line, "java.lang.OutOfMemoryError"); i >= 0 {
				f.OOMText = strings.TrimSpace(line[i:]) // "java.lang.OutOfMemoryError: Java heap space"
				break
			}
		}
		out = append(out, f)
	}
	slices.Reverse(out)
	return out, nil
}

func countSince(fs []failure, since time.Time, oomOnly bool) int {
	n := 0
	for _, f := range fs {
		if !f.At.Before(since) && (f.OOM || !oomOnly) {
			n++
		}
	}
	return n
}

// tmMemory is one registered TaskManager's memory as it reports it.
type tmMemory struct {
	ID      string `json:"id"`
	Process int64  `json:"processBytes"`
	Heap    int64  `json:"heapBytes"` // framework + task heap
	Managed int64  `json:"managedBytes"`
}

func registeredTMs(ctx context.Context, c *local.Cluster) ([]tmMemory, error) {
	var list struct {
		TaskManagers []struct {
			ID string `json:"id"`
		} `json:"taskmanagers"`
	}
	if err := c.GetJSON(ctx, "/taskmanagers", &list); err != nil {
		return nil, err
	}
	var out []tmMemory
	for _, tm := range list.TaskManagers {
		var info struct {
			Memory map[string]int64 `json:"memoryConfiguration"`
		}
		if err := c.GetJSON(ctx, "/taskmanagers/"+tm.ID, &info); err != nil {
			return nil, err
		}
		out = append(out, tmMemory{ID: tm.ID, Process: info.Memory["totalProcessMemory"],
			Heap: info.Memory["frameworkHeap"] + info.Memory["taskHeap"], Managed: info.Memory["managedMemory"]})
	}
	slices.SortFunc(out, func(a, b tmMemory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// startRun starts flinktune run against the local cluster in dir; the returned function stops
// it and returns its output.
func startRun(t *testing.T, ctx context.Context, bin, dir, dataDir string, sets ...string) func() string {
	t.Helper()
	args := []string{"run", "--local-dir", dir, "--all-jobs", "--interval", "5s", "--data-dir", dataDir, "--log-level", "info"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() string {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		return out.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// keptDataDir is the controller store's directory for flinktune run: beside the Flink logs
// when $FLINKTUNE_FLINK_LOGS is set (kept for CI: `flinktune store export --data-dir` shows the
// tuner's state, e.g. when the metaspace peak last grew), else the test's temp dir.
func keptDataDir(t *testing.T) string {
	t.Helper()
	if logs := os.Getenv("FLINKTUNE_FLINK_LOGS"); logs != "" {
		dir := filepath.Join(logs, strings.ReplaceAll(t.Name(), "/", "_")+"-data")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

// events returns the events flinktune run recorded in dataDir.
func events(t *testing.T, bin, dataDir string) []map[string]any {
	t.Helper()
	out, err := exec.Command(bin, "events", "--data-dir", dataDir, "-o", "json").Output()
	if err != nil {
		t.Fatalf("flinktune events: %v", err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(out, &evs); err != nil {
		t.Fatalf("flinktune events: %v\n%s", err, out)
	}
	return evs
}

// logMemoryEvents logs the memory events flinktune run recorded (what was applied, and why).
func logMemoryEvents(t *testing.T, evs []map[string]any) {
	t.Helper()
	for _, e := range evs {
		switch e["reason"] {
		case "ConfigurationApplied", "MemoryRescue", "MemoryRecommendation", "Error":
			t.Logf("event %v: %v", e["reason"], e["message"])
		}
	}
}

// diagnosedBy names the event that diagnosed a heap OutOfMemoryError loop, "" if none did. The
// tuner reports it as a MemoryRescue when its cycle finds the job failing, and as a safety
// recommendation (the out-of-memory bump: "safety: heap … must grow") when the cycle falls
// between two restarts, the job RUNNING until its next OOM; either comes from the OOMs in
// the job's exception history.
func diagnosedBy(evs []map[string]any) string {
	if hasEvent(evs, "MemoryRescue") {
		return "MemoryRescue"
	}
	for _, e := range evs {
		if m, _ := e["message"].(string); e["reason"] == "MemoryRecommendation" && strings.Contains(m, "safety: heap") {
			return "MemoryRecommendation (safety: heap must grow)"
		}
	}
	return ""
}

func hasEvent(evs []map[string]any, reason string) bool {
	return slices.ContainsFunc(evs, func(e map[string]any) bool { return e["reason"] == reason })
}

// TestHeapStarvedRescue runs testdata/heap-starved-real.yaml until its real OutOfMemoryError
// loop shows in the exception history, then starts flinktune run --local-dir with memory
// tuning enabled and checks that the loop is diagnosed (a MemoryRescue event) and ended
// through the process realizer: the TaskManager runs again with a larger heap and the job
// stays RUNNING with no further OutOfMemoryError.
func TestHeapStarvedRescue(t *testing.T) {
	d := firstDist(t)
	sc := loadScenario(t, "testdata/heap-starved-real.yaml")
	bin := buildFlinktune(t)
	testStart, loadStart := time.Now(), loadAverage()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	job := startScenarioJob(t, ctx, d, sc, jobSetup{Attachable: true})
	c, jobID := job.Cluster, job.JobID
	submitted := time.Now()
	before, err := registeredTMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	// The loop: at least two heap OOMs.
	var fs []failure
	for {
		fs, _ = failures(ctx, c, jobID)
		if countSince(fs, submitted, true) >= 2 {
			break
		}
		if time.Since(submitted) > 3*time.Minute {
			t.Fatalf("the heap-starved job did not fail twice with OutOfMemoryError within 3 min (failures: %v)", fs)
		}
		time.Sleep(time.Second)
	}
	firstOOM := fs[0].At
	t.Logf("Flink %s: OutOfMemoryError loop: %d failures in %s (first: %s)", d.Version, len(fs), time.Since(submitted).Round(time.Second), fs[0].Name)

	dataDir := t.TempDir()
	runStart := time.Now()
	stop := startRun(t, ctx, bin, c.Spec.Dir, dataDir,
		"job.autoscaler.memory.tuning.enabled=true",
		"job.autoscaler.vertex.max-parallelism=1",
		"flinktune.settle=30s")

	// The end of the loop: the TaskManager replaced, and the job RUNNING for 30 s since. The
	// state's 16 keys all arrive within the first records after a start, so a heap still too
	// small fails within seconds, and 30 s also spans two checkpoints (10 s apart).
	const stable = 30 * time.Second
	var (
		runningSince time.Time
		fixedAt      time.Time
		after        []tmMemory
	)
	for {
		if time.Since(runStart) > 5*time.Minute {
			out := stop()
			t.Fatalf("the OutOfMemoryError loop did not end within 5 min of flinktune run (TaskManagers %v → %v)\n%s", before, after, tailString(out, 6000))
		}
		time.Sleep(time.Second)
		tms, err := registeredTMs(ctx, c)
		if err == nil {
			after = tms
		}
		if fixedAt.IsZero() && len(after) > 0 && !slices.ContainsFunc(after, func(tm tmMemory) bool {
			return slices.ContainsFunc(before, func(b tmMemory) bool { return b.ID == tm.ID })
		}) {
			fixedAt = time.Now()
			t.Logf("%5.0fs after run: TaskManagers replaced: %v → %v", time.Since(runStart).Seconds(), before, after)
		}
		var job struct {
			State string `json:"state"`
		}
		if err := c.GetJSON(ctx, "/jobs/"+jobID, &job); err != nil || job.State != "RUNNING" {
			runningSince = time.Time{}
			continue
		}
		if runningSince.IsZero() {
			runningSince = time.Now()
		}
		if !fixedAt.IsZero() && time.Since(runningSince) >= stable && runningSince.After(fixedAt.Add(-time.Minute)) {
			break
		}
	}
	fs, err = failures(ctx, c, jobID)
	if err != nil {
		t.Fatal(err)
	}
	// The rescue is real only if the state it made room for lives in the heap now.
	stateBytes := sc.Jobs[0].Vertices[1].StateBytes(1)
	heapUsed := int64(-1)
	if len(after) > 0 {
		heapUsed = tmHeapUsed(ctx, c, after[0].ID)
	}
	out := stop()
	evs := events(t, bin, dataDir)
	logMemoryEvents(t, evs)
	oomAfter := countSince(fs, fixedAt, true)
	oomBefore := countSince(fs, submitted, true) - oomAfter
	var oomKinds []string
	for _, f := range fs {
		if f.OOM && !slices.Contains(oomKinds, f.OOMText) {
			oomKinds = append(oomKinds, f.OOMText)
		}
	}
	res := map[string]any{
		"flinkVersion":           d.Version,
		"scenario":               "local/testdata/heap-starved-real.yaml",
		"oomKinds":               oomKinds,
		"before":                 before,
		"after":                  after,
		"oomBeforeRun":           countSince(fs, submitted, true) - countSince(fs, runStart, true),
		"oomBeforeFix":           oomBefore,
		"oomAfterFix":            oomAfter,
		"restartsAfterRunStart":  countSince(fs, runStart, false),
		"secondsRunToReplaced":   fixedAt.Sub(runStart).Seconds(),
		"secondsRunToLoopEnded":  runningSince.Sub(runStart).Seconds(),
		"secondsFirstOOMToEnded": runningSince.Sub(firstOOM).Seconds(),
		"memoryRescueEvent":      hasEvent(evs, "MemoryRescue"),
		"diagnosedBy":            diagnosedBy(evs),
		"configurationApplied":   hasEvent(evs, "ConfigurationApplied"),
		"heapUsedAfterBytes":     heapUsed,
		"stateBytes":             stateBytes,
		"secondsTest":            time.Since(testStart).Seconds(),
		"loadAverage1mStart":     loadStart,
		"loadAverage1mEnd":       loadAverage(),
	}
	testutil.WriteResult(t, "heap-starved-rescue-"+d.Version, res)
	if diagnosedBy(evs) == "" {
		t.Errorf("no event diagnosed the OutOfMemoryError loop (a MemoryRescue, or a recommendation that the heap must grow); events: %v\n%s", evs, tailString(out, 4000))
	}
	if !hasEvent(evs, "ConfigurationApplied") {
		t.Errorf("no ConfigurationApplied event: the remedy did not go through the process realizer\n%s", tailString(out, 4000))
	}
	if oomAfter > 0 {
		t.Errorf("%d OutOfMemoryError failures after the TaskManager was replaced", oomAfter)
	}
	if heapUsed < stateBytes {
		t.Errorf("the replaced TaskManager's heap holds %d MiB, less than the job's %d MiB of state: the job does not hold its state", heapUsed>>20, stateBytes>>20)
	}
	if len(after) == 0 || len(before) == 0 || after[0].Heap <= before[0].Heap {
		t.Errorf("the TaskManager's heap did not grow: %v → %v", before, after)
	}
	if len(after) > 0 && len(before) > 0 && after[0].Process > before[0].Process {
		t.Logf("the remedy grew the process: %d → %d MiB", before[0].Process>>20, after[0].Process>>20)
	}
}

// tmHeapUsed is a TaskManager's Status.JVM.Memory.Heap.Used, -1 if it cannot be read.
func tmHeapUsed(ctx context.Context, c *local.Cluster, id string) int64 {
	var ms []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	if err := c.GetJSON(ctx, "/taskmanagers/"+id+"/metrics?get=Status.JVM.Memory.Heap.Used", &ms); err != nil || len(ms) != 1 {
		return -1
	}
	v, err := strconv.ParseFloat(ms[0].Value, 64)
	if err != nil {
		return -1
	}
	return int64(v)
}

// loadAverage is the machine's 1-minute load average (-1 where /proc/loadavg is not), recorded
// beside timings measured on a shared machine.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		return -1
	}
	return f
}

// minimumRecord is testdata/memory-tuning-minimum.json.
type minimumRecord struct {
	FlinkVersion string            `json:"flinkVersion"`
	Scenario     string            `json:"scenario"`
	Method       string            `json:"method"`
	Fixed        map[string]string `json:"fixedConfig"`
	ProbeFor     string            `json:"probeDuration"`
	Probes       []probeResult     `json:"probes"`
	// MinimumTaskHeap and MinimumProcess are the smallest probe that ran without failure.
	MinimumTaskHeap int64  `json:"minimumTaskHeapBytes"`
	MinimumProcess  int64  `json:"minimumProcessBytes"`
	Resolution      int64  `json:"resolutionBytes"`
	Machine         string `json:"machine"`
	Date            string `json:"date"`
	Note            string `json:"note,omitempty"` // FLINKTUNE_BISECT_NOTE: how the run was cut or held
}

type probeResult struct {
	TaskHeap int64  `json:"taskHeapBytes"`
	Process  int64  `json:"processBytes"`
	JVMHeap  int64  `json:"jvmHeapBytes"`
	OK       bool   `json:"ok"`
	Failure  string `json:"failure,omitempty"`
	Ran      string `json:"ran"`
}

// TestMemoryTuningRealJob starts testdata/tune-real.yaml on two over-provisioned 2 GiB
// TaskManagers, runs flinktune run --local-dir with memory tuning enabled (windows
// compressed) and checks that the TaskManagers are restarted with tuned memory, the job never
// fails, and the tuned process size ends within 25% of the recorded bisected minimum.
func TestMemoryTuningRealJob(t *testing.T) {
	d := firstDist(t)
	sc := loadScenario(t, "testdata/tune-real.yaml")
	bin := buildFlinktune(t)
	// 14 minutes: at a load average of 90-150 (2 cores) the start alone took 4-6 minutes and
	// two runs ran out of 9 minutes after the TaskManagers were tuned.
	ctx, cancel := context.WithTimeout(context.Background(), 14*time.Minute)
	defer cancel()
	job := startScenarioJob(t, ctx, d, sc, jobSetup{Attachable: true, WaitRunning: true})
	c, jobID := job.Cluster, job.JobID
	before, err := registeredTMs(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	dataDir := keptDataDir(t)
	stop := startRun(t, ctx, bin, c.Spec.Dir, dataDir, tuneSets(2)...)

	// Tuned: every registered TaskManager smaller than before; then a minute more of running.
	var (
		after     []tmMemory
		tunedAt   time.Time
		restarts  int
		lastIDs   string
		maxBudget = 5 * time.Minute
	)
	for time.Since(start) < maxBudget {
		time.Sleep(2 * time.Second)
		tms, err := registeredTMs(ctx, c)
		if err != nil || len(tms) == 0 {
			continue
		}
		after = tms
		ids := fmt.Sprint(tms)
		if ids != lastIDs {
			t.Logf("%5.0fs: TaskManagers %v", time.Since(start).Seconds(), tms)
			lastIDs = ids
		}
		small := len(tms) == len(before)
		for _, tm := range tms {
			small = small && tm.Process < before[0].Process
		}
		if small && tunedAt.IsZero() {
			tunedAt = time.Now()
		}
		if !tunedAt.IsZero() && time.Since(tunedAt) > 75*time.Second {
			break
		}
	}
	out := stop()
	fs, err := failures(ctx, c, jobID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.At.After(start) {
			restarts++
		}
	}
	if tunedAt.IsZero() {
		t.Fatalf("the TaskManagers were not tuned within %s: %v → %v\n%s", maxBudget, before, after, tailString(out, 8000))
	}
	var final int64
	for _, tm := range after {
		final = max(final, tm.Process)
	}
	res := map[string]any{
		"flinkVersion":         d.Version,
		"scenario":             "local/testdata/tune-real.yaml",
		"before":               before,
		"after":                after,
		"secondsToTuned":       tunedAt.Sub(start).Seconds(),
		"failuresDuringTuning": restarts,
		"oomDuringTuning":      countSince(fs, start, true),
		"finalProcessBytes":    final,
	}
	var minRec minimumRecord
	b, err := os.ReadFile(minimumFile(d.Version))
	if err == nil {
		err = json.Unmarshal(b, &minRec)
	}
	if err != nil {
		t.Errorf("%s: %v (record it with FLINKTUNE_BISECT=1 go test -tags integration -run TestBisectTaskManagerMinimum ./local/)", minimumFile(d.Version), err)
	} else {
		ratio := float64(final) / float64(minRec.MinimumProcess)
		res["bisectedMinimumProcessBytes"] = minRec.MinimumProcess
		res["ratioToMinimum"] = ratio
		if ratio > 1.25 || ratio < 0.75 {
			t.Errorf("tuned TaskManager process %d MiB is not within 25%% of the bisected minimum %d MiB (ratio %.2f)", final>>20, minRec.MinimumProcess>>20, ratio)
		}
	}
	testutil.WriteResult(t, "memory-tuning-real-"+d.Version, res)
	if n := countSince(fs, start, true); n > 0 {
		t.Errorf("%d OutOfMemoryError failures during tuning", n)
	}
	if restarts > 0 {
		t.Logf("%d job failures during tuning: %v", restarts, fs)
	}
	evs := events(t, bin, dataDir)
	logMemoryEvents(t, evs)
	if !hasEvent(evs, "ConfigurationApplied") {
		t.Errorf("no ConfigurationApplied event\n%s", tailString(out, 4000))
	}
	if t.Failed() {
		logTunerState(t, bin, dataDir)
	}
}

// logTunerState logs what the tuner kept in the controller store about metaspace (its peak,
// when it last grew and the marks of its growth window): why metaspace stayed where it was.
func logTunerState(t *testing.T, bin, dataDir string) {
	t.Helper()
	out, err := exec.Command(bin, "store", "export", "--data-dir", dataDir).Output()
	if err != nil {
		t.Logf("flinktune store export: %v", err)
		return
	}
	var exp struct {
		Jobs []struct {
			PolicyState struct {
				Tuner map[string]any `json:"tuner"`
			} `json:"policyState"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &exp); err != nil {
		t.Logf("flinktune store export: %v", err)
		return
	}
	for _, j := range exp.Jobs {
		tu := j.PolicyState.Tuner
		t.Logf("tuner state: firstRunning %v, metaspace peak %v, mark %v, grew at %v, marks %v (kept in %s)",
			tu["firstRunning"], tu["metaspacePeak"], tu["metaspaceMark"], tu["metaspaceGrewAt"], tu["metaspaceMarks"], dataDir)
	}
}

// tuneSets are flinktune run's options for tuning within a few minutes: the tuner's windows
// compressed, scaling held at the job's parallelism.
func tuneSets(maxParallelism int) []string {
	return []string{
		"job.autoscaler.memory.tuning.enabled=true",
		fmt.Sprintf("job.autoscaler.vertex.max-parallelism=%d", maxParallelism),
		fmt.Sprintf("job.autoscaler.vertex.min-parallelism=%d", maxParallelism),
		"flinktune.memory.tuning.min-observation=60s",
		"flinktune.memory.tuning.peak-interval=10s",
		"flinktune.memory.tuning.heap.live-window=30s",
		"flinktune.memory.tuning.settle=10m",
	}
}

// TestBisectTaskManagerMinimum finds, once, the smallest TaskManager that runs
// testdata/tune-real.yaml without a failure for FLINKTUNE_BISECT_DURATION (default 10m): the
// task heap is bisected with every other pool fixed (managed memory 0, as a HashMap backend
// needs none; network, metaspace and JVM overhead as FLINKTUNE_BISECT_FIXED gives, by default
// what the tuner chose in TestMemoryTuningRealJob), each probe a fresh cluster. It writes
// testdata/memory-tuning-minimum-V.json, after every probe (a cut-short run keeps the probes
// it finished, with no minimum if none ran). Set FLINKTUNE_BISECT=1 to run it (it takes long);
// FLINKTUNE_FLINK_LOCK names a lock file held for each probe only.
func TestBisectTaskManagerMinimum(t *testing.T) {
	if os.Getenv("FLINKTUNE_BISECT") != "1" {
		t.Skip("FLINKTUNE_BISECT=1 runs the bisection (about an hour)")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := dists[0]
	sc, err := scenario.Load("testdata/tune-real.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dur := 10 * time.Minute
	if s := os.Getenv("FLINKTUNE_BISECT_DURATION"); s != "" {
		if dur, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	fixed := map[string]string{
		"taskmanager.memory.managed.size":       "0",
		"taskmanager.memory.network.min":        "64m",
		"taskmanager.memory.network.max":        "64m",
		"taskmanager.memory.jvm-metaspace.size": "128m",
	}
	if s := os.Getenv("FLINKTUNE_BISECT_FIXED"); s != "" {
		fixed = map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, v, _ := strings.Cut(kv, "=")
			fixed[k] = v
		}
	}
	lo, hi := int64(0), envMiB(t, "FLINKTUNE_BISECT_HI", 128) // task heap: lo may fail, hi must run
	resolution := envMiB(t, "FLINKTUNE_BISECT_RESOLUTION", 16)
	rec := minimumRecord{FlinkVersion: d.Version, Scenario: "local/testdata/tune-real.yaml", Fixed: fixed, ProbeFor: dur.String(),
		Resolution: resolution, Date: time.Now().UTC().Format(time.RFC3339), Note: os.Getenv("FLINKTUNE_BISECT_NOTE"),
		Method: "bisection of taskmanager.memory.task.heap.size (other pools fixed) on a fresh 2-TaskManager cluster per probe; " +
			"a probe runs if the job has no failure (no exception in /jobs/<id>/exceptions) for the probe duration"}
	if h, err := os.Hostname(); err == nil {
		rec.Machine = fmt.Sprintf("%s, %d cores", h, runtime.NumCPU())
	}
	probe := func(heap int64) probeResult {
		conf := local.ScenarioClusterConfig(sc)
		delete(conf, "taskmanager.memory.process.size")
		for k, v := range fixed {
			conf[k] = v
		}
		conf["taskmanager.memory.task.heap.size"] = fmt.Sprintf("%dm", heap>>20)
		// The launcher's default process size would conflict: set the derived one.
		tm, err := memory.DeriveTaskManager(memory.ConfigFromStrings(conf, "probe"), nil, d.Profile())
		if err != nil {
			t.Fatal(err)
		}
		conf["taskmanager.memory.process.size"] = fmt.Sprintf("%db", tm.TotalProcess)
		unlock := lockFlink(t)
		defer unlock()
		var pr probeResult
		t.Run(fmt.Sprintf("heap-%dm", heap>>20), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), dur+5*time.Minute)
			defer cancel()
			job := startScenarioJob(t, ctx, d, sc, jobSetup{Conf: conf, Attachable: true})
			c, jobID := job.Cluster, job.JobID
			tm, err := c.DeriveTaskManager(nil)
			if err != nil {
				t.Fatal(err)
			}
			pr = probeResult{TaskHeap: heap, Process: tm.TotalProcess, JVMHeap: tm.JVMHeap(), OK: true}
			if err := c.WaitJobRunning(ctx, jobID, 2*time.Minute); err != nil {
				pr.OK, pr.Failure = false, err.Error()
				return
			}
			start := time.Now()
			for time.Since(start) < dur {
				time.Sleep(5 * time.Second)
				fs, err := failures(ctx, c, jobID)
				if err == nil && len(fs) > 0 {
					pr.OK, pr.Failure = false, fs[0].Name
					break
				}
			}
			pr.Ran = time.Since(start).Round(time.Second).String()
			t.Logf("task heap %d MiB (process %d MiB): ok %v %s after %s", heap>>20, pr.Process>>20, pr.OK, pr.Failure, pr.Ran)
		})
		return pr
	}
	file := minimumFile(d.Version)
	// FLINKTUNE_BISECT_MAX_PROBES stops after that many probes (e.g. 1 with HI below a recorded
	// minimum: one probe of whether it is lower), the record written as after every probe.
	maxProbes := 1 << 30
	if s := os.Getenv("FLINKTUNE_BISECT_MAX_PROBES"); s != "" {
		if maxProbes, err = strconv.Atoi(s); err != nil || maxProbes < 1 {
			t.Fatalf("FLINKTUNE_BISECT_MAX_PROBES=%q: want a number of probes >= 1", s)
		}
	}
	save := func(p probeResult) {
		rec.Probes = append(rec.Probes, p)
		defer func() {
			if len(rec.Probes) >= maxProbes {
				t.Logf("stopped after %d probes (FLINKTUNE_BISECT_MAX_PROBES); written to %s", len(rec.Probes), file)
				t.SkipNow()
			}
		}()
		if p.OK {
			rec.MinimumTaskHeap, rec.MinimumProcess = p.TaskHeap, p.Process
		}
		b, _ := json.MarshalIndent(rec, "", "  ")
		if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The upper bound doubles until a probe runs (at most 4 times), so a bound guessed too low
	// costs a probe, not the whole bisection.
	for top := probe(hi); ; top = probe(hi) {
		save(top)
		if top.OK {
			break
		}
		if hi >= envMiB(t, "FLINKTUNE_BISECT_HI", 128)<<4 {
			t.Fatalf("the upper bound %d MiB of task heap fails: %s", hi>>20, top.Failure)
		}
		lo, hi = hi, 2*hi
	}
	for hi-lo > resolution {
		mid := (lo + hi) / 2 / (1 << 20) * (1 << 20)
		p := probe(mid)
		save(p) // a probe that ran is below every earlier one that ran: the new minimum
		if p.OK {
			hi = mid
		} else {
			lo = mid
		}
	}
	t.Logf("minimum: task heap %d MiB, process %d MiB; written to %s", rec.MinimumTaskHeap>>20, rec.MinimumProcess>>20, file)
	testutil.WriteResult(t, "memory-tuning-minimum-"+d.Version, rec)
}

func envMiB(t *testing.T, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def << 20
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want MiB", name, s)
	}
	return n << 20
}

// lockFlink takes the shared real-Flink lock named by FLINKTUNE_FLINK_LOCK, if any.
func lockFlink(t *testing.T) func() {
	path := os.Getenv("FLINKTUNE_FLINK_LOCK")
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(filepath.Clean(path), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}
