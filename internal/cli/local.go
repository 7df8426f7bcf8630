package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/scenario"
)

func newLocalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local up|status|down",
		Short: "Run a real Flink standalone cluster on this machine",
		Long: `local runs a real Apache Flink session cluster on 127.0.0.1: a JobManager on the adaptive
scheduler (so that flinktune run can rescale its jobs in place) and TaskManagers, each started
the way Flink's scripts start it, with the JVM flags and dynamic properties that flinktune's
memory model derives (byte for byte what Flink's BashJavaUtils prints) and the Java 17 options
of Flink's distribution.

Flink comes from Maven Central, not from a download: prepare a version once with
  FLINKTUNE_FLINK_VERSIONS=2.2.1 scripts/integration.d/10-real-flink.sh
(tested: 1.20.5 and 2.2.1), or pass --dist DIR.

With --kafka, a single-node Kafka broker (KRaft mode, Kafka 4.1 from Maven Central) runs beside
it on 127.0.0.1; local submit then feeds each scenario source's own topic at its load schedule,
and the job reads it with Flink's Kafka connector.

Without --compress the launcher sets Flink's timers short for a small machine (metric fetcher
2 s, rescale cooldown 5 s, resource stabilization 2 s); --compress F sets every Flink timer that
has an option to Flink's default (or the --set value) divided by F, to run scenarios compressed
as much (scenarios/FORMAT.md, "Time scale").

The cluster outlives the command; its state (pids, ports, log files) is in --dir, which
status and down read. down stops every process (the broker and producers included) and
checks that every port is free.`,
		Example: `  flinktune local up --taskmanagers 2 --set taskmanager.memory.process.size=1200m
  flinktune local submit --scenario local/testdata/autoscale-real.yaml
  flinktune local up --kafka --compress 2 --taskmanagers 2 --flink-version 1.20.5
  flinktune local submit --scenario local/testdata/autoscale-kafka.yaml --compress 2
  flinktune local status
  flinktune run --flink http://127.0.0.1:<port> --all-jobs
  flinktune local down`,
	}
	dir := filepath.Join(local.CacheDir(), "local")
	cmd.PersistentFlags().StringVar(&dir, "dir", dir, "directory holding the cluster's configuration, logs and state")
	cmd.AddCommand(newLocalUpCmd(&dir), newLocalStatusCmd(&dir), newLocalDownCmd(&dir), newLocalSubmitCmd(&dir))
	return cmd
}

func newLocalUpCmd(dir *string) *cobra.Command {
	var (
		version, distDir, output string
		tms                      int
		sets                     []string
		kafka                    bool
		compress                 float64
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a JobManager and TaskManagers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			if tms < 0 {
				return usagef("--taskmanagers %d: want 0 or more", tms)
			}
			conf := map[string]string{}
			for _, s := range sets {
				k, v, err := flinkconf.ParseOverride(s)
				if err != nil {
					return usageError{err}
				}
				conf[k] = v
			}
			if st, err := local.ReadState(*dir); err == nil {
				return fmt.Errorf("a cluster is already recorded in %s (REST %s): run flinktune local down first", *dir, st.RESTURL)
			}
			d, err := local.FindDist(version, distDir)
			if err != nil {
				return err
			}
			if compress != 1 {
				timers, err := scenario.CompressFlinkTimers(conf, local.ScenarioVersion(d), compress)
				if err != nil {
					return usagef("--compress: %v", err)
				}
				maps.Copy(conf, timers)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Minute)
			defer cancel()
			c, err := local.Start(ctx, local.Spec{Dist: d, Dir: *dir, TaskManagers: tms, Config: conf, Detached: true})
			if err != nil {
				return err
			}
			if kafka {
				if err := c.StartKafka(ctx); err != nil {
					_ = c.Stop()
					return fmt.Errorf("Kafka broker: %w", err)
				}
			}
			st, err := local.ReadState(*dir)
			if err != nil {
				return err
			}
			_ = c
			return printLocalState(cmd.OutOrStdout(), st, output, "started")
		},
	}
	f := cmd.Flags()
	f.StringVar(&version, "flink-version", local.DefaultVersion, "Flink version (prepared with scripts/integration.d/10-real-flink.sh)")
	f.StringVar(&distDir, "dist", "", "a prepared Flink classpath directory (version, classpath.txt, harness.jar)")
	f.IntVar(&tms, "taskmanagers", 1, "TaskManagers to start")
	f.BoolVar(&kafka, "kafka", false, "also start a single-node Kafka broker (KRaft) on 127.0.0.1; local submit then feeds each scenario source's topic at its load schedule")
	f.Float64Var(&compress, "compress", 1, "run Flink's own timers with options (metric fetcher, adaptive scheduler cooldown and stabilization, resource wait; per version) this many times faster, for scenarios submitted with --compress")
	f.StringArrayVar(&sets, "set", nil, "Flink option key=value for every process (repeatable), e.g. taskmanager.memory.process.size=1200m")
	f.StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newLocalStatusCmd(dir *string) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the local cluster's processes and REST endpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := local.ReadState(*dir)
			if err != nil {
				return err
			}
			return printLocalState(cmd.OutOrStdout(), st, output, "")
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newLocalSubmitCmd(dir *string) *cobra.Command {
	var (
		file     string
		job      int
		compress float64
		loadFrom string
		wait     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "submit --scenario FILE",
		Short: "Run a scenario's job on the local cluster",
		Long: `submit runs one job of a flinktune scenario on the local cluster, the same job graph the
simulator runs: one Flink vertex per scenario vertex (named as in the scenario), each vertex's
capacity as a per-record service time, its selectivity and keyed state, and sources that
behave like a partitioned log fed at the scenario's load schedule (from when, see below) with its start
backlog, reporting pendingRecords. When the cluster runs a Kafka broker (local up --kafka), each
source reads a topic of its own with Flink's Kafka connector instead, filled at the load schedule
by a producer that stops with the cluster, so lag and pendingRecords are Kafka's. Give the cluster the slots the job needs (local up
--set taskmanager.numberOfTaskSlots=N). Prints the job id.

The load schedule's t = 0 is when every vertex of the job runs (--load-from running, the
default: submit waits for it, up to --wait), so the client JVM and the deployment, which take
a minute and more on a loaded machine, do not play the schedule's first steps before any task
runs; until then the sources hold only the start backlog. --load-from submit counts from the
submission and returns at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("--scenario: required")
			}
			if loadFrom != "running" && loadFrom != "submit" {
				return usagef("--load-from %q: want running or submit", loadFrom)
			}
			sc, err := scenario.Load(file)
			if err != nil {
				return err
			}
			if job < 0 || job >= len(sc.Jobs) {
				return usagef("--job %d: scenario %s has %d job(s), numbered from 0", job, sc.Name, len(sc.Jobs))
			}
			if compress != 1 {
				if sc, err = sc.Compress(compress, policies.IsTimelineDuration); err != nil {
					return usagef("--compress: %v", err)
				}
			}
			st, err := local.ReadState(*dir)
			if err != nil {
				return err
			}
			d, err := local.FindDist(st.FlinkVersion, "")
			if err != nil {
				return err
			}
			spec, err := local.ScenarioSpec(sc, job, time.Now())
			if err != nil {
				return err
			}
			if loadFrom == "running" {
				spec.LoadOnSignal(*dir, time.Now())
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute+wait)
			defer cancel()
			var load *local.Process
			if st.KafkaBootstrap != "" {
				spec.UseKafka(st.KafkaBootstrap)
				if load, err = local.StartKafkaLoad(ctx, d, *dir, spec, true); err != nil {
					return err
				}
				if err := local.RecordProcess(*dir, load); err != nil {
					load.Kill(5 * time.Second)
					return err
				}
			}
			id, err := local.SubmitScenario(ctx, d, st.RESTURL, *dir, spec)
			if err != nil {
				if load != nil {
					load.Kill(5 * time.Second) // local down skips a process that is gone
				}
				return err
			}
			if loadFrom == "running" {
				var confirm func(time.Time) error
				if load != nil {
					// The producer checks the origin file every 100 ms: 15 s is a loaded
					// machine's stall, not a wait.
					confirm = func(at time.Time) error { return local.ConfirmLoadOrigin(ctx, load, at, 15*time.Second) }
				}
				if err := startLoadWhenRunning(ctx, cmd.ErrOrStderr(), st.RESTURL, id, spec, wait, confirm); err != nil {
					return err
				}
			}
			fmt.Fprintln(cmd.OutOrStdout(), id)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "scenario", "", "scenario YAML file")
	cmd.Flags().IntVar(&job, "job", 0, "which of the scenario's jobs (from 0)")
	cmd.Flags().StringVar(&loadFrom, "load-from", "running", "when the load schedule's t = 0 is: running (once every vertex of the job runs) or submit (at the submission)")
	cmd.Flags().DurationVar(&wait, "wait", 3*time.Minute, "with --load-from running, how long to wait for the job to run")
	cmd.Flags().Float64Var(&compress, "compress", 1, "run the scenario's timeline this many times faster (load schedule, restart model, SLO, Flink timers and autoscaler windows it sets; rates and backlogs unchanged); pair with local up --compress and run --compress")
	return cmd
}

func newLocalDownCmd(dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the local cluster and free its ports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := local.Down(*dir, 15*time.Second)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stopped %d processes; ports %v are free\n", len(st.Processes), st.Ports)
			return nil
		},
	}
}

func printLocalState(w io.Writer, st *local.State, output, verb string) error {
	type proc struct {
		local.ProcessState
		Alive bool `json:"alive"`
	}
	if output == "json" {
		out := struct {
			*local.State
			Processes []proc `json:"processes"`
		}{State: st}
		for _, p := range st.Processes {
			out.Processes = append(out.Processes, proc{p, p.Alive()})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if verb != "" {
		fmt.Fprintf(w, "%s Flink %s: REST %s\n", verb, st.FlinkVersion, st.RESTURL)
	} else {
		fmt.Fprintf(w, "Flink %s: REST %s\n", st.FlinkVersion, st.RESTURL)
	}
	if st.KafkaBootstrap != "" {
		fmt.Fprintf(w, "Kafka broker: %s\n", st.KafkaBootstrap)
	}
	fmt.Fprintf(w, "%-12s %-8s %-6s %s\n", "PROCESS", "PID", "ALIVE", "LOG")
	for _, p := range st.Processes {
		alive := "no"
		if p.Alive() {
			alive = "yes"
		}
		fmt.Fprintf(w, "%-12s %-8d %-6s %s\n", p.ID, p.PID, alive, p.Log)
	}
	fmt.Fprintln(w, strings.TrimSpace(`
stop with: flinktune local down`))
	return nil
}

// startLoadWhenRunning waits until every vertex of the submitted job runs, then starts the
// spec's load schedule (the origin file its sources read). The job stays submitted when it
// does not run in time: the error names it, and its sources hold the backlog until the origin
// is written. confirm, when not nil, waits for the load's producer (a Kafka producer, its own
// process) to have read the origin: the schedule has started only then.
func startLoadWhenRunning(ctx context.Context, progress io.Writer, restURL, id string, spec *local.JobSpec, wait time.Duration, confirm func(time.Time) error) error {
	fmt.Fprintf(progress, "job %s submitted; waiting up to %s for every vertex to run before the load starts\n", id, wait)
	if err := local.WaitJobRunning(ctx, restURL, id, wait); err != nil {
		return fmt.Errorf("%w: its load has not started (the sources hold the start backlog); cancel it with PATCH %s/jobs/%s, or submit with --load-from submit", err, restURL, id)
	}
	at, err := spec.StartLoad(time.Now())
	if err != nil {
		return fmt.Errorf("job %s runs but its load could not start: %w", id, err)
	}
	if confirm != nil {
		if err := confirm(at); err != nil {
			return fmt.Errorf("job %s runs and its load origin is written, but the load's producer has not started its schedule: %w", id, err)
		}
	}
	fmt.Fprintf(progress, "job %s running; load schedule started at %s\n", id, at.UTC().Format(time.RFC3339))
	return nil
}
