package bench

import (
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

// Trace runs the scenario with one policy (as Run does) and returns its decision trace as
// text: a header line, one line per scaling decision (the time since the start, the reason's
// first words, each vertex whose parallelism the decision changes, old→new) and a totals
// line. It is what a golden file records to see any change in a policy's decisions (a
// refactor that moves a decision by one cycle, or a size by one subtask) as a line diff.
//
// Everything in it is an integer or a reason cut before its first number, so that float
// formatting cannot move it; the run's lag-violation and parallelism-seconds are rounded to
// whole seconds.
func Trace(ctx context.Context, sc *scenario.Scenario, policy string, opts Options) (string, *Result, error) {
	tr := newTracer(sc, opts.Observer)
	opts.Observer = tr
	after := opts.After
	opts.After = func(s *sim.Sim, st *store.Store) {
		tr.start = s.Start()
		if after != nil {
			after(s, st)
		}
	}
	r, err := Run(ctx, sc, policy, opts)
	if err != nil {
		return "", nil, err
	}
	return tr.format(sc.Name, r), r, nil
}

// traced is one scaling decision.
type traced struct {
	at      time.Time
	reason  string
	changes []string // "vertex old→new", in the scenario's vertex order
}

// tracer is a controller.Observer that keeps the scaling decisions of a run.
type tracer struct {
	next  controller.Observer
	names map[string]vertexName // by REST vertex id
	ids   *strings.Replacer     // REST vertex ids, in full or their first 8 characters, to names

	mu        sync.Mutex
	decisions []traced
	errors    int
	start     time.Time
}

func newTracer(sc *scenario.Scenario, next controller.Observer) *tracer {
	names := vertexNames(sc)
	pairs := vertexIDPairs(sc, func(job, vertex string) string { return names[sim.VertexID(job, vertex)].name })
	return &tracer{next: next, names: names, ids: strings.NewReplacer(pairs...)}
}

// vertexName is a vertex's scenario id and its place in the scenario (for a stable order).
type vertexName struct {
	name  string
	order int
}

// vertexNames maps the REST vertex ids to scenario ids ("job/vertex" when there are several
// jobs) and their place in the scenario.
func vertexNames(sc *scenario.Scenario) map[string]vertexName {
	out := map[string]vertexName{}
	for _, j := range sc.Jobs {
		for _, v := range j.Vertices {
			name := v.ID
			if len(sc.Jobs) > 1 {
				name = j.Name + "/" + v.ID
			}
			out[sim.VertexID(j.Name, v.ID)] = vertexName{name, len(out)}
		}
	}
	return out
}

func (t *tracer) ObserveCycle(key store.JobKey, policy string, snap *autoscaler.Snapshot, d autoscaler.Decision, now time.Time) {
	if t.next != nil {
		t.next.ObserveCycle(key, policy, snap, d, now)
	}
	if !d.Scaled {
		return
	}
	e := traced{at: now, reason: t.reasonHead(d.Reason)}
	if d.Rollback {
		e.reason += " (rollback)"
	}
	e.changes = t.changes(snap, d.Parallelism)
	for _, k := range slices.Sorted(maps.Keys(d.ConfigOverrides)) {
		e.changes = append(e.changes, k+"="+d.ConfigOverrides[k])
	}
	t.mu.Lock()
	t.decisions = append(t.decisions, e)
	t.mu.Unlock()
}

func (t *tracer) ObserveError(key store.JobKey, err error, now time.Time) {
	if t.next != nil {
		t.next.ObserveError(key, err, now)
	}
	t.mu.Lock()
	t.errors++
	t.mu.Unlock()
}

// changes are the vertices whose parallelism the target changes, "vertex old→new".
func (t *tracer) changes(snap *autoscaler.Snapshot, target map[string]int) []string {
	type change struct {
		order int
		text  string
	}
	var cs []change
	for _, v := range snap.Vertices {
		p, ok := target[v.ID]
		if !ok || p == v.Parallelism {
			continue
		}
		n, known := t.names[v.ID]
		if !known {
			n = vertexName{v.ID, len(t.names)}
		}
		cs = append(cs, change{n.order, fmt.Sprintf("%s %d→%d", n.name, v.Parallelism, p)})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].order < cs[j].order })
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.text
	}
	return out
}

// firstNumber ends a reason's head: a word that starts with a digit. What follows are the
// measurements behind the decision, floats that a refactor may legitimately round
// differently.
var firstNumber = regexp.MustCompile(`(^|[\s(=])[-+]?\d`)

// reasonHead is the reason up to its first number ("scale up: lag 995s of input drains ..."
// → "scale up: lag"), without a trailing separator. Vertex ids are replaced by the
// scenario's names first (a hex id may start with a digit).
func (t *tracer) reasonHead(reason string) string {
	reason = t.ids.Replace(reason)
	if loc := firstNumber.FindStringIndex(reason); loc != nil {
		reason = reason[:loc[0]]
	}
	reason = strings.TrimRight(reason, " ,;:(=")
	if reason == "" {
		return "-"
	}
	return reason
}

// format writes the trace: "# scenario policy", the decisions, then the totals.
func (t *tracer) format(scenarioName string, r *Result) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n", scenarioName, r.Policy)
	for _, d := range t.decisions {
		s := int(d.at.Sub(t.start) / time.Second)
		fmt.Fprintf(&b, "%4d:%02d  %s", s/60, s%60, d.reason)
		if len(d.changes) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(d.changes, ", "))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "totals: %d decisions, %d rescales, %d restarts, %d oscillations, %d cycle errors, lag-violation %d s, parallelism-seconds %d\n",
		len(t.decisions), r.Rescales, r.Restarts, r.Oscillations, t.errors,
		int64(math.Round(r.LagViolationSeconds)), int64(math.Round(r.ParallelismSeconds)))
	return b.String()
}
