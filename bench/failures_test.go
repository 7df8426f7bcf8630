package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

// failureRun is what one run of a failure scenario shows: restarts and failures over time,
// and the controller's events.
type failureRun struct {
	res        *Result
	failures   []sim.Event // the simulator's failure log, in time order
	events     []store.Event
	start      time.Time
	firstFix   time.Time // first ConfigurationApplied or Rollback event
	afterFix   int       // failures after the first remedy was applied
	beforeFix  int       // failures before it
	lastFail   time.Time
	memChanges int
}

func runFailure(t *testing.T, file, policy string, sets ...string) *failureRun {
	t.Helper()
	path := filepath.Join("..", "scenarios", "failures", file)
	if strings.Contains(file, "/") {
		path = filepath.Join("..", file)
	}
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	fr := &failureRun{}
	res, err := Run(context.Background(), sc, policy, Options{Set: sets, After: func(s *sim.Sim, st *store.Store) {
		fr.start = s.Start()
		for _, e := range s.Events() {
			if e.Kind == "failure" || e.Kind == "taskmanager" && strings.Contains(e.Message, "lost") {
				fr.failures = append(fr.failures, e)
			}
		}
		fr.events, _ = st.Events(store.EventQuery{})
	}})
	if err != nil {
		t.Fatal(err)
	}
	fr.res = res
	for _, e := range fr.events {
		if fr.firstFix.IsZero() && (e.Reason == "ConfigurationApplied" || e.Reason == "Rollback") {
			fr.firstFix = e.Time
		}
	}
	for _, f := range fr.failures {
		if f.Kind != "failure" {
			continue
		}
		fr.lastFail = f.Time
		if fr.firstFix.IsZero() || !f.Time.After(fr.firstFix) {
			fr.beforeFix++
		} else {
			fr.afterFix++
		}
	}
	if os.Getenv("FLINKTUNE_FAILURES_VERBOSE") != "" {
		for _, f := range fr.failures {
			fmt.Printf("  sim %s %s %s\n", f.Time.Sub(fr.start), f.Kind, firstN(f.Message, 200))
		}
		for _, e := range fr.events {
			fmt.Printf("  ev  %s %s %s\n", e.Time.Sub(fr.start), e.Reason, firstN(strings.ReplaceAll(e.Message, "\n", " ⏎ "), 400))
		}
		fmt.Printf("%s %s: restarts %d, failures before/after first remedy %d/%d, OOM %d, container kills %d, lag violation %.0fs, final lag %d, in %d = processed %d + lag %d, avg TM %.0f MiB\n",
			file, policy, res.Restarts, fr.beforeFix, fr.afterFix, res.Memory.OOMKills, res.Memory.ContainerKills, res.LagViolationSeconds,
			res.FinalLagRecords, res.InputRecords, res.ProcessedRecords, res.FinalLagRecords, res.Memory.TaskManagerProcessBytesAvg/(1<<20))
	}
	return fr
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func TestFailureScenariosExplore(t *testing.T) {
	if os.Getenv("FLINKTUNE_FAILURES_VERBOSE") == "" {
		t.Skip("exploration only")
	}
	for _, f := range strings.Split(os.Getenv("FLINKTUNE_FAILURES"), ",") {
		for _, p := range []string{"operator", "flinktune"} {
			runFailure(t, f+".yaml", p, strings.Fields(os.Getenv("FLINKTUNE_FAILURES_SET"))...)
		}
	}
}
