package flinktune

import (
	"strings"
	"testing"
)

// A scale-down is held when the lag its restart leaves above lag.max (1 min) would take the
// capacity it keeps longer to drain than the restart was down, however soon the whole lag
// drains (restartUndrained, catch-up.duration, passes every case here).
func TestScaleDownHeldWhenRestartLagStaysAboveObjective(t *testing.T) {
	src := vertexInfo{ID: "src", P: 8, Source: true}
	e := &evaluation{
		order:    []vertexInfo{src},
		models:   map[string]*vertexModel{"src": {info: src, perSubtask: 10000, known: true}},
		demand:   map[string]float64{"src": 40000},
		peak:     map[string]float64{"src": 40000},
		forecast: map[string]float64{"src": 40000},
		ingest:   40000,
	}
	for _, tc := range []struct {
		name     string
		target   int     // subtasks of 10,000/s kept
		downSec  float64 // restart downtime
		replay   float64
		wantHold bool
	}{
		{"restart within the objective", 5, 30, 20, false},             // 50 s behind
		{"excess drains within the downtime", 8, 60, 40, false},        // 40 s above, surplus 1.0: 40 s
		{"thin surplus holds the excess", 5, 60, 40, true},             // 40 s above, surplus 0.25: 160 s
		{"large state: long restart and replay", 8, 156, 233, true},    // 329 s above, surplus 1.0: 329 s
		{"long restart, short replay, wide surplus", 8, 156, 0, false}, // 96 s above: 96 s
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(DefaultOptions())
			p.st.Downtimes = []float64{tc.downSec}
			sz := sizing{down0: tc.downSec, restart: e.ingest * (tc.downSec + tc.replay)}
			target := map[string]int{"src": tc.target}
			if why := p.restartUndrained(e, sz, target); why != "" {
				t.Fatalf("restartUndrained holds it already: %s", why)
			}
			why := p.restartOverObjective(e, sz, target)
			if (why != "") != tc.wantHold {
				t.Fatalf("restartOverObjective = %q, want hold %v", why, tc.wantHold)
			}
			if why != "" && !strings.Contains(why, "above 1m0s") {
				t.Errorf("reason %q does not name lag.max", why)
			}
		})
	}
}
