//go:build integration

package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scenario/generate"
	"github.com/flinktune/flinktune/scenarios"
)

// The scenarios of the conformance run: the three examples and FLINKTUNE_CONFORMANCE_GENERATED
// (default 20) generated ones, or only FLINKTUNE_CONFORMANCE_SCENARIOS (comma-separated names
// or gen-<seed>).
func conformanceScenarios(t *testing.T) []*scenario.Scenario {
	var names []string
	if v := os.Getenv("FLINKTUNE_CONFORMANCE_SCENARIOS"); v != "" {
		names = strings.Split(v, ",")
	} else {
		names = scenarios.Names()
		n := 20
		if v := os.Getenv("FLINKTUNE_CONFORMANCE_GENERATED"); v != "" {
			n, _ = strconv.Atoi(v)
		}
		for i := range n {
			names = append(names, fmt.Sprintf("gen-%d", i+1))
		}
	}
	var out []*scenario.Scenario
	for _, n := range names {
		var sc *scenario.Scenario
		var err error
		if seed, ok := strings.CutPrefix(n, "gen-"); ok {
			s, _ := strconv.ParseUint(seed, 10, 64)
			var g *generate.Generated
			if g, err = generate.Generate(s); err == nil {
				sc, err = g.Scenario()
			}
		} else {
			sc, err = scenarios.Load(n)
		}
		if err != nil {
			t.Fatalf("scenario %s: %v", n, err)
		}
		out = append(out, sc)
	}
	return out
}

// TestConformance runs the real autoscaler and the port side by side on every scenario and
// requires ≥ 95% agreement over the cycles where either side decided.
func TestConformance(t *testing.T) {
	var total, agreed, decided int
	var reports []*Report
	for _, sc := range conformanceScenarios(t) {
		var log strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		rep, err := Run(ctx, sc, Options{Log: &log, Set: conformanceSet()})
		cancel()
		if err != nil {
			t.Errorf("%s: %v\nJVM log tail:\n%s", sc.Name, err, tail(log.String(), 4000))
			continue
		}
		reports = append(reports, rep)
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
		total += rep.Cycles
		agreed += rep.Agreed
		decided += rep.Decided
	}
	if f := os.Getenv("FLINKTUNE_CONFORMANCE_REPORT"); f != "" {
		b, _ := json.MarshalIndent(reports, "", "  ")
		os.WriteFile(f, b, 0o644)
	}
	pct := 100.0
	if decided > 0 {
		pct = 100 * float64(agreed) / float64(decided)
	}
	t.Logf("overall: %d scenarios, %d job cycles, %d decided, %d agreed: %.1f%%", len(reports), total, decided, agreed, pct)
	if pct < 95 {
		t.Errorf("agreement %.1f%% < 95%%", pct)
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
