package bench

import (
	"testing"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

func TestReasonHead(t *testing.T) {
	sc := &scenario.Scenario{Jobs: []scenario.Job{{Name: "j", Vertices: []scenario.Vertex{{ID: "src"}, {ID: "map"}}}}}
	tr := newTracer(sc, nil)
	id := sim.VertexID("j", "map")
	tests := []struct{ reason, want string }{
		{"scale up: lag 995s of input drains in 2651s, 744s with a rescale", "scale up: lag"},
		{"scale down: demand low for 33m10s", "scale down: demand low for"},
		{"rescaling 2 vertices", "rescaling"},
		{"scale up: sources fall behind: lag 40s of input, 90s projected (limit 1m0s)", "scale up: sources fall behind: lag"},
		// A vertex id is named before the cut, in full or by its first 8 characters, so a hex
		// id starting with a digit does not end the head, nor one with a digit inside it.
		{"scale up: vertex " + id + " busy 95%", "scale up: vertex map busy"},
		{"scale up: vertex " + id[:8] + " busy 95%", "scale up: vertex map busy"},
		{"scale-up held: wait (2 of 3 cycles)", "scale-up held: wait"},
		{"balanced", "balanced"},
		{"42 vertices", "-"},
		{"", "-"},
	}
	for _, tc := range tests {
		if got := tr.reasonHead(tc.reason); got != tc.want {
			t.Errorf("reasonHead(%q) = %q, want %q", tc.reason, got, tc.want)
		}
	}
}
