package operator

import (
	"math"
	"strconv"
	"strings"
)

// The operator is Java: its rounding goes through BigDecimal built from Double.toString, its
// casts saturate, and Math.round is floor(x + 1/2) computed exactly. These helpers reproduce
// those semantics so that every threshold and parallelism matches bit for bit.

// shortestDigits returns the decimal digits of Double.toString(|x|) and the exponent e with
// |x| = 0.<digits> × 10^e. x must be finite and non-zero.
func shortestDigits(x float64) (string, int) {
	s := strconv.FormatFloat(math.Abs(x), 'e', -1, 64) // d.ddddde±xx
	mant, expStr, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(expStr)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	if digits == "" {
		digits = "0"
	}
	return digits, e + 1
}

type roundingMode int

const (
	halfUp  roundingMode = iota // RoundingMode.HALF_UP
	ceiling                     // RoundingMode.CEILING
)

// decimalRound returns BigDecimal.valueOf(x).setScale(scale, mode) as a plain decimal string
// ("-12.340"). x must be finite.
func decimalRound(x float64, scale int, mode roundingMode) string {
	neg := math.Signbit(x) && x != 0
	var intDigits string
	if x == 0 {
		intDigits = "0"
	} else {
		digits, exp := shortestDigits(x)
		k := exp + scale // digits before the rounding position
		var kept, rest string
		switch {
		case k <= 0:
			kept, rest = "0", strings.Repeat("0", -k)+digits
		case k >= len(digits):
			kept, rest = digits+strings.Repeat("0", k-len(digits)), ""
		default:
			kept, rest = digits[:k], digits[k:]
		}
		up := false
		switch mode {
		case halfUp:
			up = rest != "" && rest[0] >= '5'
		case ceiling:
			up = !neg && strings.Trim(rest, "0") != ""
		}
		if up {
			kept = incrementDigits(kept)
		}
		intDigits = strings.TrimLeft(kept, "0")
		if intDigits == "" {
			intDigits = "0"
		}
	}
	for len(intDigits) <= scale {
		intDigits = "0" + intDigits
	}
	out := intDigits
	if scale > 0 {
		out = intDigits[:len(intDigits)-scale] + "." + intDigits[len(intDigits)-scale:]
	}
	if neg && strings.Trim(intDigits, "0") != "" {
		out = "-" + out
	}
	return out
}

func incrementDigits(s string) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// precisionRound is commons-math Precision.round(x, scale): HALF_UP on Double.toString(x).
func precisionRound(x float64, scale int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	v, _ := strconv.ParseFloat(decimalRound(x, scale, halfUp), 64)
	if v == 0 {
		return 0 * x // MATH-1089: keep the sign of a value rounded to zero
	}
	return v
}

// round3 is precisionRound(x, 3) without allocations for the common case: the shortest
// digits are rounded half-up into an integer n < 2^53, and n/1000 is then the correctly
// rounded double of the decimal result (both operands are exact).
func round3(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return x
	}
	if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
		return x // an integer is its own rounding
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], math.Abs(x), 'e', -1, 64) // d.ddde±xx
	e := 0
	i := len(b) - 1
	for b[i] != 'e' {
		i--
	}
	exp := b[i+1:]
	neg := exp[0] == '-'
	for _, c := range exp[1:] {
		e = e*10 + int(c-'0')
	}
	if neg {
		e = -e
	}
	var digits [24]byte
	nd := 0
	for _, c := range b[:i] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	k := e + 1 + 3 // digits before the rounding position
	if k > 16 {
		return precisionRound(x, 3)
	}
	var n uint64
	for j := 0; j < k; j++ {
		d := uint64(0)
		if j < nd && j >= 0 {
			d = uint64(digits[j] - '0')
		}
		n = n*10 + d
	}
	if k >= 0 && k < nd && digits[k] >= '5' {
		n++
	}
	if k < 0 {
		n = 0 // |x| < 0.0001: rounds to zero
	}
	r := float64(n) / 1000
	if math.Signbit(x) {
		r = -r
	}
	return r
}

// roundMetric is ScalingMetrics.roundMetric: three decimals, but a non-zero value never
// becomes zero by rounding.
func roundMetric(x float64) float64 {
	r := round3(x)
	if r == 0 {
		return x
	}
	return r
}

// ceil3Float is BigDecimal.valueOf(x).setScale(3, CEILING).floatValue(), the memory tuning
// fraction; never 0 for a small positive ratio.
func ceil3Float(x float64) float32 {
	v, _ := strconv.ParseFloat(decimalRound(x, 3, ceiling), 32)
	return float32(v)
}

// ceil2 is BigDecimal.valueOf(x).setScale(2, CEILING).doubleValue().
func ceil2(x float64) float64 {
	v, _ := strconv.ParseFloat(decimalRound(x, 2, ceiling), 64)
	return v
}

// javaFixed renders x as Java's String.format("%.<prec>f", x): HALF_UP applied to the
// Double.toString digits (Go's %f rounds the binary value half to even instead).
func javaFixed(x float64, prec int) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "Infinity"
	case math.IsInf(x, -1):
		return "-Infinity"
	}
	s := decimalRound(x, prec, halfUp)
	if math.Signbit(x) && !strings.HasPrefix(s, "-") {
		s = "-" + s // Java keeps the sign of -0.0 and of negatives rounded to zero
	}
	return s
}

// javaRound is Math.round(double): floor(x + 0.5) computed exactly, saturated to a long,
// NaN → 0.
func javaRound(x float64) int64 {
	if math.IsNaN(x) {
		return 0
	}
	if math.Abs(x) >= 1<<52 {
		return javaLong(x) // already integral (or infinite)
	}
	f := math.Floor(x)
	if x-f >= 0.5 { // exact: both are representable
		f++
	}
	return int64(f)
}

// javaLong is the (long) cast of a double: truncation, saturation, NaN → 0.
func javaLong(x float64) int64 {
	switch {
	case math.IsNaN(x):
		return 0
	case x >= 9.223372036854775807e18:
		return math.MaxInt64
	case x <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(x)
}

// javaInt is the (int) cast of a double: truncation, saturation, NaN → 0.
func javaInt(x float64) int {
	switch {
	case math.IsNaN(x):
		return 0
	case x >= math.MaxInt32:
		return math.MaxInt32
	case x <= math.MinInt32:
		return math.MinInt32
	}
	return int(int32(x))
}

// durationSeconds is Duration#toSeconds: whole seconds, rounded toward negative infinity
// (java.time.Duration keeps a non-negative nanosecond part).
func durationSeconds(nanos int64) int64 {
	s := nanos / 1e9
	if nanos%1e9 < 0 {
		s--
	}
	return s
}
