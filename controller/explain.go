package controller

import (
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/store"
)

// explainEvery is how often (wall time) a job still not acted on for the same reason is
// explained again at info level; explainGap is the least time between two explanations of
// one job, so that reasons alternating every cycle do not flood the log.
const (
	explainEvery = time.Minute
	explainGap   = 10 * time.Second
)

// explainer tells, at info level, why a job is not acted on: once a reason has held for two
// cycles in a row (passing states such as a restart are not worth a line) and again every
// explainEvery, with how long (in the job's time) it has lasted. Without it a user
// sees nothing at the default log level while a job is unmanaged or still collecting metrics.
type explainer struct {
	mu   sync.Mutex
	jobs map[store.JobKey]*explained
}

type explained struct {
	kind       string
	cycles     int       // consecutive cycles with this kind
	since      time.Time // job time the reason began
	loggedKind string    // the kind last logged
	loggedAt   time.Time // wall time it was last logged
	lastSnap   time.Time // job time of the previous cycle
}

// reasonKind is a reason without its changing details (counts, times): its first two words.
func reasonKind(reason string) string {
	f := strings.Fields(strings.NewReplacer(":", " ", "(", " ").Replace(reason))
	return strings.Join(f[:min(2, len(f))], " ")
}

// note records this cycle's outcome for a job. acted reports a ready policy (it evaluated the
// job); otherwise reason says why not. jobTime is the snapshot's time (the JobManager's clock),
// wall the controller's. interval is the control interval the job is meant to be cycled at.
func (e *explainer) note(log *slog.Logger, key store.JobKey, acted bool, reason string, jobTime, wall time.Time, interval time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobs == nil {
		e.jobs = map[store.JobKey]*explained{}
	}
	x := e.jobs[key]
	if x == nil {
		x = &explained{}
		e.jobs[key] = x
	}
	gap := jobTime.Sub(x.lastSnap)
	farApart := !x.lastSnap.IsZero() && gap > 3*interval && gap > time.Minute
	if !jobTime.IsZero() {
		x.lastSnap = jobTime
	}
	if acted {
		x.kind, x.cycles, x.loggedKind = "", 0, ""
		return
	}
	kind := reasonKind(reason)
	if kind != x.kind {
		x.kind, x.cycles, x.since = kind, 0, jobTime
	}
	x.cycles++
	since := wall.Sub(x.loggedAt)
	due := x.loggedAt.IsZero() || since >= explainEvery || kind != x.loggedKind && since >= explainGap
	if x.cycles < 2 || !due {
		return
	}
	x.loggedAt, x.loggedKind = wall, kind
	attrs := []any{"cluster", key.Cluster, "job", key.JobID, "reason", reason}
	if d := jobTime.Sub(x.since); d > 0 {
		attrs = append(attrs, "for", d.Round(time.Second).String())
	}
	if farApart {
		// The job's clock runs faster than the one the loop ticks on (a simulator's --speed
		// that run could not measure): policies need several samples per metric window.
		attrs = append(attrs, "jobTimeBetweenCycles", gap.Round(time.Second).String(),
			"hint", "cycles are far apart in the job's time: its JobManager's clock runs faster than the wall clock")
	}
	log.Info("job not acted on", attrs...)
}
