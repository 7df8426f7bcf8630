package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
)

// vtx is a job vertex at run time.
type vtx struct {
	j        *job
	sv       *scenario.Vertex
	idx      int
	id       string // REST id
	ssgID    string
	opName   string // cleaned first-operator name (metric prefix)
	maxP     int
	inputs   []edge
	src      *source
	kg       []float64 // key-group weights (sum 1) when the vertex has a HASH input
	trueCoef []float64 // records reaching the input per record a source reads (per j.srcs), broadcast counted once
	desc     []bool    // desc[k]: vertex k is strictly downstream
	minCap   *capTable

	// Current execution.
	p         int
	subCap    float64   // records/s per subtask when 100% busy
	hashShare []float64 // share of a HASH input's records per subtask
	coef      []float64 // like trueCoef with broadcast multiplicity at the current parallelism
	share     []float64 // this tick's share of the vertex input per subtask
	sub       []subtask
	inRecs    float64 // this tick's input records (at throttle factor 1, then actual)
	capRecs   float64
	bottle    bool
	tmp       []float64
}

type edge struct {
	from int
	ship string
}

// subtask holds one subtask's counters since it started (they reset on every deployment).
type subtask struct {
	in, out                 float64 // records
	busyMs, idleMs, bpMs    float64 // accumulated time
	rateIn                  float64 // records/s in the last tick
	busyNow, bpNow, idleNow float64 // fractions in the last tick
	// MeterView rings sampled every 5 s (13 samples = 60 s), and the 5 s window of the
	// back-pressure TimerGauge.
	inRing, outRing      [ringLen]float64
	ringPos              int
	bpAtView, bpWindow   float64
	idleAtView, idleWind float64
	running              bool
	startedAt            int64 // epoch ms
}

// source is a source vertex's input: partitions with end offsets (arrived records) and
// positions (read records).
type source struct {
	curve     *loadCurve
	kafka     bool // partitions were configured: Kafka-style partition metrics are reported
	topic     string
	end, pos  []int64
	committed []int64
	carryArr  float64
	rr        int
	owner     []int     // partition → subtask at the current parallelism
	owns      []bool    // subtask → owns at least one partition
	carry     []float64 // per-partition consumption carry
	want      []float64 // per-subtask records wanted this tick
	trueRate  float64   // noise-free rate of the last tick
	rate      float64   // actual rate of the last tick
	throttle  float64
	consumed  int64 // this tick
}

// buildGraph turns the scenario's job into run-time vertices in topological order, with their
// downstream reachability, sources, key-group weights and per-source coefficients.
func (j *job) buildGraph() error {
	order, err := topoOrder(j.sj.Vertices)
	if err != nil {
		return err
	}
	for _, oi := range order {
		j.addVertex(&j.sj.Vertices[oi])
	}
	j.markDownstream()
	for _, vi := range j.srcs {
		j.vs[vi].src = j.newSource(j.vs[vi])
	}
	for _, v := range j.vs {
		j.weighKeyGroups(v)
	}
	j.computeCoefficients()
	for _, v := range j.vs {
		v.minCap = newCapTable(v)
	}
	return nil
}

// topoOrder orders the vertices by Kahn's algorithm, ties in file order (sources first).
func topoOrder(vs []scenario.Vertex) ([]int, error) {
	n := len(vs)
	indeg := make([]int, n)
	for i := range vs {
		indeg[i] = len(vs[i].Inputs)
	}
	var order []int
	done := make([]bool, n)
	for len(order) < n {
		progressed := false
		for i := 0; i < n; i++ {
			if done[i] || indeg[i] > 0 {
				continue
			}
			done[i] = true
			order = append(order, i)
			progressed = true
			for k := range vs {
				for _, in := range vs[k].Inputs {
					if in.From == vs[i].ID {
						indeg[k]--
					}
				}
			}
			break
		}
		if !progressed {
			return nil, fmt.Errorf("the job graph has a cycle")
		}
	}
	return order, nil
}

// addVertex appends a scenario vertex, whose inputs are already added, to the run-time graph.
func (j *job) addVertex(sv *scenario.Vertex) {
	sj := j.sj
	v := &vtx{j: j, sv: sv, idx: len(j.vs), id: VertexID(sj.Name, sv.ID), ssgID: slotSharingGroupID(sj.Name, sv.SlotSharingGroup),
		opName: cleanOperatorName(sv.Name), maxP: sv.MaxParallelism}
	j.byID[sv.ID] = v.idx
	for _, in := range sv.Inputs {
		v.inputs = append(v.inputs, edge{from: j.byID[in.From], ship: in.Ship})
	}
	j.vs = append(j.vs, v)
	if sv.IsSource() {
		j.srcs = append(j.srcs, v.idx)
	}
}

