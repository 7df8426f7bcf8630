package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

type simOpts struct {
	scenario    string
	listen      string
	speed       speedFlag
	duration    string
	statusEvery time.Duration
	output      string
	seed        int64
}

func newSimCmd() *cobra.Command {
	o := &simOpts{speed: speedFlag{factor: 1}}
	cmd := &cobra.Command{
		Use:   "sim --scenario FILE|NAME",
		Short: "Run a simulated Flink cluster that serves Flink's REST API",
		Long: `sim runs a deterministic simulation of a Flink cluster and serves Flink's JobManager REST
API for it, so that flinktune, the Kubernetes operator's autoscaler, the flink CLI or curl can
watch and rescale its jobs as if it were real.

The scenario (a YAML file, or the name of a built-in one: ` + strings.Join(scenarios.Names(), ", ") + `)
describes the cluster (Flink configuration, TaskManagers provisioned on demand between min and
max), the jobs (vertices with capacity, skew, partitions, state), their load over time and the
faults they meet; see scenarios/FORMAT.md.

The simulation runs in real time at --speed simulated seconds per wall second (the time scale of
scenarios/FORMAT.md) and stops after --duration of simulated time (default: the scenario's
duration) or on Ctrl-C. The REST API reports simulated time; flinktune run measures that clock and
cycles the jobs every --interval of simulated time, so its policies behave as on a real cluster. At start it prints
the REST URL, the job and vertex ids (32 hex characters, stable for a scenario) and a curl
command to rescale; while it runs it prints one status line per --status-every on standard
error. On exit it prints each job's accounting (the numbers flinktune bench scores).

Served: /config, /overview, /jobs, /jobs/overview, /jobs/<id> (details and plan), vertices,
subtask metrics with get/agg/subtasks, /taskmanagers and their metrics, /jobmanager/config and
metrics, /jobs/<id>/jobmanager/config, checkpoints, exceptions, resource-requirements (GET and
PUT, validated as Flink does), savepoints; a "/v1" prefix is accepted. Not Flink:
/flinktune/v1/taskmanager-config (GET, PUT: roll TaskManagers onto a new configuration),
/flinktune/v1/jobs/<id>/stats, /flinktune/v1/clock.

Exit status: 0 when the run ends, 1 when the server cannot listen, 2 for bad flags or a bad
scenario.`,
		Example: `  # the built-in tenfold ramp, one simulated minute per wall second
  flinktune sim --scenario wordcount-ramp --speed 60

  # what the cluster looks like
  curl -s localhost:8081/overview
  curl -s localhost:8081/jobs/overview

  # rescale: every vertex to parallelism 4 (ids are printed at start)
  curl -s -X PUT localhost:8081/jobs/<jobid>/resource-requirements \
    -H 'Content-Type: application/json' \
    -d '{"<vertexid>": {"parallelism": {"lowerBound": 1, "upperBound": 4}}, ...}'

  # watch it happen: parallelism changes, timestamps.RUNNING moves
  curl -s localhost:8081/jobs/<jobid> | jq '.vertices[] | {name, parallelism}'

  # the autoscaler's metric query
  curl -s 'localhost:8081/jobs/<jobid>/vertices/<vertexid>/subtasks/metrics?get=busyTimeMsPerSecond&agg=max'`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("sim takes no arguments (got %q): give the scenario with --scenario", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return runSim(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.scenario, "scenario", "", "scenario file or built-in scenario name (required)")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address to serve the REST API on (port 0 picks a free port)")
	f.Var(&o.speed, "speed", fmt.Sprintf("time scale: simulated seconds per wall-clock second, %g to %g (scenarios/FORMAT.md)", minSpeed, float64(maxSpeed)))
	f.StringVar(&o.duration, "duration", "", "simulated time to run, Flink syntax (30s, 10m, 2h, 1d); default: the scenario's duration")
	f.DurationVar(&o.statusEvery, "status-every", 5*time.Second, "wall-clock interval between status lines on standard error (0: none)")
	f.StringVarP(&o.output, "output", "o", "table", "table (start-up information, then the accounting), json or yaml (one document at the end; the start-up information goes to standard error)")
	f.Int64Var(&o.seed, "seed", -1, "override the scenario's seed")
	return cmd
}

// simStart is what sim prints at start.
type simStart struct {
	URL          string   `json:"url"`
	Scenario     string   `json:"scenario"`
	FlinkVersion string   `json:"flinkVersion"`
	Seed         uint64   `json:"seed"`
	Speed        float64  `json:"speed"`
	Duration     string   `json:"duration"`
	Jobs         []simJob `json:"jobs"`
}

type simJob struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Vertices []simVertex `json:"vertices"`
}

type simVertex struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ScenarioID  string `json:"scenarioId"`
	Parallelism int    `json:"parallelism"`
	MaxParallel int    `json:"maxParallelism"`
}

