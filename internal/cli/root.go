// Package cli wires flinktune's subcommands to the packages that do the work. It holds no
// logic of its own beyond flags, input/output formats and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
	return mainContext(context.Background(), args, stdin, stdout, stderr)
}

// mainContext is Main under ctx: cancelling it stops long-running commands (run, sim) as
// SIGTERM does.
func mainContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	initCompletion(root)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "flinktune:", err)
	var ue usageError
	// cobra's own errors for an unknown subcommand are how the command was called, too.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ") {
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
		newStoreCmd(),
		newLocalCmd(),
	)
	return root
}

// initCompletion adds cobra's completion command (it captures the output writer, so after
// SetOut) where listing the shells is help and an unknown shell is a usage error, then makes
// every positional-argument error a usage error.
func initCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			// Without a shell, completion lists the shells; an unknown one is an error, not help.
			c.Args = nil
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					var shells []string
					for _, s := range c.Commands() {
						shells = append(shells, s.Name())
					}
					return usagef("completion: unknown shell %q (want one of %s)", args[0], strings.Join(shells, ", "))
				}
				return c.Help()
			}
		}
	}
	argsAreUsage(root)
}

// argsAreUsage makes every positional-argument error of cmd and its subcommands a usage
// error (exit 2), cobra's validators (cobra.NoArgs, ...) included.
func argsAreUsage(cmd *cobra.Command) {
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				var ue usageError
				if errors.As(err, &ue) {
					return err
				}
				if !c.HasSubCommands() && strings.HasPrefix(err.Error(), "unknown command ") {
					// cobra.NoArgs calls a stray argument a command.
					return usagef("%s takes no arguments, got %q; see %s --help", c.CommandPath(), a, c.CommandPath())
				}
				return usageError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		argsAreUsage(c)
	}
}
