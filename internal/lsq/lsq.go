// Package lsq solves the small least-squares fits the tuners make on measured runs.
package lsq

// Solve2 is the least-squares x, y of a[i]·x + b[i]·y = r[i] over the points (no intercept),
// from the normal equations. ok is false when a or b is all zero, or when the two columns are
// too close to parallel to tell x from y: det ≤ minSin2 · Σa² · Σb², det/(Σa²·Σb²) being the
// squared sine of the angle between them.
func Solve2(a, b, r []float64, minSin2 float64) (x, y float64, ok bool) {
	var aa, ab, bb, ar, br float64
	for i := range a {
		aa += a[i] * a[i]
		ab += a[i] * b[i]
		bb += b[i] * b[i]
		ar += a[i] * r[i]
		br += b[i] * r[i]
	}
	det := aa*bb - ab*ab
	if aa == 0 || bb == 0 || det <= minSin2*aa*bb {
		return 0, 0, false
	}
	return (ar*bb - br*ab) / det, (br*aa - ar*ab) / det, true
}
