package bench

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/scenario/generate"
)

// sliceSeeds are short generated scenarios (61–91 simulated minutes) covering the shapes: a
// chain with a spike, a join under REST errors and missing metrics, a fan-out/fan-in with a
// backlog under slow REST, a fan-out, a two-vertex chain with a backlog, a union with steps
// and a spike.
var sliceSeeds = []uint64{126, 53, 52, 59, 200, 81}

func corpusCases(t testing.TB, seeds []uint64) []Case {
	t.Helper()
	var cases []Case
	for _, seed := range seeds {
		g, err := generate.Generate(seed)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := g.Scenario()
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, Case{Scenario: sc, About: g.Describe()})
	}
	return cases
}

// TestCorpusSlice runs a slice of the generated corpus with both policies: every run
// conserves records and neither policy is stuck (the SLO violated without a rescale for a
// quarter of the run while the other acted). The policy targets are TestCorpusTargets'.
func TestCorpusSlice(t *testing.T) {
	cs, err := RunCorpus(context.Background(), corpusCases(t, sliceSeeds), CorpusOptions{Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		t.Logf("%s [%s] %s: %s", c.Scenario, c.Class, c.About, c.Diagnosis)
		if !c.Conserved {
			t.Errorf("%s: records not conserved: flinktune %d in, %d processed, %d lag; operator %d, %d, %d", c.Scenario,
				c.Candidate.InputRecords, c.Candidate.ProcessedRecords, c.Candidate.FinalLagRecords,
				c.Baseline.InputRecords, c.Baseline.ProcessedRecords, c.Baseline.FinalLagRecords)
		}
		if c.Class == ClassStuck {
			t.Errorf("%s: flinktune stuck: %s", c.Scenario, c.Diagnosis)
		}
		if c.BaselineStuck {
			t.Errorf("%s: operator stuck", c.Scenario)
		}
	}
}

// corpusSize reads FLINKTUNE_CORPUS (a number of generated scenarios, seeds 1..N).
func corpusSize(tb testing.TB) int {
	v := os.Getenv("FLINKTUNE_CORPUS")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("FLINKTUNE_CORPUS=%q: want a number of scenarios", v)
	}
	return n
}

func seeds(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// TestCorpusTargets checks issue 9's "Done when" on the generated corpus, seeds
// 1..FLINKTUNE_CORPUS (e.g. 200; skipped when unset: it takes many minutes):
//
//	FLINKTUNE_CORPUS=200 go test ./bench -run TestCorpusTargets -timeout 2h -v
func TestCorpusTargets(t *testing.T) {
	n := corpusSize(t)
	if n == 0 {
		t.Skip("set FLINKTUNE_CORPUS=N to run the generated corpus against issue 9's targets")
	}
	cs, err := RunCorpus(context.Background(), corpusCases(t, seeds(n)), CorpusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(cs)
	var b strings.Builder
	for _, c := range Worst(cs) {
		if c.Class == ClassDominates {
			break
		}
		b.WriteString("\n  " + c.Scenario + " [" + c.Class + "] " + c.About + ": " + c.Diagnosis)
	}
	t.Logf("classes %v, dominates %.1f%%, rescales <= operator's %.1f%%, <= 2 steps %.1f%%; not dominated:%s",
		s.Classes, 100*s.DominatesShare, 100*s.FewerRescalesShare, 100*s.StepsShare, b.String())
	for _, tg := range s.Targets {
		if !tg.Met {
			t.Errorf("target missed: %s", tg.Name)
		}
	}
}

// BenchmarkCorpus runs the generated corpus (FLINKTUNE_CORPUS scenarios, default 200) with
// both policies and reports the class shares:
//
//	go test ./bench -run '^$' -bench Corpus -benchtime 1x -timeout 2h
func BenchmarkCorpus(b *testing.B) {
	n := corpusSize(b)
	if n == 0 {
		n = 200
	}
	cases := corpusCases(b, seeds(n))
	for b.Loop() {
		cs, err := RunCorpus(context.Background(), cases, CorpusOptions{})
		if err != nil {
			b.Fatal(err)
		}
		s := Summarize(cs)
		b.ReportMetric(100*s.DominatesShare, "%dominates")
		b.ReportMetric(float64(s.Classes[ClassLoses]), "loses")
		b.ReportMetric(float64(s.Classes[ClassStuck]), "stuck")
		b.ReportMetric(100*s.FewerRescalesShare, "%fewer-rescales")
		b.ReportMetric(100*s.StepsShare, "%<=2steps")
	}
}
