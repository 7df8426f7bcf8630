// Package generate writes random, realistic simulator scenarios (scenarios/FORMAT.md) for
// testing scaling policies on jobs they were never tuned on. It is pure: the same seed gives
// the same scenario, byte for byte.
//
// A scenario is one job of 2–12 vertices in one of five shapes (chain, two-source join,
// two-source union, fan-out to several sinks, fan-out meeting again in one operator) with
// Flink-like operators (maps, filters, flatMaps, windows, keyed processes, joins) whose
// selectivity, capacity, scaling efficiency, key skew and keyed state are drawn from ranges
// seen in practice, Kafka-like sources (partition counts including small and prime ones), a
// load over time per source (steady, steps, ramps, a spike, a daily curve, with noise and a
// start backlog), and sometimes faults (TaskManager loss, REST errors, missing metrics).
//
// Every job is configured as a user would run it:
//   - the load's peak needs 2–32 subtasks of its busiest vertex, within the max parallelism,
//     the source partitions and the cluster's TaskManager limit (with room for an autoscaler
//     that overshoots);
//   - the initial parallelism runs the initial load at 30–110% utilization per vertex;
//   - keyed state stays on the heap (hashmap) only when all of it fits half a TaskManager's
//     heap, else the job uses RocksDB; heap use and network buffers fit the TaskManager at up
//     to three times the peak parallelism;
//   - no source rises faster than 5x in 10 minutes.
package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
)

// Generated is one generated scenario.
type Generated struct {
	// Name is "gen-<seed>".
	Name string
	Seed uint64
	// Shape of the job graph (ShapeChain, ...), Vertices its size, Load the kinds of load.
	Shape    string
	Vertices int
	Load     []string
	// YAML is the scenario file.
	YAML []byte
}

// Describe is a one-line summary: shape, size, load and faults.
func (g *Generated) Describe() string {
	return fmt.Sprintf("%s, %d vertices, load %s", g.Shape, g.Vertices, strings.Join(g.Load, "+"))
}

// Scenario parses the generated YAML with the strict loader.
func (g *Generated) Scenario() (*scenario.Scenario, error) {
	return scenario.Parse(g.YAML, g.Name+".yaml")
}

