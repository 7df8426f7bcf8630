package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the demo command lands; it must be replaced before release.
func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("demo: not built yet") },
	}
}
