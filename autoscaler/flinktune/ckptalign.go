package flinktune

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// A scale-down restarts right after a checkpoint (issue 9, lag-side trade-offs). A restart
// rewinds the sources to where the last completed checkpoint was triggered, so it replays
// everything processed since: on Flink up to 1.20 the adaptive scheduler restarts as soon as
// the new requirements arrive, anywhere in the checkpoint cycle, half an interval on average
// and up to a whole one (replaySec). With a 5-minute interval that is up to 300 s of input
// behind before the downtime's backlog comes on top (gen-22: 480 s of lag after a scale-down
// against a 300 s SLO; the scale-down's restart is where most of the lag-side near-misses'
// extra lag-violation accrues: gen-22, 87, 149, 57, 185).
//
// A scale-down is never urgent (it saves resources, never lag), so it waits for the next
// checkpoint to complete and is issued in the cycle that sees it: the restart then replays
// the checkpoint's own duration and at most a cycle, as Flink 2.x's rescale trigger does by
// itself (FLIP-461, rescalesOnCheckpoint).
//
// Evidence: the job's numberOfCompletedCheckpoints gauge; its step between two snapshots.
// Decision: scaleDown holds until it steps. It does not wait where waiting gains nothing or
// could last for ever: Flink 2.x, no checkpointing, the gauge unknown, or no checkpoint seen
// completing for two checkpoint cycles (failing checkpoints). While it holds, the demand's
// low wait counts as met (DownHeldAt): the wait's own shortcuts can hold for one cycle only
// (a falling trend), and losing one to the hold held gen-149's scale-down 10 minutes more,
// not one. Every other guard of the scale-down is checked again when the checkpoint comes.

// noteCompleted keeps when the count of completed checkpoints last stepped up.
func (p *Policy) noteCompleted(snap *autoscaler.Snapshot) {
	n := snap.CompletedCheckpoints
	if n > p.st.Completed && p.st.Completed > 0 {
		p.st.CompletedAt = snap.Time
	}
	p.st.Completed = n // a JobManager failover resets the count: the next step is seen from there
}

// alignable reports whether a restart can be aligned with a checkpoint by waiting: Flink up to
// 1.20 (2.x aligns by itself), checkpointing on, and the completed-checkpoint count known.
func (p *Policy) alignable() bool {
	return !p.st.RescaleOnCheckpoint && p.st.CheckpointIntervalSec > 0 && p.st.Completed > 0
}

// awaitCheckpoint says why a scale-down decided now waits for a checkpoint, or "", and marks
// since when it is held (DownHeldAt, read by waitMet).
func (p *Policy) awaitCheckpoint(now time.Time) string {
	if !p.alignable() {
		return ""
	}
	if p.st.CompletedAt.Equal(now) {
		return ""
	}
	if now.Sub(p.st.CompletedAt).Seconds() > 2*p.checkpointCycle() {
		return "" // no checkpoint completes: waiting for one would hold the scale-down for ever
	}
	if p.st.DownHeldAt.IsZero() {
		p.st.DownHeldAt = now
	}
	return "waiting for the next checkpoint to complete (its restart then replays the least)"
}

// checkpointCycle is the time from one checkpoint's trigger to the next's, in seconds: the
// interval, or the checkpoint's duration when checkpoints take longer.
func (p *Policy) checkpointCycle() float64 {
	cycle := p.st.CheckpointIntervalSec
	if len(p.st.CheckpointSecs) > 0 {
		cycle = math.Max(cycle, slices.Max(p.st.CheckpointSecs))
	}
	return cycle
}

// waitMet reports whether a scale-down held for a checkpoint already met its low wait: held
// since at most two checkpoint cycles (awaitCheckpoint waits no longer).
func (p *Policy) waitMet(now time.Time) bool {
	if p.st.DownHeldAt.IsZero() {
		return false
	}
	if now.Sub(p.st.DownHeldAt).Seconds() > 2*p.checkpointCycle() {
		p.st.DownHeldAt = time.Time{}
		return false
	}
	return true
}

// A scale-up is urgent, but on Flink up to 1.20 the same replay comes on top of its lag: a
// restart now replays the time since the last checkpoint completed (a), one at the next
// checkpoint, expected in w = cycle - a, replays none of it. Each second of replay saved is
// 1/s seconds of draining saved after the restart (s: the surplus the scale-up gives, per
// record of input), while the wait costs w seconds plus the lag the deficit d adds meanwhile,
// w·d, to drain: the scale-up waits while w·(s + d) < a (upWaits).

// upAwaitsCheckpoint says why the scale-up to target waits for a checkpoint, or "".
func (p *Policy) upAwaitsCheckpoint(now time.Time, e *evaluation, target map[string]int) string {
	if !p.alignable() || p.st.CompletedAt.IsZero() || e.ingest <= 0 {
		return ""
	}
	if e.lagSec > p.o.MaxLag.Seconds() {
		// A lag already above the objective (a backlog, a restart's) is being sized for by
		// its drain: holding that scale-up moved the window its next step reads, and
		// join-shared-sink-restart.yaml took a third step (3 rescales against 2).
		return ""
	}
	a := now.Sub(p.st.CompletedAt).Seconds()
	s := (srcCapacity(e, target) - e.ingest) / e.ingest
	d := math.Max(0, e.ingest-srcCapacity(e, nil)) / e.ingest
	w, wait := upWaits(a, p.checkpointCycle(), s, d)
	if !wait {
		return ""
	}
	return fmt.Sprintf("waiting for the next checkpoint (in about %.0fs): the restart replays %.0fs less", w, a)
}

// upWaits reports whether a scale-up a seconds after the last checkpoint completed waits for
// the next, expected w seconds later in a checkpoint cycle of the given length, with the
// scale-up's surplus s and the deficit d now (both per record of input).
func upWaits(a, cycle, s, d float64) (w float64, wait bool) {
	if a <= 0 || a > cycle || s <= 0 {
		return 0, false // just completed, checkpoints late, or a scale-up that gains nothing
	}
	w = cycle - a
	return w, w*(s+d) < a
}
