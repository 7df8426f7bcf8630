package flinktune

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

func TestRescalesOnCheckpoint(t *testing.T) {
	for v, want := range map[string]bool{
		"1.18.1": false, "1.19": false, "1.20.5": false, "2.0.0": true, "2.2.1": true,
		"<unknown>": false, "": false, "garbage": false,
	} {
		if got := rescalesOnCheckpoint(v); got != want {
			t.Errorf("rescalesOnCheckpoint(%q) = %v, want %v", v, got, want)
		}
	}
}

// The replay grows with the checkpoint's duration and, before 2.0, with half a checkpoint
// cycle; the first restart's downtime is at least the restore of what a checkpoint writes.
func TestRestartCostEstimate(t *testing.T) {
	for _, tc := range []struct {
		name              string
		version, interval string
		ckpt              time.Duration
		wantReplay        float64
		wantDown          float64 // restart.time 60 s prior
	}{
		{"no checkpointing", "1.20.5", "", 0, 0, 60},
		{"1.20, short checkpoints", "1.20.5", "5m", time.Second, 1 + 150, 60},
		{"1.20, checkpoints longer than the interval", "1.20.5", "10s", 100 * time.Second, 100 + 50, 100},
		{"2.x rescales on a completed checkpoint", "2.2.1", "5m", 2 * time.Second, 2, 60},
		{"interval without a duration yet", "1.19.2", "1 min", 0, 30, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			snap := &autoscaler.Snapshot{FlinkVersion: tc.version, Config: map[string]string{}, LastCheckpointDuration: tc.ckpt}
			if tc.interval != "" {
				snap.Config[checkpointIntervalKey] = tc.interval
			}
			p.noteCheckpoints(snap)
			if got := p.replaySec(); math.Abs(got-tc.wantReplay) > 1e-9 {
				t.Errorf("replay %.2fs, want %.2fs", got, tc.wantReplay)
			}
			if got := p.restartDowntime(); got != tc.wantDown {
				t.Errorf("downtime %.2fs, want %.2fs", got, tc.wantDown)
			}
			// An observed downtime replaces the floor.
			p.st.Downtimes = []float64{12}
			if got := p.restartDowntime(); got != 12 {
				t.Errorf("observed downtime 12s, estimate %.2fs", got)
			}
		})
	}
}

// A scale-down is not worth its restart when the lag the restart leaves cannot drain within
// catch-up.duration at the capacity the job keeps, which a vertex not scaled down may bound.
func TestScaleDownHeldWhenRestartLagCannotDrain(t *testing.T) {
	src := vertexInfo{ID: "src", P: 24, Source: true}
	win := vertexInfo{ID: "win", P: 20, Inputs: []string{"src"}}
	e := &evaluation{
		order:    []vertexInfo{src, win},
		models:   map[string]*vertexModel{"src": {info: src, perSubtask: 16000, known: true}, "win": {info: win, perSubtask: 3000, known: true}},
		demand:   map[string]float64{"src": 40000, "win": 40000},
		peak:     map[string]float64{"src": 40000, "win": 40000},
		forecast: map[string]float64{"src": 40000, "win": 40000},
		ingest:   40000,
	}
	target := map[string]int{"src": 5} // 80,000/s, but the window holds the job at 60,000/s
	for _, tc := range []struct {
		name     string
		downSec  float64
		replay   float64
		wantHold bool
	}{
		{"cheap restart drains in time", 60, 0, false}, // 2.4 M records at 20,000/s: 120 s
		{"slow restart does not", 200, 150, true},      // 14 M records: 700 s > 600 s
		{"replay alone tips it", 60, 250, true},        // 12.4 M records: 620 s
		{"replay within catch-up", 60, 200, false},     // 10.4 M records: 520 s
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			p.st.Downtimes = []float64{tc.downSec}
			sz := sizing{restart: e.ingest*tc.downSec + e.ingest*tc.replay}
			why := p.restartUndrained(e, sz, target)
			if (why != "") != tc.wantHold {
				t.Fatalf("restartUndrained = %q, want hold %v", why, tc.wantHold)
			}
			if why != "" && !strings.Contains(why, "not drained within 10m0s") {
				t.Errorf("reason %q does not name the catch-up duration", why)
			}
		})
	}
}
