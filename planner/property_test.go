package planner

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomSpec draws a job of 1–5 slot-sharing groups (some unspecified) on a random
// TaskManager, optionally with registered TaskManagers and slot-manager options.
func randomSpec(rng *rand.Rand) Spec {
	cpu := DecimalInt(int64(1 + rng.IntN(8)))
	if rng.IntN(3) == 0 {
		cpu += Decimal(rng.Int64N(int64(DecimalInt(1))))
	}
	tm := Shape{Name: "tm", Slots: 1 + rng.IntN(6), Total: Profile{
		CPU:      cpu,
		TaskHeap: int64(1+rng.IntN(8)) * testGiB,
		Managed:  int64(rng.IntN(4)) * testGiB,
		Network:  int64(rng.IntN(3)) * 256 * testMiB,
	}}
	if rng.IntN(4) == 0 {
		tm.Total.Extended = map[string]Decimal{"gpu": DecimalInt(int64(1 + rng.IntN(4)))}
	}
	s := Spec{TaskManager: tm, Search: SearchOptions{Disabled: true}}
	for g := 0; g < 1+rng.IntN(5); g++ {
		grp := Group{Name: fmt.Sprintf("g%d", g), Slots: 1 + rng.IntN(20)}
		if rng.IntN(4) != 0 {
			p := Profile{
				CPU:      Decimal(1 + rng.Int64N(int64(tm.Total.CPU))),
				TaskHeap: 1 + rng.Int64N(tm.Total.TaskHeap),
			}
			if tm.Total.Managed > 0 && rng.IntN(2) == 0 {
				p.Managed = rng.Int64N(tm.Total.Managed + 1)
			}
			if g := tm.Total.Extended["gpu"]; g > 0 && rng.IntN(2) == 0 {
				p.Extended = map[string]Decimal{"gpu": Decimal(1 + rng.Int64N(int64(g)))}
			}
			grp.Profile = &p
		}
		s.Groups = append(s.Groups, grp)
	}
	for i := 0; i < rng.IntN(3); i++ {
		s.Registered = append(s.Registered, Profile{})
	}
	s.Pending = rng.IntN(2)
	if rng.IntN(4) == 0 {
		s.Options.RedundantTaskManagers = rng.IntN(2)
	}
	if rng.IntN(4) == 0 {
		s.Options.EvenlySpread = true
	}
	return s
}

// The recommended plan never overfills a TaskManager, places every slot exactly once, never
// needs more TaskManagers than Flink's default, and is never below the lower bound; Flink's
// own outcome never overfills either.
func TestRecommendedPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for i := 0; i < 400; i++ {
		spec := randomSpec(rng)
		r, err := Plan(spec)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		for _, tm := range r.FlinkDefault.Allocation {
			assertNotOverfilled(t, i, "flink", tm)
		}
		rec := r.Recommended
		if rec == nil {
			if r.FlinkDefault.Fulfillable {
				t.Fatalf("case %d: Flink runs the job but no recommended plan", i)
			}
			continue
		}
		checked++
		placed := map[string]int{}
		for _, tm := range rec.Allocation {
			assertNotOverfilled(t, i, "recommended", tm)
			for _, s := range tm.Slots {
				placed[s.Request] += s.Count
			}
		}
		for _, q := range r.Requests {
			if placed[q.Name] != q.Slots {
				t.Fatalf("case %d: request %s placed %d times, wants %d", i, q.Name, placed[q.Name], q.Slots)
			}
		}
		if rec.TaskManagers != len(rec.Allocation) {
			t.Fatalf("case %d: %d TaskManagers but %d allocations", i, rec.TaskManagers, len(rec.Allocation))
		}
		if r.FlinkDefault.Fulfillable && rec.TaskManagers > r.FlinkDefault.TaskManagers {
			t.Fatalf("case %d: recommended %d > Flink's %d", i, rec.TaskManagers, r.FlinkDefault.TaskManagers)
		}
		if rec.TaskManagers < r.LowerBound {
			t.Fatalf("case %d: recommended %d < lower bound %d", i, rec.TaskManagers, r.LowerBound)
		}
		if rec.GapToLowerBound != rec.TaskManagers-r.LowerBound {
			t.Fatalf("case %d: gap %d", i, rec.GapToLowerBound)
		}
	}
	if checked < 200 {
		t.Fatalf("only %d cases had a recommended plan", checked)
	}
}

