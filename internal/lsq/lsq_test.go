package lsq

import (
	"math"
	"testing"
)

func TestSolve2(t *testing.T) {
	tests := []struct {
		name    string
		a, b, r []float64
		wantOK  bool
		x, y    float64
	}{
		{"exact", []float64{1, 2, 3}, []float64{1, 0.5, 0.2}, []float64{1*2 + 1*7, 2*2 + 0.5*7, 3*2 + 0.2*7}, true, 2, 7},
		{"a all zero", []float64{0, 0}, []float64{1, 2}, []float64{1, 2}, false, 0, 0},
		{"b all zero", []float64{1, 2}, []float64{0, 0}, []float64{1, 2}, false, 0, 0},
		{"parallel columns", []float64{1, 2}, []float64{2, 4}, []float64{3, 6}, false, 0, 0},
		{"one point", []float64{1}, []float64{1}, []float64{1}, false, 0, 0},
	}
	for _, tc := range tests {
		x, y, ok := Solve2(tc.a, tc.b, tc.r, 1e-9)
		if ok != tc.wantOK {
			t.Fatalf("%s: ok %v, want %v", tc.name, ok, tc.wantOK)
		}
		if ok && (math.Abs(x-tc.x) > 1e-9 || math.Abs(y-tc.y) > 1e-9) {
			t.Errorf("%s: x, y = %v, %v, want %v, %v", tc.name, x, y, tc.x, tc.y)
		}
	}
	// Nearly parallel columns pass a loose bound and fail a strict one.
	a, b, r := []float64{1, 1}, []float64{1, 1.1}, []float64{2, 2.1}
	if _, _, ok := Solve2(a, b, r, 1e-9); !ok {
		t.Error("sin² ≈ 0.002: refused at 1e-9")
	}
	if _, _, ok := Solve2(a, b, r, 0.0025); ok {
		t.Error("sin² ≈ 0.002: accepted at 0.0025")
	}
}