// markDownstream sets each vertex's downstream reachability (desc), sinks first.
func (j *job) markDownstream() {
	for _, v := range j.vs {
		v.desc = make([]bool, len(j.vs))
	}
	for i := len(j.vs) - 1; i >= 0; i-- {
		v := j.vs[i]
		for _, e := range v.inputs {
			u := j.vs[e.from]
			u.desc[v.idx] = true
			for k, d := range v.desc {
				if d {
					u.desc[k] = true
				}
			}
		}
	}
}

// newSource builds a source's partitions, its start backlog and its load curve.
func (j *job) newSource(v *vtx) *source {
	src := &source{topic: v.sv.Topic, kafka: v.sv.Partitions > 0}
	parts := max(v.sv.Partitions, 1)
	src.end = make([]int64, parts)
	src.pos = make([]int64, parts)
	src.committed = make([]int64, parts)
	src.carry = make([]float64, parts)
	var segs []scenario.LoadSegment
	for _, seg := range j.sj.Load {
		if seg.Source == v.sv.ID {
			segs = append(segs, seg)
			if seg.Backlog > 0 && seg.At == 0 {
				src.distribute(seg.Backlog)
			}
		}
	}
	src.curve = newLoadCurve(segs)
	return src
}

// weighKeyGroups gives a vertex with a HASH input its key-group weights: Zipf(keySkew) over key
// groups, ranks dealt by a seeded permutation so that hot keys land wherever their hash puts them.
func (j *job) weighKeyGroups(v *vtx) {
	hasHash := false
	for _, e := range v.inputs {
		hasHash = hasHash || e.ship == scenario.ShipHash
	}
	if !hasHash {
		return
	}
	v.kg = make([]float64, v.maxP)
	r := rand.New(rand.NewPCG(j.s.seed, hashSeed(j.name, v.sv.ID)))
	perm := r.Perm(v.maxP)
	sum := 0.0
	for k := range v.kg {
		w := math.Pow(float64(perm[k]+1), -v.sv.KeySkew)
		v.kg[k] = w
		sum += w
	}
	for k := range v.kg {
		v.kg[k] /= sum
	}
}

// computeCoefficients sets each vertex's true coefficients: records reaching it per record read
// by each source, broadcast counted once.
func (j *job) computeCoefficients() {
	for _, v := range j.vs {
		v.trueCoef = make([]float64, len(j.srcs))
		v.coef = make([]float64, len(j.srcs))
		if v.src != nil {
			v.trueCoef[slices.Index(j.srcs, v.idx)] = 1
			continue
		}
		for _, e := range v.inputs {
			u := j.vs[e.from]
			for s := range v.trueCoef {
				v.trueCoef[s] += u.trueCoef[s] * u.sv.Selectivity
			}
		}
	}
}

func hashSeed(parts ...string) uint64 {
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	return h
}

// perSubtaskCapacity is capacity × scalingEfficiency^log2(p).
func perSubtaskCapacity(sv *scenario.Vertex, p int) float64 {
	if p <= 1 || sv.ScalingEfficiency == 1 {
		return sv.Capacity
	}
	return sv.Capacity * math.Pow(sv.ScalingEfficiency, math.Log2(float64(p)))
}

// keyGroupShares is the share of a HASH input's records each subtask receives: the weight of
// the key groups it owns (Flink's KeyGroupRangeAssignment).
func keyGroupShares(kg []float64, maxP, p int, out []float64) []float64 {
	out = out[:0]
	for i := 0; i < p; i++ {
		a, b := scheduler.KeyGroupRange(maxP, p, i)
		s := 0.0
		for k := a; k <= b; k++ {
			s += kg[k]
		}
		out = append(out, s)
	}
	return out
}

// deploy sets the vertex up for a new execution at parallelism p.
func (v *vtx) deploy(p int) {
	v.p = p
	v.subCap = perSubtaskCapacity(v.sv, p)
	if v.kg != nil {
		v.hashShare = keyGroupShares(v.kg, v.maxP, p, v.hashShare)
	}
	v.sub = make([]subtask, p)
	v.share = make([]float64, p)
	v.tmp = make([]float64, p)
	if v.src != nil {
		v.src.assign(p)
	}
	// Coefficients with broadcast multiplicity (each subtask receives every record).
	j := v.j
	if v.src == nil {
		for s := range v.coef {
			v.coef[s] = 0
		}
		for _, e := range v.inputs {
			u := j.vs[e.from]
			mult := 1.0
			if e.ship == scenario.ShipBroadcast {
				mult = float64(p)
			}
			for s := range v.coef {
				v.coef[s] += u.coef[s] * u.sv.Selectivity * mult
			}
		}
	} else {
		copy(v.coef, v.trueCoef)
	}
}