// Corpus generates count scenarios with seeds first, first+1, ...
func Corpus(first uint64, count int) ([]*Generated, error) {
	out := make([]*Generated, 0, count)
	for i := range count {
		g, err := Generate(first + uint64(i))
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// Generate writes the scenario of seed.
func Generate(seed uint64) (*Generated, error) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	g := &gen{r: r, seed: seed}
	return g.run()
}

type gen struct {
	r    *rand.Rand
	seed uint64
	b    builder
	// peakNeed is the parallelism the busiest vertex needs at the load's peak.
	peakNeed int
	peak     []float64 // per source: peak rate
	initial  []float64 // per source: rate at 0
	coef     [][]float64
	sources  []int
	maxP     int // resolved pipeline.max-parallelism
}

func (g *gen) run() (*Generated, error) {
	r := g.r
	f := &fileSpec{Name: fmt.Sprintf("gen-%d", g.seed), Seed: g.seed, FlinkVersion: pick(r, "1.20", "1.20", "1.20", "1.19", "1.18", "2.0")}
	g.b = builder{r: r, counts: map[role]int{}}
	n := 2 + r.IntN(11)
	shape := g.b.graph(n)
	nodes := g.b.nodes
	g.coef, g.sources = coefficients(nodes)

	jobCfg := map[string]string{"execution.checkpointing.interval": pick(r, "10s", "30s", "1m", "1m", "2m", "5m")}
	g.maxP = 128
	if r.IntN(5) > 0 {
		g.maxP = pick(r, 128, 256, 360, 720, 1024, 2048, 4096, 32768)
		jobCfg["pipeline.max-parallelism"] = fmt.Sprint(g.maxP)
	}
	g.rates()
	duration, loads, kinds := g.load()
	g.parallelism()

	slots, tmSize, cfg := g.cluster()
	tmSize = g.fitHeap(slots, tmSize, cfg)
	peakP := 0
	for _, v := range nodes {
		peakP = max(peakP, v.p)
	}
	peakP = max(peakP, g.peakNeed)
	tms := tmSpec{
		Initial:      ceilDiv(maxParallelism(nodes), slots),
		Max:          ceilDiv(3*peakP, slots) + 1,
		StartupDelay: dur(time.Duration(10+r.IntN(51)) * time.Second),
	}
	tms.Min = 1
	if r.IntN(4) == 0 {
		tms.Min = tms.Initial
	}
	cfg["taskmanager.numberOfTaskSlots"] = fmt.Sprint(slots)
	cfg["taskmanager.memory.process.size"] = mebibytes(tmSize)
	cfg["jobmanager.scheduler"] = "adaptive"
	f.Cluster = clusterSpec{Config: cfg, TaskManagers: tms}
	if rocks := g.backend(slots, tmSize, cfg); rocks {
		jobCfg["state.backend.type"] = "rocksdb"
	}

	job := jobSpec{Name: pick(r, "pipeline", "etl", "analytics", "fraud", "sessions", "metrics"), Config: jobCfg, Load: loads,
		Restart: restartSpec{Base: dur(time.Duration(10+r.IntN(51)) * time.Second), RestoreRate: mebibytes(int64(pick(r, 100, 200, 200, 400, 1000)) << 20)}}
	for _, v := range nodes {
		job.Vertices = append(job.Vertices, v.spec())
	}
	f.Jobs = []jobSpec{job}
	f.Duration = dur(duration)
	f.SLO = sloSpec{MaxLag: pick(r, "30s", "60s", "60s", "2m", "5m")}
	f.Faults = g.faults(duration, tms.Initial)
	for _, ft := range f.Faults {
		switch {
		case ft.Kill != "":
			kinds = append(kinds, "tm-loss")
		case ft.REST != "":
			kinds = append(kinds, "rest-"+ft.REST)
		default:
			kinds = append(kinds, "metrics-missing")
		}
	}
	out := &Generated{Name: f.Name, Seed: g.seed, Shape: shape, Vertices: len(nodes), Load: kinds}
	var err error
	out.YAML, err = f.marshal(fmt.Sprintf("Generated by flinktune scenario generate --seed %d: %s.", g.seed, out.Describe()))
	if err != nil {
		return nil, err
	}
	return out, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func maxParallelism(nodes []*node) int {
	m := 1
	for _, v := range nodes {
		m = max(m, v.p)
	}
	return m
}

// rates sizes the peak rate of every source so that the busiest vertex needs peakNeed
// subtasks at the peak, tames key skew a single subtask could not carry, and gives each source
// enough partitions and per-reader capacity to read twice its peak.
func (g *gen) rates() {
	r, nodes := g.r, g.b.nodes
	g.peakNeed = int(math.Round(logUniform(r, 2, 32)))
	ratio := make([]float64, len(g.sources))
	for s := range ratio {
		ratio[s] = 1
		if s > 0 {
			ratio[s] = uniform(r, 0.2, 1)
		}
	}
	for _, v := range nodes {
		// The heaviest key group alone must fit half a subtask's fair share at the peak.
		for v.skew > 0 && zipfTop(g.maxP, v.skew)*float64(g.peakNeed) > 0.5 {
			v.skew = math.Round(v.skew*50) / 100
			if v.skew < 0.05 {
				v.skew = 0
			}
		}
	}
	k := math.Inf(1)
	for i, v := range nodes {
		d := 0.0
		for s := range g.sources {
			d += g.coef[i][s] * ratio[s]
		}
		if d <= 0 {
			continue
		}
		k = min(k, v.throughput(g.peakNeed)/d)
	}
	g.peak = make([]float64, len(g.sources))
	for s, si := range g.sources {
		g.peak[s] = round3(k * ratio[s])
		src := nodes[si]
		// Kafka topics are sized for their traffic: a reader per partition reads twice the peak.
		kafka := []int{1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 24, 31, 32, 48, 64, 97, 128, 256}
		for src.throughput(src.partitions) < 2*g.peak[s] {
			if src.capacity < 100e3 {
				src.capacity = min(100e3, round3(2*g.peak[s]/float64(src.partitions)*1.05))
				continue
			}
			next := slices.IndexFunc(kafka, func(x int) bool { return x > src.partitions })
			if next < 0 {
				break
			}
			src.partitions = kafka[next]
		}
	}
}

// parallelism sets every vertex's initial parallelism for the initial load, as a user would:
// per vertex at 30–110% utilization, or one parallelism for all (parallelism.default).
func (g *gen) parallelism() {
	r, nodes := g.r, g.b.nodes
	limit := min(g.maxP, 3*g.peakNeed)
	for i, v := range nodes {
		in := 0.0
		for s := range g.sources {
			in += g.coef[i][s] * g.initial[s]
		}
		v.p = v.need(in, uniform(r, 0.3, 1.1), limit)
		if v.source() {
			v.p = min(v.p, v.partitions)
			if r.IntN(3) == 0 && v.partitions <= limit {
				v.p = v.partitions
			}
		}
	}
	if r.IntN(4) == 0 {
		p := maxParallelism(nodes)
		for _, v := range nodes {
			v.p = p
		}
	}
	// FORWARD and RESCALE connect equal parallelism here (a broken chain); elsewhere REBALANCE.
	for _, v := range nodes {
		for k := range v.inputs {
			e := &v.inputs[k]
			if e.ship == scenario.ShipForward && nodes[e.from].p != v.p {
				e.ship = scenario.ShipRebalance
			}
		}
	}
}

// cluster draws slots and TaskManager size (1–16 GB, 1–4 GB per slot) and makes the network
// buffers of three times the peak parallelism fit, as a user would after the first
// "Insufficient number of network buffers".
func (g *gen) cluster() (slots int, tmSize int64, cfg map[string]string) {
	r := g.r
	slots = pick(r, 1, 2, 2, 3, 4, 4, 6, 8)
	perSlot := pick(r, 1.0, 1.5, 2, 2, 3, 4)
	tmSize = int64(math.Round(float64(slots)*perSlot*4)) << 28 // quarter GiB steps
	tmSize = min(max(tmSize, 1<<30), 16<<30)
	cfg = map[string]string{}
	need := g.networkBytes(slots, 3*max(g.peakNeed, maxParallelism(g.b.nodes)))
	tm := derive(cfg, tmSize)
	if tm != nil && need > tm.Network {
		nb := (need*5/4 + 64<<20 - 1) / (64 << 20) * (64 << 20)
		cfg["taskmanager.memory.network.min"] = mebibytes(nb)
		cfg["taskmanager.memory.network.max"] = mebibytes(nb)
		for derive(cfg, tmSize) == nil && tmSize < 16<<30 {
			tmSize = min(2*tmSize, 16<<30)
		}
	}
	return slots, tmSize, cfg
}

// networkBytes is the network memory slots subtasks of every vertex need at parallelism p
// (Flink: per input gate channels × 2 + 1 buffers, per output partition subpartitions + 1).
func (g *gen) networkBytes(slots, p int) int64 {
	n := 0
	for _, v := range g.b.nodes {
		for range v.inputs {
			n += 2*p + 1 + p + 1
		}
	}
	return int64(slots*n) * 32 << 10
}

func derive(cfg map[string]string, tmSize int64) *memory.TaskManager {
	m := map[string]string{"taskmanager.memory.process.size": mebibytes(tmSize)}
	for k, v := range cfg {
		m[k] = v
	}
	tm, err := memory.DeriveTaskManager(flinkconf.FromMap(m), nil, memory.Flink1)
	if err != nil {
		return nil
	}
	return tm
}

// operatorHeap is the live heap slots subtasks of every vertex hold at full speed, plus
// the framework's (the simulator's memory model).
func (g *gen) operatorHeap(slots int) float64 {
	h := 64.0 * (1 << 20)
	for _, v := range g.b.nodes {
		h += float64(slots) * (float64(v.heapBase) + v.perRecord*v.capacity)
	}
	return h
}

// fitHeap makes the operators' heap fit half the TaskManager heap: lighter operators first,
// then a larger TaskManager (up to 16 GB), as a user would after the first OutOfMemoryError.
func (g *gen) fitHeap(slots int, tmSize int64, cfg map[string]string) int64 {
	heap := func() float64 { return float64(derive(cfg, tmSize).JVMHeap()) }
	if g.operatorHeap(slots) > 0.5*heap() {
		for _, v := range g.b.nodes {
			v.heapBase, v.perRecord = 16<<20, 0
		}
	}
	for g.operatorHeap(slots) > 0.5*heap() && tmSize < 16<<30 {
		tmSize = min((tmSize*3/2+(256<<20)-1)/(256<<20)*(256<<20), 16<<30)
	}
	return tmSize
}

// backend keeps keyed state on the heap only when all of it (half of it live, as the
// simulator models hashmap state) and the operators' heap fit half the TaskManager heap at
// any parallelism; otherwise the job uses RocksDB. Some jobs use RocksDB anyway.
func (g *gen) backend(slots int, tmSize int64, cfg map[string]string) (rocks bool) {
	state := 0.0
	for _, v := range g.b.nodes {
		if v.perSubtask {
			state += float64(v.state) * float64(slots)
		} else {
			state += float64(v.state)
		}
	}
	if state == 0 {
		return false
	}
	heap := float64(derive(cfg, tmSize).JVMHeap())
	return g.r.IntN(3) == 0 || 0.5*state+g.operatorHeap(slots) > 0.5*heap
}

// spec is the vertex as the scenario file writes it.
func (n *node) spec() vertexSpec {
	v := vertexSpec{ID: n.id, Name: n.name, Parallelism: n.p, Capacity: n.capacity, KeySkew: n.skew}
	if n.eff < 1 {
		v.ScalingEfficiency = n.eff
	}
	if n.sel != 1 {
		v.Selectivity = ptr(n.sel)
	}
	if n.source() {
		v.Partitions = n.partitions
	}
	for _, e := range n.inputs {
		v.Inputs = append(v.Inputs, inputSpec{From: e.fromID, Ship: e.ship})
	}
	switch {
	case n.state > 0 && n.perSubtask:
		v.State = &stateSpec{BytesPerSubtask: mebibytes(n.state)}
	case n.state > 0:
		v.State = &stateSpec{Bytes: mebibytes(n.state)}
	}
	if n.heapBase != 16<<20 || n.perRecord > 0 {
		v.Heap = &heapSpec{Base: mebibytes(n.heapBase), PerRecordPerSecond: n.perRecord}
	}
	return v
}
