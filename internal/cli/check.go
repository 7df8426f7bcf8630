package cli

import (
	"maps"
	"strings"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/flinkconf"
)

// checkOptions validates the job.autoscaler.* and flinktune.* options of cfg for the named
// policies up front, as `memory` checks memory keys: a misspelt key gets a "did you mean", a bad
// value names key and value, and the command exits 2 before doing anything.
func checkOptions(where string, cfg *flinkconf.Config, names ...string) error {
	if err := policies.Check(cfg, names...); err != nil {
		lines := strings.Split(err.Error(), "\n")
		return usagef("%s:\n  %s", where, strings.Join(lines, "\n  "))
	}
	return nil
}

// withOverrides is base with the key=value settings of --set over it.
func withOverrides(base map[string]string, sets []string) (*flinkconf.Config, error) {
	cfg := flinkconf.FromMap(maps.Clone(base))
	if err := cfg.ApplyOverrides(sets); err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}