func (v *vtx) stop() {
	for i := range v.sub {
		v.sub[i].running = false
	}
}

func (v *vtx) startRunning() {
	now := v.j.s.now.UnixMilli()
	for i := range v.sub {
		v.sub[i].running = true
		v.sub[i].startedAt = now
	}
}

// assign deals partitions to p readers as the Kafka source enumerator does.
func (src *source) assign(p int) {
	src.owner = make([]int, len(src.end))
	src.want = make([]float64, p)
	src.owns = make([]bool, p)
	for k := range src.owner {
		if src.kafka {
			src.owner[k] = kafkaSplitOwner(src.topic, k, p)
			src.owns[src.owner[k]] = true
		} else {
			src.owner[k] = -1 // the single virtual partition is shared by all readers
		}
	}
	if !src.kafka {
		for i := range src.owns {
			src.owns[i] = true
		}
	}
}

// distribute adds n arrived records over the partitions, evenly, remainders round-robin.
func (src *source) distribute(n int64) {
	P := int64(len(src.end))
	base, rem := n/P, n%P
	for k := range src.end {
		src.end[k] += base
	}
	for r := int64(0); r < rem; r++ {
		src.end[(int64(src.rr)+r)%P]++
	}
	src.rr = int((int64(src.rr) + rem) % P)
}

func (src *source) lag() int64 {
	var n int64
	for k := range src.end {
		n += src.end[k] - src.pos[k]
	}
	return n
}

func (src *source) input() int64 {
	var n int64
	for _, e := range src.end {
		n += e
	}
	return n
}

func (src *source) processed() int64 {
	var n int64
	for _, p := range src.pos {
		n += p
	}
	return n
}

// rewind moves the read positions back to a checkpoint's offsets (nil: the start).
func (src *source) rewind(to []int64, st *stats) {
	for k := range src.pos {
		var t int64
		if to != nil {
			t = to[k]
		}
		st.Replayed += src.pos[k] - t
		src.pos[k] = t
		src.carry[k] = 0
	}
}

// pending is the lag of subtask i's partitions (pendingRecords).
func (src *source) pending(i, p int) int64 {
	if !src.kafka {
		l := src.lag()
		q, r := l/int64(p), l%int64(p)
		if int64(i) < r {
			q++
		}
		return q
	}
	var n int64
	for k, o := range src.owner {
		if o == i {
			n += src.end[k] - src.pos[k]
		}
	}
	return n
}

// arrive adds this tick's input to every source, whatever the job's state.
func (j *job) arrive(dt float64Duration) {
	el := j.s.now.Sub(j.s.start) - dt.d
	for _, vi := range j.srcs {
		src := j.vs[vi].src
		r, noise := src.curve.at(el)
		src.trueRate = r
		if noise > 0 {
			r *= 1 + noise*j.s.rng.NormFloat64()
		}
		r = max(0, r)
		src.rate = r
		x := r*dt.s + src.carryArr
		n := math.Floor(x)
		src.carryArr = x - n
		if n > 0 {
			src.distribute(int64(n))
		}
	}
}

// float64Duration carries a tick length as a Duration and in seconds.
type float64Duration struct {
	d time.Duration
	s float64
}

// flow moves records through the job for one tick (see the package comment for the model):
// what the sources would read, where it would go, how backpressure slows the sources, what
// they then read, and each subtask's time.
func (j *job) flow(dt float64Duration) {
	if !j.processing() {
		for _, vi := range j.srcs {
			j.vs[vi].src.consumed = 0
		}
		return
	}
	for _, vi := range j.srcs {
		j.wantFromSource(j.vs[vi], dt.s)
	}
	for _, v := range j.vs {
		v.bottle = false
		if v.src == nil {
			j.spreadInput(v, dt.s)
		}
	}
	j.backpressure()
	for _, vi := range j.srcs {
		readSource(j.vs[vi])
	}
	for _, v := range j.vs {
		j.account(v, dt.s)
	}
}

