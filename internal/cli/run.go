package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the run command lands; it must be replaced before release.
func newRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("run: not built yet") },
	}
}
