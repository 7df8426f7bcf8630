package tuning

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBuckets(t *testing.T) {
	// VPA's memory histogram: 10 MB first bucket, 5 % growth, up to 1 TB: 176 buckets.
	if histBuckets != 176 {
		t.Errorf("%d buckets, want 176 (VPA)", histBuckets)
	}
	if bucketStart(0) != 0 || math.Abs(bucketStart(1)-histFirstBucket) > 1e-3 {
		t.Errorf("first buckets %v %v", bucketStart(0), bucketStart(1))
	}
	for i := 1; i < histBuckets; i++ {
		lo := bucketStart(i)
		if got := findBucket(lo); got != i {
			t.Errorf("findBucket(start %d = %v) = %d", i, lo, got)
		}
		if i+1 < histBuckets {
			hi := bucketStart(i + 1)
			if got := findBucket(math.Nextafter(hi, 0)); got != i {
				t.Errorf("findBucket(just below start %d) = %d, want %d", i+1, got, i)
			}
			// Buckets are about 5 % wide once past the first few.
			if i > 60 && (hi/lo < 1.045 || hi/lo > 1.06) {
				t.Errorf("bucket %d width ratio %.4f", i, hi/lo)
			}
		}
	}
	for _, v := range []float64{-1, 0, 5e6, math.NaN()} {
		if findBucket(v) != 0 {
			t.Errorf("findBucket(%v) = %d", v, findBucket(v))
		}
	}
	if findBucket(1e15) != histBuckets-1 {
		t.Error("values beyond the last bucket go to the last")
	}
}

func TestPercentileIsBucketEnd(t *testing.T) {
	var h histogram
	if _, ok := h.percentile(0.9); ok {
		t.Fatal("empty histogram has a percentile")
	}
	const hl = 24 * time.Hour
	v := 1 << 30 // 1 GiB
	h.add(float64(v), 1, t0, hl)
	p, ok := h.percentile(0.98)
	b := findBucket(float64(v))
	if !ok || p != bucketStart(b+1) || p <= float64(v) || p > float64(v)*1.06 {
		t.Errorf("percentile %v for a single %d sample (bucket %d end %v)", p, v, b, bucketStart(b+1))
	}
	// 99 small samples and one large: P98 is the small one, P100 the large one.
	var g histogram
	for i := range 99 {
		g.add(500<<20, 1, t0.Add(time.Duration(i)*time.Minute), hl)
	}
	g.add(2<<30, 1, t0.Add(99*time.Minute), hl)
	p98, _ := g.percentile(0.98)
	p100, _ := g.percentile(1)
	if p98 > 600<<20 || p100 < 2<<30 {
		t.Errorf("P98 %v P100 %v", p98, p100)
	}
}

func TestDecayFavoursRecentSamples(t *testing.T) {
	const hl = time.Hour
	var h histogram
	// 10 old large samples, then 10 small ones four half-lives later: the old ones weigh
	// 1/16 each (0.625 of 10.625 in all), so up to P94 is small.
	for i := range 10 {
		h.add(2<<30, 1, t0.Add(time.Duration(i)*time.Second), hl)
	}
	for i := range 10 {
		h.add(100<<20, 1, t0.Add(4*hl+time.Duration(i)*time.Second), hl)
	}
	p50, _ := h.percentile(0.5)
	p94, _ := h.percentile(0.94)
	if p50 > 200<<20 || p94 > 200<<20 {
		t.Errorf("P50 %v P94 %v: recent samples should dominate", p50, p94)
	}
	p95, _ := h.percentile(0.95)
	if p95 < 2<<30 {
		t.Errorf("P95 %v: old peaks still count a little", p95)
	}
}

func TestDecayReferenceMoves(t *testing.T) {
	const hl = time.Minute
	var h histogram
	h.add(1<<30, 1, t0, hl)
	// 200 half-lives later the weights would overflow without moving the reference.
	later := t0.Add(200 * hl)
	h.add(100<<20, 1, later, hl)
	if math.IsInf(h.total, 0) || math.IsNaN(h.total) || h.ref != later {
		t.Fatalf("total %v ref %v", h.total, h.ref)
	}
	p, _ := h.percentile(0.5)
	if p > 200<<20 {
		t.Errorf("P50 %v", p)
	}
}

func TestSubtract(t *testing.T) {
	const hl = time.Hour
	var h histogram
	h.add(1<<30, 1, t0, hl)
	h.add(500<<20, 1, t0, hl)
	h.subtract(1<<30, 1, t0, hl)
	p, _ := h.percentile(1)
	if p > 600<<20 {
		t.Errorf("after subtracting the peak P100 = %v", p)
	}
	h.subtract(500<<20, 1, t0, hl)
	if !h.empty() {
		t.Errorf("not empty: total %v", h.total)
	}
	h.subtract(1, 1, t0, hl) // nothing left: no effect, no panic
}

func TestHistogramJSON(t *testing.T) {
	var h histogram
	for i := range 50 {
		h.add(float64(100<<20+i<<22), 1, t0.Add(time.Duration(i)*time.Minute), 24*time.Hour)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var g histogram
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0.1, 0.5, 0.9, 0.98, 1} {
		a, _ := h.percentile(q)
		c, _ := g.percentile(q)
		if a != c {
			t.Errorf("P%v: %v after round trip, %v before", q, c, a)
		}
	}
	if math.Abs(g.total-h.total) > 1e-9*h.total || !g.ref.Equal(h.ref) {
		t.Errorf("total %v/%v ref %v/%v", g.total, h.total, g.ref, h.ref)
	}
	for _, bad := range []string{`{"buckets":{"x":1}}`, `{"buckets":{"500":1}}`, `{"buckets":{"3":-1}}`, `[`} {
		if err := json.Unmarshal([]byte(bad), &g); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzHistogramJSON(f *testing.F) {
	f.Add([]byte(`{"ref":"2026-01-01T00:00:00Z","total":3,"buckets":{"3":1,"100":2}}`))
	f.Add([]byte(`{"buckets":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h histogram
		if json.Unmarshal(data, &h) != nil {
			return
		}
		p, ok := h.percentile(0.98)
		if ok && (p < 0 || math.IsNaN(p) || math.IsInf(p, 0)) {
			t.Fatalf("percentile %v", p)
		}
		if _, err := json.Marshal(h); err != nil {
			t.Fatal(err)
		}
	})
}
