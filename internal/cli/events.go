package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the events command lands; it must be replaced before release.
func newEventsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "events",
		Short: "(not built yet)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("events: not built yet") },
	}
}
