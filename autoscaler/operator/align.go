package operator

import (
	"fmt"

	"github.com/flinktune/flinktune/autoscaler"
)

// Built-in alignment modes (FLIP-586) and the deprecated legacy modes.
const (
	AlignBalanced     = "BALANCED"
	AlignEvenlySpread = "EVENLY_SPREAD"
	AlignOff          = "OFF"
)

// builtinMode is BuiltInAlignmentMode.
type builtinMode string

func (m builtinMode) IsApplicable(ctx *AlignmentContext) bool { return DefaultApplicable(ctx) }

func (m builtinMode) AlignParallelism(ctx *AlignmentContext) int {
	switch m {
	case AlignOff:
		return ctx.New
	case AlignEvenlySpread:
		return alignOrKeepTarget(ctx, false)
	}
	return alignOrKeepTarget(ctx, true)
}

func (m builtinMode) String() string { return string(m) }

// legacyMode is the deprecated KeyGroupOrPartitionsAdjustMode (EVENLY_SPREAD or
// MAXIMIZE_UTILISATION): it falls back to a relaxed downward search and blocks (returns the
// current parallelism) when nothing preserves the scaling direction.
type legacyMode struct {
	maximize bool
	emit     func(expected, actual int)
}

func (m legacyMode) IsApplicable(ctx *AlignmentContext) bool { return DefaultApplicable(ctx) }

func (m legacyMode) AlignParallelism(ctx *AlignmentContext) int {
	if p := firstAlignedInRegion(ctx, m.maximize); p > 0 {
		return p
	}
	candidate := relaxedDownwardFallback(ctx)
	emit := m.emit
	if emit == nil {
		emit = func(int, int) {}
	}
	up := ctx.New > ctx.Current
	if (up && candidate <= ctx.Current) || (!up && candidate >= ctx.Current) {
		emit(ctx.New, ctx.Current)
		return ctx.Current
	}
	if candidate != ctx.New {
		emit(ctx.New, candidate)
	}
	return candidate
}

func (m legacyMode) String() string {
	if m.maximize {
		return "LEGACY MAXIMIZE_UTILISATION"
	}
	return "LEGACY EVENLY_SPREAD"
}

// numKeyGroupsOrPartitions is N: the partition count when known, else the key groups.
func numKeyGroupsOrPartitions(ctx *AlignmentContext) int {
	if ctx.NumSourcePartitions <= 0 {
		return ctx.MaxParallelism
	}
	return ctx.NumSourcePartitions
}

func upperBoundForAlignment(ctx *AlignmentContext) int {
	return min(numKeyGroupsOrPartitions(ctx), min(ctx.MaxParallelism, ctx.UpperLimit))
}

// firstAlignedInRegion scans [target, cap] (scale-up) or [target, min(current, cap)]
// (scale-down) for a divisor of N, or (acceptLoadReducing) a p with N/p < N/target; 0 if none.
func firstAlignedInRegion(ctx *AlignmentContext, acceptLoadReducing bool) int {
	n := numKeyGroupsOrPartitions(ctx)
	target := ctx.New
	end := upperBoundForAlignment(ctx)
	if ctx.New <= ctx.Current {
		end = min(ctx.Current, end)
	}
	for p := target; p <= end; p++ {
		if n%p == 0 || (acceptLoadReducing && n/p < n/target) {
			return p
		}
	}
	return 0
}

// relaxedDownwardFallback searches down from the target for the boundary where the load per
// subtask grows, snapping up to the divisor, floored at the lower limit.
func relaxedDownwardFallback(ctx *AlignmentContext) int {
	n := numKeyGroupsOrPartitions(ctx)
	target := ctx.New
	p := target
	for ; p > 0; p-- {
		if n/p > n/target {
			if n%p != 0 {
				p++
			}
			break
		}
	}
	return max(p, ctx.LowerLimit)
}

// align110 is release 1.10.0's alignment (before FLINK-39299): scan up from the target for a
// divisor of N, to N (or to N/2 while the target is at most N/2) capped by the max parallelism
// and upper limit, whatever the scaling direction; else the relaxed downward fallback, never
// blocked.
func align110(ctx *AlignmentContext, limited func(actual int)) int {
	n := numKeyGroupsOrPartitions(ctx)
	end := n / 2
	if ctx.New > n/2 {
		end = n
	}
	end = min(end, min(ctx.MaxParallelism, ctx.UpperLimit))
	for p := ctx.New; p <= end; p++ {
		if n%p == 0 {
			return p
		}
	}
	p := relaxedDownwardFallback(ctx)
	limited(p)
	return p
}

