package tuning

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// TestExtremeGaugesNeverCrash reproduces issue 13: a TaskManager gauge of 1e308 overflowed
// int64 and sent hb (byte rendering) into endless recursion, a stack overflow no recover()
// catches. The tuner must survive every extreme value and its state must stay marshalable.
func TestExtremeGaugesNeverCrash(t *testing.T) {
	for _, v := range []float64{1e308, math.MaxFloat64, 9.3e18, math.Inf(1), math.NaN(), -1e308, -1} {
		j := newJob(nil, 8)
		tu := New(DefaultOptions())
		snap := j.observe(tu, t0, 200, 600*mib, usage{managed: 0, jmHeap: 200 * mib, jmMeta: 80 * mib})
		for i := range 10 {
			s := j.snap(snap.Time.Add(10*time.Second*time.Duration(i+1)), usage{heap: v, heapMax: v, meta: v, managed: v, gcMs: v, jmHeap: v, jmMeta: v})
			tu.Observe(s)
			snap = s
		}
		rec, err := tu.Recommend(snap, nil)
		if err == nil && rec != nil {
			_ = rec.Summary()
			if _, err := json.Marshal(rec); err != nil {
				t.Errorf("gauge %g: recommendation does not marshal: %v", v, err)
			}
		}
		if _, err := tu.MarshalState(); err != nil {
			t.Errorf("gauge %g: state does not marshal: %v", v, err)
		}
	}
}

func TestHumanBytesExtremes(t *testing.T) {
	for _, n := range []int64{math.MinInt64, math.MaxInt64, -1, 0} {
		if s := hb(n); s == "" {
			t.Errorf("hb(%d) empty", n)
		}
	}
}
