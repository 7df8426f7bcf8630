package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the tune command lands; it must be replaced before release.
func newTuneCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tune",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("tune: not built yet") },
	}
}
