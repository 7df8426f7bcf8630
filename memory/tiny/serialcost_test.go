package tiny

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// The Serial cost model's shape, independent of its fitted numbers: a floor where the old
// generation takes the eden's worst case, collection costs falling as 1/eden, and a rate that
// falls once the eden leaves the cache.
func TestSerialCostShape(t *testing.T) {
	c := &SerialCost{CachedMiBps: 5000, UncachedMiBps: 2000, C1Factor: 0.6, CacheMs: 8, CacheRampMs: 4,
		YoungMs: 1, YoungUncachedMs: 2, LiveMiB: 10, SlotLiveMiB: 2}
	for _, tc := range []struct {
		slots int
		floor int64
	}{{1, 25 * MiB}, {2, 30 * MiB}} { // live / (2/3 - 0.8/3) = 2.5 × live
		got := c.floor(tc.slots)
		if got < tc.floor || got > tc.floor+64*KiB {
			t.Errorf("floor(%d slots) = %d, want %d", tc.slots, got, tc.floor)
		}
		if c.thrashes(got, tc.slots) || !c.thrashes(got-MiB, tc.slots) {
			t.Errorf("floor(%d slots) = %s is not the thrashing boundary", tc.slots, HumanSize(got))
		}
	}
	// In the cache: only the collections change with the heap, and less and less.
	w1, g1, m1 := c.costs(30*MiB, JITTiered)
	w2, g2, m2 := c.costs(60*MiB, JITTiered)
	if m1 != 0 || m2 != 0 || w1 != w2 || math.Abs(g1/g2-2) > 1e-9 {
		t.Errorf("in the cache: work %g/%g, gc %g/%g (want halved), miss %g/%g", w1, w2, g1, g2, m1, m2)
	}
	// Out of it: the pipeline's uncached rate; C1 reaches C1Factor of it.
	w, _, m := c.costs(600*MiB, JITTiered)
	wc1, _, mc1 := c.costs(600*MiB, JITC1)
	if m != 1 || mc1 != 1 || math.Abs(1/w-2000) > 1e-6 || math.Abs(1/wc1-1200) > 1e-6 {
		t.Errorf("out of the cache: %g and %g MiB per CPU-second (miss %g, %g), want 2000 and 1200", 1/w, 1/wc1, m, mc1)
	}
	// C1's slower sweep leaves the cache at a smaller eden: 8 ms × 3000 MiB/s = 24 MiB.
	if _, _, m := c.costs(90*MiB, JITC1); m != 0 { // eden 24 MiB
		t.Errorf("C1 at an eden of 24 MiB: miss %g, want 0", m)
	}
	if _, _, m := c.costs(96*MiB, JITC1); m <= 0 {
		t.Errorf("C1 at an eden of 25.6 MiB: miss %g, want > 0", m)
	}
	// The best heap is inside the cache, not the largest.
	h, capacity := bestSerialHeap(c, c.floor(2), 1*GiB, 2*MiB, JITTiered, 2, 2)
	most := 0.0
	for x := c.floor(2); x <= GiB; x += 2 * MiB {
		if got, _, _ := serialCapacity(c, x, JITTiered, 2, 2); got > most {
			most = got
		}
	}
	if serialEdenMiB(h) > 8*5 || capacity < most*(1-nearBest) {
		t.Errorf("best heap %s (eden %.1f MiB, %.0f MiB/s); the most is %.0f", HumanSize(h), serialEdenMiB(h), capacity, most)
	}
}

// On the measured calibration the planner refuses a budget whose only heaps thrash, names a
// budget whose profile does not, and does not take the largest heap a big budget allows.
func TestLinuxPlannerSerialCost(t *testing.T) {
	plat := platform(t, "linux-x64-jdk17")
	req := func(budget int64) Request {
		return Request{Machine: Machine{plat, 2}, Connector: ConnectorDatagen, Budget: budget}
	}
	_, err := NewPlan(req(140 * MiB))
	var be *BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("--budget 140m: %v, want a budget error", err)
	}
	p, err := NewPlan(req(ceilMiB(be.Smallest)))
	if err != nil {
		t.Fatalf("the smallest budget named (%s): %v", HumanSize(be.Smallest), err)
	}
	sc := plat.jobCalibration(ConnectorDatagen).Serial
	if p.Setup.JVM.GC != GCSerial || sc.thrashes(p.Setup.JVM.Heap, p.Setup.Flink.Slots) {
		t.Errorf("smallest profile %s, %s thrashes or is not Serial", p.Setup.JVM.GC, JVMSize(p.Setup.JVM.Heap))
	}
	// The same heap one step lower is refused as thrashing.
	s := p.Setup
	s.JVM.Heap -= 2 * MiB
	e := evaluate(t, s)
	if e.Failure == nil || !strings.Contains(e.Failure.Message, "thrashes") {
		t.Errorf("-Xmx%s: failure %+v, want thrashing", JVMSize(s.JVM.Heap), e.Failure)
	}
	big, err := NewPlan(req(512 * MiB))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, miss := sc.costs(big.Setup.JVM.Heap, big.Setup.JVM.JIT); miss > 0 || big.Setup.JVM.Heap > 256*MiB {
		t.Errorf("--budget 512m plans -Xmx%s (eden %.1f MiB out of the cache %.0f%%): want the heap whose eden stays in it",
			JVMSize(big.Setup.JVM.Heap), serialEdenMiB(big.Setup.JVM.Heap), miss*100)
	}
}
