// Package controller is flinktune's control loop: it discovers jobs on one or more Flink
// clusters, runs each job's policy on a fresh snapshot every interval, persists the outcome
// and realizes decisions. Jobs are isolated from each other: a failing job (bad metrics, a
// REST outage, a policy error, even a panic) never stops another.
//
// The loop is a core ticked by the caller (RunOnce with an explicit time) so that the
// benchmark runs it in lockstep with the simulator; Run adds the wall-clock ticker.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

// JobRef is a job found on a cluster.
type JobRef struct {
	ID    string
	Name  string
	State string
}

// Collector reads a cluster. The production implementation goes through Flink's REST API.
type Collector interface {
	// ListJobs returns the cluster's jobs that are not in a terminal state.
	ListJobs(ctx context.Context) ([]JobRef, error)
	// Collect returns a complete snapshot of one job, or an error: never a partial one.
	Collect(ctx context.Context, job JobRef, now time.Time) (*autoscaler.Snapshot, error)
}

// Realizer applies a decided parallelism to a running job.
type Realizer interface {
	// Realize makes the job run with target parallelism. It returns whether it sent a change;
	// it must be idempotent (target already in place: nothing sent).
	Realize(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int) (sent bool, err error)
}

// ConfigRealizer applies configuration changes (memory tuning) to whatever deploys the job's
// TaskManagers. It must be idempotent: changes already in place send nothing.
type ConfigRealizer interface {
	RealizeConfig(ctx context.Context, snap *autoscaler.Snapshot, overrides map[string]string, removals []string) (sent bool, err error)
}

// Cluster is one Flink cluster the controller watches.
type Cluster struct {
	Name      string // the REST endpoint, used in job keys and events
	Collector Collector
	Realizer  Realizer
	// Config applies memory-tuning changes; nil where the platform cannot (a standalone
	// cluster not started by flinktune local), in which case they are only recorded as
	// recommendations. A realizer with a RealizeTimeout() time.Duration method gets that
	// long instead of Options.RealizeTimeout (local.ProcessRealizer restarts processes).
	Config ConfigRealizer
}

// PolicyFactory builds a policy for one job from the job's effective configuration.
type PolicyFactory func(name string, cfg *flinkconf.Config) (autoscaler.Policy, error)

// Options tune the loop.
type Options struct {
	// Interval between cycles of the wall-clock loop (Run). Default 10 s, as the standalone autoscaler.
	Interval time.Duration
	// Parallelism bounds concurrently running job cycles of one cluster. Default 16.
	Parallelism int
	// DryRun records recommendations without applying anything.
	DryRun bool
	// AllJobs manages every job, as if each had job.autoscaler.enabled: true.
	AllJobs bool
	// Policy is the default policy name; a job may pick another with flinktune.policy.
	Policy string
	// Base is the configuration under every job's own (CLI --set and config files).
	Base *flinkconf.Config
	// EventDedupe suppresses repeated events with the same key (scaling.event.interval). Default 30 min.
	EventDedupe time.Duration
	// CycleTimeout bounds one job's collection and decision. Default 30 s.
	CycleTimeout time.Duration
	// RealizeTimeout bounds applying a decision; it is not cut short by shutdown. Default 30 s.
	RealizeTimeout time.Duration
	// Retention bounds the events and history kept; the loop prunes every RetentionEvery
	// (default 10 min). Zero: keep everything.
	Retention      store.Retention
	RetentionEvery time.Duration
	Logger         *slog.Logger
	Metrics        *Metrics
	// Observer, when set, sees every evaluated cycle and every failed one (the dashboard
	// keeps its bounded time series from it). It must return quickly.
	Observer Observer
	// Now is the wall clock for Run; RunOnce takes explicit times.
	Now func() time.Time
}

// Observer sees the control loop's cycles as they happen.
type Observer interface {
	// ObserveCycle is called after the policy evaluated a snapshot, with the decision.
	ObserveCycle(key store.JobKey, policy string, snap *autoscaler.Snapshot, d autoscaler.Decision, now time.Time)
	// ObserveError is called when a job's cycle failed (collection, policy or realization).
	ObserveError(key store.JobKey, err error, now time.Time)
}

