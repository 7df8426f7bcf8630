package flinktune

import "math"

// vertexModel is what the policy knows about one vertex's capacity at its current parallelism.
type vertexModel struct {
	info vertexInfo
	// perSubtask is records one subtask processes per busy second at the current parallelism.
	perSubtask float64
	known      bool // perSubtask was measured (enough busy time in the window)
	bound      bool // perSubtask is a lower bound (too little busy time for a measurement)
	// rateOnly: the window has no busy time at all, so perSubtask is the highest rate the
	// vertex read. Its utilization then reads ~100% at any load and is no evidence of
	// saturation.
	rateOnly bool
	// hot is the hottest subtask's load over the average at the current parallelism.
	hot float64
	// alpha is the scaling-efficiency exponent: per-subtask rate ∝ p^-alpha.
	alpha float64
	// minSeen is the lowest parallelism the vertex was measured at (0: only the current one).
	minSeen int
	// upCur and upPlan are the current and planned parallelism of the pointwise inputs.
	upCur, upPlan map[string]int
}

// planned returns the model with the upstream vertices at the planned parallelism.
func (m *vertexModel) planned(plan map[string]int) *vertexModel {
	if len(m.info.Pointwise) == 0 {
		return m
	}
	c := *m
	c.upPlan = plan
	return &c
}

// pointwiseImbalance is the busiest subtask's share over the average when a vertex of
// parallelism p reads a pointwise input of parallelism q: subtasks read ceil or floor of q/p
// upstream subtasks (q >= p), or share an upstream subtask with floor or ceil of p/q others.
func pointwiseImbalance(p, q int) float64 {
	if p <= 0 || q <= 0 || p == q {
		return 1
	}
	if q >= p {
		return float64((q+p-1)/p) * float64(p) / float64(q)
	}
	return float64(p) / float64(q*(p/q))
}

// imbalance is how much more work the busiest subtask gets than the average one, from the
// discrete split of key groups (HASH inputs) or partitions (sources) over p subtasks.
func (m *vertexModel) imbalance(p int) float64 {
	return m.unitImbalance(p) * m.upImbalance(p, m.upPlan)
}

// upImbalance is the worst pointwise imbalance at parallelism p with upstream parallelism
// from plan (current where plan has none).
func (m *vertexModel) upImbalance(p int, plan map[string]int) float64 {
	worst := 1.0
	for _, id := range m.info.Pointwise {
		q, ok := plan[id]
		if !ok {
			q = m.upCur[id]
		}
		worst = math.Max(worst, pointwiseImbalance(p, q))
	}
	return worst
}

func (m *vertexModel) unitImbalance(p int) float64 {
	units := 0
	switch {
	case m.info.Source && m.info.Partitions > 0:
		units = m.info.Partitions
	case m.info.HashInput && m.info.MaxP > 0:
		units = m.info.MaxP
	}
	if units == 0 || p <= 0 {
		return 1
	}
	active := min(p, units)
	most := (units + active - 1) / active
	return float64(most) * float64(active) / float64(units)
}

// capacity is the records per second the vertex sustains at parallelism p with its hottest
// subtask 100% busy.
func (m *vertexModel) capacity(p int) float64 {
	if p <= 0 || !m.known {
		return math.NaN()
	}
	cur := m.info.P
	active := p
	if m.info.Source && m.info.Partitions > 0 {
		active = min(p, m.info.Partitions) // subtasks beyond the partition count idle
	}
	// Fewer subtasks each do more only as far as measured: the prior's gain below the lowest
	// parallelism seen would size a scale-down for a rate the vertex may never reach (29 -> 1
	// counted on 40% more per subtask), and the next load step then finds it short.
	eff := max(p, min(cur, m.minSeen))
	if m.minSeen == 0 {
		eff = max(p, cur)
	}
	per := m.perSubtask * math.Pow(float64(eff)/float64(cur), -m.alpha)
	return per * float64(active) / m.skewAt(p)
}

