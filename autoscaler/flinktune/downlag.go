package flinktune

import (
	"fmt"
	"math"
)

// A scale-down's own restart and the lag objective (issue 9, lag-side trade-offs). A
// scale-down saves resources but never lag, and its restart leaves the replay and the
// downtime's input behind, which drains only at the surplus the smaller job keeps.
// restartUndrained bounds the whole drain by catch-up.duration; that still let a restart
// leave several times lag.max behind and hold it there for minutes, because a large state
// makes the downtime long and the replay large: gen-169 (26 GB of RocksDB state) scaled down
// with 156 s down and 234 s replayed estimated, 389 s of input behind at a 0.77 surplus, and
// its lag stayed above a 60 s objective for 15 minutes (901 s against the operator's 139 s,
// which never scaled down); gen-87 left 159 s behind at a 0.43 surplus (202 s against 0 s).
//
// Evidence: the restart's estimated lag (restartLag: replay and downtime backlog), its
// downtime, and the capacity the scale-down keeps over the demand.
// Decision: the excess over lag.max the restart leaves must drain, at the kept surplus,
// within the restart's downtime: the time above the objective is then at most about twice
// the outage, which no policy that rescales avoids, instead of being set by how thin the
// smaller job's headroom is.
// Cost (h26, 27 held-out seeds): the held scale-downs keep parallelism (+2% to +27% in 8
// seeds, one rescale fewer in each; gen-167 dominates -> trade-off at +0.3% over the operator,
// whose own rescale costs it lag as well: the restart's numbers alone do not tell the two apart).

// drainAboveObjective is how long, once the job is back, the lag a restart left behind
// stays above lag.max, draining at surplus (records/s over the demand).
func (p *Policy) drainAboveObjective(e *evaluation, sz sizing, surplus float64) float64 {
	excess := sz.restart/e.ingest - p.o.MaxLag.Seconds() // seconds of input above the objective
	if excess <= 0 {
		return 0
	}
	if surplus <= 0 {
		return math.Inf(1)
	}
	return excess * e.ingest / surplus
}

// restartOverObjective says why a scale-down to target is not worth its restart against the
// lag objective, or "": see drainAboveObjective. The surplus is that of restartUndrained
// (the slowest vertex against the highest demand of the window or the forecast).
func (p *Policy) restartOverObjective(e *evaluation, sz sizing, target map[string]int) string {
	if e.ingest <= 0 || sz.restart <= 0 {
		return ""
	}
	surplus := srcCapacity(e, target) - restartDemand(e)
	drain := p.drainAboveObjective(e, sz, surplus)
	if drain <= sz.down0 {
		return ""
	}
	return fmt.Sprintf("its restart would leave %.0fs of input behind, above %s for %.0fs after %.0fs down",
		sz.restart/e.ingest, p.o.MaxLag, drain, sz.down0)
}
