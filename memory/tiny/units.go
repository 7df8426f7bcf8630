package tiny

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Binary size units. Flink, the JVM and this model all count memory in powers of two; the
// seed's "mb" figures are read as MiB (the difference, 4.9%, is far inside the 15% tolerance).
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// mib converts a (possibly fractional) number of MiB to bytes.
func mib(x float64) int64 { return int64(math.Round(x * float64(MiB))) }

// kib converts KiB to bytes.
func kib(x float64) int64 { return int64(math.Round(x * float64(KiB))) }

// toMiB converts bytes to MiB.
func toMiB(n int64) float64 { return float64(n) / float64(MiB) }

// alignUp rounds n up to a multiple of a (a > 0).
func alignUp(n, a int64) int64 {
	if a <= 0 {
		return n
	}
	return (n + a - 1) / a * a
}

// ceilMiB rounds n up to whole MiB.
func ceilMiB(n int64) int64 { return alignUp(n, MiB) }

// HumanSize renders bytes for people: "72 MiB", "2.5 MiB", "390 KiB".
func HumanSize(n int64) string {
	switch {
	case n < 0:
		return "-" + HumanSize(-n)
	case n >= GiB:
		return trimFloat(float64(n)/float64(GiB), 2) + " GiB"
	case n >= MiB:
		return trimFloat(float64(n)/float64(MiB), 1) + " MiB"
	case n >= KiB:
		return trimFloat(float64(n)/float64(KiB), 0) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// trimFloat formats x with at most prec decimals and no trailing zeros.
func trimFloat(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// JVMSize renders a size as the JVM's -X/-XX options accept it: the largest unit that divides
// it exactly ("72m", "256k", "1g"), else bytes.
func JVMSize(n int64) string {
	switch {
	case n > 0 && n%GiB == 0:
		return strconv.FormatInt(n/GiB, 10) + "g"
	case n > 0 && n%MiB == 0:
		return strconv.FormatInt(n/MiB, 10) + "m"
	case n > 0 && n%KiB == 0:
		return strconv.FormatInt(n/KiB, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}

// FlinkSize renders a size as a Flink memory option value ("8m", "0", "1536k").
func FlinkSize(n int64) string {
	if n == 0 {
		return "0"
	}
	return JVMSize(n)
}

// Rate is a throughput in bytes per second.
type Rate float64

// MiBps returns r in MiB/s.
func (r Rate) MiBps() float64 { return float64(r) / float64(MiB) }

// String renders r as "25 MiB/s" (or KiB/s below 1 MiB/s).
func (r Rate) String() string {
	switch {
	case r >= Rate(MiB):
		return trimFloat(r.MiBps(), 1) + " MiB/s"
	case r > 0:
		return trimFloat(float64(r)/float64(KiB), 1) + " KiB/s"
	}
	return "0 MiB/s"
}

// MarshalJSON writes a rate as whole bytes per second.
func (r Rate) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(math.Round(float64(r))), 10), nil
}

// MarshalYAML writes a rate as whole bytes per second.
func (r Rate) MarshalYAML() (any, error) { return int64(math.Round(float64(r))), nil }

// mibps converts MiB/s to a Rate.
func mibps(x float64) Rate { return Rate(x * float64(MiB)) }

// RateUnitsHelp lists the rate spellings ParseRate accepts.
const RateUnitsHelp = "a number with a unit per second: b/s, kb/s, mb/s, gb/s (binary: 1 mb = 1024 kb; " +
	"k, kib, m, mib, g, gib work too, and \"/s\" may be omitted) or records: rec/s (with a record size), e.g. 25mb/s, 512kb/s, 0.5 mb/s, 20000rec/s"

// maxRate bounds parsed rates (1 PiB/s): anything larger is a typo, and it keeps the
// arithmetic far from overflow.
const maxRate = Rate(1 << 50)

// ParseRate reads a throughput such as "25mb/s", "25 MB/s", "512k", "0.5mb/s" or "20000rec/s"
// (records are converted with recordSize bytes each). Units are binary, as Flink's memory sizes.
func ParseRate(text string, recordSize int64) (Rate, error) {
	s := strings.ToLower(strings.TrimSpace(text))
	bad := func(why string) error {
		return fmt.Errorf("throughput %q %s; write %s", text, why, RateUnitsHelp)
	}
	if s == "" {
		return 0, bad("is empty")
	}
	for _, suffix := range []string{"/sec", "/s", "ps"} {
		if t, ok := strings.CutSuffix(s, suffix); ok {
			s = strings.TrimSpace(t)
			break
		}
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if num == "" || strings.Count(num, ".") > 1 || num == "." {
		return 0, bad("does not start with a number")
	}
	x, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, bad("does not start with a number")
	}
	var per float64
	switch unit {
	case "b", "bytes", "byte":
		per = 1
	case "k", "kb", "kib", "kibibytes":
		per = float64(KiB)
	case "m", "mb", "mib", "mebibytes":
		per = float64(MiB)
	case "g", "gb", "gib", "gibibytes":
		per = float64(GiB)
	case "rec", "recs", "record", "records", "r":
		if recordSize <= 0 {
			return 0, bad("counts records but the record size is not positive")
		}
		per = float64(recordSize)
	case "":
		return 0, bad("has no unit")
	default:
		return 0, bad(fmt.Sprintf("has an unknown unit %q", unit))
	}
	r := Rate(x * per)
	if r > maxRate {
		return 0, bad("is larger than 1 PiB/s")
	}
	return r, nil
}

// ParseJVMSize reads a size as the JVM's -Xmx/-Xss/-XX:...Size= options accept it: digits with
// an optional k, m, g or t suffix (either case), no sign, no decimals, no space.
func ParseJVMSize(text string) (int64, error) {
	s := text
	if s == "" {
		return 0, fmt.Errorf("missing size: want digits with an optional k, m, g or t suffix, e.g. 64m")
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = KiB
	case 'm', 'M':
		mult = MiB
	case 'g', 'G':
		mult = GiB
	case 't', 'T':
		mult = GiB << 10
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	if s == "" {
		return 0, fmt.Errorf("invalid size %q: want digits with an optional k, m, g or t suffix, e.g. 64m", text)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid size %q: want digits with an optional k, m, g or t suffix, e.g. 64m", text)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", text)
	}
	return n * mult, nil
}
