package sim

import (
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// LoadRate is the noise-free input rate the simulator feeds a source at t, given that source's
// load segments in order: what a real-Flink run of the scenario feeds its source (package local).
func LoadRate(segs []scenario.LoadSegment, t time.Duration) float64 {
	r, _ := newLoadCurve(segs).at(t)
	return r
}
