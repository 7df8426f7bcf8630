// Package e2e runs the flinktune binary as users do: `flinktune sim` serving Flink's REST API
// on loopback in real time, and `flinktune run` driving it over HTTP, killed and restarted.
package e2e

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

var binary string

// parallelTests bounds how many tests run at once unless -parallel is given. The tests wait on
// simulated time, not on the CPU (a simulator and a run use a few percent of a core each),
// so the default of GOMAXPROCS (2 on CI) would queue them in pairs for nothing.
const parallelTests = "16"

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", parallelTests)
	}
	dir, err := os.MkdirTemp("", "flinktune-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "flinktune")
	build := exec.Command("go", "build", "-o", binary, "../cmd/flinktune")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building flinktune:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running flinktune process with its output captured line by line.
type proc struct {
	cmd   *exec.Cmd
	lines chan string
	log   *strings.Builder
}

func start(t testing.TB, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1024), log: &strings.Builder{}}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// waitLine returns the first submatch of re in the process output.
func (p *proc) waitLine(t testing.TB, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("process exited before printing %s:\n%s", re, p.log)
			}
			p.log.WriteString(l + "\n")
			if m := re.FindStringSubmatch(l); m != nil {
				return m[len(m)-1]
			}
		case <-deadline:
			t.Fatalf("no line matching %s within %s:\n%s", re, timeout, p.log)
		}
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// rampScenario steps its load up at 4 simulated minutes and back down at 14. run, started
// with the simulator, cycles from about 2.5 (its start measures the simulator's clock for 2
// wall seconds, 2 simulated minutes at simSpeed), so it sees the job before the step.
const rampScenario = `
name: e2e-ramp
seed: 4
duration: 6h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 1, min: 1, max: 8, startupDelay: 5s}
jobs:
  - name: etl
    config:
      pipeline.max-parallelism: 120
      execution.checkpointing.interval: 20s
      job.autoscaler.scale-down.interval: 3m
      flinktune.settle: 4m
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 40000, partitions: 12}
      - {id: enrich, name: "Map: enrich", parallelism: 1, capacity: 6000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 3000}
      - {source: src, at: 4m, rate: 15000}
      - {source: src, at: 14m, rate: 3000}
`

// simSpeed is the simulators' time scale (simulated seconds per wall second): a simulated
// minute is a wall second, and run cycles every runInterval/simSpeed = 167 ms of wall time,
// well above run's floor of 100 ms, so that a loaded machine's late cycles still leave run
// keeping up with the job's time.
const simSpeed = 60

// runInterval is run's --interval, in the simulator's time.
const runInterval = 10 * time.Second

// startSim serves rampScenario at simSpeed and returns its URL and job id.
func startSim(t *testing.T) (url, job string) {
	t.Helper()
	return serveScenario(t, rampScenario)
}

// serveScenario serves a scenario of the job e2e-ramp/etl at simSpeed.
func serveScenario(t *testing.T, scenario string) (url, job string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ramp.yaml")
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "sim", "--scenario", file, "--listen", "127.0.0.1:0", "--speed", fmt.Sprint(simSpeed), "--status-every", "1h")
	url = p.waitLine(t, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`), 30*time.Second)
	return url, sim.JobID("e2e-ramp", "etl")
}

func simStats(t *testing.T, url, job string) sim.Stats {
	var st sim.Stats
	getJSON(t, url+"/flinktune/v1/jobs/"+job+"/stats", &st)
	return st
}

func startRun(t *testing.T, flink, dataDir string) (*proc, string) {
	p := start(t, "run", "--flink", flink, "--all-jobs", "--data-dir", dataDir, "--interval", runInterval.String(),
		"--listen", "127.0.0.1:0", "--log-format", "json")
	listen := p.waitLine(t, regexp.MustCompile(`"metrics":"(http://[^"]+)/metrics"`), 30*time.Second)
	return p, listen
}

// scaledDown reports whether one of changes is a scale-down flinktune asked for (new resource
// requirements that lower the job's total subtasks).
func scaledDown(changes []sim.ParallelismChange) bool {
	for _, c := range changes {
		before, after := 0, 0
		for _, v := range c.Vertices {
			before, after = before+v.Old, after+v.New
		}
		if c.Cause == "requirements" && after < before {
			return true
		}
	}
	return false
}

// pollEvery is how often the tests look for what they wait for: 12 s of simulated time.
const pollEvery = 200 * time.Millisecond

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pollEvery)
	}
}

// duringJobTime gives run d of the job's simulated time, and at least half the cycles of the
// job that d holds on an idle machine (a loaded one may run fewer in d), calling check (if
// not nil) at every poll. It is the time of the checks that something does not happen
// (nothing re-sent, nothing applied): counted in the job's time and in run's cycles, not in
// wall seconds, it means as much at any speed and on a busy machine.
func duringJobTime(t *testing.T, flink, listen, job string, d time.Duration, check func()) {
	t.Helper()
	until := simStats(t, flink, job).SimulatedSeconds + d.Seconds()
	cycles := cyclesOf(t, listen, job) + int(d/runInterval)/2
	deadline := time.Now().Add(time.Minute + 4*d/simSpeed)
	for simStats(t, flink, job).SimulatedSeconds < until || cyclesOf(t, listen, job) < cycles {
		if time.Now().After(deadline) {
			t.Fatalf("run cycled the job %d times in %s of its time; want %d", cyclesOf(t, listen, job), d, cycles)
		}
		if check != nil {
			check()
		}
		time.Sleep(pollEvery)
	}
}

