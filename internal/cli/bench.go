package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the bench command lands; it must be replaced before release.
func newBenchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "bench",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("bench: not built yet") },
	}
}
