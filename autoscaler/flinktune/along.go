package flinktune

import (
	"fmt"
	"time"
)

// downSize is the parallelism a scale-down gives a vertex whose lasting demand is level and
// which must also drain, within catch-up.duration, drain records/s more (the lag its restart
// leaves behind). As in a scale-up, the drain is temporary and sized at catchUpUtilization and
// the level at the target utilization: sizing both at the target kept a scale-down after a
// spike above the layout that had carried the same level before it (gen-118: 16 subtasks
// where 12 had run the level at 78%), and that surplus was held for the rest of the run.
// Whether a vertex goes down at all, and whether the vertices deep below the target free
// enough to start a scale-down (sizing.must), is still judged with both at the target: judged
// on downSize, a drain-sized scale-up one subtask above its level was shed by a second
// rescale (a load step took two), and a source's smaller size crossed the quarter-of-subtasks
// line before a ramp (late-ramp-overshoot: three rescales). It sizes only a demand back at a
// level it held before a spike (lowPeak), which the layout before the spike carried: on a
// sine's falling half the smaller steps brought the next step down nearer the trough, and the
// rise reversed it (gen-2: an oscillation).
func downSize(m *vertexModel, level, drain float64, o Options) int {
	return max(m.sizeFor(level, o.TargetUtilization, o), m.sizeFor(level+drain, catchUpUtilization, o))
}

// notWorthRestart says why a scale-down to target at time t saves less than its restart
// costs, or "".
//
// The saving is the subtasks it frees, over the time the scale-down bets the demand stays
// low: settle, or as long again as the demand has been low if that is longer (a spell that
// has lasted this long is as likely as not to last as long again, as trendHorizon reasons
// for trends). With settle alone the bet never grew: on real Flink 2.2.1, with settle 30 s
// and a learned downtime and replay of 30 s per kept subtask under load, freeing 3 of 6 subtasks (90 subtask-seconds)
// stayed below its restart's 91 for as long as the demand stayed low, and the job kept its
// ×3 parallelism. The cost is what the restart wastes: the subtasks the job keeps, held idle
// while it is down (restartDowntime, learnt from this job's own rescales) and busy again
// with what it replays (replaySec). Shedding a few subtasks of a large job bought a
// restart, and a second rescale, for less than that restart cost.
func (p *Policy) notWorthRestart(e *evaluation, target map[string]int, t time.Time) string {
	now, after := jobSubtasks(e, nil), jobSubtasks(e, target)
	if after >= now {
		return "" // it brings hot vertices up along (withHotAlong): no saving to weigh
	}
	bet := p.o.Settle
	if !p.st.LowSince.IsZero() {
		bet = max(bet, t.Sub(p.st.LowSince))
	}
	saving := float64(now-after) * bet.Seconds()
	cost := float64(after) * (p.restartDowntime() + p.replaySec())
	if saving > cost {
		return ""
	}
	return fmt.Sprintf("it frees %d of %d subtasks, %.0f subtask-seconds over %s, less than its restart costs (%.0f)",
		now-after, now, saving, bet.Truncate(time.Second), cost)
}

// lowAtLevel reports whether the demand has been low since it came back to a level it held
// before a spike (lowStart): the scale-down it waits for returns to that level's layout.
func (p *Policy) lowAtLevel() bool { return !p.st.LowSince.IsZero() && p.st.LowAtLevel }
