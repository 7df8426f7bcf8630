package generate

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

const corpusSize = 300

// TestCorpusLoadsAndIsRealistic checks every generated scenario against the strict loader and
// the generator's promises (package comment), and that the corpus covers the ranges issue 9
// asks for.
func TestCorpusLoadsAndIsRealistic(t *testing.T) {
	corpus, err := Corpus(1, corpusSize)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string]int{}
	ships := map[string]int{}
	var loads = map[string]int{}
	var minSel, maxSel = math.Inf(1), 0.0
	var rocks, heapState, skewed, primes, faults, backlogs int
	for _, g := range corpus {
		sc, err := g.Scenario()
		if err != nil {
			t.Fatalf("%s does not load: %v\n%s", g.Name, err, g.YAML)
		}
		shapes[g.Shape]++
		for _, l := range g.Load {
			loads[l]++
		}
		if len(sc.Faults) > 0 {
			faults++
		}
		j := &sc.Jobs[0]
		if n := len(j.Vertices); n < 2 || n > 12 {
			t.Errorf("%s: %d vertices, want 2..12", g.Name, n)
		}
		cfg := sc.JobConfig(j)
		slots, _, _ := flinkconf.FromMap(cfg).Int(flinkconf.TMNumberOfTaskSlots)
		tm, err := memory.DeriveTaskManager(flinkconf.FromMap(cfg), nil, memory.Flink1)
		if err != nil {
			t.Fatalf("%s: TaskManager memory: %v", g.Name, err)
		}
		if p := tm.TotalProcess; p < 1<<30 || p > 16<<30 {
			t.Errorf("%s: TaskManager process size %d, want 1–16 GiB", g.Name, p)
		}
		if slots < 1 || slots > 8 {
			t.Errorf("%s: %d slots, want 1..8", g.Name, slots)
		}
		isRocks := cfg["state.backend.type"] == "rocksdb"
		var state int64
		maxP := 0
		for _, v := range j.Vertices {
			maxP = max(maxP, v.Parallelism)
			if v.MaxParallelism < 128 || v.MaxParallelism > 32768 {
				t.Errorf("%s/%s: max parallelism %d", g.Name, v.ID, v.MaxParallelism)
			}
			if v.Capacity < 1000 || v.Capacity > 100e3 {
				t.Errorf("%s/%s: capacity %g, want 1k..100k", g.Name, v.ID, v.Capacity)
			}
			if !v.IsSource() {
				minSel, maxSel = min(minSel, v.Selectivity), max(maxSel, v.Selectivity)
			}
			if v.KeySkew > 0 {
				skewed++
			}
			if v.IsSource() && (v.Partitions == 7 || v.Partitions == 11 || v.Partitions == 13 || v.Partitions == 17 || v.Partitions == 31 || v.Partitions == 97) {
				primes++
			}
			for _, in := range v.Inputs {
				ships[in.Ship]++
			}
			if v.State.BytesPerSubtask > 0 {
				state += v.State.BytesPerSubtask * int64(slots)
			} else {
				state += v.State.Bytes
			}
		}
		// The operators' heap fits half the TaskManager heap.
		ops := 64.0 * (1 << 20)
		for _, v := range j.Vertices {
			ops += float64(slots) * (float64(v.Heap.Base) + v.Heap.PerRecordPerSecond*v.Capacity)
		}
		if ops > 0.5*float64(tm.JVMHeap()) {
			t.Errorf("%s: operators use %.0f MiB of a %d MiB heap", g.Name, ops/(1<<20), tm.JVMHeap()>>20)
		}
		// Heap state fits half the heap (half of it live), else RocksDB.
		if state > 0 && !isRocks {
			heapState++
			if float64(state)*0.5 > 0.5*float64(tm.JVMHeap()) {
				t.Errorf("%s: %d bytes of heap state on a %d-byte heap", g.Name, state, tm.JVMHeap())
			}
		}
		if isRocks {
			rocks++
		}
		// The cluster starts with the slots the job needs and may grow.
		if got := sc.Cluster.TaskManagers.Initial * int(slots); got < maxP {
			t.Errorf("%s: %d initial slots for parallelism %d", g.Name, got, maxP)
		}
		if sc.Cluster.TaskManagers.Max < sc.Cluster.TaskManagers.Initial {
			t.Errorf("%s: max TaskManagers below initial", g.Name)
		}
		for _, s := range j.Load {
			if s.Backlog > 0 {
				backlogs++
			}
		}
		// Pure: the same seed gives the same bytes.
		again, _ := Generate(g.Seed)
		if !bytes.Equal(again.YAML, g.YAML) {
			t.Fatalf("%s: not deterministic", g.Name)
		}
	}
	for _, s := range []string{ShapeChain, ShapeJoin, ShapeFanOut, ShapeDiamond, ShapeUnion} {
		if shapes[s] < corpusSize/20 {
			t.Errorf("shape %s in %d scenarios, want at least %d", s, shapes[s], corpusSize/20)
		}
	}
	for _, s := range []string{scenario.ShipForward, scenario.ShipHash, scenario.ShipRebalance} {
		if ships[s] == 0 {
			t.Errorf("no %s edge in the corpus", s)
		}
	}
	for _, l := range []string{LoadSteady, LoadSteps, LoadRamp, LoadSpike, LoadSine, LoadDaily, "tm-loss", "rest-errors", "metrics-missing"} {
		if loads[l] == 0 {
			t.Errorf("no %s load or fault in the corpus", l)
		}
	}
	if minSel > 0.005 || maxSel < 3 {
		t.Errorf("selectivity range %g..%g, want about 0.001..5", minSel, maxSel)
	}
	if rocks == 0 || heapState == 0 || skewed == 0 || primes == 0 || faults == 0 || backlogs == 0 {
		t.Errorf("coverage: rocksdb %d, heap state %d, skewed %d, prime partitions %d, faults %d, backlogs %d", rocks, heapState, skewed, primes, faults, backlogs)
	}
	t.Logf("shapes %v, ships %v, loads %v, selectivity %g..%g, rocksdb %d, heap state %d, faults %d", shapes, ships, loads, minSel, maxSel, rocks, heapState, faults)
}

