package generate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/flinktune/flinktune/scenario"
)

// role is what an operator chain does; it decides its name, selectivity, capacity range and
// whether it is keyed (fed by HASH, holds keyed state).
type role int

const (
	roleSource role = iota
	roleMap
	roleFilter
	roleFlatMap
	roleWindow
	roleKeyed
	roleJoin
	roleSink
)

// node is a vertex while the generator builds a job.
type node struct {
	id, name   string
	role       role
	inputs     []edge
	capacity   float64
	eff        float64 // scaling efficiency
	sel        float64
	skew       float64
	partitions int
	// state: total bytes, or bytes per subtask when perSubtask.
	state      int64
	perSubtask bool
	heapBase   int64
	perRecord  float64
	p          int
	forward    bool // wants a FORWARD input (a broken chain) when parallelism allows
}

type edge struct {
	from   int
	fromID string
	ship   string
}

func (n *node) keyed() bool {
	for _, e := range n.inputs {
		if e.ship == scenario.ShipHash {
			return true
		}
	}
	return false
}

func (n *node) source() bool { return n.role == roleSource }

// Shapes of job graphs.
const (
	ShapeChain   = "chain"
	ShapeJoin    = "join"
	ShapeFanOut  = "fan-out"
	ShapeDiamond = "fan-out/fan-in"
	ShapeUnion   = "union"
)

