package flinktune

// shedInScaleUp is a vertex's size in a scale-up: what its demand and drain need, and no
// less than its parallelism, unless it is deep below its target (the scale-down would set
// must for it). A scale-up restarts the job anyway, so shedding that vertex's surplus in
// the same restart costs nothing, and keeping it costs more than the operator spends: an
// over-provisioned source kept its subtasks through every later scale-up, and a FORWARD
// consumer downstream of it had to be a multiple of them (Flink keeps a FORWARD edge
// POINTWISE at differing parallelisms, FLINK-30213 only swaps the partitioner, so a consumer
// subtask reads ceil(q/p) producers or shares one with floor(p/q)-1 others).
func shedInScaleUp(up, forDemand, forDrain, must int) int {
	if must >= up {
		return up
	}
	return max(forDemand, forDrain, must)
}

// raises reports whether a target raises some vertex: a scale-up that would only shed
// subtasks is none.
func raises(e *evaluation, t map[string]int) bool {
	for _, vi := range e.order {
		if n, ok := t[vi.ID]; ok && n > vi.P {
			return true
		}
	}
	return false
}