func TestSeedsDiffer(t *testing.T) {
	a, _ := Generate(1)
	b, _ := Generate(2)
	if bytes.Equal(a.YAML, b.YAML) {
		t.Error("seeds 1 and 2 give the same scenario")
	}
}

// FuzzGenerate: every seed gives a scenario the strict loader accepts.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(0))
	f.Add(uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, seed uint64) {
		g, err := Generate(seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := g.Scenario(); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, g.YAML)
		}
	})
}

// TestInitialConfigurationRuns: every generated job, as configured, deploys and runs on the
// simulator for its first 20 minutes without running out of heap, container memory or network
// buffers (no policy acting).
func TestInitialConfigurationRuns(t *testing.T) {
	corpus, err := Corpus(1, corpusSize/2)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range corpus {
		sc, err := g.Scenario()
		if err != nil {
			t.Fatal(err)
		}
		s, err := sim.New(sc, sim.Options{NoSeries: true})
		if err != nil {
			t.Fatalf("%s: %v", g.Name, err)
		}
		s.AdvanceTo(s.Start().Add(20 * time.Minute))
		id := s.JobIDs()[0]
		st, _ := s.Stats(id)
		if st.OOMKills+st.ContainerKills > 0 || st.ParallelismSeconds == 0 {
			ex, _ := s.Exceptions(id)
			msg := ""
			if len(ex) > 0 {
				msg = ex[0].Exception
			}
			t.Errorf("%s (%s): %d OOM kills, %d container kills, %.0f parallelism-seconds: %s", g.Name, g.Describe(), st.OOMKills, st.ContainerKills, st.ParallelismSeconds, msg)
		}
	}
}
