package operator

import (
	"time"

	"github.com/flinktune/flinktune/flinkconf"
)

// Plugins are Go implementations of the operator's plugin SPIs (FLIP-514 custom evaluators,
// FLIP-575 custom scaling executors, FLIP-586 custom alignment modes), registered under the
// class name that the job configuration selects with ...<name>.class.
type Plugins struct {
	Evaluators     map[string]EvaluatorPlugin
	Executors      map[string]ExecutorPlugin
	AlignmentModes map[string]AlignmentMode
}

// EvaluatorPlugin is ScalingMetricsEvaluatorPlugin: it may override evaluated metrics of a
// vertex. Every non-NaN part of a returned metric replaces the built-in one. An error is
// logged by the operator and ignored (no override).
type EvaluatorPlugin interface {
	EvaluateVertexMetrics(vertex string, evaluated EvaluatedSet, ctx *EvaluatorContext) (map[Metric]Evaluated, error)
}

// EvaluatorContext is what a custom evaluator sees.
type EvaluatorContext struct {
	JobID string
	// Conf is the job configuration with the instance's prefix-stripped parameters on top.
	Conf *flinkconf.Config
	// Evaluated holds the vertices evaluated so far (topological order). Do not modify.
	Evaluated         map[string]*EvaluatedSet
	ProcessingBacklog bool
	Topology          *Topology
	History           History
	RestartTime       time.Duration
}

// ExecutorPlugin is ScalingExecutorPlugin: it may approve, change or veto (return an empty
// map) the scaling summaries before they are applied. Plugins run in ascending Priority.
type ExecutorPlugin interface {
	Priority() int
	Apply(ctx *ExecutorContext, summaries map[string]ScalingSummary) (map[string]ScalingSummary, error)
}

// ExecutorContext is what a custom executor sees.
type ExecutorContext struct {
	JobID string
	// Conf is the (tuned) job configuration with the instance's parameters on top.
	Conf      *flinkconf.Config
	Evaluated *EvaluatedMetrics
	Topology  *Topology
}

// AlignmentMode is ParallelismAlignmentMode: it adjusts a computed target parallelism.
type AlignmentMode interface {
	// IsApplicable says whether the mode applies to the vertex; DefaultApplicable is the
	// operator's default (sources with known partitions and keyed vertices).
	IsApplicable(ctx *AlignmentContext) bool
	AlignParallelism(ctx *AlignmentContext) int
}

// AlignmentContext is ParallelismAlignmentMode.Context.
type AlignmentContext struct {
	Vertex string
	// Current is the current parallelism; New the clamped computed target.
	Current, New        int
	NumSourcePartitions int
	MaxParallelism      int
	LowerLimit          int
	UpperLimit          int
	InputShips          []string
	Metrics             *EvaluatedSet
	// Conf is the job configuration with the mode's prefix-stripped parameters on top.
	Conf *flinkconf.Config
}

// DefaultApplicable is the operator's default applicability: a source with a known partition
// count or a vertex with a HASH input.
func DefaultApplicable(ctx *AlignmentContext) bool {
	if ctx.NumSourcePartitions > 0 {
		return true
	}
	for _, s := range ctx.InputShips {
		if s == ShipHash {
			return true
		}
	}
	return false
}

// pluginConf is the operator's prefixStrippedConfiguration overlaid on the job config: keys
// under kubernetes.operator.job.autoscaler.<prefix><name>. then job.autoscaler.<prefix><name>.
// (which wins) with that prefix stripped, on top of base.
func pluginConf(base *flinkconf.Config, prefix, name string) *flinkconf.Config {
	out := flinkconf.New()
	if base != nil {
		out = base.Clone()
	}
	if base == nil {
		return out
	}
	canonical := Prefix + prefix + name + "."
	legacy := "kubernetes.operator." + canonical
	for _, p := range []string{legacy, canonical} {
		for _, k := range base.Keys() {
			if len(k) > len(p) && k[:len(p)] == p {
				v, _ := base.Get(k)
				out.Set(k[len(p):], v)
			}
		}
	}
	return out
}

// pluginClass reads <prefix><name>.class with its legacy fallback.
func pluginClass(base *flinkconf.Config, prefix, name string) string {
	if base == nil {
		return ""
	}
	key := prefix + name + ".class"
	if v, ok := base.Get(Prefix + key); ok {
		return v
	}
	v, _ := base.Get(LegacyPrefix + key)
	return v
}
