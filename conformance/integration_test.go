//go:build integration

package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenario/generate"
	"github.com/flinktune/flinktune/scenarios"
)

// loadScenario loads an example by name or gen-<seed> from the generator.
func loadScenario(n string) (*scenario.Scenario, error) {
	seed, ok := strings.CutPrefix(n, "gen-")
	if !ok {
		return scenarios.Load(n)
	}
	s, err := strconv.ParseUint(seed, 10, 64)
	if err != nil {
		return nil, err
	}
	g, err := generate.Generate(s)
	if err != nil {
		return nil, err
	}
	return g.Scenario()
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// TestConformance runs the real autoscaler and the port side by side on the three examples and
// on generated scenarios gen-1, gen-2, ... until FLINKTUNE_CONFORMANCE_GENERATED (default 20) of
// them had at least 5 decided cycles (at most FLINKTUNE_CONFORMANCE_MAX_SEED, default 60, are
// tried), FLINKTUNE_CONFORMANCE_PARALLEL (default 2) at a time; or only the comma-separated
// FLINKTUNE_CONFORMANCE_SCENARIOS. Every scenario run counts: the agreement over all cycles where
// either side decided must be at least 95%.
func TestConformance(t *testing.T) {
	var fixed []string
	wantGen, maxSeed := envInt("FLINKTUNE_CONFORMANCE_GENERATED", 20), envInt("FLINKTUNE_CONFORMANCE_MAX_SEED", 60)
	if v := os.Getenv("FLINKTUNE_CONFORMANCE_SCENARIOS"); v != "" {
		fixed, wantGen = strings.Split(v, ","), 0
	} else {
		fixed = scenarios.Names()
	}
	var (
		mu        sync.Mutex
		reports   []*Report
		next      int
		qualified int
	)
	// take returns the next scenario to run, or "" when done.
	take := func() string {
		mu.Lock()
		defer mu.Unlock()
		if next < len(fixed) {
			next++
			return fixed[next-1]
		}
		seed := next - len(fixed) + 1
		if qualified >= wantGen || seed > maxSeed {
			return ""
		}
		next++
		return fmt.Sprintf("gen-%d", seed)
	}
	var wg sync.WaitGroup
	for range max(1, envInt("FLINKTUNE_CONFORMANCE_PARALLEL", 2)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := take(); name != ""; name = take() {
				rep, err := runOne(name)
				mu.Lock()
				if err != nil {
					t.Error(err)
				} else {
					reports = append(reports, rep)
					if strings.HasPrefix(name, "gen-") && rep.Decided >= 5 {
						qualified++
					}
					logReport(t, rep)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(reports, func(i, j int) bool { return reports[i].Scenario < reports[j].Scenario })
	var total, agreed, decided, generated int
	for _, rep := range reports {
		total += rep.Cycles
		agreed += rep.Agreed
		decided += rep.Decided
		if strings.HasPrefix(rep.Scenario, "gen-") {
			generated++
		}
	}
	if f := os.Getenv("FLINKTUNE_CONFORMANCE_REPORT"); f != "" {
		b, _ := json.MarshalIndent(reports, "", "  ")
		os.WriteFile(f, b, 0o644)
	}
	pct := 100.0
	if decided > 0 {
		pct = 100 * float64(agreed) / float64(decided)
	}
	t.Logf("overall: %d scenarios (%d generated, %d of them with >= 5 decided cycles), %d job cycles, %d decided, %d agreed: %.1f%%",
		len(reports), generated, qualified, total, decided, agreed, pct)
	if pct < 95 {
		t.Errorf("agreement %.1f%% < 95%%", pct)
	}
	if qualified < wantGen {
		t.Errorf("only %d generated scenarios with >= 5 decided cycles among seeds 1-%d, want %d", qualified, maxSeed, wantGen)
	}
}

// TestConformanceMemory compares memory recommendations (job.autoscaler.memory.tuning.enabled):
// the standalone autoscaler applies none, so its MemoryTuning's overrides are compared with the
// port's on every decided cycle of two examples.
func TestConformanceMemory(t *testing.T) {
	for _, name := range []string{"wordcount-ramp", "taskmanager-loss"} {
		rep, err := runOne(name, "job.autoscaler.memory.tuning.enabled=true")
		if err != nil {
			t.Fatal(err)
		}
		logReport(t, rep)
		for _, c := range rep.Decisions {
			if !maps.Equal(c.JavaMemory, c.PortMemory) {
				t.Logf("  memory difference at %s: java %v port %v", c.Time.Format(time.TimeOnly), c.JavaMemory, c.PortMemory)
			}
		}
		if rep.MemoryCompared == 0 || rep.MemoryAgreed*100 < 95*rep.MemoryCompared || rep.Agreement() < 0.95 {
			t.Errorf("%s: memory %d/%d, decisions %.1f%%", name, rep.MemoryAgreed, rep.MemoryCompared, 100*rep.Agreement())
		}
	}
}

func runOne(name string, set ...string) (*Report, error) {
	sc, err := loadScenario(name)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sc, Options{Log: &log, Set: append(conformanceSet(), set...)})
	if err != nil {
		return nil, fmt.Errorf("%s: %v\nJVM log tail:\n%s", name, err, tail(log.String(), 4000))
	}
	return rep, nil
}

func logReport(t *testing.T, rep *Report) {
	t.Log(rep.Summary())
	for _, c := range rep.Differences {
		t.Log("  difference: " + FormatCycle(c))
	}
	for _, e := range rep.JavaErrors {
		t.Log("  java error: " + e)
	}
	for _, e := range rep.PortErrors {
		t.Log("  port error: " + e)
	}
}

// conformanceSet is the configuration under every job: the port's 1.10 variant (the version
// Maven Central serves; autoscaler.md §1 and flink-autoscaler/README.md) plus FLINKTUNE_CONFORMANCE_SET (comma-separated k=v).
func conformanceSet() []string {
	set := []string{"flinktune.operator.variant=1.10"}
	if v := os.Getenv("FLINKTUNE_CONFORMANCE_SET"); v != "" {
		set = append(set, strings.Split(v, ",")...)
	}
	return set
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