// Job-level keys flinktune adds to the operator's job.autoscaler.* set.
const (
	KeyPolicy         = "flinktune.policy"
	KeyEnabled        = "job.autoscaler.enabled"
	KeyScalingEnabled = "job.autoscaler.scaling.enabled"
	KeyEventInterval  = "job.autoscaler.scaling.event.interval"
)

// Controller runs policies over clusters.
type Controller struct {
	store    *store.Store
	clusters []Cluster
	policies PolicyFactory
	opts     Options
	log      *slog.Logger

	mu             sync.Mutex
	jobs           map[store.JobKey]*jobRunner
	inFlight       map[store.JobKey]bool
	live           map[store.JobKey]*jobLive
	persistFailing map[store.JobKey]persistFailure
	lastPrune      time.Time
	pruning        bool
	wg             sync.WaitGroup
	workers        map[string]chan struct{} // per cluster: a slot per job cycle running
	explain        explainer
}

type jobRunner struct {
	policy     autoscaler.Policy
	policyName string
	configHash string
}

// New returns a controller. Policies are restored from st on first sight of each job.
func New(st *store.Store, clusters []Cluster, policies PolicyFactory, opts Options) *Controller {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 16
	}
	if opts.EventDedupe <= 0 {
		opts.EventDedupe = 30 * time.Minute
	}
	if opts.CycleTimeout <= 0 {
		opts.CycleTimeout = 30 * time.Second
	}
	if opts.RealizeTimeout <= 0 {
		opts.RealizeTimeout = 30 * time.Second
	}
	if opts.Base == nil {
		opts.Base = flinkconf.New()
	}
	if opts.Policy == "" {
		opts.Policy = "flinktune"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = 10 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{
		store: st, clusters: clusters, policies: policies, opts: opts, log: log,
		jobs: map[store.JobKey]*jobRunner{}, inFlight: map[store.JobKey]bool{},
		workers: workerPools(clusters, opts.Parallelism),
		live:    map[store.JobKey]*jobLive{}, persistFailing: map[store.JobKey]persistFailure{},
	}
}

// CycleReport summarizes one RunOnce.
type CycleReport struct {
	Jobs     int // jobs seen
	Cycled   int // job cycles that completed
	Scaled   int // new scaling decisions
	Realized int // changes sent to Flink
	Skipped  int // jobs not started before their cluster's cycle deadline (Run only)
	Errors   []error
}

// Run cycles every Interval until ctx is cancelled, then waits for in-flight work: a decision
// being applied is finished (with its own timeout), never abandoned half-way. Each cluster
// runs on its own schedule (see schedule.go): a slow or hung cluster never delays another.
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range c.clusters {
		wg.Go(func() { c.clusterLoop(ctx, &c.clusters[i]) })
	}
	wg.Wait()
	c.wg.Wait()
	return nil
}

// RunOnce runs one cycle over every cluster and job at time now and waits for it. Clusters
// are cycled concurrently, each with its own workers.
func (c *Controller) RunOnce(ctx context.Context, now time.Time) CycleReport {
	var (
		rep CycleReport
		mu  sync.Mutex
		wg  sync.WaitGroup
	)
	for i := range c.clusters {
		wg.Go(func() {
			r := c.cycleCluster(ctx, &c.clusters[i], now, time.Time{})
			mu.Lock()
			rep.add(r)
			mu.Unlock()
		})
	}
	wg.Wait()
	return rep
}

func (c *Controller) claim(key store.JobKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight[key] {
		return false
	}
	c.inFlight[key] = true
	return true
}

func (c *Controller) release(key store.JobKey) {
	c.mu.Lock()
	delete(c.inFlight, key)
	c.mu.Unlock()
}

type cycleResult struct{ scaled, realized bool }

// cycleJob runs one job's cycle; a panic anywhere inside becomes an error for this job only.
func (c *Controller) cycleJob(ctx context.Context, cl Cluster, job JobRef, key store.JobKey, now time.Time) (res cycleResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			c.recordError(key, job, now, err)
		}
	}()
	cctx, cancel := context.WithTimeout(ctx, c.opts.CycleTimeout)
	snap, err := cl.Collector.Collect(cctx, job, now)
	cancel()
	if err != nil {
		// No decision on partial or failed data: the policy does not see this cycle at all.
		c.opts.Metrics.jobError(key)
		if collect.IsBadData(err) {
			c.recordBadData(key, job, now, err)
			return res, err
		}
		c.recordError(key, job, now, fmt.Errorf("metric collection failed, no decision taken: %w", err))
		return res, err
	}
	if snap.Cluster == "" {
		snap.Cluster = cl.Name
	}
	cfg := c.opts.Base.Clone()
	cfg.Merge(flinkconf.FromMap(snap.Config))
	if c.opts.AllJobs && !cfg.Has(KeyEnabled) {
		cfg.Set(KeyEnabled, "true")
	}
	if v, _ := cfg.Get(KeyEnabled); !strings.EqualFold(v, "true") {
		c.explain.note(c.log, key, false, "not managed: "+KeyEnabled+" is not true in the job's configuration (flinktune run --all-jobs manages every job)",
			snap.Time, now, c.opts.Interval)
		return res, nil // not managed; the operator clears state of disabled jobs too
	}
	if c.opts.DryRun {
		// Recommendation-only: the policy reports and records, and nothing is applied.
		cfg.Set(KeyScalingEnabled, "false")
	}
	// Policies read the job's configuration from the snapshot too: give them the effective one.
	snap.Config = cfg.Map()
	runner, err := c.runner(key, job, cfg)
	if err != nil {
		c.recordError(key, job, now, err)
		return res, err
	}
	decision, err := runner.policy.Cycle(snap)
	if err != nil {
		c.opts.Metrics.jobError(key)
		c.recordError(key, job, now, fmt.Errorf("policy %s: %w", runner.policyName, err))
		return res, err
	}
	c.opts.Metrics.observe(key, runner.policyName, snap, decision)
	if c.opts.Observer != nil {
		c.opts.Observer.ObserveCycle(key, runner.policyName, snap, decision, now)
	}
	c.log.Debug("job cycle", "cluster", key.Cluster, "job", key.JobID, "policy", runner.policyName,
		"ready", decision.Ready, "scaled", decision.Scaled, "reason", decision.Reason)
	c.explain.note(c.log, key, decision.Ready, decision.Reason, snap.Time, now, c.opts.Interval)

	state, err := runner.policy.MarshalState()
	if err != nil {
		return res, fmt.Errorf("policy state: %w", err)
	}
	current := currentParallelism(snap)
	lv := c.liveOf(key)
	cycle := store.Cycle{
		Info:         store.JobInfo{Key: key, Name: job.Name, Policy: runner.policyName, FirstSeen: now, LastSeen: now},
		PolicyState:  state,
		DedupeWindow: c.eventInterval(cfg),
	}
	wasReconciled := lv.reconciled
	if !lv.reconciled {
		done, err := c.reconcile(&cycle, lv, key, snap, runner.policyName, now)
		if err != nil {
			c.persisted(key, err)
			return res, err
		}
		// The resolution goes with this cycle's commit, before any new intent in it.
		lv.reconciled = done
	}
	c.withUnrecorded(&cycle, lv, key)
	plan := c.planApply(cfg, decision, snap, current, lv)
	for _, e := range decision.Events {
		if e.JobID == "" {
			e.JobID = job.ID
		}
		// Events are stamped with the controller's clock, like everything it records
		// (policies run on the cluster's clock, which may differ).
		e.Time = now
		cycle.Events = append(cycle.Events, store.Event{Event: e, Cluster: cl.Name})
	}
	if decision.Scaled {
		res.scaled = true
		action := store.ActionDecided
		if !plan.fresh {
			action = store.ActionRecommended
		}
		cycle.History = append(cycle.History, store.HistoryEntry{
			Time: now, Policy: runner.policyName, From: current, To: decision.Parallelism,
			Reason: decision.Reason, DryRun: !plan.fresh, Action: action,
		})
	}
	if plan.fresh {
		// Write-ahead: the intent is durable before Flink hears of it, with what it was
		// decided on, so that a restart can tell whether it is still current.
		cycle.Intent = &store.Intent{Time: now, SnapshotTime: snap.Time, From: current, Parallelism: decision.Parallelism,
			Config: decision.ConfigOverrides, Reason: decision.Reason}
	}
	intentID, err := c.store.CommitCycle(cycle)
	c.persisted(key, err)
	if err != nil {
		lv.reconciled = wasReconciled // the resolution was not stored either
		// Nothing is applied that the store could not record.
		return res, fmt.Errorf("persist cycle (no change applied while the store cannot record it): %w", err)
	}
	lv.unrecorded = nil
	if plan.fresh {
		lv.target, lv.intentID = maps.Clone(decision.Parallelism), intentID
	}
	c.maybePrune(now)
	if cfgApply := c.shouldApplyConfig(cfg, decision); cfgApply && cl.Config != nil {
		// Configuration goes first so that, where the platform restarts TaskManagers for it,
		// the rescale below lands in the same restart.
		timeout := c.opts.RealizeTimeout
		if t, ok := cl.Config.(interface{ RealizeTimeout() time.Duration }); ok {
			// A realizer that restarts processes one at a time says how long it needs.
			timeout = max(timeout, t.RealizeTimeout())
		}
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		sent, err := cl.Config.RealizeConfig(rctx, snap, decision.ConfigOverrides, decision.ConfigRemovals)
		rcancel()
		if err != nil {
			c.recordError(key, job, now, fmt.Errorf("applying configuration %v: %w", decision.ConfigOverrides, err))
			return res, err
		}
		if sent {
			res.realized = true
			if err := c.recordEvent(key, job, now, 0, autoscaler.Event{Type: autoscaler.EventNormal, Reason: "ConfigurationApplied",
				Message: "TaskManager configuration applied: " + formatConfig(decision.ConfigOverrides, decision.ConfigRemovals)}); err != nil {
				return res, err
			}
		}
	}
	if !plan.apply || cl.Realizer == nil {
		return res, nil
	}
	// Realize with a context detached from shutdown: a rescale in flight is completed or fails
	// on its own timeout, it is not abandoned half-way by SIGTERM.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RealizeTimeout)
	sent, err := cl.Realizer.Realize(rctx, snap, lv.target)
	rcancel()
	if err != nil {
		c.recordError(key, job, now, fmt.Errorf("applying parallelism %v: %w", lv.target, err))
		return res, err
	}
	if !sent {
		return res, nil
	}
	res.realized = true
	// The applied record is durable before anyone is told; if it cannot be written, it goes
	// with the job's next commit, and the job is unhealthy (applies nothing) until then.
	rec := c.appliedRecord(key, job, lv, runner.policyName, decision.Reason, current, lv.target, now)
	_, err = c.store.CommitCycle(rec)
	c.persisted(key, err)
	if err != nil {
		lv.unrecorded = &rec
		err = fmt.Errorf("recording the rescale Flink accepted (retried with the next cycle): %w", err)
	}
	runner.policy.Applied(snap.Time, lv.target) // the cluster's clock, as the snapshots
	c.opts.Metrics.realized(key)
	return res, err
}

// shouldApply decides whether a decision's parallelism differs from what runs and may be applied.
func (c *Controller) shouldApply(cfg *flinkconf.Config, d autoscaler.Decision, current map[string]int) bool {
	if c.opts.DryRun || len(d.Parallelism) == 0 {
		return false
	}
	if v, ok := cfg.Get(KeyScalingEnabled); ok && strings.EqualFold(v, "false") {
		return false
	}
	for v, p := range d.Parallelism {
		if cur, ok := current[v]; ok && cur != p {
			return true
		}
	}
	return false
}

// shouldApplyConfig decides whether a decision's configuration changes may be applied.
func (c *Controller) shouldApplyConfig(cfg *flinkconf.Config, d autoscaler.Decision) bool {
	if c.opts.DryRun || len(d.ConfigOverrides) == 0 && len(d.ConfigRemovals) == 0 {
		return false
	}
	v, ok := cfg.Get(KeyScalingEnabled)
	return !ok || !strings.EqualFold(v, "false")
}

func formatConfig(overrides map[string]string, removals []string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		parts = append(parts, k+"="+overrides[k])
	}
	for _, k := range removals {
		parts = append(parts, "-"+k)
	}
	return strings.Join(parts, ", ")
}

func (c *Controller) eventInterval(cfg *flinkconf.Config) time.Duration {
	if v, ok := cfg.Get(KeyEventInterval); ok {
		if d, err := flinkconf.ParseDuration(v); err == nil {
			return d
		}
	}
	return c.opts.EventDedupe
}

