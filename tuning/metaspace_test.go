package tuning

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMetaGrowth(t *testing.T) {
	at := func(min float64, used float64) metaMark {
		return metaMark{At: t0.Add(time.Duration(min * float64(time.Minute))), Used: used * mib}
	}
	for _, tc := range []struct {
		name    string
		marks   []metaMark
		now     float64 // minutes after t0
		growth  float64 // MiB
		slowing bool
	}{
		{"no marks", nil, 10, 0, false},
		{"flat", []metaMark{at(0, 100)}, 10, 0, false},
		{"one step early: the tail of loading", []metaMark{at(0, 100), at(2, 103)}, 10, 3, true},
		{"one step late: no telling yet", []metaMark{at(0, 100), at(7, 103)}, 10, 3, false},
		{"steps that shrink", []metaMark{at(0, 100), at(1, 104), at(3, 106), at(8, 107.5)}, 10, 7.5, true},
		{"a steady ramp (a leak)", []metaMark{at(0, 100), at(2, 102), at(4, 104), at(6, 106), at(8, 108)}, 10, 8, false},
		// The window is the last 30 minutes (from 30 to 60): the early load is outside it.
		{"a window on a longer run", []metaMark{at(0, 50), at(29, 100), at(35, 103), at(50, 104.1)}, 60, 4.1, true},
		{"a late step in a longer run", []metaMark{at(0, 50), at(29, 100), at(50, 103)}, 60, 3, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, s := metaGrowth(tc.marks, t0.Add(time.Duration(tc.now*float64(time.Minute))), 30*time.Minute)
			if math.Abs(g-tc.growth*mib) > 1 || s != tc.slowing {
				t.Fatalf("growth %.2f MiB slowing %v, want %.2f MiB %v", g/mib, s, tc.growth, tc.slowing)
			}
		})
	}
}

// TestMetaspaceAfterWarmUp: a peak whose growth slowed down shrinks metaspace to the peak
// plus as much growth again, plus margin; one whose growth keeps its pace keeps the running
// limit. The first case is Flink 2.2.1's in TestMemoryTuningRealJob (local/): 44 MiB of
// 256 MiB used, a step of 1.1 % in the first half of the observation kept all 256 MiB.
func TestMetaspaceAfterWarmUp(t *testing.T) {
	o := DefaultOptions()
	o.MinObservation = time.Minute
	for _, tc := range []struct {
		name string
		meta func(s int) float64 // metaspace used at s seconds, MiB
		want int64               // proposed metaspace, MiB (256: kept)
	}{
		{"a step early, then flat", func(s int) float64 { return step(s, 20, 44, 44.5) }, roundUpMiB(int64(math.Ceil((44.5+0.5)*mib*1.15))) >> 20},
		{"a step late", func(s int) float64 { return step(s, 50, 44, 44.5) }, 256},
		{"a steady ramp", func(s int) float64 { return 44 + float64(s)/20 }, 256},
		{"flat", func(s int) float64 { return 44 }, roundUpMiB(int64(math.Ceil(44*mib*1.15))) >> 20},
		// Recorded on Flink 1.20.5 (the controller store of TestMemoryTuningRealJob, 2026-12-05
		// 16:25:45): 42,489,056 B at the first sample, 43,061,096 B 3.6 s later, then < 1 %
		// more (peak 43,086,232 B). Its change at 63 s kept 256m; now 48 MiB.
		{"1.20.5's recorded start", func(s int) float64 { return step(s, 4, 42489056, 43061096) / mib }, 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJob(map[string]string{"taskmanager.memory.jvm-metaspace.size": "256m"}, 4)
			tu := New(o)
			var rec *Recommendation
			for s := 0; s <= 70; s += 5 {
				snap := j.snap(t0.Add(time.Duration(s)*time.Second), usage{heap: 600 * mib, heapMax: 1.5 * gib, meta: tc.meta(s) * mib})
				tu.Observe(snap)
				var err error
				if rec, err = tu.Recommend(snap, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := PoolsOf(rec.Proposed).Metaspace >> 20; got != tc.want || rec.Safety {
				t.Fatalf("metaspace %d MiB (safety %v), want %d MiB\n%v", got, rec.Safety, tc.want, rec.Evidence)
			}
			if kept := strings.Contains(rec.Summary(), "metaspace 256 MiB kept (peak still growing)"); kept != (tc.want == 256) {
				t.Fatalf("the summary says metaspace is kept: %v, want %v\n%s", kept, tc.want == 256, rec.Summary())
			}
		})
	}
}

func step(s, at int, before, after float64) float64 {
	if s < at {
		return before
	}
	return after
}
