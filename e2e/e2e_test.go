// Package e2e runs the flinktune binary as users do: `flinktune sim` serving Flink's REST API
// on loopback in real time, and `flinktune run` driving it over HTTP, killed and restarted.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

var binary string

func TestMain(m *testing.M) {
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
      - {source: src, at: 2m, rate: 15000}
      - {source: src, at: 12m, rate: 3000}
`

// startSim serves the scenario at 30 simulated seconds per wall second and returns its URL
// and job id.
func startSim(t *testing.T) (url, job string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "ramp.yaml")
	if err := os.WriteFile(file, []byte(rampScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "sim", "--scenario", file, "--listen", "127.0.0.1:0", "--speed", "30", "--status-every", "1h")
	url = p.waitLine(t, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`), 30*time.Second)
	job = sim.JobID("e2e-ramp", "etl")
	return url, job
}

func simStats(t *testing.T, url, job string) sim.Stats {
	var st sim.Stats
	getJSON(t, url+"/flinktune/v1/jobs/"+job+"/stats", &st)
	return st
}

func startRun(t *testing.T, flink, dataDir string) (*proc, string) {
	p := start(t, "run", "--flink", flink, "--all-jobs", "--data-dir", dataDir, // --interval: 10 s of the simulator's time
		"--listen", "127.0.0.1:0", "--log-format", "json")
	listen := p.waitLine(t, regexp.MustCompile(`"metrics":"(http://[^"]+)/metrics"`), 30*time.Second)
	return p, listen
}

// waitFor polls cond every half second until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestRunRescalesOverHTTP: flinktune run, talking HTTP to the simulator, scales the job up
// when its load steps up, and exposes what it did through /metrics and /api/v1/events.
func TestRunRescalesOverHTTP(t *testing.T) {
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
	flink, job := startSim(t)
	dataDir := t.TempDir()
	run, _ := startRun(t, flink, dataDir)
	waitFor(t, "the scale-up", 180*time.Second, func() bool { return simStats(t, flink, job).Rescales >= 1 })
	run.cmd.Process.Signal(syscall.SIGKILL)
	run.cmd.Wait()
	before := simStats(t, flink, job).Rescales

	_, listen := startRun(t, flink, dataDir)
	// The load drops at 12 min; the restarted controller scales down on its own.
	waitFor(t, "the scale-down after the restart", 240*time.Second, func() bool { return simStats(t, flink, job).Rescales > before })
	time.Sleep(2 * time.Second) // a few more cycles: nothing may be re-sent

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
