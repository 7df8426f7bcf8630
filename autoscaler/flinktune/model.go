package flinktune

import "math"

// vertexModel is what the policy knows about one vertex's capacity at its current parallelism.
type vertexModel struct {
	info vertexInfo
	// perSubtask is records one subtask processes per busy second at the current parallelism.
	perSubtask float64
	known      bool // perSubtask was measured (enough busy time in the window)
	// hot is the hottest subtask's load over the average at the current parallelism.
	hot float64
	// alpha is the scaling-efficiency exponent: per-subtask rate ∝ p^-alpha.
	alpha float64
}

// imbalance is how much more work the busiest subtask gets than the average one, from the
// discrete split of key groups (HASH inputs) or partitions (sources) over p subtasks.
func (m *vertexModel) imbalance(p int) float64 {
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
	per := m.perSubtask * math.Pow(float64(p)/float64(cur), -m.alpha)
	// The measured hot factor already contains the current split's imbalance; rescale it.
	skew := m.hot / m.imbalance(cur) * m.imbalance(p)
	skew = math.Max(skew, 1)
	return per * float64(active) / skew
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
// so the result splits key groups or partitions as evenly as that capacity allows. If even
// the upper bound does not suffice, it returns the upper bound.
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
	return hi
}