// cyclesOf is how many times run evaluated the job since it started (the policy decided,
// kept the parallelism or was not ready), from its /metrics.
func cyclesOf(t *testing.T, listen, job string) int {
	t.Helper()
	return int(jobMetric(t, listen, job, "flinktune_scalings_total", "flinktune_balanced_total", "flinktune_not_ready_total"))
}

// metricsText is run's /metrics page.
func metricsText(t *testing.T, listen string) string {
	t.Helper()
	resp, err := http.Get(listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// jobMetric sums the series of run's /metrics named names and labelled with the job.
func jobMetric(t *testing.T, listen, job string, names ...string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(?:` + strings.Join(names, "|") + `)\{[^}]*job="` + job + `"[^}]*\} (\S+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(metricsText(t, listen), -1) {
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("/metrics: %v", err)
		}
		sum += v
	}
	return sum
}

// TestRunRescalesOverHTTP: flinktune run, talking HTTP to the simulator, scales the job up
// when its load steps up, and exposes what it did through /metrics and /api/v1/events.
func TestRunRescalesOverHTTP(t *testing.T) {
	t.Parallel()
	flink, job := startSim(t)
	run, listen := startRun(t, flink, t.TempDir())
	waitFor(t, "a rescale", 180*time.Second, func() bool { return simStats(t, flink, job).Rescales >= 1 })
	st := simStats(t, flink, job)
	up := false
	for _, c := range st.ParallelismChanges {
		if c.Cause == "requirements" && c.Vertices["enrich"].New > c.Vertices["enrich"].Old {
			up = true
		}
	}
	if !up {
		t.Errorf("no scale-up of enrich: %+v", st.ParallelismChanges)
	}
	var events []store.Event
	getJSON(t, listen+"/api/v1/events?job="+job[:8], &events)
	reasons := map[string]int{}
	for _, e := range events {
		reasons[e.Reason]++
	}
	if reasons["ScalingReport"] < 1 || reasons["Scaling"] < 1 {
		t.Errorf("events: %v", reasons)
	}
	resp, err := http.Get(listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"flinktune_vertex_parallelism{", "flinktune_scalings_total{", `metric="TRUE_PROCESSING_RATE"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// SIGTERM: in-flight work finishes, the process exits cleanly.
	run.cmd.Process.Signal(syscall.SIGTERM)
	run.waitLine(t, regexp.MustCompile(`flinktune run stopped`), 30*time.Second)
	if err := run.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
}

// TestRunSurvivesKillNine kills flinktune run with SIGKILL after it rescaled, restarts it on
// the same data directory, and checks that no history was lost and no rescale was sent twice:
// every in-place rescale Flink performed is recorded exactly once, and the events from before
// the crash are still there.
func TestRunSurvivesKillNine(t *testing.T) {
	t.Parallel()
	flink, job := startSim(t)
	dataDir := t.TempDir()
	run, _ := startRun(t, flink, dataDir)
	waitFor(t, "the scale-up", 180*time.Second, func() bool { return simStats(t, flink, job).Rescales >= 1 })
	run.cmd.Process.Signal(syscall.SIGKILL)
	run.cmd.Wait()
	changesBefore := len(simStats(t, flink, job).ParallelismChanges)

	_, listen := startRun(t, flink, dataDir)
	// The load drops at 14 min; the restarted controller scales down on its own (any rescale
	// would not do: one during the step is the old run's decision taken again, or a new one).
	waitFor(t, "the scale-down after the restart", 240*time.Second, func() bool {
		return scaledDown(simStats(t, flink, job).ParallelismChanges[changesBefore:])
	})
	duringJobTime(t, flink, listen, job, time.Minute, nil) // a few more cycles: nothing may be re-sent

	var events []store.Event
	getJSON(t, listen+"/api/v1/events?job="+job[:8], &events)
	applied := 0
	var reports []string
	for _, e := range events {
		switch e.Reason {
		case "Scaling":
			applied++
		case "ScalingReport":
			reports = append(reports, e.Message)
		}
	}
	st := simStats(t, flink, job)
	if applied != st.Rescales {
		t.Errorf("Flink rescaled %d times, flinktune recorded %d in-place rescales (lost or duplicated)", st.Rescales, applied)
	}
	if len(reports) < 2 {
		t.Errorf("want the decisions from before and after the crash, got %q", reports)
	}
	seen := map[string]bool{}
	for _, r := range reports {
		if seen[r] {
			t.Errorf("decision recorded twice: %s", r)
		}
		seen[r] = true
	}
}
