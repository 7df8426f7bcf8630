package flinktune

import "time"

// Back at a level the demand held before a spike (lowPeak), the scale-down returns the layout
// that level ran on: every vertex the spike raised, judged on the level, not only those deep
// below the target.
//
// Elsewhere a vertex comes along in a scale-down only if its window peak plus the lag its own
// restart leaves (both at the target utilization) is below the midpoint of utilization.min and
// the target, and only the vertices below utilization.min may start one unless they free slots
// themselves: a restart then exposes no vertex near its target to the next load step. After a
// spike both guards kept the spike's subtasks on the vertices it raised most. gen-63: two sinks
// ran the level at 44% of 18 and 23 subtasks, where 8 and 10 had carried it before the spike;
// the restart's drain (17k/s at the target) lifted them above the midpoint, and the other
// vertices freed no slot, so the return took those four and left the sinks (57 subtasks to the
// end of the run against the operator's 43). The level is no new bet, so a vertex whose level
// alone is below the midpoint is sized by downSize (level at the target, level and drain at
// catch-up utilization), and the return starts under the thresholds that hold for the vertices
// below utilization.min: a tenth of the slots, or a quarter of the subtasks.

// atLevel reports whether the demand is back at a level it held before a spike, with the last
// rescale a scale-up: seen now (backAtLevel), or the wait for the scale-down started there
// (lowAtLevel; the spike may have left scale-down.interval's span since, while settle after the
// scale-up holds the return). After a scale-down nothing was raised to return: without this
// test a vertex the earlier rules had left above the level took a rescale of its own after a
// spike the job rode out (gen-22: a second rescale, 29 -> 19 subtasks, for 2% fewer
// parallelism-seconds, where the operator made one).
func (p *Policy) atLevel(e *evaluation) bool {
	if p.st.LastDir <= 0 || !(e.backAtLevel() || p.lowAtLevel()) {
		return false
	}
	end := e.lowFrom
	if end.IsZero() {
		end = p.st.LowSince
	}
	for _, vi := range e.order {
		if vi.Source && !p.heldBefore(vi.ID, end, e.demand[vi.ID]) {
			return false
		}
	}
	return true
}

// heldBefore reports whether source id's demand cur is the level it held before the excursion
// that ended by end: lowPeak only checks that no minute before the excursion was above cur, so a
// step up and a partial step down (55k -> 178k -> 113k/s, scale-down-before-step) read as a
// spike over, and the return shed a vertex at a level the job had never run (3 rescales).
func (p *Policy) heldBefore(id string, end time.Time, cur float64) bool {
	lv := p.st.Levels[id]
	hi, i := cur*(1+spikeShare), len(lv)-1
	for ; i >= 0 && (!lv[i].T.Before(end) || lv[i].N == 0 || lv[i].mean() <= hi); i-- {
	}
	for ; i >= 0 && (lv[i].N == 0 || lv[i].mean() > hi); i-- {
	}
	return i >= 0 && lv[i].mean() >= cur/(1+spikeShare)
}

// levelDown is a vertex's size in the return to the level, or cur if the level does not take
// it down: the level's utilization at cur below the midpoint of utilization.min and the target.
func (p *Policy) levelDown(e *evaluation, m *vertexModel, cur int, level, drain float64) int {
	if !p.atLevel(e) || level/m.capacity(cur) >= (p.o.UtilizationMin+p.o.TargetUtilization)/2 {
		return cur
	}
	return min(cur, downSize(m, level, drain, p.o))
}

// levelReturn reports whether the return to the level starts a scale-down of sizing.down. It
// starts no wait before the spike's end (lowFrom, the end of its last minute): lowStart would
// count that wait from now, as on no level, and the return would wait settle.
func (p *Policy) levelReturn(e *evaluation, sz sizing, now time.Time) bool {
	if !p.atLevel(e) || (!p.lowAtLevel() && e.lowFrom.After(now)) {
		return false
	}
	return freesSlots(e, sz.down) || freesSubtasks(e, sz.down)
}

// freesSlots reports whether target frees a tenth of the job's slots (at least one): enough
// to start a scale-down on the vertices below utilization.min alone.
func freesSlots(e *evaluation, target map[string]int) bool {
	now, after := slotsOf(e.order, nil), slotsOf(e.order, target)
	return now-after >= max(1, now/10)
}

// freesSubtasks reports whether target frees a quarter of the job's subtasks: idle subtasks
// cost besides slots (threads, buffers, state backend instances).
func freesSubtasks(e *evaluation, target map[string]int) bool {
	all := jobSubtasks(e, nil)
	return 4*(all-jobSubtasks(e, target)) >= all
}
