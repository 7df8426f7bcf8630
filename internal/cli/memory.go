package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the memory command lands; it must be replaced before release.
func newMemoryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "memory",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("memory: not built yet") },
	}
}