// skewAt predicts the hottest subtask's load over the average at parallelism p. The measured
// factor holds the current split's integer imbalance (replaced by p's) and a key skew: with
// Flink's contiguous key-group ranges, fewer key groups per subtask leave the hottest one
// relatively hotter. The skew part is scaled linearly in p when growing (conservative) and
// by its square root when shrinking (so scale-downs do not count on the skew vanishing).
func (m *vertexModel) skewAt(p int) float64 {
	cur := m.info.P
	// The measured factor is over all subtasks; a source's subtasks beyond its partitions
	// idle and pull the average down, but capacity counts only the active ones.
	idle := 1.0
	if m.info.Source && m.info.Partitions > 0 && cur > m.info.Partitions {
		idle = float64(cur) / float64(m.info.Partitions)
	}
	base := m.hot / (m.unitImbalance(cur) * m.upImbalance(cur, nil) * idle)
	if base < 1 {
		base = 1
	}
	if m.info.HashInput && base > 1 && p != cur {
		r := float64(p) / float64(cur)
		if r < 1 {
			r = math.Sqrt(r)
		}
		base = 1 + (base-1)*r
	}
	return math.Max(base*m.imbalance(p), 1)
}

// upperBound is the highest parallelism the policy may give the vertex.
func (m *vertexModel) upperBound(o Options) int {
	hi := max(o.MaxParallelism, m.info.P)
	if m.info.MaxP > 0 {
		hi = min(hi, m.info.MaxP)
	}
	if m.info.Source && m.info.Partitions > 0 {
		hi = min(hi, m.info.Partitions)
	}
	return max(hi, 1)
}

// lowerBound is the lowest parallelism the policy may give the vertex.
func (m *vertexModel) lowerBound(o Options) int {
	lo := min(o.MinParallelism, m.info.P)
	return max(lo, 1)
}

// sizeFor returns the smallest parallelism within bounds whose capacity at utilization u
// covers rate; among parallelisms with the same hottest-subtask load it takes the smallest,
// so the result splits key groups or partitions as evenly as that capacity allows. If no
// parallelism within bounds suffices, it returns where more subtasks stop paying (yieldLimit).
func (m *vertexModel) sizeFor(rate, u float64, o Options) int {
	lo, hi := m.lowerBound(o), m.upperBound(o)
	if !m.known || rate <= 0 || math.IsNaN(rate) {
		return m.info.P
	}
	for p := lo; p <= hi; p++ {
		if m.capacity(p)*u >= rate {
			return p
		}
	}
	return m.yieldLimit(lo, hi)
}

// drainSize is the parallelism for draining lag at rate: the least that sustains it at
// catchUpUtilization, but never past yieldLimit. The drain is temporary, so it buys no
// subtask that would sustain less than minYield of what one sustains now: the lag drains
// somewhat slower instead (gen-125's skewed window was sized 10 -> 128, its max parallelism,
// to drain 510 s of lag for 1.7 times the capacity of 10, where the lasting demand needed 10).
func (m *vertexModel) drainSize(rate float64, o Options) int {
	n := m.sizeFor(rate, catchUpUtilization, o)
	if !m.known || n <= m.info.P {
		return n
	}
	return min(n, m.yieldLimit(m.lowerBound(o), n))
}

// minYield is the least share of what a subtask sustains now that each subtask of a larger
// parallelism must still sustain for the policy to buy it when no parallelism meets the rate.
const minYield = 0.5

// yieldLimit is where more subtasks stop paying, within lo..hi: the largest capacity among
// parallelisms whose subtasks each still sustain at least minYield of what one sustains now,
// at the smallest parallelism that reaches it. Beyond it a hot key (or a partition count)
// leaves added subtasks mostly idle. sizeFor falls back to it for a rate no parallelism
// sustains (the rate is missed either way; the upper bound, taken before, bought every subtask
// up to the max parallelism); a vertex that scales evenly still gets the upper bound.
func (m *vertexModel) yieldLimit(lo, hi int) int {
	cur := max(m.info.P, 1)
	floor := minYield * m.capacity(cur) / float64(cur)
	best, bestCap := cur, m.capacity(cur)
	for p := lo; p <= hi; p++ {
		c := m.capacity(p)
		if c/float64(p) >= floor && (c > bestCap || (c == bestCap && p < best)) {
			best, bestCap = p, c
		}
	}
	return best
}