func assertNotOverfilled(t *testing.T, i int, which string, tm TMOut) {
	t.Helper()
	f := tm.Free
	if f.CPU < 0 || f.TaskHeap < 0 || f.TaskOffHeap < 0 || f.Managed < 0 || f.Network < 0 {
		t.Fatalf("case %d: %s %s overfilled: free %+v", i, which, tm.Name, f)
	}
	for k, v := range f.Extended {
		if v < 0 {
			t.Fatalf("case %d: %s %s overfilled in %s", i, which, tm.Name, k)
		}
	}
	if tm.Fill > 100+1e-9 {
		t.Fatalf("case %d: %s %s fill %v%%", i, which, tm.Name, tm.Fill)
	}
}

// Packing heuristics, checked directly against the lower bound on random vectors.
func TestPackBestProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sp := &space{}
	for i := 0; i < 200; i++ {
		capacity := vec{int64(DecimalInt(4)), 8 * testGiB, 2 * testGiB, testGiB, 0}
		var runs []run
		for r := 0; r < 1+rng.IntN(6); r++ {
			v := vec{1 + rng.Int64N(capacity[0]), 1 + rng.Int64N(capacity[1]), rng.Int64N(capacity[2] + 1), rng.Int64N(capacity[3] + 1), 0}
			runs = append(runs, run{req: r, v: v, count: 1 + rng.IntN(30)})
		}
		pk := packBest(sp, runs, capacity, nil)
		lb := lowerBound(runs, capacity, nil)
		if len(pk.bins) < lb {
			t.Fatalf("case %d: %d bins below lower bound %d", i, len(pk.bins), lb)
		}
		ff := firstFit(runs, capacity, nil)
		if len(pk.bins) > len(ff) {
			t.Fatalf("case %d: best %d worse than first fit %d", i, len(pk.bins), len(ff))
		}
		n := 0
		for _, b := range pk.bins {
			if !fits(b.cap, b.used) {
				t.Fatalf("case %d: overfilled bin", i)
			}
			n += b.slots()
		}
		want := 0
		for _, r := range runs {
			want += r.count
		}
		if n != want {
			t.Fatalf("case %d: placed %d of %d slots", i, n, want)
		}
	}
}

func TestLowerBound(t *testing.T) {
	capacity := vec{int64(DecimalInt(4)), 4 * testGiB}
	tests := []struct {
		name string
		runs []run
		want int
	}{
		{"sum of heap", []run{{v: vec{int64(DecimalInt(1)), testGiB}, count: 9}}, 3},
		{"sum of cpu", []run{{v: vec{int64(DecimalInt(1)), 1}, count: 9}}, 3},
		{"items above half", []run{{v: vec{1, 3 * testGiB}, count: 2}}, 2},
		{"above half in one dimension only", []run{{v: vec{int64(DecimalInt(3)), 1}, count: 3}, {v: vec{1, 3 * testGiB}, count: 3}}, 3},
	}
	for _, tc := range tests {
		if got := lowerBound(tc.runs, capacity, nil); got != tc.want {
			t.Errorf("%s: lowerBound = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// BenchmarkPack10000 packs 10,000 slot requests of random sizes (no two alike) with every
// heuristic; the goal is well under a second per operation.
func BenchmarkPack10000(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	capacity := vec{int64(DecimalInt(8)), 16 * testGiB, 4 * testGiB, 8 * testGiB, testGiB}
	runs := make([]run, 10_000)
	for i := range runs {
		runs[i] = run{req: i, count: 1, v: vec{
			1 + rng.Int64N(capacity[0]/2), 1 + rng.Int64N(capacity[1]/2), rng.Int64N(capacity[2] / 2), rng.Int64N(capacity[3] / 2), rng.Int64N(capacity[4] / 4),
		}}
	}
	sp := &space{}
	b.ResetTimer()
	for b.Loop() {
		if pk := packBest(sp, runs, capacity, nil); pk == nil {
			b.Fatal("no plan")
		}
	}
}

// BenchmarkPlan10000 runs the whole planner (Flink's outcome, order sensitivity, packing)
// for a job of 10,000 slots in five slot-sharing groups.
func BenchmarkPlan10000(b *testing.B) {
	s := Spec{TaskManager: b4096(b), Search: SearchOptions{Disabled: true}}
	for g := 0; g < 5; g++ {
		s.Groups = append(s.Groups, heapGroup(fmt.Sprintf("g%d", g), int64(100+50*g)*testMiB, 2000, DecimalInt(1)/Decimal(g+1)))
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Plan(s); err != nil {
			b.Fatal(err)
		}
	}
}