// wantFromSource sets what each subtask of a source would read this tick: its partitions' lag,
// bounded by its capacity.
func (j *job) wantFromSource(v *vtx, secs float64) {
	src := v.src
	for i := range src.want {
		src.want[i] = 0
	}
	if src.kafka {
		for k, o := range src.owner {
			src.want[o] += float64(src.end[k] - src.pos[k])
		}
	} else {
		l := float64(src.lag()) / float64(v.p)
		for i := range src.want {
			src.want[i] = l
		}
	}
	total := 0.0
	for i := range src.want {
		c := v.subCap * secs * j.exec.placement[v.idx][i].gcFactor
		src.want[i] = min(src.want[i], c)
		total += src.want[i]
	}
	v.inRecs = total
	for i := range v.share {
		if total > 0 {
			v.share[i] = src.want[i] / total
		} else {
			v.share[i] = 1 / float64(v.p)
		}
	}
	src.throttle = 1
}

// spreadInput sets a non-source vertex's input at full source speed, its subtasks' shares of it
// and the records it can take this tick (capRecs: its busiest subtask's capacity over its share).
func (j *job) spreadInput(v *vtx, secs float64) {
	for i := range v.share {
		v.share[i] = 0
	}
	total := 0.0
	for _, e := range v.inputs {
		u := j.vs[e.from]
		recs := u.inRecs * u.sv.Selectivity
		if e.ship == scenario.ShipBroadcast {
			recs *= float64(v.p)
		}
		total += recs
		if recs == 0 {
			continue
		}
		switch e.ship {
		case scenario.ShipHash:
			for i, s := range v.hashShare {
				v.share[i] += recs * s
			}
		case scenario.ShipForward, scenario.ShipRescale:
			pointwise(u.share, v.tmp)
			for i, s := range v.tmp {
				v.share[i] += recs * s
			}
		default:
			for i := range v.share {
				v.share[i] += recs / float64(v.p)
			}
		}
	}
	v.inRecs = total
	capRecs := math.Inf(1)
	for i := range v.share {
		if total > 0 {
			v.share[i] /= total
		} else {
			v.share[i] = 1 / float64(v.p)
		}
		if v.share[i] > 0 {
			c := v.subCap * secs * j.exec.placement[v.idx][i].gcFactor / v.share[i]
			capRecs = min(capRecs, c)
		}
	}
	v.capRecs = capRecs
}

// backpressure throttles the sources: a vertex that cannot take its input slows every source
// feeding it, and is marked the bottleneck.
func (j *job) backpressure() {
	for _, v := range j.vs {
		if v.src != nil {
			continue
		}
		in := 0.0
		for s, vi := range j.srcs {
			in += v.coef[s] * j.vs[vi].inRecs * j.vs[vi].src.throttle
		}
		if in > v.capRecs*(1+1e-12) {
			r := v.capRecs / in
			for s, vi := range j.srcs {
				if v.coef[s] > 0 {
					j.vs[vi].src.throttle *= r
				}
			}
			v.bottle = true
		}
	}
}

// readSource advances a source's read positions by what its throttled subtasks read: whole
// records, per partition, with a carry for the fraction.
func readSource(v *vtx) {
	src := v.src
	var consumed int64
	if src.kafka {
		consumed = readPartitions(v)
	} else {
		x := v.inRecs*src.throttle + src.carry[0]
		lag := float64(src.end[0] - src.pos[0])
		n := min(math.Floor(x), lag)
		src.carry[0] = min(x-n, 0.999999)
		src.pos[0] += int64(n)
		consumed = int64(n)
	}
	src.consumed = consumed
	// Per-subtask reads scaled to what was actually read.
	scale := 0.0
	if v.inRecs > 0 {
		scale = float64(consumed) / v.inRecs
	}
	for i := range src.want {
		src.want[i] *= scale
	}
	v.inRecs = float64(consumed)
}

// readPartitions reads a Kafka-like source: each subtask splits its reads over its partitions
// in proportion to their lag. It returns the records read.
func readPartitions(v *vtx) int64 {
	src := v.src
	f := src.throttle
	var consumed int64
	for i := range v.tmp {
		v.tmp[i] = 0
	}
	for k, o := range src.owner {
		v.tmp[o] += float64(src.end[k] - src.pos[k])
	}
	for k, o := range src.owner {
		lag := float64(src.end[k] - src.pos[k])
		if lag <= 0 || v.tmp[o] <= 0 {
			continue
		}
		x := src.want[o]*f*lag/v.tmp[o] + src.carry[k]
		n := math.Floor(x)
		if n > lag {
			n = lag
		}
		src.carry[k] = min(x-n, 0.999999)
		src.pos[k] += int64(n)
		consumed += int64(n)
	}
	return consumed
}

