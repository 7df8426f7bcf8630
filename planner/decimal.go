package planner

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is a non-negative CPU or extended-resource amount with 16 fractional digits. Flink
// keeps these as BigDecimal and divides them at scale 16 rounding down (Resource#divide), so a
// fixed-point int64 in units of 10^-16 reproduces its arithmetic exactly for amounts up to
// MaxDecimal (about 922 cores or GPUs on one TaskManager, far above real machines).
type Decimal int64

const decimalScale = 10_000_000_000_000_000 // 10^16

// MaxDecimal is the largest amount a Decimal holds.
const MaxDecimal = Decimal(math.MaxInt64)

// DecimalInt returns n whole units.
func DecimalInt(n int64) Decimal { return Decimal(n * decimalScale) }

// ParseDecimal reads a plain decimal ("0.25", "4", "1e-3" also accepted) exactly, truncating
// digits beyond the 16th fractional digit (Flink's scale-16 rounding down).
func ParseDecimal(s string) (Decimal, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty number")
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	scaled := new(big.Int).Mul(r.Num(), big.NewInt(decimalScale))
	scaled.Quo(scaled, r.Denom())
	if !scaled.IsInt64() {
		return 0, fmt.Errorf("%q is too large (at most %s)", s, MaxDecimal)
	}
	return Decimal(scaled.Int64()), nil
}

// DecimalFromFloat converts a double as Java's BigDecimal.valueOf(double) does: through its
// shortest decimal representation, so 0.1 stays 0.1.
func DecimalFromFloat(f float64) (Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a finite number", f)
	}
	return ParseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
}

// DivInt divides by n > 0 rounding down, as Flink's Resource#divide(int).
func (d Decimal) DivInt(n int) Decimal { return d / Decimal(n) }

// Float is d as a float64, for ratios and display.
func (d Decimal) Float() float64 { return float64(d) / decimalScale }

// String renders d without trailing zeros ("0.5", "4", "0.3333333333333333").
func (d Decimal) String() string {
	neg := d < 0
	u := uint64(d)
	if neg {
		u = uint64(-d)
	}
	whole, frac := u/decimalScale, u%decimalScale
	s := strconv.FormatUint(whole, 10)
	if frac != 0 {
		f := fmt.Sprintf("%016d", frac)
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }
