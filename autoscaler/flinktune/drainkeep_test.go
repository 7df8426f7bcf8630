package flinktune

import (
	"testing"
	"time"
)

func TestKeptDrain(t *testing.T) {
	o := DefaultOptions() // utilization.min 0.35, target 0.8: midpoint 0.575; catch-up 10 min
	m := &vertexModel{info: vertexInfo{ID: "map", P: 10, MaxP: 128}, perSubtask: 1000, known: true, hot: 1}
	const lasting = 10000.0
	tests := []struct {
		name    string
		backlog float64 // records to drain over catch-up
		want    int
		ok      bool
	}{
		// 16k/s to drain at 95%: 17 subtasks, which the level keeps (10k/s at 59%).
		{"drain size already kept", 3.6e6, 17, true},
		// 20k/s: 22 subtasks, 43% at the level once drained (shed later); 17 drain it in 976 s.
		{"kept size drains within the stretch", 6e6, 17, true},
		// 30k/s: 32 subtasks; 17 would take 1951 s, more than three times catch-up (1800).
		{"kept size too slow", 12e6, 17, false},
		{"no backlog", 0, 13, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(o)
			rate := lasting + tc.backlog/o.CatchUp.Seconds()
			forDemand, forDrain := m.sizeFor(lasting, o.TargetUtilization, o), m.sizeFor(rate, catchUpUtilization, o)
			got, ok := p.keptDrain(m, lasting, lasting, rate, forDemand, forDrain)
			if got = max(forDemand, got); got != tc.want || ok != tc.ok {
				t.Errorf("keptDrain = %d, %v, want %d, %v (for demand %d, for drain %d)", got, ok, tc.want, tc.ok, forDemand, forDrain)
			}
		})
	}
}

// A start backlog of ten minutes of input on a steady level (the shape of gen-4, 53, 80).
// Sized to drain it within catch-up, the map ran the level below the midpoint once drained,
// and a second rescale shed the surplus (10 -> 14 at 36 min). On the size the scale-down
// keeps it drains within three times catch-up, and the job rescales once.
func TestDrainSizedToBeKept(t *testing.T) {
	o := DefaultOptions()
	j := newToy(func(time.Duration) float64 { return 10000 },
		&toyVertex{id: "src", p: 2, capacity: 60000, sel: 1}, &toyVertex{id: "map", p: 10, capacity: 1000, sel: 1, maxP: 128})
	j.lag = 6e6
	r := run(t, New(o), j, 2*time.Hour)
	if len(r.rescales) != 1 || r.dirs[0] != 1 {
		t.Fatalf("want one scale-up, got rescales at %v dirs %v final %v", r.rescales, r.dirs, r.final)
	}
	if j.lag > 1e5 {
		t.Errorf("lag %.0f records left at the end", j.lag)
	}
}
