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
	"github.com/flinktune/flinktune/realize"
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

// SlotHolder is a Realizer that can apply a scale-up in one restart: Flink keeps the job
// running as it is until every slot of the target is there, for at most wait, instead of
// restarting at a partial layout and again when the rest arrives (realize.Rescale). Relax,
// called every cycle, ends a hold that is done or must end, and says why (an empty Why if it
// did not); with wait > 0 it also ends one an earlier flinktune process left (killed
// mid-hold).
type SlotHolder interface {
	RealizeWhole(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int, wait time.Duration) (sent bool, err error)
	Relax(ctx context.Context, snap *autoscaler.Snapshot, wait time.Duration) (realize.Relaxed, error)
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

// jobCycle is one job's cycle in flight, shared by cycleJob's steps: the snapshot, the
// job's effective configuration, the policy's decision and what the controller plans to
// apply. It lives for one cycle.
type jobCycle struct {
	ctx      context.Context
	cl       Cluster
	job      JobRef
	key      store.JobKey
	now      time.Time
	snap     *autoscaler.Snapshot
	cfg      *flinkconf.Config
	runner   *jobRunner
	decision autoscaler.Decision
	current  map[string]int // the running parallelism
	lv       *jobLive
	plan     applyPlan
}

// cycleJob runs one job's cycle; a panic anywhere inside becomes an error for this job only.
// Its steps run in this order because each depends on the one before: collect, configure
// (whether the job is managed), decide (the policy), record and commit (durable before
// anything is applied), then apply the configuration and the parallelism.
func (c *Controller) cycleJob(ctx context.Context, cl Cluster, job JobRef, key store.JobKey, now time.Time) (res cycleResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			c.recordError(key, job, now, err)
		}
	}()
	jc := &jobCycle{ctx: ctx, cl: cl, job: job, key: key, now: now}
	if jc.snap, err = c.collectJob(jc); err != nil {
		return res, err
	}
	if !c.configure(jc) {
		return res, nil // not managed; the operator clears state of disabled jobs too
	}
	err = c.decide(jc)
	// Ending a scale-up's hold for its slots is no decision: it goes first, so that neither a
	// failing policy nor a store that cannot commit keeps raised lower bounds in place.
	c.relaxHeld(jc)
	if err != nil {
		return res, err
	}
	cycle, wasReconciled, err := c.record(jc)
	if err != nil {
		return res, err
	}
	res.scaled = jc.decision.Scaled
	if err = c.commit(jc, cycle, wasReconciled); err != nil {
		return res, err
	}
	c.maybePrune(now)
	if res.realized, err = c.applyConfig(jc); err != nil {
		return res, err
	}
	realized, err := c.applyParallelism(jc)
	res.realized = res.realized || realized
	return res, err
}

// collectJob takes the job's snapshot. No decision is taken on partial or failed data: the
// policy does not see this cycle at all.
func (c *Controller) collectJob(jc *jobCycle) (*autoscaler.Snapshot, error) {
	cctx, cancel := context.WithTimeout(jc.ctx, c.opts.CycleTimeout)
	snap, err := jc.cl.Collector.Collect(cctx, jc.job, jc.now)
	cancel()
	if err != nil {
		c.opts.Metrics.jobError(jc.key)
		if collect.IsBadData(err) {
			c.recordBadData(jc.key, jc.job, jc.now, err)
			return nil, err
		}
		c.recordError(jc.key, jc.job, jc.now, fmt.Errorf("metric collection failed, no decision taken: %w", err))
		return nil, err
	}
	if snap.Cluster == "" {
		snap.Cluster = jc.cl.Name
	}
	return snap, nil
}

// configure sets the job's effective configuration (flinktune's base under the job's own)
// and reports whether flinktune manages the job. Policies read the configuration from the
// snapshot too, so the snapshot gets the effective one.
func (c *Controller) configure(jc *jobCycle) bool {
	cfg := c.opts.Base.Clone()
	cfg.Merge(flinkconf.FromMap(jc.snap.Config))
	if c.opts.AllJobs && !cfg.Has(KeyEnabled) {
		cfg.Set(KeyEnabled, "true")
	}
	if v, _ := cfg.Get(KeyEnabled); !strings.EqualFold(v, "true") {
		c.explain.note(c.log, jc.key, false, "not managed: "+KeyEnabled+" is not true in the job's configuration (flinktune run --all-jobs manages every job)",
			jc.snap.Time, jc.now, c.opts.Interval)
		return false
	}
	if c.opts.DryRun {
		// Recommendation-only: the policy reports and records, and nothing is applied.
		cfg.Set(KeyScalingEnabled, "false")
	}
	jc.snap.Config = cfg.Map()
	jc.cfg = cfg
	return true
}

