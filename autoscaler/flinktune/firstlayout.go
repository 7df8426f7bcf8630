package flinktune

import "time"

// The job's initial layout is the user's, sized for a demand they know and the policy has only
// begun to see. Lowering it bets that the demand seen since the start is the job's level, and
// that bet needs the same evidence as any other level: settle of it (downWait). downWait's
// shorter cases do not apply before the policy's first rescale:
//   - a demand "falling" (downWait) over the first minutes is a single cycle's slope on a
//     noisy level, true for one cycle in a hundred, not a daily evening falling from a level
//     the job held: gen-25's 415/s with 7% noise cut the wait to scale-down.interval from the
//     start, all 11 vertices went 2 -> 1 at 21 min and the window back up at 50 for 2,340/s,
//     which the initial layout carried (the operator kept it); gen-198's flat 10,100/s with 6%
//     noise lowered the source 16 -> 1 at 29 min;
//   - a drain surplus and the return after a spike (LowAtLevel) undo a scale-up of ours, and
//     there was none.
// The scale-down itself is unchanged once the wait is over: an initial layout the demand stays
// far below for settle is still lowered (gen-44, 169, 181: 35 min and more).

// initialLayout reports whether the job still runs the layout it started with: the policy has
// made no rescale (or recommendation) of its own.
func (p *Policy) initialLayout() bool { return p.st.LastDir == 0 }

// initialWait is how long the demand must have been low before the initial layout is lowered:
// settle, or scale-down.interval if that is longer.
func (p *Policy) initialWait() time.Duration { return max(p.lowFor(), p.o.Settle) }
