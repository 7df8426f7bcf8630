package flinktune

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// The restart cost of a rescale (issue 9, class d): a rescale restarts the job, and the job
// comes back behind by more than the downtime. Its sources rewind to the offsets of the last
// completed checkpoint, taken when that checkpoint was triggered, so what was processed since
// is read again (the replay), and what arrives while the job is down waits (the downtime
// backlog). Both must drain at the new parallelism, and a rescale that would add more lag than
// it saves is not worth taking.
//
// Evidence: the checkpoint interval (execution.checkpointing.interval in the job's
// configuration), the last checkpoint's duration (the lastCheckpointDuration gauge), the
// Flink version (whether a rescale waits for a checkpoint) and the downtimes of this job's
// own rescales (restartDowntime).
// Estimate: replaySec, the seconds of processing a restart is expected to redo, and
// restartLag, the records a restart leaves behind.
// Decision: size (the drain a scale-up or scale-down must absorb within catch-up.duration) and
// lagReason (a rescale for slowly draining lag must beat waiting, its own cost counted).

// checkpointIntervalKey is the job option that sets the checkpoint interval.
const checkpointIntervalKey = "execution.checkpointing.interval"

// noteCheckpoints keeps the checkpoint evidence of a snapshot: the interval from the job's
// configuration and the largest of the recent checkpoint durations (a checkpoint's duration
// grows with the state, so the last one alone understates the next after a burst).
func (p *Policy) noteCheckpoints(snap *autoscaler.Snapshot) {
	if raw, ok := snap.Config[checkpointIntervalKey]; ok {
		if d, err := flinkconf.ParseDuration(raw); err == nil && d > 0 {
			p.st.CheckpointIntervalSec = d.Seconds()
		}
	}
	if snap.FlinkVersion != "" {
		p.st.RescaleOnCheckpoint = rescalesOnCheckpoint(snap.FlinkVersion)
	}
	if d := snap.LastCheckpointDuration.Seconds(); d > 0 {
		p.st.CheckpointSecs = append(p.st.CheckpointSecs, d)
		if len(p.st.CheckpointSecs) > 5 {
			p.st.CheckpointSecs = p.st.CheckpointSecs[len(p.st.CheckpointSecs)-5:]
		}
	}
	p.noteRestoreSize(snap)
	p.noteCompleted(snap)
}

// rescalesOnCheckpoint reports whether the adaptive scheduler of this Flink version rescales
// on a completed checkpoint (FLIP-461, from 2.0: the rescale trigger), so a rescale replays
// only what came during that checkpoint. Up to 1.20 it rescales when the cooldown ends, at
// any point of the checkpoint cycle. Unknown versions count as the older behaviour, the
// costlier one.
func rescalesOnCheckpoint(version string) bool {
	major, _, ok := strings.Cut(strings.TrimSpace(version), ".")
	if !ok {
		return false
	}
	switch major {
	case "", "0", "1", "<unknown>":
		return false
	}
	return major[0] >= '2' && major[0] <= '9'
}

// replaySec is the processing time a restart is expected to redo: the sources rewind to where
// the last completed checkpoint was triggered, which is at least that checkpoint's duration
// ago. Without a rescale trigger the restart lands anywhere in the checkpoint cycle, half a
// cycle after the last completion on average (the cycle is the interval, or the checkpoint's
// duration when checkpoints take longer than the interval). No checkpointing: 0 is assumed,
// since what a restart without checkpoints loses is not a replay of a bounded time.
func (p *Policy) replaySec() float64 {
	if p.st.CheckpointIntervalSec <= 0 {
		return 0
	}
	dur := 0.0
	if len(p.st.CheckpointSecs) > 0 {
		dur = slices.Max(p.st.CheckpointSecs)
	}
	if p.st.RescaleOnCheckpoint {
		return dur
	}
	return dur + math.Max(p.st.CheckpointIntervalSec, dur)/2
}

// restartLag is the records a restart leaves behind: the replay (the records processed since
// the checkpoint's trigger, at most the input) and the input during the downtime.
func (p *Policy) restartLag(e *evaluation, srcCap float64) float64 {
	return math.Min(e.ingest, srcCap)*p.replaySec() + e.ingest*p.restartDowntime()
}

// restoreFloor bounds the downtime of a restart not yet observed from below: the restart
// restores the state the last checkpoint wrote, and reading all of it back takes about as
// long as a full checkpoint took to write it (an incremental one wrote less than the restore
// reads). It is what keeps the restart.time prior (1 min) from being trusted for a job with
// 20 GB of state, whose first rescale would otherwise be sized for a third of its real lag.
func (p *Policy) restoreFloor() float64 {
	if len(p.st.CheckpointSecs) == 0 {
		return 0
	}
	return max(slices.Max(p.st.CheckpointSecs), p.restoreBySize())
}

// describeRestart is the restart cost's part of a scaling report.
func (p *Policy) describeRestart() string {
	return fmt.Sprintf(" (restart cost: %.0fs down, %.0fs replayed)", p.restartDowntime(), p.replaySec())
}

// restartUndrained says why a scale-down to target is not worth its restart, or "": the lag
// the restart leaves behind must drain within catch-up.duration at the capacity the job keeps,
// which is that of its slowest vertex, not only of those scaled down (a scale-down of the
// sources under a window already near its capacity left 7 minutes of lag draining for 15).
// A scale-down saves resources but never lag, so one that cannot repay its restart in time
// costs more than it gains.
func (p *Policy) restartUndrained(e *evaluation, sz sizing, target map[string]int) string {
	if e.ingest <= 0 || sz.restart <= 0 {
		return ""
	}
	demand := e.ingest
	for _, vi := range e.order {
		if vi.Source {
			demand = math.Max(demand, e.ingest*math.Max(e.peak[vi.ID], e.forecast[vi.ID])/math.Max(e.demand[vi.ID], 1e-9))
		}
	}
	surplus := srcCapacity(e, target) - demand
	if surplus > 0 && sz.restart/surplus <= p.o.CatchUp.Seconds() {
		return ""
	}
	return fmt.Sprintf("its restart would leave %.0fs of input behind (%.0fs down, %.0fs replayed), not drained within %s",
		sz.restart/e.ingest, p.restartDowntime(), p.replaySec(), p.o.CatchUp)
}
