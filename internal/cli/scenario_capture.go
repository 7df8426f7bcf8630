package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario/capture"
	"github.com/spf13/cobra"
)

func newScenarioCaptureCmd() *cobra.Command {
	var (
		flink, jobID, out, name string
		window                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "capture --flink URL [--job ID] [--out FILE]",
		Short: "Turn a running Flink job into a scenario (its twin on the simulator)",
		Long: `Read a running job over Flink's REST API twice, --window apart, and write a
scenario (scenarios/FORMAT.md) that runs the same job on the simulator:

  graph         one vertex per job vertex, ship strategies from the plan, slot
                sharing groups, parallelism and max parallelism
  capacity      records/s per subtask at 100% busy: the rate through the vertex
                over its busy fraction (accumulated busy time over the window)
  selectivity   records out over records in
  recordBytes   the size of a record each vertex sends: numBytesOut over
                numRecordsOut
  state         each vertex's state size in the latest completed checkpoint
  load          each source's rate plus its lag growth (pendingRecords), with the
                current lag as a start backlog
  cluster       TaskManagers, slots and the scheduler's timers

Not captured (the format's defaults are used, and the file says so): key skew,
heap per record, the restart model and scaling efficiency. A vertex busy less than
2% has no measurable capacity: it gets 50 times its current rate.

Capture a job that is steady and not rescaling, and has run a few thousand
records since it (re)started: until then the JVM runs its per-record code
interpreted, and the file notes a vertex whose busy time per record moved between
the window's halves. The busier its vertices, the better the service times. Run the twin with flinktune sim or flinktune bench.`,
		Example: `  flinktune scenario capture --flink http://localhost:8081 --job 5f0c... --out twin.yaml
  flinktune scenario capture --flink http://localhost:8081 --window 2m > twin.yaml
  flinktune bench --scenario twin.yaml --policy flinktune`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flink == "" {
				return usagef("--flink is required (the JobManager's REST address, e.g. http://localhost:8081)")
			}
			if window < time.Second {
				return usagef("--window %s: want at least 1s (30s or more gives steadier rates)", window)
			}
			client, err := flinkrest.New(flink)
			if err != nil {
				return usagef("--flink %q: %v", flink, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if jobID == "" {
				if jobID, err = onlyRunningJob(ctx, client); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "capturing job %s over %s ...\n", jobID, window)
			tw, err := capture.Capture(ctx, client, jobID, capture.Options{Window: window, Name: name})
			if err != nil {
				return err
			}
			printMeasured(cmd, tw)
			if out == "" {
				_, err = cmd.OutOrStdout().Write(tw.YAML)
				return err
			}
			if err := os.WriteFile(out, tw.YAML, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "twin: %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&flink, "flink", "", "Flink REST URL (required)")
	f.StringVar(&jobID, "job", "", "job id (default: the only running job)")
	f.StringVar(&out, "out", "", "write the scenario to this file (default: stdout)")
	f.StringVar(&name, "name", "", "scenario name (default: the job's name)")
	f.DurationVar(&window, "window", 30*time.Second, "time between the two samples")
	return cmd
}

// printMeasured writes what was measured per vertex to stderr, so the YAML on stdout stays clean.
func printMeasured(cmd *cobra.Command, tw *capture.Twin) {
	w := tabwriter.NewWriter(cmd.ErrOrStderr(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "VERTEX\tP\tBUSY\tIN/S\tOUT/S\tCAPACITY/SUBTASK\tSELECTIVITY\tSTATE\tLOAD/S")
	for _, v := range tw.Vertices {
		load := ""
		if v.Load > 0 {
			load = fmt.Sprintf("%.1f", v.Load)
		}
		fmt.Fprintf(w, "%s\t%d\t%.1f%%\t%.1f\t%.1f\t%.1f\t%.3f\t%d\t%s\n", v.ID, v.Parallelism, 100*v.Busy,
			v.RateIn, v.RateOut, v.Capacity, v.Selectivity, v.StateBytes, load)
	}
	w.Flush()
}

// onlyRunningJob is the cluster's one running job; several or none is an error naming them.
func onlyRunningJob(ctx context.Context, c *flinkrest.Client) (string, error) {
	jobs, err := c.Jobs(ctx)
	if err != nil {
		return "", err
	}
	var running []string
	for _, j := range jobs.Jobs {
		if j.Status == "RUNNING" {
			running = append(running, j.ID)
		}
	}
	if len(running) != 1 {
		return "", usagef("--job is required: %d jobs are running (%v)", len(running), running)
	}
	return running[0], nil
}
