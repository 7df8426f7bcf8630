package flinkconf

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Byte multipliers of Flink's MemorySize units.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
	TiB int64 = 1 << 40
)

// MemoryUnitsHelp lists the unit spellings Flink accepts, in Flink's own words.
const MemoryUnitsHelp = "(b | bytes) / (k | kb | kibibytes) / (m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)"

var memoryUnits = map[string]int64{
	"": 1, "b": 1, "bytes": 1,
	"k": KiB, "kb": KiB, "kibibytes": KiB,
	"m": MiB, "mb": MiB, "mebibytes": MiB,
	"g": GiB, "gb": GiB, "gibibytes": GiB,
	"t": TiB, "tb": TiB, "tebibytes": TiB,
}

// ParseMemorySize parses text as Flink's MemorySize.parse: leading decimal digits, then an
// optional unit. "1.5g", "-1m" and "0x400" are rejected exactly as Flink rejects them.
func ParseMemorySize(text string) (int64, *Exception) {
	number, unit, perr := splitNumberUnit(text)
	if perr != nil {
		return 0, perr
	}
	value, err := strconv.ParseInt(number, 10, 64)
	if err != nil {
		return 0, IllegalArgument("The value '"+number+"' cannot be re represented as 64bit number (numeric overflow).", nil)
	}
	multiplier, ok := memoryUnits[unit]
	if !ok {
		return 0, IllegalArgument("Memory size unit '"+unit+"' does not match any of the recognized units: "+MemoryUnitsHelp, nil)
	}
	result := value * multiplier
	if multiplier != 0 && result/multiplier != value {
		return 0, IllegalArgument("The value '"+text+"' cannot be re represented as 64bit number of bytes (numeric overflow).", nil)
	}
	return result, nil
}

// splitNumberUnit splits Flink's "<digits><unit>" syntax (sizes and durations) into the
// digits and the trimmed, lower-cased unit, with Flink's errors for blank or unnumbered text.
func splitNumberUnit(text string) (number, unit string, err *Exception) {
	trimmed := javaTrim(text)
	if trimmed == "" {
		return "", "", IllegalArgument("argument is an empty- or whitespace-only string", nil)
	}
	pos := 0
	for pos < len(trimmed) && trimmed[pos] >= '0' && trimmed[pos] <= '9' {
		pos++
	}
	if pos == 0 {
		return "", "", NewException(ClassNumberFormat, "text does not start with a number", nil)
	}
	return trimmed[:pos], strings.ToLower(javaTrim(trimmed[pos:])), nil
}

// MustMemorySize parses a size known to be valid (defaults in code); it panics otherwise.
func MustMemorySize(text string) int64 {
	v, err := ParseMemorySize(text)
	if err != nil {
		panic(err)
	}
	return v
}

// FormatMemorySize renders bytes as Flink's MemorySize#toString: the largest unit that divides
// the value exactly ("30 gb", "13760 kb", "20108162027 bytes", "0 bytes").
func FormatMemorySize(bytes int64) string {
	if bytes == 0 {
		return "0 bytes"
	}
	units := []struct {
		mult int64
		name string
	}{{TiB, "tb"}, {GiB, "gb"}, {MiB, "mb"}, {KiB, "kb"}}
	for _, u := range units {
		if bytes%u.mult == 0 {
			return strconv.FormatInt(bytes/u.mult, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(bytes, 10) + " bytes"
}

// FormatMemorySizeHuman renders bytes as MemorySize#toHumanReadableString, the form inside
// Flink's memory error messages: "1024.000mb (1073741824 bytes)", or "512 bytes" when small.
func FormatMemorySizeHuman(bytes int64) string {
	units := []struct {
		mult int64
		name string
	}{{TiB, "tb"}, {GiB, "gb"}, {MiB, "mb"}, {KiB, "kb"}}
	for _, u := range units {
		if bytes > u.mult {
			return FormatJavaFixed3(float64(bytes)/float64(u.mult)) + u.name + " (" + strconv.FormatInt(bytes, 10) + " bytes)"
		}
	}
	return strconv.FormatInt(bytes, 10) + " bytes"
}

// ErrLongOverflow is Java's Math.addExact/multiplyExact failure.
func ErrLongOverflow() *Exception { return NewException(ClassArithmetic, "long overflow", nil) }

// AddExact adds as Java's Math.addExact.
func AddExact(a, b int64) (int64, *Exception) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, ErrLongOverflow()
	}
	return s, nil
}

// MultiplyFraction returns floor(bytes × d) computed exactly as Flink's MemorySize#multiply:
// the byte count times BigDecimal.valueOf(d) (the Double.toString digits), truncated. A plain
// float64 product floors to a different byte count for some inputs.
func MultiplyFraction(bytes int64, d float64) (int64, *Exception) {
	if d < 0 || math.IsNaN(d) {
		return 0, IllegalArgument("multiplier must be >= 0", nil)
	}
	if math.IsInf(d, 1) {
		return 0, ErrLongOverflow()
	}
	p := new(big.Rat).Mul(new(big.Rat).SetInt64(bytes), javaDecimal(d))
	q := new(big.Int).Quo(p.Num(), p.Denom())
	if !q.IsInt64() {
		return 0, ErrLongOverflow()
	}
	return q.Int64(), nil
}