func alignOrKeepTarget(ctx *AlignmentContext, acceptLoadReducing bool) int {
	if p := firstAlignedInRegion(ctx, acceptLoadReducing); p > 0 {
		return p
	}
	return ctx.New
}

// resolveAlignmentMode is ParallelismAligner#resolve. In the 1.15 variant only the legacy key
// exists, defaulting to the blocking EVENLY_SPREAD.
func resolveAlignmentMode(o *Options) AlignmentMode {
	if o.Variant.Pre116() {
		return legacyMode{maximize: o.LegacyAdjustMode == "MAXIMIZE_UTILISATION"}
	}
	if o.AlignmentModeSet {
		switch o.AlignmentMode {
		case AlignBalanced, AlignEvenlySpread, AlignOff:
			return builtinMode(o.AlignmentMode)
		}
		class, ok := pluginClassSet(o, "scaling.parallelism-alignment.mode.", o.AlignmentMode)
		if !ok {
			return builtinMode(AlignBalanced)
		}
		if m := o.Plugins.AlignmentModes[class]; m != nil {
			return m
		}
		return builtinMode(AlignBalanced)
	}
	if o.LegacyAdjustModeSet {
		return legacyMode{maximize: o.LegacyAdjustMode == "MAXIMIZE_UTILISATION"}
	}
	return builtinMode(AlignBalanced)
}

func pluginClassSet(o *Options, prefix, name string) (string, bool) {
	if o.Conf == nil {
		return "", false
	}
	key := prefix + name + ".class"
	if v, ok := o.Conf.Get(Prefix + key); ok {
		return v, true
	}
	return o.Conf.Get(LegacyPrefix + key)
}

// align is ParallelismAligner#align.
func (c *cycle) align(vertex string, current, newP, numSourcePartitions, maxParallelism, lower, upper int, inputShips []string, metrics *EvaluatedSet) int {
	modeName := c.o.AlignmentMode
	if modeName == "" {
		modeName = AlignBalanced
	}
	ctx := &AlignmentContext{
		Vertex: vertex, Current: current, New: newP, NumSourcePartitions: numSourcePartitions,
		MaxParallelism: maxParallelism, LowerLimit: lower, UpperLimit: upper, InputShips: inputShips,
		Metrics: metrics,
	}
	mode := resolveAlignmentMode(c.o)
	switch mode.(type) {
	case builtinMode, legacyMode:
		// Built-in modes read no parameters; skip building the per-mode configuration.
	default:
		ctx.Conf = pluginConf(c.o.Conf, "scaling.parallelism-alignment.mode.", modeName)
	}
	if !mode.IsApplicable(ctx) {
		return ctx.New
	}
	if c.o.Variant == Variant110 {
		return align110(ctx, func(actual int) {
			msg := fmt.Sprintf("Scaling limited detected for %s (expected parallelism: %d, actual parallelism %d). "+
				"Scaling limited due to numKeyGroupsOrPartitions : %d，upperBoundForAlignment(maxParallelism or parallelismUpperLimit): %d, parallelismLowerLimit: %d.",
				vertex, ctx.New, actual, numKeyGroupsOrPartitions(ctx), min(maxParallelism, upper), lower)
			c.event(autoscaler.EventWarning, "ScalingLimited", msg, "ScalingLimited"+vertex, c.o.ScalingEventInterval)
		})
	}
	if lm, ok := mode.(legacyMode); ok {
		lm.emit = func(expected, actual int) {
			msg := fmt.Sprintf("Scaling limited detected for %s (expected parallelism: %d, actual parallelism %d). "+
				"Scaling limited due to numKeyGroupsOrPartitions : %d，upperBoundForAlignment(maxParallelism or parallelismUpperLimit): %d, parallelismLowerLimit: %d.",
				vertex, expected, actual, numKeyGroupsOrPartitions(ctx), min(maxParallelism, upper), lower)
			c.event(autoscaler.EventWarning, "ScalingLimited", msg, "ScalingLimited"+vertex, c.o.ScalingEventInterval)
		}
		return lm.AlignParallelism(ctx)
	}
	return mode.AlignParallelism(ctx)
}
