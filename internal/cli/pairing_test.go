package cli

import (
	"context"
	"github.com/flinktune/flinktune/internal/testutil"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// A load step the job's single subtask cannot carry: any policy that sees the job must scale up.
const pairingScenario = `
name: pairing
seed: 5
duration: 2h
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 4}
  taskManagers: {initial: 1, min: 1, max: 4, startupDelay: 5s}
jobs:
  - name: step
    config: {pipeline.max-parallelism: 120, execution.checkpointing.interval: 30s}
    restart: {base: 5s}
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 40000, partitions: 12}
      - {id: map, name: "Map: parse", parallelism: 1, capacity: 5000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 3000}
      - {source: src, at: 3m, rate: 12000}
`

// TestRunBesideAcceleratedSim is the README's pairing, `flinktune sim --speed N` and
// `flinktune run --flink URL --all-jobs`: run measures the simulated JobManager's clock and
// cycles the job in its time, so the policy sees samples every --interval of simulated time
// and rescales the job after the load step (at a wall-clock interval, each cycle would span
// minutes of simulated time and no policy would ever collect a window).
func TestRunBesideAcceleratedSim(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, url := serveAccelerated(t, ctx, pairingScenario, 60)

	var logs testutil.SyncBuffer
	runDone := make(chan int, 1)
	go func() {
		runDone <- mainContext(ctx, []string{"run", "--flink", url, "--all-jobs",
			"--data-dir", t.TempDir()}, strings.NewReader(""), &logs, &logs)
	}()

	// The step comes at 3 simulated minutes (3 s of wall time); flinktune's windows are minutes
	// of job time, so the rescale lands within seconds. The limit is wide for loaded machines.
	deadline := time.Now().Add(60 * time.Second)
	id := sim.JobID("pairing", "step")
	scaled := false
	for !scaled && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		srv.Do(func(s *sim.Sim) {
			if st, ok := s.Stats(id); ok && st.Rescales > 0 {
				scaled = true
			}
		})
	}
	var elapsed time.Duration
	srv.Do(func(s *sim.Sim) { elapsed = s.Elapsed() })
	cancel()
	if code := <-runDone; code != 0 {
		t.Errorf("run exited %d", code)
	}
	out := logs.String()
	if !scaled {
		t.Fatalf("no rescale after %s of simulated time; run's log:\n%s", elapsed, out)
	}
	for _, want := range []string{"its jobs are cycled in its time", "clockRate=", "jobTimeInterval="} {
		if !strings.Contains(out, want) {
			t.Errorf("run's log lacks %q:\n%s", want, out)
		}
	}
}

// serveAccelerated serves the scenario over loopback HTTP at speed simulated seconds per wall
// second until ctx ends (and the test waits for it).
func serveAccelerated(t *testing.T, ctx context.Context, yaml string, speed float64) (*simrest.Server, string) {
	t.Helper()
	sc, err := scenario.Parse([]byte(yaml), "pairing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := simrest.New(s, simrest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	simDone := make(chan struct{})
	go func() {
		defer close(simDone)
		srv.RunRealtimeUntil(ctx, speed, sc.Duration, nil)
	}()
	t.Cleanup(func() { <-simDone; hs.Close() })
	return srv, "http://" + ln.Addr().String()
}

// TestRunExplainsUnmanagedJob: without --all-jobs, a job without job.autoscaler.enabled is left
// alone, and run says so at info level instead of staying silent.
func TestRunExplainsUnmanagedJob(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, url := serveAccelerated(t, ctx, pairingScenario, 60)
	var logs testutil.SyncBuffer
	runDone := make(chan int, 1)
	go func() {
		runDone <- mainContext(ctx, []string{"run", "--flink", url, "--data-dir", t.TempDir()}, strings.NewReader(""), &logs, &logs)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "job not acted on") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-runDone
	out := logs.String()
	for _, want := range []string{"job not acted on", "not managed: job.autoscaler.enabled is not true", "--all-jobs", "level=INFO"} {
		if !strings.Contains(out, want) {
			t.Errorf("run's log lacks %q:\n%s", want, out)
		}
	}
}
