package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// Until the job's own rescales are seen, the downtime of a restart is at least the restore of
// the state the last checkpoint refers to: the checkpoint's duration scaled by the full size
// over the bytes it wrote (an incremental checkpoint writes a tenth of what a restore reads),
// never less than the restart.time prior.
func TestRestoreFloorFromCheckpointSize(t *testing.T) {
	const gb = 1 << 30
	for _, tc := range []struct {
		name          string
		dur           time.Duration
		written, full int64
		want          float64 // seconds of downtime assumed
	}{
		{"incremental: 3 GB written of 31 GB in 16 s", 16 * time.Second, 3 * gb, 31 * gb, 16.0 * 31 / 3},
		{"full checkpoint: its duration (under the prior)", 16 * time.Second, 31 * gb, 31 * gb, 60},
		{"long full checkpoint: its duration", 90 * time.Second, 31 * gb, 31 * gb, 90},
		{"sizes unknown (older Flink): its duration (under the prior)", 16 * time.Second, 0, 0, 60},
	} {
		p := New(DefaultOptions())
		p.noteCheckpoints(&autoscaler.Snapshot{LastCheckpointDuration: tc.dur,
			LastCheckpointSize: tc.written, LastCheckpointFullSize: tc.full})
		if got := p.restartDowntime(); got < tc.want-0.01 || got > tc.want+0.01 {
			t.Errorf("%s: downtime %.1fs, want %.1fs", tc.name, got, tc.want)
		}
	}
}
