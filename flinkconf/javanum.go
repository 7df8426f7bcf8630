package flinkconf

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Flink's options are typed in Java, so their values follow Java's parsers, not Go's:
// Float.parseFloat accepts "1f", " 0.5 " and "0x1p-3" but rejects "inf" and "1_0";
// Integer.parseInt rejects surrounding spaces but accepts a leading "+".

// javaTrim removes leading and trailing characters <= ' ', as java.lang.String#trim.
func javaTrim(s string) string {
	start, end := 0, len(s)
	for start < end && s[start] <= ' ' {
		start++
	}
	for end > start && s[end-1] <= ' ' {
		end--
	}
	return s[start:end]
}

func forInputString(s string) *Exception {
	return NewException(ClassNumberFormat, `For input string: "`+s+`"`, nil)
}

// ParseJavaFloat parses s as java.lang.Float.parseFloat does and returns the float32 value.
func ParseJavaFloat(s string) (float32, *Exception) {
	clean, err := javaFloatingLiteral(s)
	if err != nil {
		return 0, err
	}
	switch clean {
	case "NaN", "+NaN", "-NaN":
		return float32(math.NaN()), nil
	case "Infinity", "+Infinity":
		return float32(math.Inf(1)), nil
	case "-Infinity":
		return float32(math.Inf(-1)), nil
	}
	// The literal is valid Go syntax by construction; range errors still give Java's ±Inf or 0.
	v, _ := strconv.ParseFloat(clean, 32)
	return float32(v), nil
}

// ParseJavaDouble parses s as java.lang.Double.parseDouble does.
func ParseJavaDouble(s string) (float64, *Exception) {
	clean, err := javaFloatingLiteral(s)
	if err != nil {
		return 0, err
	}
	switch clean {
	case "NaN", "+NaN", "-NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	v, _ := strconv.ParseFloat(clean, 64)
	return v, nil
}

// javaFloatingLiteral validates s against Java's FloatingDecimal grammar and returns the
// trimmed literal without its type suffix, ready for strconv.ParseFloat.
func javaFloatingLiteral(s string) (string, *Exception) {
	in := javaTrim(s)
	if in == "" {
		return "", NewException(ClassNumberFormat, "empty String", nil)
	}
	i := 0
	if in[0] == '+' || in[0] == '-' {
		i++
	}
	if i >= len(in) {
		return "", forInputString(in)
	}
	rest := in[i:]
	if rest == "NaN" || rest == "Infinity" {
		return in, nil
	}
	if strings.HasPrefix(rest, "0x") || strings.HasPrefix(rest, "0X") {
		return javaHexLiteral(in, i+2)
	}
	digits, dot := 0, false
	j := i
	for ; j < len(in); j++ {
		c := in[j]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' {
			if dot {
				return "", NewException(ClassNumberFormat, "multiple points", nil)
			}
			dot = true
		} else {
			break
		}
	}
	if digits == 0 {
		return "", forInputString(in)
	}
	if j < len(in) && (in[j] == 'e' || in[j] == 'E') {
		return javaExponent(in, j+1)
	}
	return javaSuffix(in, j)
}

// javaExponent validates a signed decimal exponent at j, then the suffix.
func javaExponent(in string, j int) (string, *Exception) {
	if j < len(in) && (in[j] == '+' || in[j] == '-') {
		j++
	}
	expAt := j
	for j < len(in) && in[j] >= '0' && in[j] <= '9' {
		j++
	}
	if j == expAt {
		return "", forInputString(in)
	}
	return javaSuffix(in, j)
}

// javaHexLiteral validates a hexadecimal floating literal: 0x<hex>[.<hex>]p<exp>[fFdD].
func javaHexLiteral(in string, i int) (string, *Exception) {
	isHex := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	digits := 0
	j := i
	for j < len(in) && isHex(in[j]) {
		j++
		digits++
	}
	if j < len(in) && in[j] == '.' {
		j++
		for j < len(in) && isHex(in[j]) {
			j++
			digits++
		}
	}
	if digits == 0 || j >= len(in) || (in[j] != 'p' && in[j] != 'P') {
		return "", forInputString(in)
	}
	return javaExponent(in, j+1)
}

// javaSuffix accepts nothing or exactly one trailing f/F/d/D at position j.
func javaSuffix(in string, j int) (string, *Exception) {
	switch {
	case j == len(in):
		return in, nil
	case j == len(in)-1 && strings.ContainsRune("fFdD", rune(in[j])):
		return in[:j], nil
	default:
		return "", forInputString(in)
	}
}

