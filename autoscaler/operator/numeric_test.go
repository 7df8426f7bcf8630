package operator

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestRound3MatchesDecimalRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []float64{0.0005, 0.00049999, -0.0005, 1.0005, 2.675, 1.2345, 989.010989010989, 1234.567901234568,
		588.2352941176471, 0.15, 1e-9, -1e-9, 123456789.1235, 9007199254740.9925, 1e17 + 0.5, 4.4408920985006e-16}
	for i := 0; i < 20000; i++ {
		switch i % 4 {
		case 0:
			cases = append(cases, r.Float64()*1000)
		case 1:
			cases = append(cases, math.Float64frombits(r.Uint64()))
		case 2:
			cases = append(cases, float64(r.IntN(1e9))/float64(1+r.IntN(1e4)))
		default:
			cases = append(cases, -r.ExpFloat64()*1e6)
		}
	}
	for _, x := range cases {
		if got, want := round3(x), precisionRound(x, 3); !(got == want || math.IsNaN(got) && math.IsNaN(want)) || math.Signbit(got) != math.Signbit(want) && got != 0 {
			t.Fatalf("round3(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestJavaNumerics(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want int64
	}{{0.5, 1}, {-0.5, 0}, {0.49999999999999994, 0}, {-1.5, -1}, {2.5, 3}, {math.NaN(), 0}, {math.Inf(1), math.MaxInt64}, {1e300, math.MaxInt64}} {
		if got := javaRound(c.x); got != c.want {
			t.Errorf("javaRound(%v) = %d, want %d", c.x, got, c.want)
		}
	}
	for _, c := range []struct {
		x    float64
		p    int
		want string
	}{{100, 2, "100.00"}, {0.125, 2, "0.13"}, {1.005, 2, "1.01"}, {math.Inf(1), 2, "Infinity"}, {math.NaN(), 2, "NaN"}, {-0.001, 2, "-0.00"}, {588.2352941176471, 2, "588.24"}} {
		if got := javaFixed(c.x, c.p); got != c.want {
			t.Errorf("javaFixed(%v, %d) = %q, want %q", c.x, c.p, got, c.want)
		}
	}
	if got := ceil3Float(0.0002); got != 0.001 {
		t.Errorf("ceil3Float(0.0002) = %v", got)
	}
	if got := ceil3Float(0.6530412); got != float32(0.654) {
		t.Errorf("ceil3Float = %v", got)
	}
	if got := roundMetric(0.0001); got != 0.0001 {
		t.Errorf("roundMetric keeps a small non-zero value, got %v", got)
	}
	if got := durationSeconds(-1); got != -1 {
		t.Errorf("Duration#toSeconds floors: %d", got)
	}
}

// FuzzDecimalRound checks decimalRound's digit arithmetic against exact rational arithmetic
// (math/big) on the same shortest decimal digits, and round3's fast path against
// precisionRound, for any finite double and scale.
func FuzzDecimalRound(f *testing.F) {
	for _, x := range []float64{0, 0.0005, -0.0005, 2.675, 1.2345, 999.9995, -999.9995, 1e-9, 1e17 + 0.5, 9.999999999999999e22, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(x, uint8(3), false)
		f.Add(x, uint8(2), true)
	}
	f.Fuzz(func(t *testing.T, x float64, scale uint8, ceil bool) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		sc := int(scale % 24)
		mode := halfUp
		if ceil {
			mode = ceiling
		}
		if got, want := decimalRound(x, sc, mode), exactRound(x, sc, mode); got != want {
			t.Fatalf("decimalRound(%v, %d, %v) = %s, want %s", x, sc, mode, got, want)
		}
		if got, want := round3(x), precisionRound(x, 3); got != want || math.Signbit(got) != math.Signbit(want) && got != 0 {
			t.Fatalf("round3(%v) = %v, want %v", x, got, want)
		}
	})
}

// exactRound is BigDecimal(Double.toString(x)).setScale(scale, mode).toPlainString() in
// math/big: the shortest digits as an exact rational, scaled, rounded, written with scale
// decimals (no sign on a zero result, as decimalRound).
func exactRound(x float64, scale int, mode roundingMode) string {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(x, 'e', -1, 64))
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int)) // q truncated toward zero
	switch {
	case mode == halfUp && new(big.Int).Lsh(new(big.Int).Abs(m), 1).Cmp(r.Denom()) >= 0:
		q.Add(q, big.NewInt(int64(r.Sign()))) // half away from zero
	case mode == ceiling && m.Sign() > 0:
		q.Add(q, big.NewInt(1))
	}
	s := new(big.Int).Abs(q).String()
	for len(s) <= scale {
		s = "0" + s
	}
	if scale > 0 {
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if q.Sign() < 0 {
		s = "-" + s
	}
	return s
}
