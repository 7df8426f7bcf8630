package scheduler

import (
	"maps"
	"testing"
)

func TestSlotsNeeded(t *testing.T) {
	tests := []struct {
		name      string
		vs        []VertexParallelism
		slotsPer  int
		want      int
		wantGroup map[string]int
		wantTMs   int
	}{
		{"one group", []VertexParallelism{{"source", "default", 4}, {"map", "default", 8}, {"sink", "default", 8}}, 4,
			8, map[string]int{"default": 8}, 2},
		{"sink in own group", []VertexParallelism{{"source", "default", 4}, {"map", "default", 8}, {"sink", "sinks", 8}}, 4,
			16, map[string]int{"default": 8, "sinks": 8}, 4},
		// flink-scheduling.md §B.5 example 1: 10 slots on 4-slot TaskManagers.
		{"ten slots", []VertexParallelism{{"v", "default", 10}}, 4, 10, map[string]int{"default": 10}, 3},
		{"empty", nil, 4, 0, map[string]int{}, 0},
		{"zero slots per TM", []VertexParallelism{{"v", "g", 3}}, 0, 3, map[string]int{"g": 3}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, per := SlotsNeeded(tc.vs)
			if got != tc.want || !maps.Equal(per, tc.wantGroup) {
				t.Errorf("SlotsNeeded = %d, %v; want %d, %v", got, per, tc.want, tc.wantGroup)
			}
			if tms := TaskManagersNeeded(got, tc.slotsPer); tms != tc.wantTMs {
				t.Errorf("TaskManagersNeeded(%d, %d) = %d, want %d", got, tc.slotsPer, tms, tc.wantTMs)
			}
		})
	}
}