// account sets a vertex's actual input and each subtask's records and time (busy, back-pressured,
// idle) for the tick.
func (j *job) account(v *vtx, secs float64) {
	if v.src == nil {
		in := 0.0
		for s, vi := range j.srcs {
			in += v.coef[s] * j.vs[vi].inRecs
		}
		v.inRecs = in
	}
	bp := false
	for k, d := range v.desc {
		if d && j.vs[k].bottle {
			bp = true
			break
		}
	}
	for i := range v.sub {
		st := &v.sub[i]
		var recs float64
		if v.src != nil {
			recs = v.src.want[i]
		} else {
			recs = v.inRecs * v.share[i]
		}
		g := j.exec.placement[v.idx][i].gcFactor
		busy := 0.0
		if c := v.subCap * secs * g; c > 0 {
			busy = min(1, recs/c)
		}
		st.busyNow = busy
		st.bpNow, st.idleNow = 0, 1-busy
		// A reader without splits is idle, never back-pressured.
		if bp && (v.src == nil || v.src.owns[i]) {
			st.bpNow, st.idleNow = 1-busy, 0
		}
		ms := secs * 1000
		st.busyMs += busy * ms
		st.bpMs += st.bpNow * ms
		st.idleMs += st.idleNow * ms
		st.in += recs
		st.out += recs * v.sv.Selectivity
		st.rateIn = recs / secs
	}
}

// pointwise maps an upstream share vector onto len(out) consumers as Flink's POINTWISE
// distribution pattern connects them (EdgeManagerBuildUtil.connectPointwise).
func pointwise(up []float64, out []float64) {
	pu, pd := len(up), len(out)
	for i := range out {
		out[i] = 0
	}
	switch {
	case pu == pd:
		copy(out, up)
	case pu > pd:
		for i := 0; i < pd; i++ {
			for k := i * pu / pd; k < (i+1)*pu/pd; k++ {
				out[i] += up[k]
			}
		}
	default:
		for k := 0; k < pu; k++ {
			a := (k*pd + pu - 1) / pu
			b := ((k+1)*pd + pu - 1) / pu
			for i := a; i < b; i++ {
				out[i] += up[k] / float64(b-a)
			}
		}
	}
}

// capTable answers "the smallest parallelism whose capacity sustains rate r" for the
// minimal-slots accounting: capacity(p) = per-subtask capacity / the hottest subtask's share.
// Inputs are weighted by their records at unit source rates; pointwise and broadcast inputs
// count as evenly spread (a broadcast consumer's need is understated: more subtasks do not
// relieve it).
// It is filled lazily; pm is the running maximum, so a binary search finds the first p whose
// capacity reaches r.
type capTable struct {
	v  *vtx
	pm []float64 // pm[p-1] = max capacity over 1..p
	w  []float64 // per input: weight of its records at unit source rates
}

func newCapTable(v *vtx) *capTable {
	c := &capTable{v: v}
	if v.src == nil {
		total := 0.0
		for _, e := range v.inputs {
			u := v.j.vs[e.from]
			x := 0.0
			for _, t := range u.trueCoef {
				x += t
			}
			x *= u.sv.Selectivity
			c.w = append(c.w, x)
			total += x
		}
		for i := range c.w {
			if total > 0 {
				c.w[i] /= total
			} else {
				c.w[i] = 1 / float64(len(c.w))
			}
		}
	}
	return c
}

func (c *capTable) capacity(p int) float64 {
	v := c.v
	var maxShare float64
	if v.src != nil {
		if !v.src.kafka {
			maxShare = 1 / float64(p)
		} else {
			P := len(v.src.end)
			per := (P + p - 1) / p
			if p > P {
				per = 1
			}
			maxShare = float64(per) / float64(P)
		}
	} else {
		var hs []float64
		for i, e := range v.inputs {
			switch e.ship {
			case scenario.ShipHash:
				if hs == nil {
					hs = keyGroupShares(v.kg, v.maxP, p, nil)
				}
				m := 0.0
				for _, s := range hs {
					m = max(m, s)
				}
				maxShare += c.w[i] * m
			default:
				maxShare += c.w[i] / float64(p)
			}
		}
	}
	if maxShare <= 0 {
		return math.Inf(1)
	}
	return perSubtaskCapacity(v.sv, p) / maxShare
}

// minParallelism is the smallest p (≤ max parallelism) with capacity(p) ≥ rate.
func (c *capTable) minParallelism(rate float64) int {
	if rate <= 0 {
		return 1
	}
	for len(c.pm) < c.v.maxP && (len(c.pm) == 0 || c.pm[len(c.pm)-1] < rate) {
		x := c.capacity(len(c.pm) + 1)
		if len(c.pm) > 0 {
			x = max(x, c.pm[len(c.pm)-1])
		}
		c.pm = append(c.pm, x)
	}
	i, _ := slices.BinarySearch(c.pm, rate)
	if i >= len(c.pm) {
		return c.v.maxP
	}
	return i + 1
}
