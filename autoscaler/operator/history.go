package operator

import (
	"encoding/json"
	"math"
	"sort"
	"time"
)

// Sample is one collection: per-vertex ScalingMetric values and the job's global values
// (CollectedMetrics), keyed by the collector's clock.
type Sample struct {
	Time     time.Time          `json:"time"`
	Vertices map[string]*Values `json:"vertexMetrics"`
	Global   *Values            `json:"globalMetrics,omitempty"`

	// enc caches the sample's JSON: samples are never changed once collected, and the whole
	// window is saved after every cycle.
	enc []byte
}

// MarshalJSON encodes the window sample by sample, each sample's bytes computed once.
func (h History) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	n := 2
	for _, s := range h {
		if s.enc == nil {
			enc, err := json.Marshal(sampleJSON(*s))
			if err != nil {
				return nil, err
			}
			s.enc = enc
		}
		n += len(s.enc) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range h {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s.enc...)
	}
	return append(b, ']'), nil
}

// sampleJSON is Sample without MarshalJSON recursion concerns (same fields and tags).
type sampleJSON struct {
	Time     time.Time          `json:"time"`
	Vertices map[string]*Values `json:"vertexMetrics"`
	Global   *Values            `json:"globalMetrics,omitempty"`
	enc      []byte
}

// History is the metric window: samples in ascending time order (the operator's
// SortedMap<Instant, CollectedMetrics>).
type History []*Sample

// put stores s under its time, replacing a sample with the same time.
func (h History) put(s *Sample) History {
	i := sort.Search(len(h), func(i int) bool { return !h[i].Time.Before(s.Time) })
	if i < len(h) && h[i].Time.Equal(s.Time) {
		h[i] = s
		return h
	}
	h = append(h, nil)
	copy(h[i+1:], h[i:])
	h[i] = s
	return h
}

// firstAtOrAfter returns the index of the first sample at or after t (tailMap(t)).
func (h History) firstAtOrAfter(t time.Time) int {
	return sort.Search(len(h), func(i int) bool { return !h[i].Time.Before(t) })
}

// dropBefore removes the samples strictly before t (headMap(t).clear()).
func (h History) dropBefore(t time.Time) History {
	i := h.firstAtOrAfter(t)
	if i == 0 {
		return h
	}
	return append(History(nil), h[i:]...)
}

// series is one vertex's (or the global) values across the window, aligned with the samples.
type series struct {
	h    History
	rows []*Values // nil where the sample lacks the vertex
}

func (h History) vertex(id string) series {
	rows := make([]*Values, len(h))
	for i, s := range h {
		rows[i] = s.Vertices[id]
	}
	return series{h, rows}
}

func (h History) global() series {
	rows := make([]*Values, len(h))
	for i, s := range h {
		rows[i] = s.Global
	}
	return series{h, rows}
}

// latest returns the newest row.
func (s series) latest() *Values {
	if len(s.rows) == 0 {
		return nil
	}
	return s.rows[len(s.rows)-1]
}

// rate is ScalingMetricEvaluator.getRate: the per-second rate between the first and the last
// non-NaN sample; NaN with fewer than two.
func (s series) rate(m Metric) float64 {
	first, last := math.NaN(), math.NaN()
	var firstT, lastT time.Time
	for i, r := range s.rows {
		v := r.NaN(m)
		if math.IsNaN(v) {
			continue
		}
		if math.IsNaN(first) {
			first, firstT = v, s.h[i].Time
		} else {
			last, lastT = v, s.h[i].Time
		}
	}
	if math.IsNaN(last) {
		return math.NaN()
	}
	diff := max(lastT.Sub(firstT).Milliseconds(), 1)
	return 1000 * (last - first) / float64(diff)
}

// average is ScalingMetricEvaluator.getAverage: the mean of the finite samples. Infinite
// samples are skipped but make an all-infinite window +Inf; fewer than minN finite samples
// give NaN.
func (s series) average(m Metric, minN int) float64 {
	sum, n, anyInf := 0.0, 0, false
	for _, r := range s.rows {
		v := r.NaN(m)
		if math.IsNaN(v) {
			continue
		}
		if math.IsInf(v, 0) {
			anyInf = true
			continue
		}
		sum += v
		n++
	}
	if n == 0 {
		if anyInf {
			return math.Inf(1)
		}
		return math.NaN()
	}
	if n < minN {
		return math.NaN()
	}
	return sum / float64(n)
}
