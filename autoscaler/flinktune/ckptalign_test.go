package flinktune

import (
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// A scale-down on Flink up to 1.20 is issued in the cycle that sees a checkpoint complete, so
// its restart replays the least; it never waits where waiting gains nothing or could last for
// ever.
func TestScaleDownAwaitsCheckpoint(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type snap struct {
		at        time.Duration
		completed int64
	}
	for _, tc := range []struct {
		name     string
		version  string
		interval string
		ckpt     time.Duration // lastCheckpointDuration
		snaps    []snap        // the last one is now
		wantHold bool
	}{
		{"1.20: a checkpoint completed since the last cycle", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 4}, {20 * time.Second, 5}}, false},
		{"1.20: the last one completed 20 s ago", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 5}, {20 * time.Second, 5}, {30 * time.Second, 5}}, true},
		{"1.18 with a 5-minute interval, 4 minutes after the last", "1.18.1", "5m", 20 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 5}, {250 * time.Second, 5}}, true},
		{"2.x rescales on a checkpoint by itself", "2.2.1", "1m", 2 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 5}, {30 * time.Second, 5}}, false},
		{"no checkpointing", "1.20.5", "", 0,
			[]snap{{0, 0}, {10 * time.Second, 0}}, false},
		{"count unknown (no gauge)", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 0}, {10 * time.Second, 0}, {20 * time.Second, 0}}, false},
		{"no step seen yet since the policy started", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 7}, {10 * time.Second, 7}}, false},
		{"checkpoints failing: none for over two cycles", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 5}, {140 * time.Second, 5}}, false},
		{"a cycle set by slow checkpoints (100 s) is waited twice", "1.20.5", "1m", 100 * time.Second,
			[]snap{{0, 4}, {10 * time.Second, 5}, {140 * time.Second, 5}}, true},
		{"a JobManager failover resets the count: no step, the last one counts", "1.20.5", "1m", 2 * time.Second,
			[]snap{{0, 40}, {10 * time.Second, 41}, {20 * time.Second, 1}, {30 * time.Second, 1}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			var now time.Time
			for _, s := range tc.snaps {
				now = t0.Add(s.at)
				cfg := map[string]string{}
				if tc.interval != "" {
					cfg[checkpointIntervalKey] = tc.interval
				}
				p.noteCheckpoints(&autoscaler.Snapshot{Time: now, FlinkVersion: tc.version, Config: cfg,
					LastCheckpointDuration: tc.ckpt, CompletedCheckpoints: s.completed})
			}
			why := p.awaitCheckpoint(now)
			if (why != "") != tc.wantHold {
				t.Fatalf("awaitCheckpoint = %q, want hold %v", why, tc.wantHold)
			}
			if tc.wantHold != !p.st.DownHeldAt.IsZero() {
				t.Errorf("DownHeldAt = %v after hold %v", p.st.DownHeldAt, tc.wantHold)
			}
		})
	}
}

// While a scale-down waits for a checkpoint, its low wait counts as met: a shortcut of the
// wait that held for one cycle only must not send it back to waiting settle. For no longer
// than awaitCheckpoint waits (two checkpoint cycles).
func TestWaitMetWhileHeldForCheckpoint(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		heldAt time.Duration // -1: never held
		now    time.Duration
		want   bool
	}{
		{"never held", -1, time.Minute, false},
		{"held 30 s ago", 0, 30 * time.Second, true},
		{"held two cycles ago", 0, 120 * time.Second, true},
		{"held longer than awaitCheckpoint waits", 0, 130 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			p.st.CheckpointIntervalSec = 60
			if tc.heldAt >= 0 {
				p.st.DownHeldAt = t0.Add(tc.heldAt)
			}
			if got := p.waitMet(t0.Add(tc.now)); got != tc.want {
				t.Errorf("waitMet = %v, want %v", got, tc.want)
			}
			if !tc.want && !p.st.DownHeldAt.IsZero() {
				t.Errorf("an expired hold is kept (%v)", p.st.DownHeldAt)
			}
		})
	}
}

// A scale-up waits for the next checkpoint while the replay it saves, drained at the surplus
// the scale-up gives, outweighs the wait and the lag the deficit adds meanwhile.
func TestScaleUpWaitsForCheckpointWhenReplaySavesMore(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a, cycle    float64
		s, d        float64
		wantWait    bool
		wantSeconds float64
	}{
		// 40 s into a 1-minute cycle, surplus 0.3, deficit 0.12: 20 s of wait cost 8.4 s.
		{"late in the cycle", 40, 60, 0.3, 0.12, true, 20},
		{"just after a checkpoint", 5, 60, 0.3, 0.12, false, 0},
		{"a 5-minute cycle, 1 minute in", 60, 300, 0.3, 0.12, false, 0},
		{"a 5-minute cycle, 4 minutes in", 240, 300, 0.3, 0.12, true, 60},
		{"a deficit as large as the input (the job stopped keeping up)", 30, 60, 0.3, 1, false, 0},
		{"checkpoints late: none completed for over a cycle", 70, 60, 0.3, 0, false, 0},
		{"a scale-up without surplus", 40, 60, 0, 0.1, false, 0},
		{"a checkpoint completed this cycle", 0, 60, 0.3, 0.1, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, wait := upWaits(tc.a, tc.cycle, tc.s, tc.d)
			if wait != tc.wantWait || (wait && w != tc.wantSeconds) {
				t.Errorf("upWaits = %.0f, %v; want %.0f, %v", w, wait, tc.wantSeconds, tc.wantWait)
			}
		})
	}
}