type builder struct {
	r      *rand.Rand
	nodes  []*node
	counts map[role]int
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// round3 keeps three significant digits, as a person writes a number.
func round3(x float64) float64 {
	if x <= 0 {
		return 0
	}
	y, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	return y
}

var roleNames = map[role][]string{
	roleSource:  {"Source: Kafka %s", "Source: %s"},
	roleMap:     {"Map: parse", "Map: enrich", "Map: normalize", "Process: decode", "Map: project"},
	roleFilter:  {"Filter: valid", "Filter: interesting", "Filter: dedupe-late", "Filter: region"},
	roleFlatMap: {"FlatMap: tokenize", "FlatMap: explode items", "FlatMap: split batch"},
	roleWindow:  {"Window(TumblingEventTimeWindows, count)", "Window(SlidingEventTimeWindows, max)", "Window(SessionWindows, sessionize)", "Window(TumblingProcessingTimeWindows, sum)"},
	roleKeyed:   {"KeyedProcess: score", "KeyedProcess: dedupe", "KeyedProcess: aggregate", "KeyedProcess: track"},
	roleJoin:    {"Join: interval join", "CoProcess: enrich join", "Join: window join"},
	roleSink:    {"Sink: Kafka", "Sink: Elasticsearch", "Sink: JDBC", "Sink: Files"},
}

var topics = []string{"clicks", "orders", "payments", "bids", "events", "sensors", "logs", "trades", "views", "auctions"}

// add appends a vertex of role r with inputs from the given vertices.
func (b *builder) add(r role, from ...int) int {
	rr := b.r
	b.counts[r]++
	n := &node{role: r, eff: 1, sel: 1}
	prefix := map[role]string{roleSource: "src", roleMap: "map", roleFilter: "filter", roleFlatMap: "flatmap",
		roleWindow: "window", roleKeyed: "keyed", roleJoin: "join", roleSink: "sink"}[r]
	n.id = fmt.Sprintf("%s%d", prefix, b.counts[r])
	name := pick(rr, roleNames[r]...)
	if r == roleSource {
		name = fmt.Sprintf(name, pick(rr, topics...))
	}
	n.name = name
	if b.counts[r] > 1 {
		n.name = fmt.Sprintf("%s (%d)", name, b.counts[r])
	}
	switch r {
	case roleSource:
		n.capacity = logUniform(rr, 10e3, 100e3)
		n.partitions = pick(rr, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 24, 31, 32, 48, 64, 97, 128)
	case roleMap:
		n.capacity = logUniform(rr, 5e3, 100e3)
		n.sel = pick(rr, 1, 1, round3(uniform(rr, 0.8, 1.2)))
	case roleFilter:
		n.capacity = logUniform(rr, 10e3, 100e3)
		n.sel = round3(logUniform(rr, 0.05, 0.9))
	case roleFlatMap:
		n.capacity = logUniform(rr, 3e3, 50e3)
		n.sel = round3(uniform(rr, 1.5, 5))
	case roleWindow:
		n.capacity = logUniform(rr, 1e3, 30e3)
		n.sel = round3(logUniform(rr, 0.001, 0.1))
	case roleKeyed:
		n.capacity = logUniform(rr, 1e3, 40e3)
		n.sel = round3(uniform(rr, 0.5, 1))
	case roleJoin:
		n.capacity = logUniform(rr, 1e3, 20e3)
		n.sel = round3(logUniform(rr, 0.2, 2))
	case roleSink:
		n.capacity = logUniform(rr, 5e3, 100e3)
	}
	n.capacity = round3(n.capacity)
	if r != roleSource && rr.IntN(2) == 0 {
		n.eff = math.Round(uniform(rr, 0.85, 0.99)*100) / 100
	}
	keyed := r == roleWindow || r == roleKeyed || r == roleJoin
	for _, f := range from {
		ship := scenario.ShipRebalance
		switch {
		case keyed:
			ship = scenario.ShipHash
		case rr.IntN(3) == 0:
			ship = scenario.ShipRescale
			if rr.IntN(2) == 0 {
				ship = scenario.ShipForward
			}
		}
		n.inputs = append(n.inputs, edge{from: f, fromID: b.nodes[f].id, ship: ship})
	}
	if len(n.inputs) > 1 {
		// A vertex with two inputs reads them over the network (no chaining).
		for i := range n.inputs {
			if n.inputs[i].ship == scenario.ShipForward || n.inputs[i].ship == scenario.ShipRescale {
				n.inputs[i].ship = scenario.ShipRebalance
			}
		}
	}
	if keyed {
		if rr.IntN(2) == 0 {
			n.skew = math.Round(uniform(rr, 0.1, 1.0)*100) / 100
		}
		switch x := rr.Float64(); {
		case x < 0.15:
		case x < 0.3:
			n.state, n.perSubtask = int64(logUniform(rr, 10<<20, 1<<30)), true
		default:
			n.state = int64(logUniform(rr, 10<<20, 20<<30))
		}
	}
	n.heapBase = int64(pick(rr, 16, 16, 32, 64)) << 20
	if keyed && rr.IntN(3) == 0 {
		n.perRecord = math.Round(uniform(rr, 10, 200))
	}
	b.nodes = append(b.nodes, n)
	return len(b.nodes) - 1
}

// middle draws a role for an operator between a source and a sink.
func (b *builder) middle() role {
	return pick(b.r, roleMap, roleMap, roleFilter, roleFilter, roleFlatMap, roleWindow, roleWindow, roleKeyed, roleKeyed)
}

// chainOf appends k middle operators after from and returns the last vertex.
func (b *builder) chainOf(from, k int) int {
	for range k {
		from = b.add(b.middle(), from)
	}
	return from
}

// graph builds a job graph of about n vertices (2–12) of a random shape.
func (b *builder) graph(n int) string {
	r := b.r
	shapes := []string{ShapeChain}
	if n >= 4 {
		shapes = append(shapes, ShapeJoin, ShapeFanOut, ShapeDiamond, ShapeUnion)
	}
	shape := pick(r, shapes...)
	switch shape {
	case ShapeChain:
		src := b.add(roleSource)
		b.add(roleSink, b.chainOf(src, n-2))
	case ShapeJoin, ShapeUnion:
		// Two sources, each with its own preparation, joined (HASH) or unioned (REBALANCE).
		rest := n - 4
		preA := r.IntN(min(rest, 2) + 1)
		rest -= preA
		preB := r.IntN(min(rest, 2) + 1)
		rest -= preB
		a := b.chainOf(b.add(roleSource), preA)
		c := b.chainOf(b.add(roleSource), preB)
		var j int
		if shape == ShapeJoin {
			j = b.add(roleJoin, a, c)
		} else {
			j = b.add(pick(r, roleMap, roleKeyed, roleWindow), a, c)
		}
		b.add(roleSink, b.chainOf(j, rest))
	case ShapeFanOut:
		// One stream split into 2–3 branches, each with its own sink.
		branches := 2
		if n >= 6 {
			branches = 2 + r.IntN(2)
		}
		rest := n - 1 - branches
		pre := r.IntN(rest + 1)
		rest -= pre
		split := b.chainOf(b.add(roleSource), pre)
		for i := range branches {
			k := rest
			if i < branches-1 {
				k = r.IntN(rest + 1)
			}
			rest -= k
			b.add(roleSink, b.chainOf(split, k))
		}
	case ShapeDiamond:
		// Fan-out into 2–3 branches that meet again in one operator.
		branches := 2
		if n >= 6 {
			branches = 2 + r.IntN(2)
		}
		rest := n - 2 - branches
		pre := r.IntN(rest + 1)
		rest -= pre
		split := b.chainOf(b.add(roleSource), pre)
		var ends []int
		for range branches {
			ends = append(ends, b.add(b.middle(), split))
		}
		merge := b.add(pick(r, roleKeyed, roleWindow, roleMap), ends...)
		if rest > 0 {
			b.add(roleSink, b.chainOf(merge, rest-1))
		}
	}
	return shape
}

// coefficients returns, per vertex, the records reaching its input per record each source
// reads (sources in order of appearance).
func coefficients(nodes []*node) (coef [][]float64, sources []int) {
	for i, n := range nodes {
		if n.source() {
			sources = append(sources, i)
		}
	}
	coef = make([][]float64, len(nodes))
	for i, n := range nodes {
		coef[i] = make([]float64, len(sources))
		if n.source() {
			for s, si := range sources {
				if si == i {
					coef[i][s] = 1
				}
			}
			continue
		}
		for _, e := range n.inputs {
			u := nodes[e.from]
			for s := range sources {
				coef[i][s] += coef[e.from][s] * u.sel
			}
		}
	}
	return coef, sources
}

// throughput is what p subtasks of n sustain, with its scaling efficiency.
func (n *node) throughput(p int) float64 {
	return n.capacity * math.Pow(n.eff, math.Log2(float64(p))) * float64(p)
}

// need is the smallest parallelism sustaining rate at utilization u (at most limit).
func (n *node) need(rate, u float64, limit int) int {
	for p := 1; p < limit; p++ {
		if n.throughput(p)*u >= rate {
			return p
		}
	}
	return limit
}

// zipfTop is the weight of the heaviest of k key groups under Zipf(s).
func zipfTop(k int, s float64) float64 {
	if s == 0 {
		return 1 / float64(k)
	}
	h := 0.0
	for i := 1; i <= k; i++ {
		h += math.Pow(float64(i), -s)
	}
	return 1 / h
}
