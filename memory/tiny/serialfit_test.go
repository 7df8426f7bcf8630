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