// decide runs the job's policy on the snapshot and reports its decision (metrics, observer,
// log and the explanation of why it is or is not ready).
func (c *Controller) decide(jc *jobCycle) error {
	runner, err := c.runner(jc.key, jc.job, jc.cfg)
	if err != nil {
		c.recordError(jc.key, jc.job, jc.now, err)
		return err
	}
	jc.runner = runner
	decision, err := runner.policy.Cycle(jc.snap)
	if err != nil {
		c.opts.Metrics.jobError(jc.key)
		c.recordError(jc.key, jc.job, jc.now, fmt.Errorf("policy %s: %w", runner.policyName, err))
		return err
	}
	jc.decision = decision
	c.opts.Metrics.observe(jc.key, runner.policyName, jc.snap, decision)
	if c.opts.Observer != nil {
		c.opts.Observer.ObserveCycle(jc.key, runner.policyName, jc.snap, decision, jc.now)
	}
	c.log.Debug("job cycle", "cluster", jc.key.Cluster, "job", jc.key.JobID, "policy", runner.policyName,
		"ready", decision.Ready, "scaled", decision.Scaled, "reason", decision.Reason)
	c.explain.note(c.log, jc.key, decision.Ready, decision.Reason, jc.snap.Time, jc.now, c.opts.Interval)
	return nil
}

// record builds the cycle's store record: the policy's state, the resolution of an earlier
// intent (reconcile, before any new intent), a rescale Flink accepted but the store missed,
// and the decision's events, history entry and intent. It also plans what to apply. It
// reports whether the job was reconciled before, to undo the resolution if the commit fails.
func (c *Controller) record(jc *jobCycle) (store.Cycle, bool, error) {
	state, err := jc.runner.policy.MarshalState()
	if err != nil {
		return store.Cycle{}, false, fmt.Errorf("policy state: %w", err)
	}
	jc.current = currentParallelism(jc.snap)
	jc.lv = c.liveOf(jc.key)
	cycle := store.Cycle{
		Info:         store.JobInfo{Key: jc.key, Name: jc.job.Name, Policy: jc.runner.policyName, FirstSeen: jc.now, LastSeen: jc.now},
		PolicyState:  state,
		DedupeWindow: c.eventInterval(jc.cfg),
	}
	wasReconciled := jc.lv.reconciled
	if !jc.lv.reconciled {
		done, err := c.reconcile(&cycle, jc.lv, jc.key, jc.snap, jc.runner.policyName, jc.now)
		if err != nil {
			c.persisted(jc.key, err)
			return store.Cycle{}, false, err
		}
		// The resolution goes with this cycle's commit, before any new intent in it.
		jc.lv.reconciled = done
	}
	c.withUnrecorded(&cycle, jc.lv, jc.key)
	jc.plan = c.planApply(jc.cfg, jc.decision, jc.snap, jc.current, jc.lv)
	c.recordDecision(&cycle, jc)
	return cycle, wasReconciled, nil
}

// recordDecision adds the decision to the cycle's record: its events, a history entry when
// it scaled (recommended only, when it is not applied fresh) and the intent to apply it.
func (c *Controller) recordDecision(cycle *store.Cycle, jc *jobCycle) {
	d, now := jc.decision, jc.now
	for _, e := range d.Events {
		if e.JobID == "" {
			e.JobID = jc.job.ID
		}
		// Events are stamped with the controller's clock, like everything it records
		// (policies run on the cluster's clock, which may differ).
		e.Time = now
		cycle.Events = append(cycle.Events, store.Event{Event: e, Cluster: jc.cl.Name})
	}
	if d.Scaled {
		action := store.ActionDecided
		if !jc.plan.fresh {
			action = store.ActionRecommended
		}
		cycle.History = append(cycle.History, store.HistoryEntry{
			Time: now, Policy: jc.runner.policyName, From: jc.current, To: d.Parallelism,
			Reason: d.Reason, DryRun: !jc.plan.fresh, Action: action,
		})
	}
	if jc.plan.fresh {
		// Write-ahead: the intent is durable before Flink hears of it, with what it was
		// decided on, so that a restart can tell whether it is still current.
		cycle.Intent = &store.Intent{Time: now, SnapshotTime: jc.snap.Time, From: jc.current, Parallelism: d.Parallelism,
			Config: d.ConfigOverrides, Reason: d.Reason}
	}
}

// commit makes the cycle's record durable. Nothing is applied that the store could not
// record: on failure the resolution is undone too, since it was not stored either.
func (c *Controller) commit(jc *jobCycle, cycle store.Cycle, wasReconciled bool) error {
	intentID, err := c.store.CommitCycle(cycle)
	c.persisted(jc.key, err)
	if err != nil {
		jc.lv.reconciled = wasReconciled
		return fmt.Errorf("persist cycle (no change applied while the store cannot record it): %w", err)
	}
	jc.lv.unrecorded = nil
	if jc.plan.fresh {
		jc.lv.target, jc.lv.intentID = maps.Clone(jc.decision.Parallelism), intentID
	}
	return nil
}

// applyConfig hands the decision's configuration changes to the cluster's realizer and
// reports whether they were sent. Configuration goes before the rescale so that, where the
// platform restarts TaskManagers for it, the rescale lands in the same restart.
func (c *Controller) applyConfig(jc *jobCycle) (bool, error) {
	cl, d := jc.cl, jc.decision
	if !c.shouldApplyConfig(jc.cfg, d) || cl.Config == nil {
		return false, nil
	}
	timeout := c.opts.RealizeTimeout
	if t, ok := cl.Config.(interface{ RealizeTimeout() time.Duration }); ok {
		// A realizer that restarts processes one at a time says how long it needs.
		timeout = max(timeout, t.RealizeTimeout())
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(jc.ctx), timeout)
	sent, err := cl.Config.RealizeConfig(rctx, jc.snap, d.ConfigOverrides, d.ConfigRemovals)
	rcancel()
	if err != nil {
		c.recordError(jc.key, jc.job, jc.now, fmt.Errorf("applying configuration %v: %w", d.ConfigOverrides, err))
		return false, err
	}
	if !sent {
		return false, nil
	}
	return true, c.recordEvent(jc.key, jc.job, jc.now, 0, autoscaler.Event{Type: autoscaler.EventNormal, Reason: "ConfigurationApplied",
		Message: "TaskManager configuration applied: " + formatConfig(d.ConfigOverrides, d.ConfigRemovals)})
}

// applyParallelism hands the planned parallelism to the cluster's realizer and reports
// whether it was sent. It realizes with a context detached from shutdown: a rescale in flight
// is completed or fails on its own timeout, it is not abandoned half-way by SIGTERM.
func (c *Controller) applyParallelism(jc *jobCycle) (bool, error) {
	cl, lv, key := jc.cl, jc.lv, jc.key
	if !jc.plan.apply || cl.Realizer == nil {
		return false, nil
	}
	wait := slotWait(jc)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(jc.ctx), c.opts.RealizeTimeout)
	var (
		sent bool
		err  error
	)
	if h, ok := cl.Realizer.(SlotHolder); ok && wait > 0 {
		sent, err = h.RealizeWhole(rctx, jc.snap, lv.target, wait)
	} else {
		sent, err = cl.Realizer.Realize(rctx, jc.snap, lv.target)
	}
	rcancel()
	if err != nil {
		c.recordError(key, jc.job, jc.now, fmt.Errorf("applying parallelism %v: %w", lv.target, err))
		return false, err
	}
	if !sent {
		return false, nil
	}
	// The applied record is durable before anyone is told; if it cannot be written, it goes
	// with the job's next commit, and the job is unhealthy (applies nothing) until then.
	rec := c.appliedRecord(key, jc.job, lv, jc.runner.policyName, jc.decision.Reason, jc.current, lv.target, jc.now)
	_, err = c.store.CommitCycle(rec)
	c.persisted(key, err)
	if err != nil {
		lv.unrecorded = &rec
		err = fmt.Errorf("recording the rescale Flink accepted (retried with the next cycle): %w", err)
	}
	jc.runner.policy.Applied(jc.snap.Time, lv.target) // the cluster's clock, as the snapshots
	c.opts.Metrics.realized(key)
	return true, err
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
