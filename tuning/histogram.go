package tuning

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The histogram is the Kubernetes VPA recommender's memory histogram (prior-art.md §4):
// exponential buckets starting at 10 MB and growing by 5 % up to 1 TB (176 buckets), sample
// weights that double every half-life (so older samples fade relative to newer ones), and a
// percentile that answers with the END of the bucket it falls in (up to ~5 % conservative).
const (
	histFirstBucket = 1e7
	histRatio       = 1.05
	histMax         = 1e12
	// histEpsilon drops weights that decayed or were subtracted to nothing (VPA's epsilon).
	histEpsilon = 1e-4
	// maxDecayExponent: once weights grow by 2^100 the reference time moves forward and the
	// weights are scaled down, keeping them finite (VPA's maxDecayExponent).
	maxDecayExponent = 100
)

var histBuckets = func() int {
	n := int(math.Ceil(math.Log(histMax*(histRatio-1)/histFirstBucket+1) / math.Log(histRatio)))
	return n + 1
}()

// bucketStart is the lower edge of bucket i: first·(r^i − 1)/(r − 1).
func bucketStart(i int) float64 {
	if i <= 0 {
		return 0
	}
	return histFirstBucket * (math.Pow(histRatio, float64(i)) - 1) / (histRatio - 1)
}

// findBucket returns the bucket holding v.
func findBucket(v float64) int {
	if !(v >= histFirstBucket) {
		return 0
	}
	i := int(math.Log(v*(histRatio-1)/histFirstBucket+1) / math.Log(histRatio))
	// Guard against rounding at the edges.
	for i > 0 && bucketStart(i) > v {
		i--
	}
	for i+1 < histBuckets && bucketStart(i+1) <= v {
		i++
	}
	return min(i, histBuckets-1)
}

// histogram is a decaying exponential histogram of byte values.
type histogram struct {
	ref     time.Time // reference time of the weights
	weights []float64 // per bucket; nil when empty
	total   float64
}

// decay is the multiplier of a sample taken at t: 2^((t − ref)/halfLife). A first sample
// sets the reference; a reference too far behind is moved forward (weights rescaled).
func (h *histogram) decay(t time.Time, halfLife time.Duration) float64 {
	if h.ref.IsZero() {
		h.ref = t
	}
	exp := float64(t.Sub(h.ref)) / float64(halfLife)
	if exp > maxDecayExponent {
		scale := math.Exp2(-exp)
		for i := range h.weights {
			h.weights[i] *= scale
			if h.weights[i] < histEpsilon {
				h.weights[i] = 0
			}
		}
		h.total *= scale
		h.ref = t
		exp = 0
	}
	return math.Exp2(exp)
}

// add adds a sample of value v with weight w taken at t.
func (h *histogram) add(v, w float64, t time.Time, halfLife time.Duration) {
	if !(v >= 0) || math.IsInf(v, 0) || !(w > 0) {
		return
	}
	if h.weights == nil {
		h.weights = make([]float64, histBuckets)
	}
	dw := w * h.decay(t, halfLife)
	h.weights[findBucket(v)] += dw
	h.total += dw
}

// subtract removes a sample added with add(v, w, t) (VPA replaces an interval's peak so).
func (h *histogram) subtract(v, w float64, t time.Time, halfLife time.Duration) {
	if h.weights == nil || !(v >= 0) || !(w > 0) {
		return
	}
	dw := w * h.decay(t, halfLife)
	b := findBucket(v)
	dw = min(dw, h.weights[b])
	h.weights[b] -= dw
	h.total -= dw
	if h.weights[b] < histEpsilon {
		h.total -= h.weights[b]
		h.weights[b] = 0
	}
	if h.total < histEpsilon {
		h.weights, h.total = nil, 0
	}
}

// empty reports whether the histogram holds no weight.
func (h *histogram) empty() bool { return h.weights == nil || h.total < histEpsilon }

// percentile returns the end of the bucket where the cumulative weight reaches q of the total
// (the last bucket's start for the last bucket); false when empty.
func (h *histogram) percentile(q float64) (float64, bool) {
	if h.empty() {
		return 0, false
	}
	threshold := q * h.total
	sum := 0.0
	last := 0
	for i, w := range h.weights {
		if w > 0 {
			last = i
		}
	}
	b := last
	for i := 0; i <= last; i++ {
		sum += h.weights[i]
		if sum >= threshold {
			b = i
			break
		}
	}
	if b < histBuckets-1 {
		return bucketStart(b + 1), true
	}
	return bucketStart(b), true
}

// histJSON is the persisted form: non-empty buckets only.
type histJSON struct {
	Ref     time.Time          `json:"ref"`
	Total   float64            `json:"total"`
	Buckets map[string]float64 `json:"buckets"`
}

func (h histogram) MarshalJSON() ([]byte, error) {
	out := histJSON{Ref: h.ref, Total: h.total, Buckets: map[string]float64{}}
	for i, w := range h.weights {
		if w > 0 {
			out.Buckets[strconv.Itoa(i)] = w
		}
	}
	return json.Marshal(out)
}

func (h *histogram) UnmarshalJSON(b []byte) error {
	var in histJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*h = histogram{ref: in.Ref}
	for k, w := range in.Buckets {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= histBuckets || !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("histogram bucket %q: weight %v out of range", k, w)
		}
		if h.weights == nil {
			h.weights = make([]float64, histBuckets)
		}
		h.weights[i] = w
		h.total += w
	}
	return nil
}
