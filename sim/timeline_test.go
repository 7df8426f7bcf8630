package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// TestWorkedTimelineInSimulator replays flink-scheduling.md §A.11 in the full simulator: one
// vertex [1..8], 2-slot TaskManagers, checkpoints every 10 s; 2 TaskManagers at 0 and 2 more
// registering at 25 s (requested at 0 with a 25 s start-up delay). The job starts at 10 s with
// p = 4 after the stabilization timeout. Checkpoints take 1 s here (triggered at 20, 30, 40 s,
// completing a second later), which shifts the checkpoint-driven versions by that second
// against the reference's instantaneous checkpoints.
func TestWorkedTimelineInSimulator(t *testing.T) {
	want := map[string]time.Duration{
		"1.18": 25 * time.Second, // at once
		"1.19": 55 * time.Second, // cooldown: 25 + 30
		"1.20": 55 * time.Second, // as 1.19 (FLIP-461's checkpoint trigger is 2.0; sim/CALIBRATION.md)
		"2.0":  41 * time.Second, // cooldown ends at 40, first completed checkpoint after it (41) sees desired resources
	}
	for _, v := range []string{"1.18", "1.19", "1.20", "2.0"} {
		t.Run(v, func(t *testing.T) {
			y := fmt.Sprintf(`
duration: 5m
flinkVersion: "%s"
cluster:
  config: {jobmanager.scheduler: adaptive, taskmanager.numberOfTaskSlots: 2}
  taskManagers: {initial: 2, min: 2, max: 4, startupDelay: 25s}
jobs:
  - config: {execution.checkpointing.interval: 10s}
    restart: {base: 0s}
    vertices: [{id: v, parallelism: 8, capacity: 1000}]
    load: [{source: v, at: 0s, rate: 100}]
`, v)
			sc, err := scenario.Parse([]byte(y), "a11.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s.AdvanceTo(s.Start().Add(2 * time.Minute))
			id := s.JobIDs()[0]
			j, _ := s.Job(id)
			if j.Vertices[0].Parallelism != 8 {
				t.Fatalf("parallelism %d after 2 min, want 8", j.Vertices[0].Parallelism)
			}
			st, _ := s.Stats(id)
			if len(st.ParallelismChanges) != 1 {
				t.Fatalf("changes %+v", st.ParallelismChanges)
			}
			ch := st.ParallelismChanges[0]
			if at := ch.Time.Sub(s.Start()); at != want[v] || ch.Vertices["v"] != (VertexChange{Old: 4, New: 8}) || ch.Cause != "resources" {
				t.Errorf("rescale %+v at %v, want 4→8 at %v", ch, at, want[v])
			}
			// The first deployment: after the 10 s stabilization, with the 4 slots there were.
			if first := time.UnixMilli(j.Timestamps["CREATED"]).Sub(s.Start()); first != 0 {
				t.Errorf("created at %v", first)
			}
		})
	}
}
