package cli

import (
	"fmt"
	"maps"
	"net"
	"strconv"
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

// checkListen validates a host:port flag before anything starts (a port already in use is
// found only when listening, and is a failure, not a usage error).
func checkListen(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		var n int
		n, err = strconv.Atoi(port)
		if err == nil && (n < 0 || n > 65535) {
			err = fmt.Errorf("port %d out of range", n)
		}
	}
	if err != nil {
		return usagef("%s %q: want host:port such as 127.0.0.1:9249 or :9249 (%v)", flag, addr, err)
	}
	return nil
}

// checkJobID validates a Flink job id: 32 hexadecimal characters.
func checkJobID(flag, id string) error {
	if len(id) != 32 || strings.Trim(strings.ToLower(id), "0123456789abcdef") != "" {
		return usagef("%s %q: want a Flink job id, 32 hexadecimal characters (flinktune tune --flink URL without --job lists the jobs)", flag, id)
	}
	return nil
}
