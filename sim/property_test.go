package sim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
)

// randomScenario writes a random but valid scenario as YAML (so the loader is exercised too).
func randomScenario(r *rand.Rand, n int) string {
	var b strings.Builder
	versions := []string{"1.18", "1.19", "1.20", "2.0"}
	slots := 1 + r.IntN(4)
	minTM := r.IntN(3)
	initial := minTM + r.IntN(3)
	maxTM := initial + 1 + r.IntN(6)
	fmt.Fprintf(&b, "name: random-%d\nseed: %d\nduration: 2h\nflinkVersion: \"%s\"\n", n, r.Uint32(), versions[r.IntN(4)])
	mode := ""
	if r.IntN(6) == 0 {
		mode = "\n    scheduler-mode: reactive"
	}
	backend := []string{"hashmap", "rocksdb"}[r.IntN(2)]
	fmt.Fprintf(&b, "cluster:\n  config:\n    jobmanager.scheduler: adaptive\n    taskmanager.numberOfTaskSlots: %d\n    taskmanager.memory.process.size: %dm\n    state.backend.type: %s%s\n",
		slots, 1536+r.IntN(6)*512, backend, mode)
	fmt.Fprintf(&b, "  taskManagers: {initial: %d, min: %d, max: %d, startupDelay: %ds, idleTimeout: %ds}\n", initial, minTM, maxTM, 5+r.IntN(40), 10+r.IntN(60))
	b.WriteString("jobs:\n")
	jobs := 1 + r.IntN(2)
	for j := range jobs {
		fmt.Fprintf(&b, "  - name: j%d\n", j)
		if r.IntN(5) > 0 {
			fmt.Fprintf(&b, "    config: {execution.checkpointing.interval: %ds, pipeline.max-parallelism: %d}\n", 5+r.IntN(60), 16+r.IntN(100))
		} else {
			b.WriteString("    config: {pipeline.max-parallelism: 32}\n")
		}
		fmt.Fprintf(&b, "    restart: {base: %ds, restoreRate: %dm}\n", r.IntN(30), 50+r.IntN(400))
		b.WriteString("    vertices:\n")
		nv := 2 + r.IntN(4)
		par := make([]int, nv)
		for v := range nv {
			par[v] = 1 + r.IntN(4)
			fmt.Fprintf(&b, "      - {id: v%d, name: \"Op %d\", parallelism: %d, capacity: %d, scalingEfficiency: %.2f, selectivity: %.2f",
				v, v, par[v], 200+r.IntN(5000), 0.8+0.2*r.Float64(), 0.3+1.5*r.Float64())
			if r.IntN(3) == 0 {
				fmt.Fprintf(&b, ", slotSharingGroup: g%d", r.IntN(2))
			}
			if v == 0 {
				if r.IntN(2) == 0 {
					fmt.Fprintf(&b, ", partitions: %d", 1+r.IntN(12))
				}
			} else {
				from := r.IntN(v)
				ship := []string{"HASH", "REBALANCE", "RESCALE", "BROADCAST", "FORWARD"}[r.IntN(5)]
				if ship == "FORWARD" && par[from] != par[v] {
					ship = "HASH"
				}
				fmt.Fprintf(&b, ", inputs: [{from: v%d, ship: %s}", from, ship)
				if v >= 2 && r.IntN(3) == 0 {
					other := r.IntN(v)
					if other != from {
						fmt.Fprintf(&b, ", {from: v%d, ship: REBALANCE}", other)
					}
				}
				b.WriteString("]")
				if ship == "HASH" && r.IntN(2) == 0 {
					fmt.Fprintf(&b, ", keySkew: %.2f", 1.5*r.Float64())
				}
				if r.IntN(2) == 0 {
					fmt.Fprintf(&b, ", state: {bytesPerSubtask: %dm}", r.IntN(200))
				}
				if r.IntN(3) == 0 {
					fmt.Fprintf(&b, ", heap: {base: %dm, perRecordPerSecond: %d}", 1+r.IntN(32), r.IntN(2000))
				}
			}
			b.WriteString("}\n")
		}
		b.WriteString("    load:\n")
		rate := 100 + r.IntN(4000)
		fmt.Fprintf(&b, "      - {source: v0, at: 0s, rate: %d, noise: %.2f, backlog: %d}\n", rate, 0.1*r.Float64(), r.IntN(100000))
		at := 0
		for range r.IntN(4) {
			at += 5 + r.IntN(30)
			rate = 100 + r.IntN(8000)
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(&b, "      - {source: v0, at: %dm, rate: %d}\n", at, rate)
			case 1:
				fmt.Fprintf(&b, "      - {source: v0, at: %dm, rate: %d, ramp: %dm}\n", at, rate, 1+r.IntN(20))
			case 2:
				fmt.Fprintf(&b, "      - {source: v0, at: %dm, rate: %d, sine: {period: %dm, amplitude: %.2f}}\n", at, rate, 10+r.IntN(60), r.Float64())
			case 3:
				fmt.Fprintf(&b, "      - {source: v0, at: %dm, rate: %d, spike: {for: %dm, factor: %.1f}}\n", at, rate, 1+r.IntN(10), 1+4*r.Float64())
			}
		}
	}
	b.WriteString("faults:\n")
	fmt.Fprintf(&b, "  - {at: %dm, kill: taskmanager, count: %d}\n", 10+r.IntN(60), 1+r.IntN(2))
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "  - {at: %dm, kill: jobmanager, for: %ds}\n", 20+r.IntN(60), 5+r.IntN(60))
	}
	return b.String()
}

