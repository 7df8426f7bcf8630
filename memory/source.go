package memory

import (
	"math"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// Pool names: the keys of Sources, the field names of the vector/batch records and the rows of
// the table. TaskManager and JobManager share the common ones.
const (
	PoolFrameworkHeap    = "framework_heap"
	PoolFrameworkOffHeap = "framework_off_heap"
	PoolTaskHeap         = "task_heap"
	PoolTaskOffHeap      = "task_off_heap"
	PoolNetwork          = "network"
	PoolManaged          = "managed"
	PoolJVMMetaspace     = "jvm_metaspace"
	PoolJVMOverhead      = "jvm_overhead"
	PoolTotalFlink       = "total_flink"
	PoolTotalProcess     = "total_process"
	PoolJVMHeap          = "jvm_heap"
	PoolJVMDirect        = "jvm_direct"
	PoolOffHeap          = "off_heap" // JobManager off-heap memory
)

var poolTitles = map[string]string{
	PoolFrameworkHeap:    "Framework Heap",
	PoolFrameworkOffHeap: "Framework Off-Heap",
	PoolTaskHeap:         "Task Heap",
	PoolTaskOffHeap:      "Task Off-Heap",
	PoolNetwork:          "Network",
	PoolManaged:          "Managed Memory",
	PoolJVMMetaspace:     "JVM Metaspace",
	PoolJVMOverhead:      "JVM Overhead",
	PoolTotalFlink:       "Total Flink Memory",
	PoolTotalProcess:     "Total Process Memory",
	PoolJVMHeap:          "JVM Heap",
	PoolJVMDirect:        "JVM Direct Memory",
	PoolOffHeap:          "Off-Heap Memory",
}

// PoolTitle is the pool's name as Flink's documentation writes it ("Framework Off-Heap").
func PoolTitle(pool string) string {
	if t, ok := poolTitles[pool]; ok {
		return t
	}
	return pool
}

// SourceKind says how a pool got its value.
type SourceKind int

const (
	// SourceDefault is the option's default value.
	SourceDefault SourceKind = iota
	// SourceConfig is an explicitly configured key (possibly a deprecated fallback key).
	SourceConfig
	// SourceLegacy is a Flink 1.x legacy heap key or FLINK_*_HEAP mapped onto a new option.
	SourceLegacy
	// SourceFraction is fraction × base, capped to [min, max].
	SourceFraction
	// SourceInverseFraction is the part that makes up the fraction of base + part:
	// base × f/(1−f), capped to [min, max].
	SourceInverseFraction
	// SourceRemainder is Parts[0] minus the other Parts.
	SourceRemainder
	// SourceSum is the sum of Parts.
	SourceSum
	// SourceBuffers is the legacy network size: numberOfBuffers × segment size.
	SourceBuffers
)

var sourceKindNames = [...]string{"default", "config", "legacy", "fraction", "inverse-fraction", "remainder", "sum", "buffers"}

func (k SourceKind) String() string {
	if int(k) < len(sourceKindNames) {
		return sourceKindNames[k]
	}
	return "SourceKind(" + strconv.Itoa(int(k)) + ")"
}

// Source records where a value came from.
type Source struct {
	Kind SourceKind
	// Option is the main key of the option that was read (SourceDefault, SourceConfig), or the
	// option a legacy value was mapped onto (SourceLegacy).
	Option string
	// Key is the key (or environment variable) the value was actually found under when that is
	// not Option: a deprecated fallback key, a legacy key, FLINK_TM_HEAP.
	Key string
	// Raw is the text that was parsed: the configured value or the default.
	Raw string
	// Origin is where Raw was written (file and line, --set, ...); zero for defaults.
	Origin flinkconf.Origin
	// Fraction details SourceFraction and SourceInverseFraction.
	Fraction *FractionSource
	// Parts are pools: SourceRemainder subtracts Parts[1:] from Parts[0]; SourceSum adds them.
	Parts []string
	// Buffers and PageSize detail SourceBuffers.
	Buffers, PageSize int64
}

// Cap says whether a fraction-derived value was moved to a bound of its range.
type Cap int

const (
	CapNone Cap = iota
	CapMin      // the product was below min and min was used
	CapMax      // the product was above max and max was used
)

// FractionSource details a value derived from a fraction of a base.
type FractionSource struct {
	// Fraction is the option's float32 value widened to double, as Flink computes with it.
	Fraction float64
	// Multiplier is what the base was multiplied with: Fraction, or Fraction/(1−Fraction) for
	// an inverse fraction.
	Multiplier float64
	// FractionSource says where the fraction came from (configured key or default).
	FractionSource Source
	// Of is the pool the value is the fraction of: the base itself for SourceFraction, the
	// base plus the value for SourceInverseFraction.
	Of string
	// Base lists the pools summed to form the base; BaseBytes is their sum.
	Base      []string
	BaseBytes int64
	// Product is ⌊BaseBytes × Multiplier⌋ before capping.
	Product int64
	// Min and Max bound the result; their Sources are zero for the fixed managed-memory range.
	Min, Max       int64
	MinSrc, MaxSrc Source
	Capped         Cap
}

// StepKind distinguishes the entries of a derivation trace.
type StepKind int

const (
	// StepValue gives a pool its value: Pool, Bytes and Source are set.
	StepValue StepKind = iota
	// StepMode records the derivation mode Flink chose; Text says which and why.
	StepMode
	// StepCheck records a consistency check that passed; Text states it with its values.
	StepCheck
	// StepNote records anything else worth knowing (CPU cores, a warning Flink only logs).
	StepNote
)

// Step is one entry of a derivation trace.
type Step struct {
	Kind   StepKind
	Pool   string
	Bytes  int64
	Source Source
	Text   string
}

// String renders the step as one line for explanations.
func (s Step) String() string {
	switch s.Kind {
	case StepMode, StepCheck, StepNote:
		return s.Text
	}
	return PoolTitle(s.Pool) + " = " + HumanBytes(s.Bytes) + " (" + strconv.FormatInt(s.Bytes, 10) + " bytes): " + s.Source.Detail()
}

// HumanBytes renders n for people: exact in the largest binary unit that divides it ("1728 MiB",
// "1 GiB"), otherwise with one decimal in the largest unit not above it ("384.0 MiB").
// Long.MAX_VALUE, Flink's "unbounded", renders as "unbounded".
func HumanBytes(n int64) string {
	if n == math.MaxInt64 {
		return "unbounded"
	}
	if n < 0 {
		if n == math.MinInt64 {
			return strconv.FormatInt(n, 10) + " B"
		}
		return "-" + HumanBytes(-n)
	}
	units := []struct {
		mult int64
		name string
	}{{flinkconf.TiB, "TiB"}, {flinkconf.GiB, "GiB"}, {flinkconf.MiB, "MiB"}, {flinkconf.KiB, "KiB"}}
	for _, u := range units {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + " " + u.name
		}
	}
	for _, u := range units {
		if n >= u.mult {
			return strconv.FormatFloat(float64(n)/float64(u.mult), 'f', 1, 64) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " B"
}

// partsText renders pools joined by op ("Framework Heap + Task Heap").
func partsText(parts []string, op string) string {
	titles := make([]string, len(parts))
	for i, p := range parts {
		titles[i] = PoolTitle(p)
	}
	return strings.Join(titles, op)
}

// originText renders " (file:line)" or "".
func originText(o flinkconf.Origin) string {
	if o.Source == "" {
		return ""
	}
	return " (" + o.String() + ")"
}

// Short renders the source in a few words, for the table's source column.
func (s Source) Short() string {
	switch s.Kind {
	case SourceDefault:
		return "default " + s.Raw + " (" + s.Option + ")"
	case SourceConfig:
		return s.configText()
	case SourceLegacy:
		return s.legacyText()
	case SourceFraction, SourceInverseFraction:
		f := s.Fraction
		if f == nil {
			return s.Kind.String()
		}
		var b strings.Builder
		b.WriteString(flinkconf.JavaFloatString(float32(f.Fraction)) + " of " + PoolTitle(f.Of))
		switch f.Capped {
		case CapMin:
			b.WriteString(", raised to min " + HumanBytes(f.Min))
		case CapMax:
			b.WriteString(", capped at max " + HumanBytes(f.Max))
		}
		if f.FractionSource.Kind == SourceConfig {
			b.WriteString(" (" + f.FractionSource.keyName() + ")")
		}
		return b.String()
	case SourceRemainder:
		if len(s.Parts) == 0 {
			return "remainder"
		}
		return "rest of " + PoolTitle(s.Parts[0])
	case SourceSum:
		return partsText(s.Parts, " + ")
	case SourceBuffers:
		return strconv.FormatInt(s.Buffers, 10) + " buffers × " + HumanBytes(s.PageSize) + " (legacy taskmanager.network.numberOfBuffers)"
	}
	return s.Kind.String()
}

// baseText renders the pools of a base, parenthesised when there are several.
func baseText(base []string) string {
	if len(base) == 1 {
		return PoolTitle(base[0])
	}
	return "(" + partsText(base, " + ") + ")"
}

func (s Source) keyName() string {
	if s.Key != "" {
		return s.Key
	}
	return s.Option
}

func (s Source) configText() string {
	t := s.keyName() + ": " + s.Raw
	if s.Key != "" && s.Key != s.Option {
		t += " (deprecated key of " + s.Option + ")"
	}
	return t + originText(s.Origin)
}

func (s Source) legacyText() string {
	var t string
	if strings.HasPrefix(s.Key, "FLINK_") {
		t = "legacy env " + s.Key + "=" + s.Raw
	} else {
		t = "legacy " + s.Key + ": " + s.Raw + originText(s.Origin)
	}
	return t + ", mapped to " + s.Option
}

// boundText renders a min or max with where it came from.
func boundText(v int64, src Source) string {
	t := HumanBytes(v)
	switch src.Kind {
	case SourceConfig:
		t += " (" + src.configText() + ")"
	case SourceDefault:
		if src.Option != "" {
			t += " (default " + src.Option + ")"
		}
	}
	return t
}

// Detail renders the source with every number, for explanations.
func (s Source) Detail() string {
	switch s.Kind {
	case SourceDefault:
		return "default of " + s.Option + " (" + s.Raw + ")"
	case SourceConfig:
		return "configured " + s.configText()
	case SourceLegacy:
		return s.legacyText() + " (Flink 1.x start-up scripts)"
	case SourceFraction, SourceInverseFraction:
		f := s.Fraction
		if f == nil {
			return s.Kind.String()
		}
		var b strings.Builder
		fs := f.FractionSource
		b.WriteString("fraction ")
		b.WriteString(fs.keyName())
		if fs.Kind == SourceDefault {
			b.WriteString(" (default)")
		}
		b.WriteString(" = " + flinkconf.JavaFloatString(float32(f.Fraction)))
		if d := flinkconf.JavaDoubleString(f.Fraction); d != flinkconf.JavaFloatString(float32(f.Fraction)) {
			b.WriteString(" (a float, computed as " + d + ")")
		}
		b.WriteString("; ")
		if s.Kind == SourceInverseFraction {
			b.WriteString("f/(1−f) = " + flinkconf.JavaDoubleString(f.Multiplier) + " × ")
		} else {
			b.WriteString("× ")
		}
		b.WriteString(baseText(f.Base) + " " + strconv.FormatInt(f.BaseBytes, 10))
		b.WriteString(" = " + strconv.FormatInt(f.Product, 10))
		if s.Kind == SourceInverseFraction {
			b.WriteString(" (so that it is the fraction of " + PoolTitle(f.Of) + ")")
		}
		switch f.Capped {
		case CapMin:
			b.WriteString(", below min " + boundText(f.Min, f.MinSrc) + ", so min is used")
		case CapMax:
			b.WriteString(", above max " + boundText(f.Max, f.MaxSrc) + ", so max is used")
		default:
			if f.MinSrc.Option != "" || f.MaxSrc.Option != "" {
				b.WriteString(", within [" + boundText(f.Min, f.MinSrc) + ", " + boundText(f.Max, f.MaxSrc) + "]")
			}
		}
		return b.String()
	case SourceRemainder:
		return partsText(s.Parts, " − ")
	case SourceSum:
		return partsText(s.Parts, " + ")
	case SourceBuffers:
		return "legacy taskmanager.network.numberOfBuffers " + strconv.FormatInt(s.Buffers, 10) +
			" × taskmanager.memory.segment-size " + strconv.FormatInt(s.PageSize, 10) +
			" (used because no taskmanager.memory.network.* option is set)"
	}
	return s.Kind.String()
}
