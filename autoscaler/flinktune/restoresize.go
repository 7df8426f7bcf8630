package flinktune

import (
	"slices"

	"github.com/flinktune/flinktune/autoscaler"
)

// The restore of an incremental checkpoint (issue 9, gen-169). restoreFloor takes a restart's
// state restore to last about as long as the last checkpoint took to write, but an incremental
// checkpoint (RocksDB) writes only what changed since the previous one while a restore reads
// the whole state back: gen-169's 31 GB job checkpointed in seconds, so the restart.time prior
// (1 min) stood for a restore of ~3 minutes and its scale-up was sized for a third of the lag
// its restart left.
//
// Evidence: lastCheckpointSize (bytes written) and lastCheckpointFullSize (the state the
// checkpoint refers to) with lastCheckpointDuration.
// Estimate: the restore reads the full size at the rate the checkpoint wrote its own bytes:
// duration x full / written. A full checkpoint (full = written) gives its duration, as before.
// Decision: restoreFloor, the downtime assumed until this job's own rescales were seen.

// noteRestoreSize keeps the restore estimate of a snapshot's last checkpoint (the last five).
func (p *Policy) noteRestoreSize(snap *autoscaler.Snapshot) {
	d := snap.LastCheckpointDuration.Seconds()
	written, full := snap.LastCheckpointSize, snap.LastCheckpointFullSize
	if d <= 0 || written <= 0 || full <= written {
		return
	}
	p.st.RestoreSecs = append(p.st.RestoreSecs, d*float64(full)/float64(written))
	if len(p.st.RestoreSecs) > 5 {
		p.st.RestoreSecs = p.st.RestoreSecs[len(p.st.RestoreSecs)-5:]
	}
}

// restoreBySize is the largest recent restore estimate from checkpoint sizes, 0 without one.
func (p *Policy) restoreBySize() float64 {
	if len(p.st.RestoreSecs) == 0 {
		return 0
	}
	return slices.Max(p.st.RestoreSecs)
}
