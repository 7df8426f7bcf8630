package memory

import (
	"math"
	"strconv"

	"github.com/flinktune/flinktune/flinkconf"
)

// deriver carries one derivation: the configuration, the legacy values mapped onto new options,
// and the record of sources and steps. It reads options in exactly Flink's order, because the
// first failing read decides the error users see.
type deriver struct {
	cfg     *flinkconf.Config
	profile Profile
	// mapped holds legacy heap values written onto a new option (by main key), as Flink's
	// start-up scripts copy the configuration and set the option.
	mapped  map[string]mappedValue
	sources map[string]Source
	steps   []Step
}

type mappedValue struct {
	bytes int64
	src   Source
}

func newDeriver(cfg *flinkconf.Config, p Profile) *deriver {
	return &deriver{cfg: cfg, profile: p, sources: make(map[string]Source, 16), steps: make([]Step, 0, 24)}
}

// configured is Flink's Configuration#contains: the main key or any fallback key is present.
func (d *deriver) configured(o flinkconf.Option) bool {
	if _, ok := d.mapped[o.Key]; ok {
		return true
	}
	return d.cfg.IsConfigured(o)
}

// sourceOf describes where the option's value comes from without parsing it.
func (d *deriver) sourceOf(o flinkconf.Option) Source {
	raw, key, found := d.cfg.Lookup(o)
	if !found {
		return Source{Kind: SourceDefault, Option: o.Key, Raw: o.Default}
	}
	s := Source{Kind: SourceConfig, Option: o.Key, Raw: raw, Origin: d.cfg.OriginOf(key)}
	if key != o.Key {
		s.Key = key
	}
	return s
}

// size reads a memory-size option as ProcessMemoryUtils.getMemorySizeFromConfig: any failure
// becomes "Cannot read memory size from config option".
func (d *deriver) size(o flinkconf.Option) (int64, Source, *exception) {
	if m, ok := d.mapped[o.Key]; ok {
		return m.bytes, m.src, nil
	}
	v, ok, err := d.cfg.MemorySize(o)
	if err != nil {
		return 0, Source{}, errCannotReadSize(o, err)
	}
	if !ok {
		// Java's checkNotNull; only reachable for an option without default that is not set.
		return 0, Source{}, errCannotReadSize(o, flinkconf.NewException("java.lang.NullPointerException",
			"The memory option is not set and has no default value.", nil))
	}
	return v, d.sourceOf(o), nil
}

// fraction reads a float option (Configuration#getFloat, widened to double). Its parse error is
// an IllegalArgumentException that no memory code wraps.
func (d *deriver) fraction(o flinkconf.Option) (float64, Source, *exception) {
	v, _, err := d.cfg.Float(o)
	if err != nil {
		return 0, Source{}, err
	}
	return v, d.sourceOf(o), nil
}

// record gives a pool its value and appends the step.
func (d *deriver) record(pool string, bytes int64, src Source) {
	d.sources[pool] = src
	d.steps = append(d.steps, Step{Kind: StepValue, Pool: pool, Bytes: bytes, Source: src})
}

func (d *deriver) note(kind StepKind, text string) {
	d.steps = append(d.steps, Step{Kind: kind, Text: text})
}

// readSize reads a size option and records it as the pool's value.
func (d *deriver) readSize(pool string, o flinkconf.Option) (int64, *exception) {
	v, src, err := d.size(o)
	if err != nil {
		return 0, err
	}
	d.record(pool, v, src)
	return v, nil
}

// rangeFraction is Flink's RangeFraction with the sources of its parts.
type rangeFraction struct {
	min, max       int64
	minSrc, maxSrc Source
	fraction       float64
	fracSrc        Source
}

// readRange reads min, max and fraction in Flink's order and validates them
// (ProcessMemoryUtils.getRangeFraction): the range is checked whenever it is read.
func (d *deriver) readRange(minOpt, maxOpt, fracOpt flinkconf.Option) (rangeFraction, *exception) {
	var rf rangeFraction
	var err *exception
	if rf.min, rf.minSrc, err = d.size(minOpt); err != nil {
		return rf, err
	}
	if rf.max, rf.maxSrc, err = d.size(maxOpt); err != nil {
		return rf, err
	}
	return d.completeRange(rf, fracOpt)
}

// completeRange reads the fraction of a range whose bounds are known and validates the range.
func (d *deriver) completeRange(rf rangeFraction, fracOpt flinkconf.Option) (rangeFraction, *exception) {
	var err *exception
	if rf.fraction, rf.fracSrc, err = d.fraction(fracOpt); err != nil {
		return rf, err
	}
	var cause *exception
	switch {
	case rf.min > rf.max:
		cause = iae("min value must be less or equal to max value")
	case !(rf.fraction >= 0 && rf.fraction < 1): // NaN fails too
		cause = iae("fraction must be in range [0, 1)")
	}
	if cause != nil {
		return rf, errInconsistentRange(fracOpt, rf.fraction, rf.min, rf.max, cause)
	}
	return rf, nil
}

