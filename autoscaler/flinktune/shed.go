package flinktune

// shedInScaleUp is a vertex's size in a scale-up: what its demand and drain need, and no
// less than its parallelism, unless the scale-down would lower it (down: below the midpoint
// of utilization.min and the target against the window's peak demand and forecast). A
// scale-up restarts the job anyway, so shedding that vertex's surplus in the same restart
// costs no restart, and the operator does so (it sizes every vertex on each rescale); kept,
// the surplus outlived every later scale-up: an over-provisioned source kept its subtasks,
// and a FORWARD consumer downstream of it had to be a multiple of them (Flink keeps a FORWARD
// edge POINTWISE at differing parallelisms, FLINK-30213 only swaps the partitioner, so a
// consumer subtask reads ceil(q/p) producers or shares one with floor(p/q)-1 others).
func shedInScaleUp(up, forDemand, forDrain, down int) int {
	if down >= up {
		return up
	}
	return max(forDemand, forDrain, down)
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
