package flinktune

// drainSurplus reports whether the vertices halfway down may be scaled down as the surplus of
// the last scale-up, sized to drain a backlog (CatchUpSized): shed once the lag is gone, after
// scale-down.interval rather than settle, and without freeing the slots a scale-down must
// otherwise free (scaleDown).
//
// That surplus is the capacity the drain added above the demand the scale-up was sized for.
// Once the demand has fallen below that level, the vertices are low because of the fall, not
// the drain: a scale-down then bets that the lower level lasts, as any other does, and is
// judged as one. A fall back to a level the demand held before a spike (lowPeak) is no such
// bet: the spike's scale-up is shed as before (gen-109, gen-118: held, 31% and 24% more
// parallelism-seconds), also once the spike has left the window, if the wait began at its end
// (lowAtLevel: the scale-down waits settle after the spike's scale-up, longer than the span). Without this, a drain-sized scale-up at a job's start left the flag set for
// as long as no scale-down followed, and a load step down 45 minutes later was scaled down
// after 20 minutes as "surplus", where the slots it freed would not have started one; the
// next step up within settle reversed it (gen-12: down at 68 min, up at 86 min, 3 rescales
// against the operator's 1).
func (p *Policy) drainSurplus(e *evaluation) bool {
	if !p.st.CatchUpSized {
		return false
	}
	if p.st.CatchUpDemand <= 0 || e.ingest <= 0 {
		return true // sized before the demand was recorded, or no source demand measured
	}
	return e.ingest >= (1-fallingShare)*p.st.CatchUpDemand || e.backAtLevel() || p.lowAtLevel()
}
