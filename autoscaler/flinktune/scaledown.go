package flinktune

import "time"

// fallingShare is how much of the demand a trend must shed over settle to count as falling.
const fallingShare = 0.1

// downWait is how long the demand must have been low before a scale-down.
//
// A scale-down bets that the demand stays below the new capacity for settle. After
// scale-down.interval of a flat low demand, that bet is poor: a level is about as likely to
// end within settle as not (gen-44, 62, 161: a step or ramp up within 30 min of the scale-down
// reversed it). A level held for settle, or a demand still falling (a diurnal evening), keeps
// the bet, so only a flat or rising demand waits the longer of the two. Waiting settle for
// every scale-down removed oscillations but held the falling half of every daily curve too
// (kafka-diurnal 1.2% over the operator's parallelism-seconds).
//
// The surplus of a scale-up sized to drain a backlog is no bet on the level (it was sized for
// lag that is gone), so it is shed after scale-down.interval.
func (p *Policy) downWait(e *evaluation, surplus bool) time.Duration {
	if surplus || falling(e, p.o.Settle) {
		return p.lowFor()
	}
	return max(p.lowFor(), p.o.Settle)
}

// falling reports whether the job's total source demand trends down by more than
// fallingShare of itself over d.
func falling(e *evaluation, d time.Duration) bool {
	return e.ingest > 0 && e.slope*d.Seconds() < -fallingShare*e.ingest
}
