package tiny

import (
	"math"
	"strings"
	"testing"
)

// FitSerialRates recovers the rates a machine runs at from runs the model itself predicts, with
// the eden in the cache, out of it and on the ramp between, C1 and tiered; the platform's other
// constants stay.
func TestFitSerialRatesRecovers(t *testing.T) {
	plat, err := ParsePlatform("linux-x64-jdk17")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][2]float64{{5200, 2300}, {7000, 4000}, {3000, 1500}, {6000, 5500}} {
		truth, err := plat.WithSerialRates(want[0], want[1])
		if err != nil {
			t.Fatal(err)
		}
		sc := truth.jobCalibration(ConnectorDatagen).Serial
		rate := func(xmx int64, jit JIT) float64 {
			c, _, _ := serialCapacity(sc, truth.EffectiveHeap(GCSerial, xmx), jit, 1, 1)
			return c
		}
		for _, runs := range [][]RatePoint{
			{{80 * MiB, JITTiered, 0, 1}, {400 * MiB, JITTiered, 0, 1}},
			{{48 * MiB, JITC1, 0, 1}, {400 * MiB, JITC1, 0, 1}},
			{{80 * MiB, JITTiered, 0, 1}, {170 * MiB, JITTiered, 0, 1}, {400 * MiB, JITC1, 0, 1}},
		} {
			for i := range runs {
				runs[i].MiBPerCPUSecond = rate(runs[i].Xmx, runs[i].JIT)
			}
			cached, uncached, err := FitSerialRates(plat, ConnectorDatagen, runs)
			if err != nil {
				t.Errorf("rates %v, runs %v: %v", want, runs, err)
				continue
			}
			if math.Abs(cached/want[0]-1) > 1e-3 || math.Abs(uncached/want[1]-1) > 1e-3 {
				t.Errorf("runs %v: fitted %.1f,%.1f, want %v", runs, cached, uncached, want)
			}
		}
	}
}

