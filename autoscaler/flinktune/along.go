package flinktune

import "fmt"

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

// notWorthRestart says why a scale-down to target saves less than its restart costs, or "".
//
// The saving is the subtasks it frees, over settle (the time a scale-down bets the demand
// stays low; beyond it the policy claims nothing). The cost is what the restart wastes: the
// subtasks the job keeps, held idle while it is down (restartDowntime, learnt from this job's
// own rescales) and busy again with what it replays (replaySec). Shedding a few subtasks of
// a large job bought a restart, and a second rescale, for less than that restart cost.
func (p *Policy) notWorthRestart(e *evaluation, target map[string]int) string {
	now, after := jobSubtasks(e, nil), jobSubtasks(e, target)
	if after >= now {
		return "" // it brings hot vertices up along (withHotAlong): no saving to weigh
	}
	saving := float64(now-after) * p.o.Settle.Seconds()
	cost := float64(after) * (p.restartDowntime() + p.replaySec())
	if saving > cost {
		return ""
	}
	return fmt.Sprintf("it frees %d of %d subtasks, %.0f subtask-seconds over %s, less than its restart costs (%.0f)",
		now-after, now, saving, p.o.Settle, cost)
}

// lowAtLevel reports whether the demand has been low since it came back to a level it held
// before a spike (lowStart): the scale-down it waits for returns to that level's layout.
func (p *Policy) lowAtLevel() bool { return !p.st.LowSince.IsZero() && p.st.LowAtLevel }
