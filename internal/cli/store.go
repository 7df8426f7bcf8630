package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/flinktune/flinktune/store"
	"github.com/spf13/cobra"
)

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store (check|repair|export)",
		Short: "Check, repair or export flinktune run's data directory",
		Long: `Inspect and recover the database flinktune run keeps in its data directory
(flinktune.db: policy state, rescale intents, scaling history, events).

flinktune run refuses to start on a damaged database and names these commands:
  check   reads everything and reports what is damaged (exit 1 if anything is)
  repair  copies every readable record into a new database that replaces the damaged
          one; the damaged file is kept next to it as flinktune.db.damaged-<time>
  export  prints every readable record as one JSON document

All three need flinktune run to be stopped (it holds the data directory).`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown subcommand %q: want check, repair or export", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("want a subcommand: check, repair or export (see flinktune store --help)")
		},
	}
	cmd.AddCommand(newStoreCheckCmd(), newStoreRepairCmd(), newStoreExportCmd())
	return cmd
}

// storeFlags are the flags every store subcommand takes.
type storeFlags struct {
	dataDir, output string
	timeout         time.Duration
}

func (f *storeFlags) add(cmd *cobra.Command, outputs string) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", defaultDataDir(), "flinktune run's data directory")
	cmd.Flags().DurationVar(&f.timeout, "timeout", time.Minute, "give up on a part of the file that takes longer than this to read")
	if outputs != "" {
		cmd.Flags().StringVarP(&f.output, "output", "o", "table", outputs)
	}
}

func (f *storeFlags) validate() error {
	if f.output != "" { // export has no --output
		if err := checkOutput(f.output, "table", "json"); err != nil {
			return err
		}
	}
	if f.timeout <= 0 {
		return usagef("--timeout %s: want a positive duration such as 1m", f.timeout)
	}
	return nil
}

func newStoreCheckCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Report whether the data directory's database is damaged (exit 1 if it is)",
		Example: `  flinktune store check
  flinktune store check --data-dir /var/lib/flinktune -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			rep, err := store.Check(f.dataDir, f.timeout)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.output == "json" {
				if err := writeStoreJSON(out, rep); err != nil {
					return err
				}
			} else {
				printStoreReport(out, rep, f.dataDir)
			}
			if !rep.Healthy {
				return exitError{ExitFailure}
			}
			return nil
		},
	}
	f.add(cmd, "table or json")
	return cmd
}

func printStoreReport(w io.Writer, rep store.Report, dir string) {
	state := "healthy"
	if !rep.Healthy {
		state = "DAMAGED"
	}
	fmt.Fprintf(w, "%s: %s (%d bytes)\n", rep.Path, state, rep.Size)
	fmt.Fprintf(w, "readable: %d jobs, %d history entries, %d events\n", rep.Jobs, rep.History, rep.Events)
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	for i, s := range rep.Skipped {
		if i == 20 {
			fmt.Fprintf(w, "... and %d more unreadable records\n", len(rep.Skipped)-20)
			break
		}
		fmt.Fprintf(w, "unreadable record: %s: %s\n", s.Where, s.Err)
	}
	if !rep.Healthy {
		fmt.Fprintf(w, "to recover: flinktune store repair --data-dir %s (keeps the damaged file)\n", dir)
	}
}

func newStoreRepairCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "repair",
		Short: "Replace a damaged database with a new one holding every readable record",
		Long: `Copy every record that can still be read (job state, intents, history, events)
into a new database, move the damaged file aside as flinktune.db.damaged-<time>, and put
the new one in its place. Unreadable records are listed and left behind. A healthy
database is left alone.`,
		Example: `  flinktune store repair --data-dir /var/lib/flinktune`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			rep, err := store.Check(f.dataDir, f.timeout)
			if err != nil {
				return err
			}
			if rep.Healthy {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is healthy: nothing to repair\n", rep.Path)
				return nil
			}
			res, err := store.Repair(f.dataDir, time.Now(), f.timeout)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return writeStoreJSON(cmd.OutOrStdout(), res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "repaired %s: kept %d jobs, %d history entries, %d events; left %d unreadable records behind\n",
				res.Path, res.Jobs, res.History, res.Events, res.Skipped)
			fmt.Fprintf(w, "the damaged file is at %s\n", res.Damaged)
			for _, p := range res.Problems {
				fmt.Fprintf(w, "damage found: %s\n", p)
			}
			return nil
		},
	}
	f.add(cmd, "table or json")
	return cmd
}

func newStoreExportCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print every readable record of the database as one JSON document",
		Long: `Print every record that can be read (jobs with their policy state, intent and
history; events), damaged database or not, as one JSON document. Unreadable records and
damage found are listed under "skipped" and "problems". Nothing is changed.`,
		Example: `  flinktune store export > flinktune-store.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			d, err := store.Salvage(f.dataDir, f.timeout)
			if err != nil {
				return err
			}
			return writeStoreJSON(cmd.OutOrStdout(), d)
		},
	}
	f.add(cmd, "")
	return cmd
}

func writeStoreJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