func runSim(cmd *cobra.Command, o *simOpts) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if o.scenario == "" {
		return usagef("--scenario is required (a file or one of: %s)", strings.Join(scenarios.Names(), ", "))
	}
	if err := checkOutput(o.output, "table", "json", "yaml"); err != nil {
		return err
	}
	if err := checkListen("--listen", o.listen); err != nil {
		return err
	}
	if o.statusEvery < 0 {
		return usagef("--status-every %v: want a wall-clock interval such as 5s, or 0 for none", o.statusEvery)
	}
	if o.seed < -1 {
		return usagef("--seed %d: want a seed of 0 or more", o.seed)
	}
	sc, err := scenarios.Load(o.scenario)
	if err != nil {
		return usagef("%v", err)
	}
	if o.seed >= 0 {
		sc.Seed = uint64(o.seed)
	}
	dur := sc.Duration
	if o.duration != "" {
		d, ferr := flinkconf.ParseDuration(o.duration)
		if ferr != nil || d <= 0 {
			return usagef("--duration %q: want a positive duration such as 30s, 10m, 2h or 1d", o.duration)
		}
		dur = d
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		return usagef("scenario %s: %v", sc.Source, err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.listen, err)
	}
	srv := simrest.New(s, simrest.Options{})
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	start := simStart{URL: "http://" + ln.Addr().String(), Scenario: sc.Name, FlinkVersion: s.FlinkVersion(), Seed: sc.Seed,
		Speed: o.speed.factor, Duration: flinkconf.FormatDuration(dur)}
	for _, j := range s.Jobs() {
		sj := simJob{ID: j.ID, Name: j.Name}
		for _, v := range j.Vertices {
			sj.Vertices = append(sj.Vertices, simVertex{ID: v.ID, Name: v.Name, ScenarioID: v.ScenarioID, Parallelism: v.Parallelism, MaxParallel: v.MaxParallelism})
		}
		start.Jobs = append(start.Jobs, sj)
	}
	// The start-up information is for people (on standard error when standard output carries
	// the one JSON or YAML document, which repeats it with the accounting at the end).
	startOut := out
	if o.output != "table" {
		startOut = errOut
	}
	if err := printSimStart(startOut, start); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lastStatus := time.Now()
	onTick := func(s *sim.Sim) {
		if o.statusEvery > 0 && time.Since(lastStatus) >= o.statusEvery {
			lastStatus = time.Now()
			fmt.Fprintln(errOut, statusLine(s))
		}
	}
	runErr := srv.RunRealtimeUntil(ctx, o.speed.factor, dur, onTick)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hs.Shutdown(shutdownCtx)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if runErr != nil {
		return runErr
	}
	var stats []sim.Stats
	srv.Do(func(s *sim.Sim) {
		fmt.Fprintln(errOut, statusLine(s))
		for _, id := range s.JobIDs() {
			st, _ := s.Stats(id)
			st.Series = nil
			stats = append(stats, st)
		}
	})
	if o.output != "table" {
		return writeDoc(out, o.output, simReport{simStart: start, Stats: stats})
	}
	return printSimStats(out, stats)
}

