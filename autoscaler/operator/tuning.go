package operator

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

// ConfigChanges are configuration overrides and removals (memory tuning's output).
type ConfigChanges struct {
	Overrides map[string]string `json:"overrides"`
	Removals  []string          `json:"removals"`
	// order of addOverride calls, for the operator's HashMap-ordered event text
	overrideOrder []string
}

func newConfigChanges() *ConfigChanges { return &ConfigChanges{Overrides: map[string]string{}} }

func (cc *ConfigChanges) override(key, value string) {
	if _, ok := cc.Overrides[key]; !ok {
		cc.overrideOrder = append(cc.overrideOrder, key)
	}
	cc.Overrides[key] = value
}

func (cc *ConfigChanges) remove(o flinkconf.Option) {
	for _, k := range o.Keys() {
		if !slices.Contains(cc.Removals, k) {
			cc.Removals = append(cc.Removals, k)
		}
	}
}

// Empty reports whether there is nothing to change.
func (cc *ConfigChanges) Empty() bool {
	return cc == nil || (len(cc.Overrides) == 0 && len(cc.Removals) == 0)
}

// apply is newConfigWithOverrides: a copy of cfg without the removals, with the overrides.
func (cc *ConfigChanges) apply(cfg *flinkconf.Config) *flinkconf.Config {
	out := flinkconf.New()
	if cfg != nil {
		out = cfg.Clone()
	}
	if cc == nil {
		return out
	}
	for _, k := range cc.Removals {
		out.Delete(k)
	}
	for k, v := range cc.Overrides {
		out.Set(k, v)
	}
	return out
}

// format renders the changes as the operator's recommendation text (its HashMap/HashSet
// iteration order, newline after each override).
func (cc *ConfigChanges) format() string {
	var b strings.Builder
	order := cc.overrideOrder
	if len(order) != len(cc.Overrides) {
		order = nil
		for k := range cc.Overrides {
			order = append(order, k)
		}
		slices.Sort(order)
	}
	for _, k := range javaHashOrder(order) {
		b.WriteString(k + ": " + cc.Overrides[k] + "\n")
	}
	if len(cc.Removals) > 0 {
		b.WriteString("Remove the following config entries if present: [" + strings.Join(javaHashOrder(cc.Removals), ", ") + "]")
	}
	return b.String()
}

// TuningInput is what MemoryTuning#tuneTaskManagerMemory reads.
type TuningInput struct {
	Options *Options
	// Conf is the job's original configuration (network buffers, segment size, slots).
	Conf *flinkconf.Config
	// Spec is the TaskManager memory derived from Conf; nil means the derivation failed and
	// tuning is abandoned.
	Spec *memory.TaskManager
	// MaxMemory is the TaskManager process size of the deployment; <= 0 abandons tuning.
	MaxMemory int64
	Global    *EvaluatedSet
	Vertices  map[string]*EvaluatedSet
	Topology  *Topology
	Summaries map[string]ScalingSummary
}

// TuningResult is the tuning outcome.
type TuningResult struct {
	// Changes are the overrides to apply; nil when abandoned or when tuning is disabled.
	Changes *ConfigChanges
	// Recommended are the computed changes, also when tuning is disabled (nil when abandoned).
	Recommended *ConfigChanges
	// Message is the "Configuration recommendation" event text ("" when abandoned).
	Message string
}

// memoryBudget hands out memory until the budget is spent.
type memoryBudget struct{ remaining int64 }

func (b *memoryBudget) budget(amount int64) (int64, error) {
	if amount < 0 {
		return 0, errors.New("java.lang.IllegalArgumentException")
	}
	g := min(amount, b.remaining)
	b.remaining -= g
	return g, nil
}

// TuneTaskManagerMemory is MemoryTuning#tuneTaskManagerMemory: it re-divides the TaskManager
// memory from observed usage (network first, then metaspace, heap, managed memory), adds heap
// when the rescale removes TaskManagers, and never exceeds the original process size.
func TuneTaskManagerMemory(in TuningInput) (TuningResult, error) {
	if in.Spec == nil || in.MaxMemory <= 0 {
		return TuningResult{}, nil
	}
	p, err := budgetPools(in)
	if err != nil || p.total <= 0 {
		return TuningResult{}, err
	}
	cc, err := tunedConfig(in.Spec, p)
	if err != nil {
		return TuningResult{}, err
	}
	return recommendation(in.Options.MemoryTuning, cc), nil
}

// tunedPools are the pools tuning sizes and total, the process memory handed out.
type tunedPools struct{ network, metaspace, heap, managed, total int64 }

