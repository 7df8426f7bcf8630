package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/planner"
	"github.com/flinktune/flinktune/planner/batch"
)

func newPlanCmd() *cobra.Command {
	var output, svgPath, htmlPath string
	var noSearch bool
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Plan TaskManagers for a job: Flink's own slot allocation, a better packing, better shapes",
		Long: `Plan how many TaskManagers of which shape a job needs before deploying it.

The input (YAML, "-" for stdin) describes the TaskManager, either as a Flink
configuration (config: or configFile:, derived through Flink's memory model) or as
the slot manager's totals (resources: with slots:), and the job's slot-sharing
groups with their parallelism and, for fine-grained resource management, their
resource profile (cpu, taskHeap, taskOffHeap, managed, network, extended).
Optional: the cluster's registered and pending TaskManagers, slot-manager options
by Flink key, and a catalog of TaskManager shapes with relative costs.

flinktune then reports:
  - Flink's own outcome, exactly: default slots, first fit over registered and
    pending TaskManagers (or least utilization with
    cluster.evenly-spread-out-slots), identical new TaskManagers, redundant ones,
    min/max limits, and Flink's errors when a request cannot be served;
  - the coarse-grained slot count per slot-sharing group;
  - the lower bound (per resource dimension) and a better packing on the same
    shape (first-fit/best-fit decreasing and more), never more TaskManagers than
    Flink's, with unused resources per dimension;
  - each catalog shape, a mixed plan, and the single shape that wastes least,
    with the Flink configuration to paste.

Exit status: 0 when Flink can run the job, 1 when Flink cannot give the job its
slots (the plan is still printed), 2 for bad input.

See also: flinktune plan batch (adaptive batch scheduler parallelism).`,
		Example: `  flinktune plan examples/plan/fragmentation.yaml
  flinktune plan examples/plan/coarse-4096m.yaml --svg occupancy.svg
  flinktune plan examples/plan/gpu-catalog.yaml --output json | jq .recommended.taskManagers`,
		Args: oneInputFile("plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "table", "json", "yaml"); err != nil {
				return err
			}
			spec, warns, err := planner.LoadFile(args[0], cmd.InOrStdin(), planner.LoadOptions{})
			if err != nil {
				return usageError{err}
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if noSearch {
				spec.Search.Disabled = true
			}
			res, err := planner.Plan(spec)
			if err != nil {
				return usageError{err}
			}
			if svgPath != "" {
				var buf bytes.Buffer
				if err := planner.RenderSVG(&buf, res); err != nil {
					return err
				}
				if err := os.WriteFile(svgPath, buf.Bytes(), 0o644); err != nil {
					return err
				}
			}
			if htmlPath != "" {
				var svg, text bytes.Buffer
				if err := planner.RenderSVG(&svg, res); err != nil {
					return err
				}
				if err := planner.RenderText(&text, res); err != nil {
					return err
				}
				var page bytes.Buffer
				if err := dashboard.WritePlanReport(&page, "flinktune plan "+args[0], svg.Bytes(), text.String()); err != nil {
					return err
				}
				if err := os.WriteFile(htmlPath, page.Bytes(), 0o644); err != nil {
					return err
				}
			}
			if err := writePlanOutput(cmd.OutOrStdout(), output, res, planner.RenderText); err != nil {
				return err
			}
			if !res.FlinkDefault.Fulfillable {
				fmt.Fprintln(cmd.ErrOrStderr(), "flinktune: Flink cannot give this job its slots (see above)")
				return exitError{ExitFailure}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	cmd.Flags().StringVar(&svgPath, "svg", "", "also draw TaskManager occupancy as SVG into this file")
	cmd.Flags().StringVar(&htmlPath, "html", "", "also write the occupancy picture and the plan as a self-contained HTML page into this file")
	cmd.Flags().BoolVar(&noSearch, "no-search", false, "skip the single-best-shape search")
	cmd.AddCommand(newPlanBatchCmd())
	return cmd
}

func newPlanBatchCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "batch FILE",
		Short: "Per-vertex parallelism from consumed data volume, as Flink's adaptive batch scheduler decides it",
		Long: `Decide each vertex's parallelism from the data it consumes, as Flink's adaptive
batch scheduler does (DefaultVertexParallelismAndInputInfosDecider, Flink 1.17-1.20),
and which subpartitions each subtask reads.

The input (YAML, "-" for stdin) holds the scheduler options by Flink key
(execution.batch.adaptive.auto-parallelism.min-parallelism, .max-parallelism,
.avg-data-volume-per-task, .default-source-parallelism; the 1.15/1.16 keys
jobmanager.adaptive-batch-scheduler.* work too) and the vertices in topological
order. A vertex lists its inputs: type all_to_all or pointwise, broadcast,
partitions (or from: an upstream vertex, whose decided parallelism is the number
of partitions), subpartitions, and the bytes as totalBytes, subpartitionBytes
(per partition, per subpartition) or uniformSubpartitionBytes.

Set legacyPow2: true to use the 1.15/1.16 power-of-two decider instead.`,
		Example: `  flinktune plan batch examples/plan/batch.yaml
  flinktune plan batch examples/plan/batch.yaml --output json`,
		Args: oneInputFile("plan batch"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "table", "json", "yaml"); err != nil {
				return err
			}
			job, warns, err := batch.LoadFile(args[0], cmd.InOrStdin())
			if err != nil {
				return usageError{err}
			}
			for _, w := range warns {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			res, err := batch.Decide(job)
			if err != nil {
				return err
			}
			return writePlanOutput(cmd.OutOrStdout(), output, res, batch.RenderText)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	return cmd
}

// oneInputFile accepts exactly one argument, the input file ("-" for stdin).
func oneInputFile(name string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usagef("%s accepts 1 arg (the input file, or - for stdin), received %d; see flinktune %s --help", name, len(args), name)
		}
		return nil
	}
}

func writePlanOutput[T any](w io.Writer, output string, res T, text func(io.Writer, T) error) error {
	if output != "table" {
		return writeDoc(w, output, res)
	}
	return text(w, res)
}
