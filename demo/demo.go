// Package demo runs flinktune end to end with no cluster: the embedded simulator serves
// Flink's REST API on loopback, the control loop with the flinktune policy talks HTTP to it,
// and the operator's policy runs the same scenario alongside for comparison.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/store"
)

// Options tune the demo.
type Options struct {
	// Speed is simulated seconds per wall second at most (0: as fast as possible).
	Speed float64
	// Every is the simulated time between status lines.
	Every time.Duration
	// Policy is the policy shown live; Baseline runs alongside for the comparison.
	Policy, Baseline string
	// Observer sees the live policy's cycles (the dashboard's recorder); Serve, if set, serves
	// the dashboard over the live run's store and returns its URL, printed at the start.
	Observer controller.Observer
	Serve    func(st *store.Store) (url string, err error)
	// Sleep is the wall clock sleep (injected by tests).
	Sleep func(time.Duration)
}

// Run plays the scenario and writes the live view and the final comparison to w.
func Run(ctx context.Context, w io.Writer, sc *scenario.Scenario, o Options) error {
	if o.Every <= 0 {
		o.Every = 10 * time.Minute
	}
	if o.Policy == "" {
		o.Policy = "flinktune"
	}
	if o.Baseline == "" {
		o.Baseline = "operator"
	}
	if o.Sleep == nil {
		o.Sleep = time.Sleep
	}
	fmt.Fprintf(w, "flinktune demo: scenario %q, %s of simulated time on the embedded Flink simulator\n", sc.Name, sc.Duration)
	for _, j := range sc.Jobs {
		fmt.Fprintf(w, "  job %s: %s\n", j.Name, describeJob(j))
	}
	fmt.Fprintf(w, "policy %q drives the cluster over HTTP; %q runs the same scenario alongside for comparison.\n\n", o.Policy, o.Baseline)

	// The baseline runs concurrently, in process.
	type outcome struct {
		r   *bench.Result
		err error
	}
	baseline := make(chan outcome, 1)
	go func() {
		r, err := bench.Run(ctx, sc, o.Baseline, bench.Options{})
		baseline <- outcome{r, err}
	}()

	var serveErr error
	live := &liveView{w: w, every: o.Every}
	start := time.Now()
	var opened func(st *store.Store)
	if o.Serve != nil {
		opened = func(st *store.Store) {
			url, err := o.Serve(st)
			if err != nil {
				fmt.Fprintf(w, "dashboard not served: %v\n", err)
				return
			}
			fmt.Fprintf(w, "dashboard: %s (open it in a browser while the demo runs)\n", url)
		}
	}
	res, err := bench.Run(ctx, sc, o.Policy, bench.Options{
		Observer: o.Observer, Opened: opened,
		Transport: func(h http.Handler) (string, *http.Client, func()) {
			base, stop, lerr := serveLoopback(h)
			if lerr != nil {
				serveErr = lerr
				return "http://127.0.0.1:1", http.DefaultClient, func() {}
			}
			fmt.Fprintf(w, "simulated Flink REST API at %s (try: curl %s/jobs/overview while it runs)\n\n", base, base)
			return base, &http.Client{Timeout: 30 * time.Second}, stop
		},
		Progress: func(s *sim.Sim, _ string) {
			live.update(s)
			if o.Speed > 0 {
				if ahead := time.Duration(float64(s.Elapsed())/o.Speed) - time.Since(start); ahead > 0 {
					o.Sleep(ahead)
				}
			}
		},
	})
	if err != nil {
		return errors.Join(err, serveErr)
	}
	fmt.Fprintf(w, "\n%s finished in %.1fs of wall time; waiting for %s ...\n\n", o.Policy, time.Since(start).Seconds(), o.Baseline)
	var b outcome
	select {
	case b = <-baseline:
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.err != nil {
		return fmt.Errorf("baseline %s: %w", o.Baseline, b.err)
	}
	results := []*bench.Result{b.r, res}
	if err := bench.Table(w, results); err != nil {
		return err
	}
	lines, pass := bench.Verdict(res, b.r)
	fmt.Fprintf(w, "\n%s vs %s:\n", o.Policy, o.Baseline)
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	if pass {
		fmt.Fprintln(w, "  all targets met")
	}
	fmt.Fprintln(w, "\nNext: flinktune bench --scenario kafka-diurnal, flinktune sim --scenario wordcount-ramp,")
	fmt.Fprintln(w, "      flinktune run --flink http://<your-jobmanager>:8081 --dry-run")
	return nil
}

// serveLoopback serves h on a free loopback port.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the run fails on its own when the server is gone
		}
	}()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func describeJob(j scenario.Job) string {
	var parts []string
	for _, v := range j.Vertices {
		parts = append(parts, fmt.Sprintf("%s(p%d)", v.ID, v.Parallelism))
	}
	return strings.Join(parts, " → ")
}

// liveView prints a status line every `every` of simulated time and each rescale as it lands.
type liveView struct {
	w       io.Writer
	every   time.Duration
	next    time.Duration
	last    map[string]map[string]int // job -> vertex -> parallelism
	started bool
}

func (l *liveView) update(s *sim.Sim) {
	el := s.Elapsed()
	if l.last == nil {
		l.last = map[string]map[string]int{}
	}
	for _, js := range s.Summary() {
		prev := l.last[js.ID]
		if prev != nil && !maps.Equal(prev, js.Parallelism) {
			fmt.Fprintf(l.w, "%s  ↻ %s rescaled: %s\n", clock(el), js.Name, diff(prev, js.Parallelism))
		}
		l.last[js.ID] = maps.Clone(js.Parallelism)
		if el >= l.next {
			if !l.started {
				fmt.Fprintf(l.w, "%-8s %-14s %10s %9s %6s  %s\n", "time", "job", "input/s", "lag", "slots", "parallelism")
				l.started = true
			}
			fmt.Fprintf(l.w, "%-8s %-14s %10.0f %8.0fs %6d  %s\n", clock(el), trim(js.Name, 14), js.InputRate, js.LagSeconds, js.Slots, formatPar(js.Parallelism))
		}
	}
	if el >= l.next {
		l.next = el - el%l.every + l.every
	}
}

func formatPar(p map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, p[k]))
	}
	return strings.Join(parts, " ")
}

func diff(a, b map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if a[k] != b[k] {
			parts = append(parts, fmt.Sprintf("%s %d→%d", k, a[k], b[k]))
		}
	}
	return strings.Join(parts, ", ")
}

func clock(d time.Duration) string {
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	if h >= 24 {
		return fmt.Sprintf("%dd%02d:%02d", h/24, h%24, m)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