// budgetPools hands out the TaskManager's process size in the operator's order: the fixed
// pools (framework and task off-heap, JVM overhead), the network memory the new parallelisms
// need, metaspace and heap at their observed use plus the overhead, managed memory (none when
// unused, all that is left with maximize-managed-memory, else its current size), then the
// heap's scale-down compensation. A pool asks for what it needs and gets what is left.
func budgetPools(in TuningInput) (tunedPools, error) {
	o, spec := in.Options, in.Spec
	b := &memoryBudget{remaining: in.MaxMemory}
	var err error // the first budget error; the network's own error comes before it
	grant := func(x int64) int64 {
		g, e := b.budget(x)
		if e != nil && err == nil {
			err = e
		}
		return g
	}
	grant(spec.FrameworkOffHeap)
	grant(spec.TaskOffHeap)
	grant(spec.JVMOverhead)

	newP := computeNewParallelisms(in.Summaries, in.Vertices)
	network, nerr := networkMemory(in.Topology, newP, in.Conf)
	if nerr != nil {
		return tunedPools{}, nerr
	}
	var p tunedPools
	p.network = grant(network)
	overhead := 1 + o.MemoryTuningOverhead
	usage := func(m Metric) int64 { return javaLong(in.Global.Average(m)) }
	p.metaspace = grant(javaLong(float64(usage(MetricMetaspaceMemoryUsed)) * overhead))
	p.heap = grant(javaLong(float64(usage(MetricHeapMemoryUsed)) * overhead))
	switch {
	case usage(MetricManagedMemoryUsed) <= 0:
		p.managed = 0
	case o.MaximizeManagedMemory:
		p.managed = grant(math.MaxInt64)
	default:
		p.managed = grant(spec.Managed)
	}
	if err != nil {
		return tunedPools{}, err
	}
	if p.heap, err = applyMemoryScaling(p.heap, b, in); err != nil {
		return tunedPools{}, err
	}
	p.total = in.MaxMemory - b.remaining
	return p, nil
}

// tunedConfig writes the pools as Flink options: the process size fixed, heap as its rest
// (framework heap 0, no task heap or Flink size), managed memory and JVM overhead as fractions,
// network min = max, metaspace.
func tunedConfig(spec *memory.TaskManager, p tunedPools) (*ConfigChanges, error) {
	specHeap := spec.FrameworkHeap + spec.TaskHeap
	flinkMemory := spec.TotalFlink + (p.heap - specHeap) + (p.managed - spec.Managed) + (p.network - spec.Network)

	cc := newConfigChanges()
	cc.override(flinkconf.TMProcessSize.Key, flinkconf.FormatMemorySize(p.total))
	cc.remove(flinkconf.TMFlinkSize)
	cc.remove(flinkconf.TMTaskHeap)
	cc.override(flinkconf.TMFrameworkHeap.Key, flinkconf.FormatMemorySize(0))
	mf, err := fraction(p.managed, flinkMemory)
	if err != nil {
		return nil, err
	}
	cc.override(flinkconf.TMManagedFraction.Key, flinkconf.JavaFloatString(mf))
	cc.remove(flinkconf.TMManagedSize)
	cc.override(flinkconf.TMNetworkMin.Key, flinkconf.FormatMemorySize(p.network))
	cc.override(flinkconf.TMNetworkMax.Key, flinkconf.FormatMemorySize(p.network))
	of, err := fraction(spec.JVMOverhead, p.total)
	if err != nil {
		return nil, err
	}
	cc.override(flinkconf.TMOverheadFraction.Key, flinkconf.JavaFloatString(of))
	cc.override(flinkconf.TMMetaspace.Key, flinkconf.FormatMemorySize(p.metaspace))
	return cc, nil
}

// recommendation is the outcome: the changes are recommended (the event's text) and applied
// only with memory tuning enabled.
func recommendation(enabled bool, cc *ConfigChanges) TuningResult {
	state := "disabled"
	if enabled {
		state = "enabled"
	}
	res := TuningResult{Recommended: cc,
		Message: fmt.Sprintf("Memory tuning recommends the following configuration (automatic tuning is %s):\n%s", state, cc.format())}
	if enabled {
		res.Changes = cc
	}
	return res
}

// fraction is MemoryTuning#getFraction: the ratio rounded up to three decimals as a float.
func fraction(num, den int64) (float32, error) {
	r := float64(num) / float64(den)
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, errors.New("Infinite or NaN")
	}
	return ceil3Float(r), nil
}