func TestFitSerialRatesRefuses(t *testing.T) {
	linux, _ := ParsePlatform("linux-x64-jdk17")
	seed, _ := ParsePlatform("macos-arm64")
	for _, tc := range []struct {
		name string
		plat Platform
		conn Connector
		runs []RatePoint
		want string
	}{
		{"no serial model", seed, ConnectorKafka, []RatePoint{{80 * MiB, JITTiered, 5000, 1}, {400 * MiB, JITTiered, 2000, 1}}, "no Serial cost model"},
		{"only in the cache", linux, ConnectorDatagen, []RatePoint{{60 * MiB, JITTiered, 5000, 1}, {80 * MiB, JITTiered, 5100, 1}}, "in the CPU's cache and one with it out"},
		{"only out", linux, ConnectorDatagen, []RatePoint{{400 * MiB, JITTiered, 2000, 1}}, "in the CPU's cache and one with it out"},
		{"thrashing", linux, ConnectorDatagen, []RatePoint{{20 * MiB, JITC1, 60, 1}, {400 * MiB, JITTiered, 2000, 1}}, "thrashes"},
		{"no rate", linux, ConnectorDatagen, []RatePoint{{80 * MiB, JITTiered, 0, 1}, {400 * MiB, JITTiered, 2000, 1}}, "positive"},
		// Measured at load 36 with 0.09 CPUs: tiered 80m as slow as C1 out of the cache.
		{"inconsistent", linux, ConnectorDatagen, []RatePoint{{80 * MiB, JITTiered, 1559, 1}, {400 * MiB, JITC1, 912, 1}}, "no rates are consistent"},
		{"collector costs more than measured", linux, ConnectorDatagen, []RatePoint{{40 * MiB, JITTiered, 30000, 1}, {400 * MiB, JITTiered, 2000, 1}}, "no positive rates"},
	} {
		_, _, err := FitSerialRates(tc.plat, tc.conn, tc.runs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := linux.WithSerialRates(0, 100); err == nil {
		t.Errorf("WithSerialRates(0, 100): no error")
	}
	if _, err := seed.WithSerialRates(5000, 2000); err == nil {
		t.Errorf("WithSerialRates on the seed's platform (no Serial model): no error")
	}
}

// FitSerialPair recovers what a second slot costs from two-slot runs the model predicts, given
// the one-slot rates FitSerialRates recovers from the same runs (which leaves the two-slot ones
// out).
func TestFitSerialPairRecovers(t *testing.T) {
	plat, err := ParsePlatform("linux-x64-jdk17")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []float64{0.6, 0.72, 1} {
		truth, err := plat.WithSerialRates(5200, 2300)
		if err == nil {
			truth, err = truth.WithSerialPairFactor(want)
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := truth.jobCalibration(ConnectorDatagen).Serial
		runs := []RatePoint{{80 * MiB, JITTiered, 0, 1}, {400 * MiB, JITC1, 0, 1}, {80 * MiB, JITTiered, 0, 2}, {34 * MiB, JITTiered, 0, 2}}
		for i, r := range runs {
			c, _, _ := serialCapacity(sc, truth.EffectiveHeap(GCSerial, r.Xmx), r.JIT, r.Slots, 2)
			runs[i].MiBPerCPUSecond = c / float64(r.Slots)
		}
		if want != 1 && math.Abs(runs[2].MiBPerCPUSecond/runs[0].MiBPerCPUSecond-1) < 0.05 {
			t.Fatalf("pair %v: the two-slot run is as fast as the one-slot one (%v): the factor does not reach the capacity", want, runs)
		}
		cached, uncached, err := FitSerialRates(plat, ConnectorDatagen, runs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(cached/5200-1) > 1e-3 || math.Abs(uncached/2300-1) > 1e-3 {
			t.Errorf("pair %v: the two-slot runs moved the one-slot rates: %.1f,%.1f", want, cached, uncached)
		}
		got, err := FitSerialPair(plat, ConnectorDatagen, cached, uncached, runs)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got/want-1) > 1e-3 {
			t.Errorf("pair factor fitted %.4f, want %v", got, want)
		}
	}
	if _, err := FitSerialPair(plat, ConnectorDatagen, 5200, 2300, []RatePoint{{80 * MiB, JITTiered, 4000, 1}}); err == nil || !strings.Contains(err.Error(), "no run of two") {
		t.Errorf("no two-slot run: err %v", err)
	}
	if _, err := FitSerialPair(plat, ConnectorDatagen, 5200, 2300, []RatePoint{{34 * MiB, JITTiered, 90000, 2}}); err == nil || !strings.Contains(err.Error(), "faster than the collector") {
		t.Errorf("a two-slot run faster than its collector: err %v", err)
	}
	if _, err := plat.WithSerialPairFactor(0); err == nil {
		t.Errorf("WithSerialPairFactor(0): no error")
	}
}

// FitSerialCache recovers where the cache ends with the two rates, from one-slot C1 runs in
// the cache (30m), at its edge (64m) and out of it (400m), on machines whose cache holds less
// than the stored calibration's (an AMD EPYC when quiet, ~4-5 ms; loaded, ~2.5), as much and
// more; the held-out heaps (28m in the cache, 240m out) are then predicted as the truth does.
// The two-rate fit with the stored cache cannot calibrate a machine whose 64m run is on the
// edge: that is the run the real-Flink test logged as uncalibrated on the AMD EPYC.
func TestFitSerialCacheRecovers(t *testing.T) {
	plat, err := ParsePlatform("linux-x64-jdk17")
	if err != nil {
		t.Fatal(err)
	}
	stored := plat.jobCalibration(ConnectorDatagen).Serial.CacheMs
	for _, tc := range []struct {
		cached, uncached, cacheMs float64
		// edge: the 64m run is on the ramp, so the fit pins the cache; otherwise a range of
		// sweep times explains the runs equally and the one nearest the stored is kept.
		edge, twoRateFits bool
	}{
		{3000, 2000, 6, true, false},    // a quiet AMD EPYC: 64m on the edge (C1 rate -25%)
		{4000, 1950, 4.2, false, false}, // loaded (load 30, measured): 64m out, 30m in
		{5200, 2300, stored, false, true},
		{4500, 2200, 14, false, true}, // a larger cache: 64m well inside
	} {
		truth, err := plat.WithSerialRates(tc.cached, tc.uncached)
		if err == nil {
			truth, err = truth.WithSerialCache(tc.cacheMs)
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := truth.jobCalibration(ConnectorDatagen).Serial
		rate := func(xmx int64) float64 {
			c, _, _ := serialCapacity(sc, truth.EffectiveHeap(GCSerial, xmx), JITC1, 1, 1)
			return c
		}
		var runs []RatePoint
		for _, mb := range []int64{30, 64, 400} {
			runs = append(runs, RatePoint{Xmx: mb * MiB, JIT: JITC1, MiBPerCPUSecond: rate(mb * MiB), Slots: 1})
		}
		cached, uncached, cacheMs, err := FitSerialCache(plat, ConnectorDatagen, runs)
		if err != nil {
			t.Errorf("truth %+v: %v", tc, err)
			continue
		}
		if math.Abs(cached/tc.cached-1) > 0.03 || math.Abs(uncached/tc.uncached-1) > 0.01 {
			t.Errorf("truth %+v: rates %.0f,%.0f", tc, cached, uncached)
		}
		if tc.edge && math.Abs(cacheMs/tc.cacheMs-1) > 0.03 {
			t.Errorf("truth %+v: cache %.2f ms, want %.2f", tc, cacheMs, tc.cacheMs)
		}
		fitted := withSerialFit(t, plat, cached, uncached, cacheMs)
		fsc := fitted.jobCalibration(ConnectorDatagen).Serial
		for _, mb := range []int64{28, 240} {
			got, _, _ := serialCapacity(fsc, fitted.EffectiveHeap(GCSerial, mb*MiB), JITC1, 1, 1)
			if want := rate(mb * MiB); math.Abs(got/want-1) > 0.02 {
				t.Errorf("truth %+v: -Xmx%dm predicted %.0f, truth %.0f", tc, mb, got, want)
			}
		}
		// The two-rate fit with the stored cache, on the previous calibration (64m and 400m).
		_, _, err = FitSerialRates(plat, ConnectorDatagen, runs[1:])
		if (err == nil) != tc.twoRateFits {
			t.Errorf("truth %+v: the stored cache's two-rate fit: err %v, want fitted %v", tc, err, tc.twoRateFits)
		}
	}
}

func TestFitSerialCacheRefuses(t *testing.T) {
	linux, _ := ParsePlatform("linux-x64-jdk17")
	seed, _ := ParsePlatform("macos-arm64")
	if _, _, _, err := FitSerialCache(seed, ConnectorKafka, []RatePoint{{80 * MiB, JITTiered, 5000, 1}}); err == nil || !strings.Contains(err.Error(), "no Serial cost model") {
		t.Errorf("no Serial model: err %v", err)
	}
	if _, _, _, err := FitSerialCache(linux, ConnectorDatagen, []RatePoint{{400 * MiB, JITC1, 1300, 1}}); err == nil || !strings.Contains(err.Error(), "in the CPU's cache and one with it out") {
		t.Errorf("one run: err %v", err)
	}
	if _, err := linux.WithSerialCache(0.1); err == nil {
		t.Errorf("WithSerialCache(0.1): no error")
	}
}

// withSerialFit is plat with a FitSerialCache result applied: the two rates, then the cache's
// sweep time.
func withSerialFit(t *testing.T, plat Platform, cached, uncached, cacheMs float64) Platform {
	t.Helper()
	q, err := plat.WithSerialRates(cached, uncached)
	if err == nil {
		q, err = q.WithSerialCache(cacheMs)
	}
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// SerialCacheSpan bounds the sweep times the runs cannot tell apart. Runs wholly in the cache
// (64m) and wholly out of it (400m) leave the edge anywhere between them: on a machine whose
// cache holds the 240m profile's eden, FitSerialCache keeps the stored edge and predicts 240m
// out of the cache (the real-Flink test's -43.9% in CI), while the predictions at the
// span's two ends, each with its own rates, bracket the truth. A run on the edge pins it.
func TestSerialCacheSpan(t *testing.T) {
	plat, err := ParsePlatform("linux-x64-jdk17")
	if err != nil {
		t.Fatal(err)
	}
	rate := func(p Platform, xmx int64) float64 {
		c, _, _ := serialCapacity(p.jobCalibration(ConnectorDatagen).Serial, p.EffectiveHeap(GCSerial, xmx), JITC1, 1, 1)
		return c
	}
	for _, tc := range []struct {
		cached, uncached, cacheMs float64
		wideOver                  int64 // a heap the span leaves undetermined (0: the span is narrow)
	}{
		{3000, 2000, 6, 0},     // a quiet AMD EPYC: 64m on the edge
		{4400, 2400, 24, 240},  // a cache holding the 240m eden (CI, load 1.3)
		{4400, 2400, 8.9, 240}, // the stored cache: 240m out, but the runs cannot say so
	} {
		truth := withSerialFit(t, plat, tc.cached, tc.uncached, tc.cacheMs)
		var runs []RatePoint
		for _, mb := range []int64{30, 64, 400} {
			runs = append(runs, RatePoint{Xmx: mb * MiB, JIT: JITC1, MiBPerCPUSecond: rate(truth, mb*MiB), Slots: 1})
		}
		lo, hi, err := SerialCacheSpan(plat, ConnectorDatagen, runs)
		if err != nil {
			t.Fatal(err)
		}
		if tc.wideOver == 0 {
			if hi.CacheMs/lo.CacheMs > 1.1 || lo.CacheMs > tc.cacheMs*1.03 || hi.CacheMs < tc.cacheMs/1.03 {
				t.Errorf("truth %.1f ms: span %.2f-%.2f, want narrow around it", tc.cacheMs, lo.CacheMs, hi.CacheMs)
			}
			continue
		}
		// Every end explains the runs: the calibration heaps predicted as measured.
		var ends [2]float64
		for i, f := range []SerialCacheFit{lo, hi} {
			q := withSerialFit(t, plat, f.Cached, f.Uncached, f.CacheMs)
			for _, r := range runs {
				if got := rate(q, r.Xmx); math.Abs(got/r.MiBPerCPUSecond-1) > 0.02 {
					t.Errorf("truth %.1f ms: the span's end %+v predicts -Xmx%s at %.0f, measured %.0f", tc.cacheMs, f, JVMSize(r.Xmx), got, r.MiBPerCPUSecond)
				}
			}
			ends[i] = rate(q, tc.wideOver*MiB)
		}
		want := rate(truth, tc.wideOver*MiB)
		if want < min(ends[0], ends[1])*0.98 || want > max(ends[0], ends[1])*1.02 || max(ends[0], ends[1])/min(ends[0], ends[1]) < 1.2 {
			t.Errorf("truth %.1f ms: span %.2f-%.2f predicts -Xmx%dm at %.0f-%.0f, truth %.0f", tc.cacheMs, lo.CacheMs, hi.CacheMs, tc.wideOver, ends[0], ends[1], want)
		}
	}
}
