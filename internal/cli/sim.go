package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the sim command lands; it must be replaced before release.
func newSimCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sim",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("sim: not built yet") },
	}
}