// ParseJavaInt parses s as java.lang.Integer.parseInt does (no whitespace, optional sign, 32-bit).
func ParseJavaInt(s string) (int32, *Exception) {
	v, err := parseJavaInteger(s, 32)
	return int32(v), err
}

// ParseJavaLong parses s as java.lang.Long.parseLong does.
func ParseJavaLong(s string) (int64, *Exception) { return parseJavaInteger(s, 64) }

// parseJavaInteger accepts an optional sign and decimal digits only, within the bit size.
func parseJavaInteger(s string, bits int) (int64, *Exception) {
	body := s
	if s != "" && (s[0] == '+' || s[0] == '-') {
		body = s[1:]
	}
	if body == "" {
		return 0, forInputString(s)
	}
	for i := 0; i < len(body); i++ {
		if body[i] < '0' || body[i] > '9' {
			return 0, forInputString(s)
		}
	}
	v, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, forInputString(s)
	}
	return v, nil
}

// ParseJavaBool parses s as Flink's ConfigurationUtils.convertToBoolean: true or false, any case.
func ParseJavaBool(s string) (bool, *Exception) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, IllegalArgument("Unrecognized option for boolean: "+s+". Expected either true or false(case insensitive)", nil)
}

// JavaDoubleString renders f as java.lang.Double#toString: "1.0", "0.10000000149011612", "1.0E7".
func JavaDoubleString(f float64) string {
	return javaFloatingString(f, 64)
}

// JavaFloatString renders f as java.lang.Float#toString: "0.1", "0.4", "1.0E-4".
func JavaFloatString(f float32) string {
	return javaFloatingString(float64(f), 32)
}

func javaFloatingString(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if f < 0 {
		sign = "-"
		f = -f
	}
	// Shortest round-trip digits and decimal exponent: f = 0.d1d2d3... × 10^exp.
	digits, exp := shortestDigits(f, bits)
	if f >= 1e-3 && f < 1e7 {
		var intPart, frac string
		if exp <= 0 {
			intPart = "0"
			frac = strings.Repeat("0", -exp) + digits
		} else if exp >= len(digits) {
			intPart = digits + strings.Repeat("0", exp-len(digits))
			frac = "0"
		} else {
			intPart = digits[:exp]
			frac = digits[exp:]
		}
		return sign + intPart + "." + frac
	}
	mant := digits[:1] + "."
	if len(digits) > 1 {
		mant += digits[1:]
	} else {
		mant += "0"
	}
	return sign + mant + "E" + strconv.Itoa(exp-1)
}

// shortestDigits returns the shortest decimal digit string that round-trips f at the given
// precision, and the exponent e such that f = 0.<digits> × 10^e.
func shortestDigits(f float64, bits int) (string, int) {
	s := strconv.FormatFloat(f, 'e', -1, bits) // d.ddddde±xx
	mant, expStr, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(expStr)
	digits := strings.Replace(mant, ".", "", 1)
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		digits = "0"
	}
	return digits, e + 1
}

// javaDecimal returns Java's BigDecimal.valueOf(d): the exact decimal of Double.toString(d).
func javaDecimal(d float64) *big.Rat {
	if d == 0 {
		return new(big.Rat)
	}
	digits, exp := shortestDigits(math.Abs(d), 64)
	r, _ := new(big.Rat).SetString("0." + digits + "e" + strconv.Itoa(exp))
	if d < 0 {
		r.Neg(r)
	}
	return r
}

// FormatJavaFixed3 renders d as Java's String.format("%.3f", d): HALF_UP rounding applied to
// the Double.toString digits (Go's %.3f rounds the binary value half-to-even instead).
func FormatJavaFixed3(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return javaFloatingString(d, 64)
	}
	r := javaDecimal(d)
	neg := r.Sign() < 0
	r.Abs(r)
	// round half up at 3 decimals: floor(r*1000 + 1/2) / 1000
	scaled := new(big.Rat).Mul(r, big.NewRat(1000, 1))
	scaled.Add(scaled, big.NewRat(1, 2))
	q := new(big.Int).Quo(scaled.Num(), scaled.Denom())
	s := q.String()
	for len(s) < 4 {
		s = "0" + s
	}
	out := s[:len(s)-3] + "." + s[len(s)-3:]
	if neg && q.Sign() != 0 {
		out = "-" + out
	}
	return out
}
