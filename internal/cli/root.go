// Package cli wires flinktune's subcommands to the packages that do the work. It holds no
// logic of its own beyond flags, input/output formats and exit codes.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and reports a failure (e.g. Flink would reject the config)
	ExitUsage   = 2 // bad flags or input
)

// usageError marks errors caused by how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code for a failure that has already been reported.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs flinktune with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "flinktune:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "flinktune",
		Short: "Right-size Apache Flink: memory, slots and parallelism",
		Long: `flinktune right-sizes Apache Flink so that nobody hand-tunes memory, slots or
parallelism again. It derives memory exactly as Flink does, tunes it from observed use,
autoscales jobs in place through Flink's REST API, plans TaskManager shapes, and ships a
deterministic Flink cluster simulator to try all of it without a cluster.

Start with:
  flinktune demo                    autoscaling on the built-in simulator, side by side
  flinktune memory flink-conf.yaml  every memory pool Flink will derive, and why`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newMemoryCmd(),
		newSimCmd(),
		newRunCmd(),
		newBenchCmd(),
		newDemoCmd(),
		newTuneCmd(),
		newPlanCmd(),
		newEventsCmd(),
		newScenarioCmd(),
	)
	return root
}
