package flinktune

import (
	"testing"
	"time"
)

// A trend's forecast is sized at utilization.max, the demand now at the target utilization;
// a recurring pattern's forecast (a learned level) and a flat demand keep the target.
func TestLastingSize(t *testing.T) {
	// 1000 records/s per subtask, no skew, no scaling loss, 128 key groups.
	m := &vertexModel{info: vertexInfo{P: 2, MaxP: 128}, perSubtask: 1000, known: true, hot: 1}
	o := DefaultOptions() // target 0.8, max 0.9
	cases := []struct {
		name             string
		demand, forecast float64
		pattern          string
		want             int
	}{
		// 52k/s forecast: 65 subtasks at the target, 58 at utilization.max (gen-58's ramp).
		{"ramp forecast at utilization.max", 30000, 52000, "", 58},
		// The demand now still needs the target's headroom.
		{"demand now at the target", 30000, 30500, "", 38},
		{"flat demand", 30000, 30000, "", 38},
		{"falling forecast", 30000, 20000, "", 38},
		{"recurring pattern at the target", 30000, 52000, "daily", 65},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &evaluation{pattern: c.pattern}
			if got := lastingSize(m, c.demand, c.forecast, e, o); got != c.want {
				t.Errorf("lastingSize(%v, %v) = %d, want %d", c.demand, c.forecast, got, c.want)
			}
		})
	}
}

// A ramp that ends before the horizon it was forecast for: the one scale-up on the ramp is
// sized for the forecast at utilization.max, and the level after the ramp runs without the
// target's headroom stacked on the extrapolation (it sits above the midpoint of
// utilization.min and the target, so no scale-down sheds it: the surplus lasts the run).
func TestRampForecastNotPaddedTwice(t *testing.T) {
	level := func(el time.Duration) float64 {
		switch {
		case el < 20*time.Minute:
			return 10000
		case el < 60*time.Minute:
			return 10000 + 20000*(el-20*time.Minute).Seconds()/(40*time.Minute).Seconds()
		}
		return 30000
	}
	// 3% noise, deterministic: a noiseless ramp fits its lines exactly, and any rounding then
	// reads as a trend break.
	rate := func(el time.Duration) float64 {
		x := uint32(el/time.Second) * 2654435761
		return level(el) * (1 + 0.03*(float64(x%2001)/1000-1))
	}
	j := newToy(rate,
		&toyVertex{id: "src", p: 1, capacity: 200000, sel: 1},
		&toyVertex{id: "agg", p: 20, capacity: 1000, sel: 1, maxP: 1024, hash: true})
	r := run(t, New(DefaultOptions()), j, 3*time.Hour)
	// Caught 28 minutes into the ramp at 24k/s, forecast at 41k/s for 35 minutes ahead; the ramp
	// ends 12 minutes later at 30k/s, which 38 subtasks carry at the target utilization. Sized
	// at the target, the forecast took 61 subtasks (49% at 30k/s, held to the end); at
	// utilization.max, 52.
	if len(r.rescales) != 1 || r.dirs[0] != 1 {
		t.Fatalf("rescales at %v (directions %v): want one scale-up on the ramp", r.rescales, r.dirs)
	}
	if r.final["agg"] > 55 {
		t.Errorf("agg at %d subtasks after the ramp: want at most 55 (30k/s needs 38 at the target)", r.final["agg"])
	}
	if r.maxLagSec > 90 {
		t.Errorf("max lag %.0fs: want at most 90s", r.maxLagSec)
	}
}
