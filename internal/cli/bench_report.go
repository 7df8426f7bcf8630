package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

// runForReport is bench.RunAll that also keeps what the report draws: each policy's control
// loop as the dashboard records it, and the simulator's lag and slots per job.
func runForReport(ctx context.Context, sc *scenario.Scenario, policyNames []string, opts bench.Options) ([]*bench.Result, []dashboard.ReportRun, error) {
	results := make([]*bench.Result, len(policyNames))
	runs := make([]dashboard.ReportRun, len(policyNames))
	errs := make([]error, len(policyNames))
	every := opts.Interval
	if every <= 0 {
		every = 10 * time.Second
	}
	points := int(time.Duration(sc.Duration)/every) + 2 // the whole run
	var wg sync.WaitGroup
	for i, name := range policyNames {
		runs[i] = dashboard.ReportRun{Policy: name, Recorder: dashboard.NewRecorder(points), Truth: map[string]dashboard.JobTruth{}}
		wg.Go(func() {
			o := opts
			if o.DataDir != "" {
				o.DataDir = filepath.Join(opts.DataDir, sc.Name+"-"+name)
			}
			o.Observer = runs[i].Recorder
			o.After = func(s *sim.Sim, st *store.Store) {
				if opts.After != nil {
					opts.After(s, st)
				}
				runs[i].Truth = truthOf(s)
			}
			results[i], errs[i] = bench.Run(ctx, sc, name, o)
		})
	}
	wg.Wait()
	return results, runs, errors.Join(errs...)
}

func truthOf(s *sim.Sim) map[string]dashboard.JobTruth {
	out := map[string]dashboard.JobTruth{}
	start := float64(s.Start().UnixMilli()) / 1000
	for _, id := range s.JobIDs() {
		st, ok := s.Stats(id)
		if !ok {
			continue
		}
		tr := dashboard.JobTruth{}
		for _, x := range st.Series {
			tr.T = append(tr.T, start+float64(x.T))
			tr.LagSeconds = append(tr.LagSeconds, x.LagSeconds)
			tr.Slots = append(tr.Slots, float32(x.Slots))
		}
		out[id] = tr
	}
	return out
}

// writeBenchReport writes the HTML report of every scenario's results.
func writeBenchReport(path string, scs []*scenario.Scenario, all [][]*bench.Result, runs [][]dashboard.ReportRun) error {
	rep := dashboard.BenchReport{Generated: time.Now()}
	for i, sc := range scs {
		var table bytes.Buffer
		if err := bench.Table(&table, all[i]); err != nil {
			return err
		}
		sr := dashboard.ScenarioReport{Name: sc.Name, SLOLagSeconds: time.Duration(sc.SLO.MaxLag).Seconds(), Table: table.String(),
			Results: all[i], Runs: runs[i]}
		var base, cand *bench.Result
		for _, r := range all[i] {
			switch r.Policy {
			case "operator":
				base = r
			case "flinktune":
				cand = r
			}
		}
		if base != nil && cand != nil {
			lines, pass := bench.Verdict(cand, base)
			sr.Scoring = append([]string{"flinktune vs operator:"}, lines...)
			if pass {
				sr.Scoring = append(sr.Scoring, "all targets met")
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	var buf bytes.Buffer
	if err := dashboard.WriteBenchReport(&buf, rep); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--report %s: %w", path, err)
	}
	return nil
}