// managedRange is the fixed [0, Long.MAX_VALUE] range of the managed-memory fraction.
func (d *deriver) managedRange() (rangeFraction, *exception) {
	return d.completeRange(rangeFraction{min: 0, max: math.MaxInt64}, flinkconf.TMManagedFraction)
}

// ofFraction is ProcessMemoryUtils.deriveWithFraction: ⌊base × fraction⌋ (exact decimal
// product), capped to [min, max]. of is the pool the value is a fraction of; base lists the
// pools summed into base.
func ofFraction(of string, base []string, baseBytes int64, rf rangeFraction) (int64, Source, *exception) {
	return capped(SourceFraction, of, base, baseBytes, rf.fraction, rf)
}

// inverseFraction is ProcessMemoryUtils.deriveWithInverseFraction: the part that is fraction f
// of (base + part), base × f/(1−f) with f/(1−f) in IEEE double, capped to [min, max].
func inverseFraction(of string, base []string, baseBytes int64, rf rangeFraction) (int64, Source, *exception) {
	return capped(SourceInverseFraction, of, base, baseBytes, rf.fraction/(1-rf.fraction), rf)
}

func capped(kind SourceKind, of string, base []string, baseBytes int64, multiplier float64, rf rangeFraction) (int64, Source, *exception) {
	product, err := flinkconf.MultiplyFraction(baseBytes, multiplier)
	if err != nil {
		return 0, Source{}, err
	}
	fs := &FractionSource{
		Fraction: rf.fraction, Multiplier: multiplier, FractionSource: rf.fracSrc,
		Of: of, Base: base, BaseBytes: baseBytes, Product: product,
		Min: rf.min, Max: rf.max, MinSrc: rf.minSrc, MaxSrc: rf.maxSrc,
	}
	v := product
	if v > rf.max {
		v, fs.Capped = rf.max, CapMax
	} else if v < rf.min {
		v, fs.Capped = rf.min, CapMin
	}
	return v, Source{Kind: kind, Fraction: fs}, nil
}

