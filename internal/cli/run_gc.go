package cli

import "runtime/debug"

// runGCPercent is run's garbage collection target (Go's GOGC) unless the user sets GOGC or
// GOMEMLIMIT: a long-lived service with a small steady live set trades a little CPU for half
// of the default 100% heap headroom (issue 12: 200 jobs with the dashboard under 60 MB).
const runGCPercent = 50

// setRunGC applies runGCPercent through setPercent unless lookup finds GOGC or GOMEMLIMIT
// set in the environment (theirs wins; empty is unset, as for Go's runtime); it reports
// whether it did.
func setRunGC(lookup func(string) (string, bool), setPercent func(int) int) bool {
	for _, k := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := lookup(k); ok && v != "" {
			return false
		}
	}
	setPercent(runGCPercent)
	return true
}

// defaultRunGC is setRunGC on the process's environment and Go runtime.
func defaultRunGC(lookup func(string) (string, bool)) bool {
	return setRunGC(lookup, debug.SetGCPercent)
}
