package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the plan command lands; it must be replaced before release.
func newPlanCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("plan: not built yet") },
	}
}
