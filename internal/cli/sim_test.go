package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/sim"
)

func simCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

const cliScenario = `
name: cli
seed: 3
duration: 1h
flinkVersion: "1.18"
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2}
  taskManagers: {initial: 1, min: 1, max: 4, startupDelay: 2s}
jobs:
  - name: wc
    config: {execution.checkpointing.interval: 5s}
    restart: {base: 1s}
    vertices:
      - {id: src, name: "Source: Kafka", capacity: 10000, partitions: 4}
      - {id: count, capacity: 2000, inputs: [{from: src, ship: HASH}]}
    load: [{source: src, at: 0s, rate: 3000}]
`

func TestSimUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(cliScenario, "capacity: 2000", "capacty: 2000", 1)), 0o644)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(cliScenario), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sim"}, "--scenario is required"},
		{[]string{"sim", "--scenario", "no-such-thing"}, `scenario "no-such-thing": no such file and no built-in scenario`},
		{[]string{"sim", "--scenario", bad}, `bad.yaml:15: unknown field "capacty" in jobs[0].vertices[1]`},
		{[]string{"sim", "--scenario", good, "--speed", "0"}, `invalid argument "0" for "--speed"`},
		{[]string{"sim", "--scenario", good, "--speed", "1e12"}, `between 0.01 and 100000`},
		{[]string{"sim", "--scenario", good, "--speed", "NaN"}, `between 0.01 and 100000`},
		{[]string{"sim", "--scenario", good, "--speed", "+Inf"}, `between 0.01 and 100000`},
		{[]string{"sim", "--scenario", good, "--speed", "max"}, `max is only for lockstep runs`},
		{[]string{"sim", "--scenario", good, "--status-every", "-1s"}, `--status-every -1s`},
		{[]string{"sim", "--scenario", good, "--duration", "soon"}, `--duration "soon"`},
		{[]string{"sim", "--scenario", good, "--output", "xml"}, `--output "xml"`},
		{[]string{"sim", "extra"}, "sim takes no arguments"},
	}
	for _, tc := range tests {
		_, errOut, code := simCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want usage error containing %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestSimHelpShowsCurlPUT(t *testing.T) {
	out, _, code := simCLI(t, "sim", "--help")
	if code != 0 || !strings.Contains(out, "curl -s -X PUT localhost:8081/jobs/<jobid>/resource-requirements") ||
		!strings.Contains(out, "wordcount-ramp") {
		t.Errorf("help:\n%s", out)
	}
}

// TestSimServesAndRescales runs `flinktune sim` on a short scenario, reads the start-up JSON,
// PUTs new resource requirements over HTTP and checks the final accounting shows the rescale.
func TestSimServesAndRescales(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cli.yaml")
	if err := os.WriteFile(f, []byte(cliScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	// Standard output carries one JSON document at the end; the start-up information (the URL
	// of port 0) is read from standard error, as a person would.
	var out bytes.Buffer
	er, ew := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := Main([]string{"sim", "--scenario", f, "--listen", "127.0.0.1:0", "--speed", "40", "--duration", "2m",
			"--status-every", "200ms", "-o", "json"}, strings.NewReader(""), &out, ew)
		ew.Close()
		done <- code
	}()
	rd := bufio.NewReader(er)
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("start-up line: %v", err)
	}
	_, url, ok := strings.Cut(strings.TrimSpace(line), " at ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("start-up line %q", line)
	}
	var errb bytes.Buffer
	drained := make(chan struct{})
	go func() { io.Copy(&errb, rd); close(drained) }()
	jobID := sim.JobID("cli", "wc")
	start := simStart{URL: url, Jobs: []simJob{{ID: jobID, Vertices: []simVertex{{ID: sim.VertexID("wc", "src")}, {ID: sim.VertexID("wc", "count")}}}}}
	resp, err := http.Get(start.URL + "/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("overview: %d", resp.StatusCode)
	}
	job := start.Jobs[0]
	var parts []string
	for _, v := range job.Vertices {
		parts = append(parts, fmt.Sprintf(`"%s": {"parallelism": {"lowerBound": 1, "upperBound": 3}}`, v.ID))
	}
	req, _ := http.NewRequest(http.MethodPut, start.URL+"/jobs/"+job.ID+"/resource-requirements", strings.NewReader("{"+strings.Join(parts, ",")+"}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, b)
	}
	select {
	case code := <-done:
		<-drained
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sim did not stop after --duration")
	}
	var report simReport
	dec := json.NewDecoder(&out)
	if err := dec.Decode(&report); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if dec.More() {
		t.Errorf("more than one JSON document: %s", out.String())
	}
	if report.Scenario != "cli" || report.FlinkVersion != "1.18.1" || len(report.Jobs) != 1 || report.Jobs[0].ID != jobID ||
		len(report.Jobs[0].Vertices) != 2 || report.URL != url {
		t.Errorf("start-up information in the report: %+v", report.simStart)
	}
	stats := report.Stats
	if len(stats) != 1 || stats[0].Rescales != 1 || stats[0].SimulatedSeconds != 120 {
		t.Fatalf("stats %+v", stats)
	}
	if ch := stats[0].ParallelismChanges; len(ch) != 1 || ch[0].Vertices["count"].New != 3 {
		t.Errorf("changes %+v", ch)
	}
	if !strings.Contains(errb.String(), "sim 00:") || !strings.Contains(errb.String(), "| wc RUNNING p[count=3 src=3]") {
		t.Errorf("status lines:\n%s", errb.String())
	}
}

func TestSimTextOutput(t *testing.T) {
	out, errOut, code := simCLI(t, "sim", "--scenario", "taskmanager-loss", "--listen", "127.0.0.1:0", "--speed", "3600", "--duration", "1m", "--status-every", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Flink 1.20.1 REST API (simulated) at http://127.0.0.1:", "job " + sim.JobID("taskmanager-loss", "fraud") + "  fraud",
		"vertex " + sim.VertexID("fraud", "score"), "curl -s -X PUT", "records: input"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
