package flinktune

// lastingSize is a vertex's size in a scale-up for its lasting demand: the demand now at the
// target utilization, and a trend's forecast at utilization.max.
//
// A trend's forecast is already a margin: the demand the trend reaches at the end of its
// horizon, extrapolated as long again as the trend has lasted (the median of what remains of
// it, so the trend ends before the horizon as often as after). The scale-up must carry the
// demand until then without the forecast utilization crossing utilization.max, the line at
// which a scale-up is due; sizing the forecast at the target utilization stacked the target's
// headroom on top of the extrapolation. When the ramp ended before its horizon (half the time),
// that surplus stayed for the rest of the run: above the midpoint of utilization.min and the
// target, it never calls for a scale-down (gen-58: a ramp 27 minutes old forecast at 52k/s,
// ending 15 minutes later at 40k/s, its window sized 9 subtasks where 6 carried it at 80%).
// A recurring pattern's forecast is a learned level, not an extrapolation: it keeps the target.
func lastingSize(m *vertexModel, demand, forecast float64, e *evaluation, o Options) int {
	if e.pattern != "" || forecast <= demand {
		return m.sizeFor(max(demand, forecast), o.TargetUtilization, o)
	}
	return max(m.sizeFor(demand, o.TargetUtilization, o), m.sizeFor(forecast, max(o.UtilizationMax, o.TargetUtilization), o))
}