// checkInvariants verifies the properties that must hold after every tick.
func checkInvariants(t *testing.T, s *Sim, lastAttempt map[string]int) {
	t.Helper()
	now := s.Elapsed()
	total, _ := s.slotTotals()
	held := 0
	for _, j := range s.jobs {
		// Conservation: input = processed + lag, for every source.
		for _, vi := range j.srcs {
			src := j.vs[vi].src
			if src.input() != src.processed()+src.lag() {
				t.Fatalf("%v %s: input %d != processed %d + lag %d", now, j.name, src.input(), src.processed(), src.lag())
			}
			for k := range src.pos {
				if src.pos[k] < 0 || src.pos[k] > src.end[k] {
					t.Fatalf("%v %s: partition %d position %d outside [0, %d]", now, j.name, k, src.pos[k], src.end[k])
				}
			}
		}
		h := j.heldSlots()
		held += h
		if j.exec != nil {
			// A new deployment respects the requirements in force.
			if j.exec.attempt != lastAttempt[j.id] {
				lastAttempt[j.id] = j.exec.attempt
				for i, v := range j.vs {
					rq := j.req[i]
					if v.p < 1 || v.p > rq.Upper || v.p > v.maxP {
						t.Fatalf("%v %s: vertex %s parallelism %d outside [1, %d] (max %d)", now, j.name, v.sv.ID, v.p, rq.Upper, v.maxP)
					}
					if s.version >= 1 && v.p < rq.Lower {
						t.Fatalf("%v %s: vertex %s parallelism %d below its lower bound %d", now, j.name, v.sv.ID, v.p, rq.Lower)
					}
				}
			}
			// The execution fits in the job's slots, each slot used once.
			p := map[string]int{}
			for _, v := range j.vs {
				p[v.sv.ID] = v.p
			}
			need := len(scheduler.SharedSlots(j.req, p))
			inUse := 0
			for _, tm := range s.tms {
				for _, sl := range tm.slots {
					if sl.job == j && sl.inUse {
						inUse++
					}
				}
			}
			if inUse != need || need > h {
				t.Fatalf("%v %s: execution needs %d slots, %d in use, %d held", now, j.name, need, inUse, h)
			}
			for vi, subs := range j.exec.placement {
				for si, tm := range subs {
					if tm == nil || s.tmByID(tm.id) == nil {
						t.Fatalf("%v %s: subtask %d of %s placed on a TaskManager that is gone", now, j.name, si, j.vs[vi].sv.ID)
					}
				}
			}
		}
	}
	if held > total {
		t.Fatalf("%v: %d slots held of %d", now, held, total)
	}
	if len(s.tms) > s.tmBounds.Max {
		t.Fatalf("%v: %d TaskManagers > max %d", now, len(s.tms), s.tmBounds.Max)
	}
	if s.jobManagerAlive() && len(s.tms)+len(s.pending) < s.tmBounds.Min {
		t.Fatalf("%v: %d registered + %d pending TaskManagers < min %d", now, len(s.tms), len(s.pending), s.tmBounds.Min)
	}
}

