package flinktune

import "time"

// The wait before the surplus of a drain-sized scale-up is shed (drainSurplus) counts the time
// the surplus has been idle since the lag was gone, not the time since the last interruption.
//
// That wait restarted whenever one cycle found nothing to shed: a spike the drained layout rode
// out without a rescale, or one noisy sample lifting a vertex above the line. gen-96 (15.4M
// records of backlog, then a 2.89x spike for 7 minutes at 29 min): the window was raised
// 11 -> 64 to drain at 2 min, the lag was gone at 8 min and the surplus had waited its 20
// minutes by 28 min (settle after the scale-up held it to 37 min), the spike reset the wait,
// and the 64 subtasks (22 carry the level) were kept to 57 min; counting the idle time, they go
// at 41 min, once the spike has left the metrics window: 40k of the 100k parallelism-seconds
// it spent above the operator's. The surplus was
// sized for lag that is gone and the demand is back at its level: the time it already sat idle
// counts (the wait pauses during the excursion). A rescale clears the count.

// pauseSurplusWait ends a cycle that finds nothing to shed: the idle time of a surplus wait
// under way is kept.
func (p *Policy) pauseSurplusWait(now time.Time) {
	if p.st.SurplusWaiting && !p.st.LowSince.IsZero() && now.After(p.st.LowSince) {
		p.st.SurplusIdle += now.Sub(p.st.LowSince)
	}
	p.st.SurplusWaiting = false
	p.st.LowSince = time.Time{}
}

// resumeSurplusWait starts or continues the wait of a scale-down; surplus: one that sheds a
// drain's surplus, which counts the idle time kept by pauseSurplusWait (lowWaited). LowSince
// keeps its meaning, the start of this low spell (a spike's end at a level, for atLevel and
// the restart-cost bet): moving it back into the spike read the spike as the level and kept
// the vertices the spike raised (gen-63, 317,802 -> 365,162 parallelism-seconds).
func (p *Policy) resumeSurplusWait(e *evaluation, now time.Time, surplus bool) {
	if !p.st.LowSince.IsZero() {
		p.st.SurplusWaiting = p.st.SurplusWaiting && surplus
		return
	}
	p.st.LowSince = p.lowStart(e, now)
	p.st.SurplusWaiting = surplus
}

// lowWaited is how long the scale-down has waited: since LowSince, and for a drain's surplus
// also the idle time it waited before an interruption.
func (p *Policy) lowWaited(now time.Time) time.Duration {
	waited := now.Sub(p.st.LowSince)
	if p.st.SurplusWaiting {
		waited += p.st.SurplusIdle
	}
	return waited
}

// clearSurplusWait forgets a surplus's idle time: a rescale has shed it or sized a new layout.
func (p *Policy) clearSurplusWait() { p.st.SurplusIdle, p.st.SurplusWaiting = 0, false }
