package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/flinktune/flinktune/scenario/generate"
	"github.com/spf13/cobra"
)

func newScenarioCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scenario",
		Short: "Work with simulator scenarios",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newScenarioGenerateCmd(), newScenarioCaptureCmd())
	return cmd
}

func newScenarioGenerateCmd() *cobra.Command {
	var (
		seed  uint64
		count int
		out   string
	)
	cmd := &cobra.Command{
		Use:   "generate --seed N [--count K] [--out DIR]",
		Short: "Write random, realistic scenarios for testing scaling policies",
		Long: `Write random scenarios in the format of scenarios/FORMAT.md: one job of 2-12
vertices (chain, two-source join or union, fan-out, fan-out meeting again) with
maps, filters, flatMaps, windows, keyed processes and joins (selectivity 0.001-5,
1k-100k records/s per subtask, scaling efficiency, key skew, 0-20 GB of keyed
state on the heap or in RocksDB), Kafka-like sources (partition counts small and
prime too), loads of steps, ramps, spikes and daily curves with noise and start
backlogs, and sometimes TaskManager loss, REST errors or missing metrics.

Each job is configured as a user would run it: the initial parallelism runs the
initial load at 30-110% utilization, heap state fits the TaskManager (else
RocksDB), and partitions, max parallelism and the TaskManager limit leave room to
scale to the peak. Seed N gives scenario gen-N, the same bytes every time; with
--count K the seeds N..N+K-1. flinktune bench --generate K --seed N runs the same
scenarios.

Without --out the scenarios go to stdout, separated by "---" lines (a scenario file
holds one; write them with --out to load them).`,
		Example: `  flinktune scenario generate --seed 7
  flinktune scenario generate --seed 1 --count 200 --out corpus/
  flinktune bench --scenario corpus/gen-7.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("seed") {
				return usagef("--seed is required (any whole number; the same seed gives the same scenario)")
			}
			if count < 1 {
				return usagef("--count %d: want at least 1", count)
			}
			corpus, err := generate.Corpus(seed, count)
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
			}
			for i, g := range corpus {
				// Every scenario passes the strict loader before it is written.
				if _, err := g.Scenario(); err != nil {
					return fmt.Errorf("generated scenario %s does not load (a generator bug): %w", g.Name, err)
				}
				if out == "" {
					if i > 0 {
						fmt.Fprintln(cmd.OutOrStdout(), "---")
					}
					if _, err := cmd.OutOrStdout().Write(g.YAML); err != nil {
						return err
					}
					continue
				}
				path := filepath.Join(out, g.Name+".yaml")
				if err := os.WriteFile(path, g.YAML, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", path, g.Describe())
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&seed, "seed", 0, "seed of the first scenario (required)")
	f.IntVar(&count, "count", 1, "number of scenarios (seeds N, N+1, ...)")
	f.StringVar(&out, "out", "", "directory to write gen-<seed>.yaml files to (default: stdout)")
	return cmd
}
