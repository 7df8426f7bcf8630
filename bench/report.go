package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table writes results side by side, one column per policy.
func Table(w io.Writer, results []*Result) error {
	if len(results) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := []string{fmt.Sprintf("%s (seed %d, %s simulated)", results[0].Scenario, results[0].Seed, hours(results[0].SimulatedSeconds))}
	for _, r := range results {
		head = append(head, r.Policy)
	}
	row := func(name string, f func(r *Result) string) {
		cells := []string{name}
		for _, r := range results {
			cells = append(cells, f(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	row("rescales", func(r *Result) string { return fmt.Sprint(r.Rescales) })
	row("restarts (all)", func(r *Result) string { return fmt.Sprint(r.Restarts) })
	row("oscillations", func(r *Result) string { return fmt.Sprint(r.Oscillations) })
	row("flapping", func(r *Result) string { return fmt.Sprint(r.Flapping) })
	row("convergence steps (max)", func(r *Result) string { return maxSteps(r) })
	row("downtime", func(r *Result) string { return secs(r.DowntimeSeconds) })
	row("lag-violation time", func(r *Result) string { return secs(r.LagViolationSeconds) })
	row("max lag", func(r *Result) string { return secs(r.MaxLagSeconds) })
	row("parallelism-seconds", func(r *Result) string { return fmt.Sprintf("%.0f", r.ParallelismSeconds) })
	row("slot-seconds", func(r *Result) string { return fmt.Sprintf("%.0f", r.SlotSeconds) })
	row("  vs minimal", func(r *Result) string {
		if r.MinimalSlotSeconds <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fx", r.SlotSeconds/r.MinimalSlotSeconds)
	})
	row("TaskManager-seconds", func(r *Result) string { return fmt.Sprintf("%.0f", r.TaskManagerSeconds) })
	row("avg TM process memory", func(r *Result) string { return mib(r.Memory.TaskManagerProcessBytesAvg) })
	row("TM memory GiB-hours", func(r *Result) string { return fmt.Sprintf("%.1f", r.TaskManagerMemoryGiBHours) })
	row("memory roll-outs", func(r *Result) string { return fmt.Sprint(r.MemoryConfigChanges) })
	row("OOM kills", func(r *Result) string { return fmt.Sprint(r.Memory.OOMKills) })
	row("records in / processed / lag", func(r *Result) string {
		return fmt.Sprintf("%d / %d / %d", r.InputRecords, r.ProcessedRecords, r.FinalLagRecords)
	})
	return tw.Flush()
}

// Verdict compares a candidate with a baseline on the criteria flinktune must meet: at most
// half the rescales, no more lag-violation time, no more parallelism-seconds, no oscillation,
// at most two steps per load change. It returns one line per criterion.
func Verdict(candidate, baseline *Result) (lines []string, pass bool) {
	pass = true
	check := func(ok bool, format string, a ...any) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
			pass = false
		}
		lines = append(lines, mark+" "+fmt.Sprintf(format, a...))
	}
	check(2*candidate.Rescales <= baseline.Rescales || candidate.Rescales == 0 && baseline.Rescales == 0,
		"rescales %d vs %d (at most half)", candidate.Rescales, baseline.Rescales)
	check(candidate.LagViolationSeconds <= baseline.LagViolationSeconds,
		"lag-violation time %s vs %s (no more)", secs(candidate.LagViolationSeconds), secs(baseline.LagViolationSeconds))
	check(candidate.ParallelismSeconds <= baseline.ParallelismSeconds,
		"parallelism-seconds %.0f vs %.0f (no more)", candidate.ParallelismSeconds, baseline.ParallelismSeconds)
	check(candidate.Oscillations == 0, "oscillations %d (none)", candidate.Oscillations)
	steps := 0
	for _, c := range candidate.Convergence {
		steps = max(steps, c.Steps)
	}
	check(steps <= 2, "convergence %d steps per load change at most (2 allowed)", steps)
	return lines, pass
}

func maxSteps(r *Result) string {
	if len(r.Convergence) == 0 {
		return "-"
	}
	m, unsettled := 0, 0
	for _, c := range r.Convergence {
		m = max(m, c.Steps)
		if !c.Settled {
			unsettled++
		}
	}
	if unsettled > 0 {
		return fmt.Sprintf("%d (%d unsettled)", m, unsettled)
	}
	return fmt.Sprint(m)
}

func secs(s float64) string {
	switch {
	case s >= 3600:
		return fmt.Sprintf("%.1fh", s/3600)
	case s >= 120:
		return fmt.Sprintf("%.1fm", s/60)
	}
	return fmt.Sprintf("%.0fs", s)
}

func hours(s float64) string {
	if s >= 86400 && int(s)%86400 == 0 {
		return fmt.Sprintf("%dd", int(s)/86400)
	}
	return fmt.Sprintf("%.3gh", s/3600)
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }
