package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/realize"
	"github.com/flinktune/flinktune/tuning"
)

// tuneDeps are the clock and sleep of flinktune tune: wall time in production, the
// simulator's clock in lockstep tests.
type tuneDeps struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newTuneCmd() *cobra.Command { return newTuneCommand(tuneDeps{now: time.Now, sleep: sleepCtx}) }

var tuneOutputs = []string{"table", "json", "yaml", "flink-conf", "config-yaml", "dynamic", "k8s-patch"}

func newTuneCommand(deps tuneDeps) *cobra.Command {
	var (
		flink, jobID, duration, interval, output, timeout string
		caFile, token, user                               string
		sets, targets, headers                            []string
	)
	cmd := &cobra.Command{
		Use:   "tune --flink URL [--job ID]",
		Short: "Sample a job and recommend its memory (pools, JobManager, slots), or diagnose and fix one that keeps failing",
		Long: `tune samples one running job through Flink's REST API for --duration (every --interval),
feeds flinktune's memory tuner and prints what it recommends, with the evidence:

  heap       a high percentile (P98) of per-interval heap peaks of the largest TaskManager in a
             decaying histogram (Kubernetes VPA style), plus a margin, at most 1.5× the live set;
             more when the target parallelism puts more on the busiest TaskManager
  metaspace  never below its observed peak plus the margin
  network    Flink's exact buffer requirement for the topology, per gate and partition, placed
             on the busiest TaskManager by the slots it hosts (compared with the operator's formula)
  managed    0 for heap state, kept (or maximized) for RocksDB
  JobManager heap and metaspace from the JobManager's gauges
  slots      per TaskManager, from the CPU the busiest slot needs and the memory limit

The proposal never exceeds the job's initial limits (its taskmanager.memory.process.size). An
out-of-memory failure in the job's exception history bumps the pool, sustained GC pressure
keeps the heap from shrinking.

A job that keeps failing (it need not run in any sample) gets a diagnosis first: each failure
class in its exception history (heap or metaspace OutOfMemoryError, GC overhead, direct buffer
memory, "Insufficient number of network buffers", container kills) with the pool at fault and
the evidence, then the fix as configuration lines, -D options and a FlinkDeployment patch.

Options come from the job's configuration (job.autoscaler.memory.tuning.*, and flinktune's own
flinktune.memory.tuning.*), overridable with --set. Heap and metaspace shrink only when the
sampling covers flinktune.memory.tuning.min-observation, which here defaults to --duration
(at most 10 minutes; a single sample, --duration 0, never shrinks them).

Output formats: table (the report), json or yaml (the full recommendation), and the change as
flink-conf (diff of a legacy flink-conf.yaml), config-yaml (diff of a Flink 1.19+ config.yaml),
dynamic (-D properties) or k8s-patch (a FlinkDeployment merge patch for the Kubernetes operator,
with --target as parallelism overrides).`,
		Example: `  # try it on the built-in simulator (60× real time): ten simulated minutes in ten seconds
  flinktune sim --scenario wordcount-ramp --speed 60 &
  flinktune tune --flink http://127.0.0.1:8081 --duration 10s --interval 1s \
      --set flinktune.memory.tuning.min-observation=10s

  # ten minutes of evidence, then the report
  flinktune tune --flink http://localhost:8081 --job 8f3d0b6c1e2a4f5b9c7d6e5f4a3b2c1d --duration 10m

  # the change as a FlinkDeployment patch, for the parallelism you plan to rescale to
  flinktune tune --flink http://flink:8081 --job 8f3d... --target cbc357ccb763df2852fee8c4fc7d55f2=8 -o k8s-patch

  # a stricter tuner
  flinktune tune --flink http://localhost:8081 --set flinktune.memory.tuning.percentile=0.99 \
      --set job.autoscaler.memory.tuning.overhead=0.3 -o json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("tune takes no arguments, got %q: name the job with --job", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flink == "" {
				return usagef("--flink is required: the REST endpoint of the cluster, e.g. http://localhost:8081")
			}
			if jobID != "" {
				if err := checkJobID("--job", jobID); err != nil {
					return err
				}
			}
			if !slices.Contains(tuneOutputs, output) {
				return usagef("--output %q: want one of %s", output, strings.Join(tuneOutputs, ", "))
			}
			dur, err := positiveDuration("--duration", duration, true)
			if err != nil {
				return err
			}
			every, err := positiveDuration("--interval", interval, false)
			if err != nil {
				return err
			}
			perCall, err := positiveDuration("--timeout", timeout, false)
			if err != nil {
				return err
			}
			overrides, err := withOverrides(nil, sets)
			if err != nil {
				return err
			}
			if err := checkOptions("--set", overrides); err != nil {
				return err
			}
			target := map[string]int{}
			for _, t := range targets {
				id, v, ok := strings.Cut(t, "=")
				p, perr := strconv.Atoi(strings.TrimSpace(v))
				if !ok || id == "" || perr != nil || p < 1 {
					return usagef("--target %q: want VERTEX_ID=PARALLELISM with a parallelism of at least 1", t)
				}
				target[strings.TrimSpace(id)] = p
			}
			opts := []flinkrest.Option{flinkrest.WithTimeout(perCall)}
			if caFile != "" {
				opts = append(opts, flinkrest.WithCAFile(caFile))
			}
			if user != "" {
				opts = append(opts, flinkrest.WithBasicAuth(user, os.Getenv("FLINK_PASSWORD")))
			}
			if token != "" {
				tok := os.Getenv(token)
				if tok == "" {
					return usagef("--token-env %s: the environment variable is empty", token)
				}
				opts = append(opts, flinkrest.WithBearerToken(tok))
			}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok || k == "" {
					return usagef("--header %q: want Name=value", h)
				}
				opts = append(opts, flinkrest.WithHeader(k, v))
			}
			client, err := flinkrest.New(flink, opts...)
			if err != nil {
				return usagef("--flink %q: %v", flink, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			r := &tuneRun{deps: deps, col: collect.New(client, collect.Options{Cluster: client.BaseURL(), CallTimeout: 3 * perCall}),
				stderr: cmd.ErrOrStderr(), overrides: overrides, explicitMinObs: overrides.IsConfigured(tuning.OptMinObservation)}
			if jobID == "" {
				if jobID, err = r.onlyJob(ctx); err != nil {
					return err
				}
			}
			rec, last, err := r.sample(ctx, jobID, dur, every, target)
			if err != nil {
				return err
			}
			return writeTune(cmd.OutOrStdout(), output, rec, last, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&flink, "flink", "", "REST endpoint of the Flink cluster")
	f.StringVar(&jobID, "job", "", "job id (default: the cluster's only running job)")
	f.StringVar(&duration, "duration", "5m", "how long to sample (0: one sample)")
	f.StringVar(&interval, "interval", "10s", "time between samples")
	f.StringVarP(&output, "output", "o", "table", "output format: "+strings.Join(tuneOutputs, ", "))
	f.StringArrayVar(&sets, "set", nil, "key=value over the job's configuration, e.g. flinktune.memory.tuning.percentile=0.99")
	f.StringArrayVar(&targets, "target", nil, "planned parallelism VERTEX_ID=P (repeatable); default: as running")
	f.StringVar(&caFile, "ca-file", "", "PEM file of the CA that signed the cluster's TLS certificate")
	f.StringVar(&token, "token-env", "", "environment variable holding a bearer token")
	f.StringVar(&user, "user", "", "basic-auth user (password from $FLINK_PASSWORD)")
	f.StringArrayVar(&headers, "header", nil, "extra HTTP header Name=value (repeatable)")
	f.StringVar(&timeout, "timeout", "5s", "deadline of each REST call")
	return cmd
}

func positiveDuration(flag, v string, zeroOK bool) (time.Duration, error) {
	d, err := flinkconf.ParseDuration(v)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		return 0, usagef("%s %q: want a duration such as 10s or 5m", flag, v)
	}
	return d, nil
}

type tuneRun struct {
	deps           tuneDeps
	col            *collect.Collector
	stderr         io.Writer
	overrides      *flinkconf.Config
	explicitMinObs bool

	samples, running, failed int
	first, lastAt            time.Time
}

// onlyJob returns the cluster's only running job, or a usage error listing the jobs.
func (r *tuneRun) onlyJob(ctx context.Context) (string, error) {
	jobs, err := r.col.ListJobs(ctx)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, j := range jobs {
		ids = append(ids, fmt.Sprintf("%s (%s, %s)", j.ID, j.Name, j.State))
	}
	switch len(jobs) {
	case 0:
		return "", errors.New("the cluster runs no job")
	case 1:
		return jobs[0].ID, nil
	}
	return "", usagef("the cluster runs %d jobs, pick one with --job:\n  %s", len(jobs), strings.Join(ids, "\n  "))
}

// sample collects the job every interval for duration, feeding the tuner, and recommends.
func (r *tuneRun) sample(ctx context.Context, jobID string, dur, every time.Duration, target map[string]int) (*tuning.Recommendation, *autoscaler.Snapshot, error) {
	n := int(dur/every) + 1
	fmt.Fprintf(r.stderr, "sampling job %s every %s for %s (%d samples)\n", jobID, every, dur, n)
	var tu *tuning.Tuner
	var last *autoscaler.Snapshot
	var lastErr error
	for i := range n {
		if i > 0 {
			if err := r.deps.sleep(ctx, every); err != nil {
				break // interrupted: report on what was collected
			}
		}
		snap, err := r.col.Collect(ctx, jobID, r.deps.now())
		r.samples++
		if err != nil {
			r.failed++
			lastErr = err
			fmt.Fprintf(r.stderr, "sample %d: %v\n", i+1, err)
			continue
		}
		if tu == nil {
			cfg := flinkconf.FromMap(snap.Config)
			cfg.Merge(r.overrides)
			if !r.explicitMinObs && dur > 0 { // a single sample is no evidence for shrinking
				cfg.Set(tuning.OptMinObservation.Key, flinkconf.FormatDuration(min(dur, tuning.DefaultOptions().MinObservation)))
			}
			o, err := tuning.ParseOptions(cfg)
			if err != nil {
				return nil, nil, usageError{err}
			}
			tu = tuning.New(o)
			r.first = snap.Time
		}
		tu.Observe(snap)
		if snap.Status == flinkrest.JobRunning {
			r.running++
		}
		r.lastAt = snap.Time
		last = snap
	}
	if last == nil {
		return nil, nil, fmt.Errorf("no sample of job %s succeeded: %w", jobID, lastErr)
	}
	if r.running == 0 && len(tu.Diagnose(time.Time{})) == 0 {
		return nil, nil, fmt.Errorf("job %s was not running in any sample (last status %s) and its exception history names no memory failure: nothing to tune from", jobID, last.Status)
	}
	for id := range target {
		if last.Vertex(id) == nil {
			var ids []string
			for _, v := range last.Vertices {
				ids = append(ids, v.ID+" ("+v.Name+")")
			}
			return nil, nil, usagef("--target: job %s has no vertex %s; its vertices:\n  %s", jobID, id, strings.Join(ids, "\n  "))
		}
	}
	rec, err := tu.Recommend(last, target)
	if err != nil {
		return nil, nil, err
	}
	return rec, last, nil
}

func writeTune(w io.Writer, output string, rec *tuning.Recommendation, snap *autoscaler.Snapshot, r *tuneRun) error {
	var parallelism map[string]int
	if !maps.Equal(rec.Target, currentParallelism(snap)) {
		parallelism = rec.Target
	}
	switch output {
	case "json", "yaml":
		return writeDoc(w, output, rec)
	case "flink-conf":
		_, err := io.WriteString(w, realize.FlinkConfDiff(snap.Config, rec.Overrides, rec.Removals))
		return err
	case "config-yaml":
		_, err := io.WriteString(w, realize.ConfigYAMLDiff(snap.Config, rec.Overrides, rec.Removals))
		return err
	case "dynamic":
		_, err := fmt.Fprintln(w, realize.DynamicProperties(rec.Overrides, rec.Removals))
		return err
	case "k8s-patch":
		s, err := realize.FlinkDeploymentPatch(rec.Overrides, rec.Removals, parallelism)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, s)
		return err
	}
	return writeTuneTable(w, rec, snap, r)
}

func currentParallelism(snap *autoscaler.Snapshot) map[string]int {
	out := map[string]int{}
	for _, v := range snap.Vertices {
		if !v.Finished {
			out[v.ID] = v.Parallelism
		}
	}
	return out
}

func mibText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func writeTuneTable(w io.Writer, rec *tuning.Recommendation, snap *autoscaler.Snapshot, r *tuneRun) error {
	name := snap.JobName
	if name == "" {
		name = snap.JobID
	}
	fmt.Fprintf(w, "Job %s (%s), Flink %s: %d samples over %s (%d running, %d failed)\n",
		snap.JobID, name, snap.FlinkVersion, r.samples, r.lastAt.Sub(r.first).Round(time.Second), r.running, r.failed)
	mode := "dry run: recommendations only (job.autoscaler.memory.tuning.enabled is false)"
	if rec.Apply {
		mode = "automatic: worthwhile changes are applied (job.autoscaler.memory.tuning.enabled)"
	}
	verdict := "not worth a restart"
	if rec.Worthwhile {
		verdict = "worth applying"
	}
	fmt.Fprintf(w, "Mode: %s\nVerdict: %s: %s\n\n", mode, verdict, rec.Reason)
	writeDiagnosis(w, rec, snap)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASKMANAGER POOL\tLIMIT\tRUNNING\tPROPOSED\tBASIS")
	for _, p := range rec.Pools {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", flinkPoolName(p.Pool), mibText(p.Limit), mibText(p.Current), mibText(p.Proposed), p.Basis)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if jm := rec.JobManager; jm != nil && len(jm.Pools) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOBMANAGER POOL\tLIMIT\tRUNNING\tPROPOSED")
		for _, p := range jm.Pools {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", flinkPoolName(strings.TrimPrefix(p.Pool, "jobmanager-")), mibText(p.Limit), mibText(p.Current), mibText(p.Proposed))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "JobManager: %s\n", jm.Reason)
	}

	o := rec.Observed
	pct := strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", o.Percentile*100), "0"), ".")
	fmt.Fprintf(w, "\nObserved (largest TaskManager): heap peak %s, P%s %s, live set %s, JVM max heap %s; metaspace peak %s; managed peak %s; GC %.1f%% of the time%s\n",
		mibText(int64(o.HeapPeak)), pct, mibText(int64(o.HeapPercentile)), mibText(int64(o.HeapLive)), mibText(int64(o.HeapMax)), mibText(int64(o.MetaspacePeak)),
		mibText(int64(o.ManagedPeak)), o.GCFraction*100, map[bool]string{true: " (GC pressure)", false: ""}[o.GCPressure])
	for _, e := range o.Events {
		fmt.Fprintf(w, "Memory event %s: %s (%s held at %s, rollback %v)\n", e.Time.UTC().Format(time.RFC3339), e.Detail, e.Pool, mibText(e.Bump), e.Rollback)
	}

	if plan := rec.Network; plan != nil {
		fmt.Fprintf(w, "\nNetwork buffers per subtask at the target parallelism (segment %s, %d per channel, %d floating per gate):\n",
			mibText(plan.Params.SegmentSize), plan.Params.BuffersPerChannel, plan.Params.FloatingPerGate)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERTEX\tP\tGATE/PARTITION\tCHANNELS\tREQUIRED\tMAX")
		for _, v := range plan.Vertices {
			label := v.ID
			if v.Name != "" && v.Name != v.ID {
				label = shortID(v.ID) + " " + v.Name
			}
			for _, g := range v.Inputs {
				fmt.Fprintf(tw, "%s\t%d\tin from %s (%s)\t%d\t%d\t%d\n", label, v.Parallelism, shortID(g.Peer), g.Ship, g.Channels, g.Required, g.Max)
				label = ""
			}
			for _, g := range v.Outputs {
				fmt.Fprintf(tw, "%s\t%d\tout to %s (%s)\t%d\t%d\t%d\n", label, v.Parallelism, shortID(g.Peer), g.Ship, g.Channels, g.Required, g.Max)
				label = ""
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "Worst TaskManager (%d slots): %d buffers required, %d with floating, %d overdraft → %s; the operator's formula: %s\n",
			plan.SlotsPerTM, plan.Required, plan.Max, plan.Overdraft, mibText(plan.Bytes), mibText(plan.OperatorBytes))
	}

	fmt.Fprintf(w, "\nSlots per TaskManager: %d (now %d): %s\n", rec.SlotsPerTaskManager, rec.Slots.Current, rec.Slots.Basis)

	fmt.Fprintln(w, "\nEvidence:")
	for _, e := range rec.Evidence {
		fmt.Fprintf(w, "  %-20s %s\n", flinkPoolName(e.Pool), e.Text)
	}
	if len(rec.Overrides) == 0 {
		fmt.Fprintln(w, "\nNo configuration change.")
		return nil
	}
	fmt.Fprintln(w, "\nConfiguration change (render it with -o flink-conf, config-yaml, dynamic or k8s-patch):")
	for _, k := range slices.Sorted(maps.Keys(rec.Overrides)) {
		fmt.Fprintf(w, "  %s: %s\n", k, rec.Overrides[k])
	}
	for _, k := range rec.Removals {
		fmt.Fprintf(w, "  remove %s\n", k)
	}
	return nil
}

// writeDiagnosis leads the report of a failing job: each failure class with the pool at
// fault and the evidence, then the fix in the forms a user applies it.
func writeDiagnosis(w io.Writer, rec *tuning.Recommendation, snap *autoscaler.Snapshot) {
	if len(rec.Diagnosis) == 0 {
		return
	}
	restarts := ""
	if snap.NumRestarts >= 0 {
		restarts = fmt.Sprintf(", %d restarts", snap.NumRestarts)
	}
	fmt.Fprintf(w, "Diagnosis (job %s%s):\n", snap.Status, restarts)
	for _, d := range rec.Diagnosis {
		fmt.Fprintf(w, "  %s ×%d, last %s: %s\n    pool at fault: %s\n", d.Kind, d.Count, d.Last.UTC().Format(time.RFC3339), d.Cause, d.Pool)
		for _, e := range d.Evidence {
			fmt.Fprintf(w, "    evidence: %s\n", e)
		}
	}
	if len(rec.Overrides) > 0 && rec.Worthwhile {
		fmt.Fprintln(w, "Fix:")
		for _, line := range strings.Split(strings.TrimRight(tuning.FixText(snap.Config, rec.Overrides, rec.Removals), "\n"), "\n") {
			fmt.Fprintln(w, "  "+line)
		}
	} else if !rec.Fits {
		fmt.Fprintln(w, "Fix: none within the job's memory limits: raise taskmanager.memory.process.size or spread the state over more TaskManagers (scale the stateful vertex out).")
	}
	fmt.Fprintln(w)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// flinkPoolName is the name Flink's memory model (and `flinktune memory`) gives a pool the
// tuner calls by its short identifier; other evidence topics are left as they are.
func flinkPoolName(pool string) string {
	switch pool {
	case tuning.PoolHeap, tuning.PoolJMHeap:
		return "JVM Heap"
	case tuning.PoolMetaspace, tuning.PoolJMMetaspace:
		return "JVM Metaspace"
	case tuning.PoolManaged:
		return "Managed Memory"
	case tuning.PoolNetwork:
		return "Network"
	case tuning.PoolOverhead:
		return "JVM Overhead"
	case tuning.PoolTaskOffHeap:
		return "Task Off-Heap"
	case "process":
		return "Total Process Memory"
	case "jobmanager":
		return "JobManager"
	case "slots":
		return "Task Slots"
	}
	return pool
}