// runRandom runs a random scenario with random resource-requirement changes and returns a
// fingerprint of everything observable.
func runRandom(t *testing.T, yaml string, seed uint64, check bool, tally map[string]int) [32]byte {
	sc, err := scenario.Parse([]byte(yaml), "random.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	s, err := New(sc, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	h := sha256.New()
	last := map[string]int{}
	for !s.Done() {
		if r.IntN(600) == 0 {
			// A policy rescales: new upper bounds for every vertex of a random job.
			id := s.JobIDs()[r.IntN(len(s.jobs))]
			req, _ := s.Requirements(id)
			for _, vid := range slices.Sorted(maps.Keys(req)) {
				b := req[vid]
				b.Upper = 1 + r.IntN(6)
				b.Lower = 1 + r.IntN(b.Upper)
				req[vid] = b
			}
			s.SetRequirements(id, req)
		}
		if r.IntN(20000) == 0 {
			cfg := s.TaskManagerConfig()
			cfg.Set("taskmanager.memory.process.size", fmt.Sprintf("%dm", 1536+r.IntN(4)*512))
			if err := s.SetTaskManagerConfig(cfg); err != nil {
				t.Fatal(err)
			}
		}
		s.Step()
		if check {
			checkInvariants(t, s, last)
		}
		if s.ticks%60 == 0 {
			b, _ := json.Marshal(s.Summary())
			h.Write(b)
		}
	}
	for _, id := range s.JobIDs() {
		st, _ := s.Stats(id)
		if st.InputRecords != st.ProcessedRecords+st.FinalLagRecords {
			t.Fatalf("stats: input %d != processed %d + lag %d", st.InputRecords, st.ProcessedRecords, st.FinalLagRecords)
		}
		b, _ := json.Marshal(st)
		h.Write(b)
		fmt.Fprint(h, len(st.Series))
		if tally != nil {
			tally["rescales"] += st.Rescales
			tally["failures"] += st.Failures
			tally["restarts"] += st.Restarts
			tally["tm-config"] += st.TaskManagerConfigChanges
			tally["oom"] += st.OOMKills
			tally["replayed"] += int(min(st.ReplayedRecords, 1))
			tally["lagging"] += int(min(st.FinalLagRecords, 1))
			tally["changes"] += len(st.ParallelismChanges)
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// TestPropertiesRandomScenarios: conservation at every tick, parallelism within the
// requirement bounds, slots never over-allocated, TaskManagers within [min, max], and two runs
// of the same scenario identical bit for bit.
func TestPropertiesRandomScenarios(t *testing.T) {
	n := 24
	if testing.Short() {
		n = 6
	}
	r := rand.New(rand.NewPCG(20260101, 7))
	tally := map[string]int{}
	for i := range n {
		y := randomScenario(r, i)
		seed := r.Uint64()
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a := runRandom(t, y, seed, true, tally)
			b := runRandom(t, y, seed, false, nil)
			if a != b {
				t.Errorf("two runs differ\n%s", y)
			}
		})
	}
	// The random scenarios must exercise what the properties are about.
	t.Logf("tally over %d scenarios: %v", n, tally)
	for _, k := range []string{"rescales", "failures", "restarts", "replayed", "lagging", "changes"} {
		if tally[k] == 0 {
			t.Errorf("no scenario exercised %s: %v", k, tally)
		}
	}
}

func TestExampleScenariosRun(t *testing.T) {
	for _, name := range []string{"kafka-diurnal", "taskmanager-loss", "wordcount-ramp"} {
		sc, err := scenario.Load("../scenarios/" + name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.Run()
		st, _ := s.Stats(s.JobIDs()[0])
		t.Logf("%s: %v wall, %.0f simulated s, input %d, lag %d, restarts %d", name, time.Since(start), st.SimulatedSeconds, st.InputRecords, st.FinalLagRecords, st.Restarts)
		if st.SimulatedSeconds != sc.Duration.Seconds() || st.InputRecords == 0 || st.ProcessedRecords == 0 {
			t.Errorf("%s: %+v", name, st)
		}
		if st.MinimalSlotSeconds <= 0 || st.SlotSeconds <= 0 || st.TaskManagerSeconds <= 0 {
			t.Errorf("%s: accounting %+v", name, st)
		}
	}
}

func BenchmarkSimulateDay(b *testing.B) {
	sc, err := scenario.Load("../scenarios/kafka-diurnal.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sc.Duration = 24 * time.Hour
	for b.Loop() {
		s, err := New(sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Run()
	}
}

// BenchmarkSimulateDayHighParallelism is a day of kafka-diurnal with every vertex at
// parallelism 24 (what an autoscaler reaches at the daily peak).
func BenchmarkSimulateDayHighParallelism(b *testing.B) {
	sc, err := scenario.Load("../scenarios/kafka-diurnal.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sc.Duration = 24 * time.Hour
	for i := range sc.Jobs[0].Vertices {
		sc.Jobs[0].Vertices[i].Parallelism = 24
	}
	for b.Loop() {
		s, err := New(sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		s.Run()
	}
}