// simReport is sim's one document of -o json and yaml: the start-up information and each
// job's accounting.
type simReport struct {
	simStart
	Stats []sim.Stats `json:"stats"`
}

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func printSimStart(w io.Writer, st simStart) error {
	fmt.Fprintf(w, "Flink %s REST API (simulated) at %s\n", st.FlinkVersion, st.URL)
	fmt.Fprintf(w, "scenario %s, seed %d, %s of simulated time at %gx\n", st.Scenario, st.Seed, st.Duration, st.Speed)
	for _, j := range st.Jobs {
		fmt.Fprintf(w, "\njob %s  %s\n", j.ID, j.Name)
		for _, v := range j.Vertices {
			fmt.Fprintf(w, "  vertex %s  %-30s parallelism %d (max %d)\n", v.ID, v.Name, v.Parallelism, v.MaxParallel)
		}
	}
	if len(st.Jobs) > 0 {
		j := st.Jobs[0]
		var parts []string
		for _, v := range j.Vertices {
			parts = append(parts, fmt.Sprintf(`"%s": {"parallelism": {"lowerBound": 1, "upperBound": %d}}`, v.ID, min(v.MaxParallel, v.Parallelism*2)))
		}
		fmt.Fprintf(w, "\nrescale %s (double every vertex):\n  curl -s -X PUT %s/jobs/%s/resource-requirements -H 'Content-Type: application/json' \\\n    -d '{%s}'\n",
			j.Name, st.URL, j.ID, strings.Join(parts, ", "))
		fmt.Fprintf(w, "watch:\n  curl -s %s/jobs/%s\n\n", st.URL, j.ID)
	}
	return nil
}

// statusLine is one line per job: simulated time, state, parallelism, lag, input rate, slots.
func statusLine(s *sim.Sim) string {
	var b strings.Builder
	el := s.Elapsed()
	fmt.Fprintf(&b, "sim %s", formatElapsed(el))
	if s.JobManagerDown() {
		b.WriteString(" JobManager DOWN")
	}
	c := s.Cluster()
	fmt.Fprintf(&b, " TMs %d slots %d/%d", c.TaskManagers, c.SlotsTotal-c.SlotsAvailable, c.SlotsTotal)
	for _, j := range s.Summary() {
		state := j.Status
		if j.Status == sim.StatusRunning && j.TaskState != sim.TaskRunning {
			state += "/" + j.TaskState
		}
		var ps []string
		for _, id := range slices.Sorted(maps.Keys(j.Parallelism)) {
			ps = append(ps, fmt.Sprintf("%s=%d", id, j.Parallelism[id]))
		}
		fmt.Fprintf(&b, " | %s %s p[%s] in %.0f r/s lag %d (%.0fs)", j.Name, state, strings.Join(ps, " "), j.InputRate, j.LagRecords, j.LagSeconds)
	}
	return b.String()
}

func formatElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	if days > 0 {
		return fmt.Sprintf("%dd%02d:%02d:%02d", days, h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, sec)
}

func printSimStats(w io.Writer, stats []sim.Stats) error {
	for _, st := range stats {
		fmt.Fprintf(w, "job %s (%s): %.0f s simulated\n", st.JobName, st.JobID, st.SimulatedSeconds)
		fmt.Fprintf(w, "  rescales %d, restarts %d (failures %d), downtime %.0f s\n", st.Rescales, st.Restarts, st.Failures, st.DowntimeSeconds)
		fmt.Fprintf(w, "  slot-seconds %.0f (minimal %.0f), TaskManager-seconds %.0f, parallelism-seconds %.0f\n", st.SlotSeconds, st.MinimalSlotSeconds, st.TaskManagerSeconds, st.ParallelismSeconds)
		fmt.Fprintf(w, "  lag: max %.1f s, %.0f s above the SLO\n", st.MaxLagSeconds, st.LagViolationSeconds)
		fmt.Fprintf(w, "  records: input %d = processed %d + lag %d (replayed %d)\n", st.InputRecords, st.ProcessedRecords, st.FinalLagRecords, st.ReplayedRecords)
		fmt.Fprintf(w, "  memory: OOM kills %d, container kills %d, TaskManager process %.0f MiB avg, heap used/max ≤ %.2f\n",
			st.OOMKills, st.ContainerKills, st.TaskManagerProcessBytesAvg/(1<<20), st.HeapUsedMaxRatio)
	}
	return nil
}
