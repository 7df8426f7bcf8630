package flinktune

import (
	"testing"
	"time"
)

// The initial layout waits settle whatever the demand's trend; after a rescale of ours the
// shorter waits of downWait apply as before.
func TestInitialLayoutWait(t *testing.T) {
	o := DefaultOptions()
	long := max(o.ScaleDownInterval, o.Settle)
	// ingest 10000/s; over settle (2100 s) a slope of -1/s sheds 21%.
	tests := []struct {
		name    string
		lastDir int
		slope   float64
		atLevel bool
		surplus bool
		want    time.Duration
	}{
		{"initial layout, flat", 0, 0, false, false, long},
		{"initial layout, falling", 0, -1, false, false, long},
		{"initial layout, back at a level", 0, 0, true, false, long},
		{"initial layout, surplus", 0, 0, false, true, long},
		{"after a scale-up, falling", 1, -1, false, false, o.ScaleDownInterval},
		{"after a scale-down, falling", -1, -1, false, false, o.ScaleDownInterval},
		{"after a scale-up, back at a level", 1, 0, true, false, o.ScaleDownInterval},
		{"after a scale-up, surplus", 1, 0, false, true, o.ScaleDownInterval},
		{"after a scale-up, flat", 1, 0, false, false, long},
	}
	for _, tc := range tests {
		p := New(o)
		p.st.LastDir, p.st.LowAtLevel = tc.lastDir, tc.atLevel
		e := &evaluation{ingest: 10000, slope: tc.slope}
		if got := p.downWait(e, tc.surplus); got != tc.want {
			t.Errorf("%s: waits %v, want %v", tc.name, got, tc.want)
		}
	}
}
