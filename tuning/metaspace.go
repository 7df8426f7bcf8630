package tuning

import (
	"fmt"
	"math"
	"time"
)

// metaMark is the metaspace peak (largest TaskManager) when it grew by more than 1 % over the
// previous mark; the first sample is the first mark.
type metaMark struct {
	At   time.Time `json:"at"`
	Used float64   `json:"used"`
}

// observeMetaspace records the peak and, on each growth of more than 1 %, a mark. Marks older
// than the growth window are dropped, but the last of them stays: it is the peak at the
// window's start.
func (t *Tuner) observeMetaspace(now time.Time, v float64) {
	switch {
	case t.st.MetaspaceMark == 0:
		t.st.MetaspaceMark = v
		t.st.MetaspaceMarks = append(t.st.MetaspaceMarks, metaMark{At: now, Used: v})
	case v > 1.01*t.st.MetaspaceMark:
		t.st.MetaspaceGrewAt, t.st.MetaspaceMark = now, v
		t.st.MetaspaceMarks = append(t.st.MetaspaceMarks, metaMark{At: now, Used: v})
	}
	t.st.MetaspacePeak = max(t.st.MetaspacePeak, v)
	from := now.Add(-t.metaWindow())
	for len(t.st.MetaspaceMarks) > 1 && !t.st.MetaspaceMarks[1].At.After(from) {
		t.st.MetaspaceMarks = t.st.MetaspaceMarks[1:]
	}
}

// metaWindow is how long the metaspace peak must stay flat before metaspace shrinks to the
// peak alone: three times min-observation.
func (t *Tuner) metaWindow() time.Duration { return 3 * t.o.MinObservation }

// metaGrowth is how the peak grew over the growth window ending at now (from the later of
// the window's start and the first mark): in all, and whether it slowed down, the second
// half of the window growing at most half as much as the first.
//
// Why the pace and not only the last growth: after a TaskManager or a job starts, most
// classes load at once and code paths taken later (the first checkpoint, a failover, a
// rare branch) add ever smaller steps; a class-loading leak or a ramp of late-loaded code
// keeps its pace. A peak that grew at all within the window used to keep the whole running
// limit: on Flink 2.2.1 a step of 1.1 % of 44 MiB kept 256 MiB, five times the peak.
func metaGrowth(marks []metaMark, now time.Time, window time.Duration) (growth float64, slowing bool) {
	if len(marks) == 0 {
		return 0, false
	}
	start := now.Add(-window)
	if marks[0].At.After(start) {
		start = marks[0].At
	}
	mid := start.Add(now.Sub(start) / 2)
	at := func(t time.Time) float64 { // the peak at t: the last mark at or before it
		v := marks[0].Used
		for _, m := range marks {
			if m.At.After(t) {
				break
			}
			v = m.Used
		}
		return v
	}
	first, second := at(mid)-at(start), at(now)-at(mid)
	return first + second, first > 0 && second <= first/2
}

// planMetaspace sizes metaspace from the observed peak plus margin. Classes keep loading long
// after a deployment (code paths first taken by checkpoints, failovers, rare branches), so a
// peak that grew within metaWindow does not shrink metaspace to the peak alone (FLINK-35489):
// while its growth keeps its pace (a ramp, a leak: no telling how far it goes) the running
// limit is kept; once the growth slows down (the tail of the loading after a start) metaspace
// may shrink to the peak plus as much growth again as the window saw, plus margin. A growing
// peak is a safety increase only once it comes within half the margin of the limit, so that
// a slowly rising peak does not restart the job for every step.
func (t *Tuner) planMetaspace(cur Pools, span time.Duration, now time.Time, ev func(pool, format string, a ...any)) (int64, string, bool) {
	peak := t.st.MetaspacePeak
	if peak <= 0 || span < t.o.MinObservation {
		ev(PoolMetaspace, "not enough observation yet: metaspace kept at %s", hb(cur.Metaspace))
		return cur.Metaspace, "kept", false
	}
	margin := 1 + t.o.Margin
	meta := roundUpMiB(int64(math.Ceil(peak * margin)))
	basis := fmt.Sprintf("peak × %.2f", margin)
	ev(PoolMetaspace, "peak %s used (largest TaskManager) × %.2f = %s", hb(int64(peak)), margin, hb(meta))
	window := t.metaWindow()
	if flat := now.Sub(t.st.MetaspaceGrewAt); meta < cur.Metaspace && !t.st.MetaspaceGrewAt.IsZero() && flat < window {
		growth, slowing := metaGrowth(t.st.MetaspaceMarks, now, window)
		if !slowing {
			ev(PoolMetaspace, "the peak grew %s in the last %s, last %s ago, not slowing down (classes still loading, or a leak): not below the running %s until it slows or stays flat for %s",
				hb(int64(growth)), window, flat.Round(time.Second), hb(cur.Metaspace), window)
			return cur.Metaspace, "kept (peak still growing)", false
		}
		meta = min(cur.Metaspace, roundUpMiB(int64(math.Ceil((peak+growth)*margin))))
		basis = fmt.Sprintf("(peak + growth) × %.2f", margin)
		ev(PoolMetaspace, "the peak grew %s in the last %s, slowing down (the tail of class loading): (peak + %s) × %.2f = %s",
			hb(int64(growth)), window, hb(int64(growth)), margin, hb(meta))
	}
	if meta <= cur.Metaspace {
		return meta, basis, false
	}
	if peak*(1+t.o.Margin/2) < float64(cur.Metaspace) {
		ev(PoolMetaspace, "the peak is growing towards the running limit %s: more with the next change", hb(cur.Metaspace))
		return meta, basis, false
	}
	ev(PoolMetaspace, "the running limit %s leaves less than half the margin above the peak", hb(cur.Metaspace))
	return meta, basis, true
}