// sum adds with Math.addExact semantics.
func sum(vals ...int64) (int64, *exception) {
	var total int64
	for _, v := range vals {
		var err *exception
		if total, err = flinkconf.AddExact(total, v); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func remainder(parts ...string) Source { return Source{Kind: SourceRemainder, Parts: parts} }

func sumOf(parts ...string) Source { return Source{Kind: SourceSum, Parts: parts} }

// processOptions are the options ProcessMemoryUtils reads for one process type.
type processOptions struct {
	required                               []flinkconf.Option
	totalFlink, totalProcess               flinkconf.Option
	metaspace                              flinkconf.Option
	overheadMin, overheadMax, overheadFrac flinkconf.Option
}

var tmProcessOptions = processOptions{
	required:   []flinkconf.Option{flinkconf.TMTaskHeap, flinkconf.TMManagedSize},
	totalFlink: flinkconf.TMFlinkSize, totalProcess: flinkconf.TMProcessSize,
	metaspace:   flinkconf.TMMetaspace,
	overheadMin: flinkconf.TMOverheadMin, overheadMax: flinkconf.TMOverheadMax, overheadFrac: flinkconf.TMOverheadFraction,
}

var jmProcessOptions = processOptions{
	required:   []flinkconf.Option{flinkconf.JMHeapSize},
	totalFlink: flinkconf.JMFlinkSize, totalProcess: flinkconf.JMProcessSize,
	metaspace:   flinkconf.JMMetaspace,
	overheadMin: flinkconf.JMOverheadMin, overheadMax: flinkconf.JMOverheadMax, overheadFrac: flinkconf.JMOverheadFraction,
}

// flinkMemory derives the Flink-memory pools of one process type.
type flinkMemory interface {
	// fromFineGrained derives from the required fine-grained options and returns total Flink memory.
	fromFineGrained(d *deriver) (int64, *exception)
	// fromTotalFlink derives the pools from a known total Flink memory.
	fromTotalFlink(d *deriver, totalFlink int64) *exception
}

// processSpec holds the JVM-level results common to TaskManager and JobManager.
type processSpec struct {
	totalFlink, metaspace, overhead, totalProcess int64
}

// process is ProcessMemoryUtils.memoryProcessSpecFromConfig: choose the mode by which options
// are configured (never by parsing), then derive.
func (d *deriver) process(po processOptions, fm flinkMemory) (processSpec, *exception) {
	var ps processSpec
	allRequired := true
	for _, o := range po.required {
		if !d.configured(o) {
			allRequired = false
			break
		}
	}
	var err *exception
	switch {
	case allRequired:
		d.note(StepMode, "Mode: fine-grained ("+requiredText(po.required)+" set): derive Total Flink Memory from its parts, then JVM Metaspace and Overhead")
		if ps.totalFlink, err = fm.fromFineGrained(d); err != nil {
			return ps, err
		}
		err = d.metaspaceAndOverheadFromTotalFlink(po, &ps)
		return ps, err
	case d.configured(po.totalFlink):
		d.note(StepMode, "Mode: total Flink memory ("+po.totalFlink.Key+" set): split it into pools, then add JVM Metaspace and Overhead")
		if ps.totalFlink, err = d.readSize(PoolTotalFlink, po.totalFlink); err != nil {
			return ps, err
		}
		if err = fm.fromTotalFlink(d, ps.totalFlink); err != nil {
			return ps, err
		}
		err = d.metaspaceAndOverheadFromTotalFlink(po, &ps)
		return ps, err
	case d.configured(po.totalProcess):
		d.note(StepMode, "Mode: total process memory ("+po.totalProcess.Key+" set): subtract JVM Metaspace and Overhead, split the rest")
		if ps.totalProcess, err = d.readSize(PoolTotalProcess, po.totalProcess); err != nil {
			return ps, err
		}
		if ps.metaspace, err = d.readSize(PoolJVMMetaspace, po.metaspace); err != nil {
			return ps, err
		}
		rf, err := d.readRange(po.overheadMin, po.overheadMax, po.overheadFrac)
		if err != nil {
			return ps, err
		}
		ovh, src, err := ofFraction(PoolTotalProcess, []string{PoolTotalProcess}, ps.totalProcess, rf)
		if err != nil {
			return ps, err
		}
		ps.overhead = ovh
		d.record(PoolJVMOverhead, ovh, src)
		jvm, err := sum(ps.metaspace, ps.overhead)
		if err != nil {
			return ps, err
		}
		if jvm > ps.totalProcess {
			return ps, errMetaspaceOverheadExceedProcess(ps.metaspace, ps.overhead, ps.totalProcess)
		}
		d.note(StepCheck, "Check: JVM Metaspace + JVM Overhead = "+HumanBytes(jvm)+" ≤ Total Process Memory "+HumanBytes(ps.totalProcess))
		ps.totalFlink = ps.totalProcess - jvm
		d.record(PoolTotalFlink, ps.totalFlink, remainder(PoolTotalProcess, PoolJVMMetaspace, PoolJVMOverhead))
		err = fm.fromTotalFlink(d, ps.totalFlink)
		return ps, err
	}
	return ps, errNotConfigured(po.required, po.totalFlink, po.totalProcess)
}

func requiredText(required []flinkconf.Option) string {
	t := ""
	for i, o := range required {
		if i > 0 {
			t += " and "
		}
		t += o.Key
	}
	return t
}

// metaspaceAndOverheadFromTotalFlink is ProcessMemoryUtils.deriveJvmMetaspaceAndOverheadFromTotalFlinkMemory.
func (d *deriver) metaspaceAndOverheadFromTotalFlink(po processOptions, ps *processSpec) *exception {
	var err *exception
	if ps.metaspace, err = d.readSize(PoolJVMMetaspace, po.metaspace); err != nil {
		return err
	}
	flinkAndMeta, err := sum(ps.totalFlink, ps.metaspace)
	if err != nil {
		return err
	}
	if d.configured(po.totalProcess) {
		// Total process memory is a constraint here: the overhead is what is left.
		if ps.totalProcess, err = d.readSize(PoolTotalProcess, po.totalProcess); err != nil {
			return err
		}
		if ps.totalProcess < flinkAndMeta {
			return errProcessLessThanFlinkAndMetaspace(ps.totalProcess, ps.totalFlink, ps.metaspace)
		}
		ps.overhead = ps.totalProcess - flinkAndMeta
		rf, err := d.readRange(po.overheadMin, po.overheadMax, po.overheadFrac)
		if err != nil {
			return err
		}
		if ps.overhead > rf.max || ps.overhead < rf.min {
			return errOverheadOutOfRange(ps.overhead, rf.min, rf.max)
		}
		d.record(PoolJVMOverhead, ps.overhead, remainder(PoolTotalProcess, PoolTotalFlink, PoolJVMMetaspace))
		d.note(StepCheck, "Check: JVM Overhead "+HumanBytes(ps.overhead)+" is within ["+HumanBytes(rf.min)+", "+HumanBytes(rf.max)+"]")
		return nil
	}
	rf, err := d.readRange(po.overheadMin, po.overheadMax, po.overheadFrac)
	if err != nil {
		return err
	}
	ovh, src, err := inverseFraction(PoolTotalProcess, []string{PoolTotalFlink, PoolJVMMetaspace}, flinkAndMeta, rf)
	if err != nil {
		return err
	}
	ps.overhead = ovh
	d.record(PoolJVMOverhead, ovh, src)
	// Flink adds the three up here (sanityCheckTotalProcessMemory), failing on overflow.
	if ps.totalProcess, err = sum(ps.totalFlink, ps.metaspace, ps.overhead); err != nil {
		return err
	}
	d.record(PoolTotalProcess, ps.totalProcess, sumOf(PoolTotalFlink, PoolJVMMetaspace, PoolJVMOverhead))
	return nil
}

// itoa is strconv.FormatInt for messages.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