// runner returns the job's policy, restoring it from the store on first sight and
// rebuilding it (state kept) when the job's configuration changes.
func (c *Controller) runner(key store.JobKey, job JobRef, cfg *flinkconf.Config) (*jobRunner, error) {
	name := c.opts.Policy
	if v, ok := cfg.Get(KeyPolicy); ok && v != "" {
		name = v
	}
	hash := configHash(cfg)
	c.mu.Lock()
	r := c.jobs[key]
	c.mu.Unlock()
	if r != nil && r.policyName == name && r.configHash == hash {
		return r, nil
	}
	p, err := c.policies(name, cfg)
	if err != nil {
		return nil, fmt.Errorf("policy %q: %w", name, err)
	}
	var state []byte
	if r != nil && r.policyName == name {
		state, err = r.policy.MarshalState()
		if err != nil {
			return nil, err
		}
	} else if st, ok, err := c.store.Job(key); err != nil {
		return nil, err
	} else if ok && st.Info.Policy == name {
		state = st.PolicyState
	}
	if len(state) > 0 {
		if err := p.RestoreState(state); err != nil {
			// A state we cannot read must not block the job: start fresh and say so.
			c.log.Warn("discarding unreadable policy state", "job", key.String(), "err", err)
		}
	}
	r = &jobRunner{policy: p, policyName: name, configHash: hash}
	c.mu.Lock()
	c.jobs[key] = r
	c.mu.Unlock()
	return r, nil
}

func (c *Controller) recordError(key store.JobKey, job JobRef, now time.Time, err error) {
	c.log.Warn("job cycle failed", "cluster", key.Cluster, "job", key.JobID, "err", err)
	if c.opts.Observer != nil {
		c.opts.Observer.ObserveError(key, err, now)
	}
	msg := err.Error()
	if len(msg) > 2048 {
		msg = msg[:2048]
	}
	serr := c.recordEvent(key, job, now, c.opts.EventDedupe, autoscaler.Event{Type: autoscaler.EventWarning,
		Reason: "AutoscalerError", Message: msg, Key: "error:" + autoscaler.FirstLine(msg, 200)})
	if serr != nil {
		c.log.Error("cannot record error event", "err", errors.Join(err, serr))
	}
}

// recordEvent stores one event of the controller's own for a job, stamped now.
func (c *Controller) recordEvent(key store.JobKey, job JobRef, now time.Time, dedupe time.Duration, e autoscaler.Event) error {
	e.Time, e.JobID = now, key.JobID
	_, err := c.store.CommitCycle(store.Cycle{
		Info:         store.JobInfo{Key: key, Name: job.Name, FirstSeen: now, LastSeen: now},
		Events:       []store.Event{{Cluster: key.Cluster, Event: e}},
		DedupeWindow: dedupe,
	})
	return err
}

func currentParallelism(snap *autoscaler.Snapshot) map[string]int {
	out := make(map[string]int, len(snap.Vertices))
	for _, v := range snap.Vertices {
		out[v.ID] = v.Parallelism
	}
	return out
}

func configHash(cfg *flinkconf.Config) string {
	var b strings.Builder
	for _, k := range cfg.Keys() {
		if strings.HasPrefix(k, "job.autoscaler.") || strings.HasPrefix(k, "kubernetes.operator.job.autoscaler.") || strings.HasPrefix(k, "flinktune.") {
			v, _ := cfg.Get(k)
			b.WriteString(k + "=" + v + "\n")
		}
	}
	return b.String()
}

func formatParallelism(from, to map[string]int) string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(to)) {
		if from[v] != to[v] {
			id := v
			if len(id) > 8 {
				id = id[:8]
			}
			parts = append(parts, fmt.Sprintf("%s %d -> %d", id, from[v], to[v]))
		}
	}
	return strings.Join(parts, ", ")
}