// applyMemoryScaling is MemoryScaling#applyMemoryScaling: heap grows by the scaling factor
// within the remaining budget (when scale-down compensation is enabled).
func applyMemoryScaling(heap int64, b *memoryBudget, in TuningInput) (int64, error) {
	if !in.Options.MemoryScaling {
		return heap, nil
	}
	factor, err := memoryScalingFactor(in)
	if err != nil {
		return 0, err
	}
	add, err := b.budget(javaLong(factor*float64(heap)) - heap)
	if err != nil {
		return 0, err
	}
	return heap + add, nil
}

// memoryScalingFactor is max(1, TMs before / TMs after): memory is added when TaskManagers
// go away, never removed.
func memoryScalingFactor(in TuningInput) (float64, error) {
	used := javaInt(in.Global.Current(MetricNumTaskSlotsUsed))
	after := estimateNumTaskSlotsAfterRescale(in.Vertices, in.Summaries, used)
	perTM, err := slotsPerTaskManager(in.Conf)
	if err != nil {
		return 0, err
	}
	before := javaInt(math.Ceil(float64(used) / float64(perTM)))
	afterTMs := javaInt(math.Ceil(float64(after) / float64(perTM)))
	return math.Max(1, float64(before)/float64(afterTMs)), nil
}

// networkMemory is the network memory every slot needs if it hosts one subtask of every
// vertex: one gate per input and output edge.
func networkMemory(top *Topology, newP map[string]int, cfg *flinkconf.Config) (int64, error) {
	if cfg == nil {
		cfg = flinkconf.New()
	}
	bpc, _, err := cfg.Int(flinkconf.TMBuffersPerChannel)
	if err != nil {
		return 0, err
	}
	floating, _, err := cfg.Int(flinkconf.TMFloatingPerGate)
	if err != nil {
		return 0, err
	}
	seg, _, err := cfg.MemorySize(flinkconf.TMSegmentSize)
	if err != nil {
		return 0, err
	}
	slots, serr := slotsPerTaskManager(cfg)
	if serr != nil {
		return 0, serr
	}
	var total int64
	for _, id := range top.Order {
		v := top.Get(id)
		for _, e := range v.Inputs {
			total += int64(calculateNetworkSegmentNumber(newP[id], newP[e.Vertex], e.Ship, int(bpc), int(floating))) * seg
		}
		for _, e := range v.Outputs {
			total += int64(calculateNetworkSegmentNumber(newP[id], newP[e.Vertex], e.Ship, int(bpc), int(floating))) * seg
		}
	}
	return total * int64(slots), nil
}

// calculateNetworkSegmentNumber: FORWARD between equal parallelisms needs bpc + floating;
// FORWARD/RESCALE otherwise ceil(other/own) channels; all-to-all edges one channel per
// connected subtask.
func calculateNetworkSegmentNumber(own, other int, ship string, bpc, floating int) int {
	if own == other && ship == ShipForward {
		return bpc + floating
	}
	if ship == ShipForward || ship == ShipRescale {
		return javaInt(math.Ceil(float64(other)/float64(own)))*bpc + floating
	}
	return other*bpc + floating
}

// deriveSpec derives the TaskManager memory spec of cfg for tuning; nil on failure.
func deriveSpec(o *Options, cfg *flinkconf.Config) *memory.TaskManager {
	derive := o.DeriveTaskManager
	if derive == nil {
		derive = func(c *flinkconf.Config) (*memory.TaskManager, error) {
			return memory.DeriveTaskManager(c, nil, memory.Flink1)
		}
	}
	if cfg == nil {
		cfg = flinkconf.New()
	}
	spec, err := derive(cfg)
	if err != nil {
		return nil
	}
	return spec
}

// tuneMemory runs memory tuning inside scaleResource and emits the recommendation event.
func (c *cycle) tuneMemory(in *executorInput, summaries map[string]ScalingSummary) (*ConfigChanges, error) {
	maxMem, err := c.contextTaskManagerMemory()
	if err != nil {
		return nil, err
	}
	spec := deriveSpec(c.o, c.o.Conf)
	res, err := TuneTaskManagerMemory(TuningInput{
		Options: c.o, Conf: c.o.Conf, Spec: spec, MaxMemory: maxMem,
		Global: in.evaluated.Global, Vertices: in.evaluated.Vertices, Topology: in.topology, Summaries: summaries,
	})
	if err != nil {
		return nil, err
	}
	if res.Message != "" {
		c.event("Normal", ReasonConfigRecommendation, res.Message, "MemoryTuning", c.o.ScalingEventInterval)
	}
	if res.Changes == nil {
		return newConfigChanges(), nil
	}
	return res.Changes, nil
}
