package controller

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

// A rescale goes through these steps, each durable before the next:
//
//  1. decided: the cycle that made the decision commits it with an intent (target, the
//     parallelism it was decided from, the snapshot time) before Flink hears of it;
//  2. sent: PUT /jobs/<id>/resource-requirements, accepted by Flink;
//  3. applied: one transaction resolves the intent and writes the history entry and the
//     Scaling event, before the policy and the metrics are told.
//
// A controller killed between 1 and 2 restarts with a pending intent that Flink does not
// have: it is stale (the load may have changed since) and is dropped with an event; only
// a new decision on fresh metrics leads to a rescale. Killed between 2 and 3, it finds the
// target in Flink's requirements and records the rescale then ("reconciled"). Either way
// the policy's own idea of its target, restored with its state, is never re-sent on its
// own: only targets decided in this process (or confirmed in Flink) are re-asserted.

// jobLive is what the controller knows of a job's rescales in this process. A job's cycles
// never overlap (claim), so it is only touched by the job's own cycle.
type jobLive struct {
	reconciled bool           // the stored intent was checked against Flink since start
	target     map[string]int // the live target: decided in this process or found in Flink
	intentID   uint64
	// unrecorded is an applied record whose commit failed (Flink has the change, the store
	// does not yet): it goes with the job's next commit.
	unrecorded *store.Cycle
}

func (c *Controller) liveOf(key store.JobKey) *jobLive {
	c.mu.Lock()
	defer c.mu.Unlock()
	lv := c.live[key]
	if lv == nil {
		lv = &jobLive{}
		c.live[key] = lv
	}
	return lv
}

// toldParallelism is what Flink has been told to run: the upper bounds of the resource
// requirements where known, else the running parallelism.
func toldParallelism(snap *autoscaler.Snapshot) map[string]int {
	out := currentParallelism(snap)
	for id, b := range snap.Requirements {
		if _, ok := out[id]; ok && b.Upper > 0 {
			out[id] = b.Upper
		}
	}
	return out
}

// reaches reports whether have runs every vertex of target at its target parallelism.
func reaches(have, target map[string]int) bool {
	seen := 0
	for v, p := range target {
		if h, ok := have[v]; ok {
			if h != p {
				return false
			}
			seen++
		}
	}
	return seen > 0
}

// reconcile resolves the intent a previous process left, against what Flink has now, and
// adds the outcome to the job's first commit of this process. It waits (done false) while
// the job is not running: a job restarting for the rescale it was killed in the middle of
// is not yet what Flink will run.
func (c *Controller) reconcile(cycle *store.Cycle, lv *jobLive, key store.JobKey, snap *autoscaler.Snapshot, policy string, now time.Time) (done bool, err error) {
	st, _, err := c.store.Job(key)
	if err != nil {
		return false, fmt.Errorf("reading the stored intent: %w", err)
	}
	in := st.Intent
	if in == nil || in.Dropped {
		return true, nil
	}
	if snap.Status != "RUNNING" && in.Pending() {
		return false, nil
	}
	told := toldParallelism(snap)
	inFlink := reaches(told, in.Parallelism)
	switch {
	case in.Applied:
		if inFlink {
			lv.target, lv.intentID = maps.Clone(in.Parallelism), in.ID
		}
	case inFlink && in.SnapshotTime.IsZero():
		// Written by an older flinktune, which left intents pending while a rescale it had
		// recorded was in flight: close it without a second record.
		cycle.Resolve = &store.Resolution{IntentID: in.ID, Applied: true, At: now, Note: "found in Flink after a restart"}
		lv.target, lv.intentID = maps.Clone(in.Parallelism), in.ID
	case inFlink:
		// Flink accepted the PUT; the process died before recording it.
		note := "Flink had accepted it before flinktune stopped; recorded after the restart"
		cycle.Resolve = &store.Resolution{IntentID: in.ID, Applied: true, At: now, Note: note}
		cycle.History = append(cycle.History, store.HistoryEntry{Time: now, Policy: policy, From: in.From, To: in.Parallelism,
			Reason: in.Reason, Action: store.ActionReconciled})
		cycle.Events = append(cycle.Events, c.ownEvent(key, now, autoscaler.EventNormal, "Scaling",
			"In-place scaling triggered: "+formatParallelism(in.From, in.Parallelism)+" ("+note+")"))
		lv.target, lv.intentID = maps.Clone(in.Parallelism), in.ID
	default:
		// Never reached Flink. The metrics it was decided on are old by now.
		note := fmt.Sprintf("decided at %s on metrics of %s, not sent before flinktune stopped; a rescale now needs a new decision on fresh metrics",
			in.Time.UTC().Format(time.RFC3339), in.SnapshotTime.UTC().Format(time.RFC3339))
		cycle.Resolve = &store.Resolution{IntentID: in.ID, At: now, Note: note}
		cycle.History = append(cycle.History, store.HistoryEntry{Time: now, Policy: policy, From: currentParallelism(snap),
			To: in.Parallelism, Reason: in.Reason, Action: store.ActionDropped, DryRun: true})
		cycle.Events = append(cycle.Events, c.ownEvent(key, now, autoscaler.EventWarning, "StaleIntentDropped",
			"Rescale "+formatParallelism(in.From, in.Parallelism)+" dropped: "+note))
	}
	return true, nil
}

// applyPlan decides what this cycle may apply.
type applyPlan struct {
	fresh bool // a new decision of this cycle: recorded as a new intent
	apply bool // send the target now
}

// planApply: a new decision is applied (and becomes the live target); otherwise only the
// live target is re-asserted (idempotently: nothing is sent if Flink has it). Whatever
// else the policy's restored state asks for waits for a new decision.
func (c *Controller) planApply(cfg *flinkconf.Config, d autoscaler.Decision, snap *autoscaler.Snapshot, current map[string]int, lv *jobLive) applyPlan {
	if !lv.reconciled || !c.shouldApply(cfg, d, current) {
		// Until the previous process's intent is resolved, no new one may replace it.
		return applyPlan{}
	}
	// A job that is restarting is not rescaled: its requirements are applied once it runs.
	// A rollback is the exception: the job fails over because of the last rescale.
	running := snap.Status == "RUNNING" || d.Rollback
	if d.Scaled {
		return applyPlan{fresh: true, apply: running}
	}
	if lv.target != nil && maps.Equal(d.Parallelism, lv.target) {
		return applyPlan{apply: running}
	}
	if lv.target == nil {
		c.log.Debug("policy target not applied: no decision on fresh metrics backs it", "cluster", snap.Cluster,
			"job", snap.JobID, "target", d.Parallelism)
	}
	return applyPlan{}
}

// slotWait is how long the job's policy lets a scale-up wait for every slot of its target
// (autoscaler.SlotWaiter), 0 when it does not or could not be built.
func slotWait(jc *jobCycle) time.Duration {
	if jc.runner == nil {
		return 0
	}
	if w, ok := jc.runner.policy.(autoscaler.SlotWaiter); ok {
		return max(w.SlotWait(), 0)
	}
	return 0
}

// relaxHeld ends a scale-up's hold on its slots when it is done or must end (SlotHolder). A
// hold whose slot wait ran out is told in an event (the job rescales with the slots it has);
// a failure is recorded, and the next cycle tries again.
func (c *Controller) relaxHeld(jc *jobCycle) {
	h, ok := jc.cl.Realizer.(SlotHolder)
	if !ok || c.opts.DryRun {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(jc.ctx), c.opts.RealizeTimeout)
	rel, err := h.Relax(rctx, jc.snap, slotWait(jc))
	cancel()
	if err != nil {
		c.recordError(jc.key, jc.job, jc.now, fmt.Errorf("lowering the bounds of a scale-up held for its slots: %w", err))
		return
	}
	if rel.Early {
		if err := c.recordEvent(jc.key, jc.job, jc.now, 0, autoscaler.Event{Type: autoscaler.EventNormal,
			Reason: "ScalingHoldEnded", Message: "Scale-up held for its TaskManagers: " + rel.Why}); err != nil {
			c.log.Warn("recording an event", "job", jc.job.ID, "err", err)
		}
	} else if rel.Why != "" {
		c.log.Debug("scale-up hold ended", "cluster", jc.cl.Name, "job", jc.job.ID, "why", rel.Why)
	}
}

// appliedRecord is the one transaction that records a rescale Flink accepted.
func (c *Controller) appliedRecord(key store.JobKey, job JobRef, lv *jobLive, policy, reason string, from, to map[string]int, now time.Time) store.Cycle {
	return store.Cycle{
		Info:    store.JobInfo{Key: key, Name: job.Name, FirstSeen: now, LastSeen: now},
		Resolve: &store.Resolution{IntentID: lv.intentID, Applied: true, At: now},
		History: []store.HistoryEntry{{Time: now, Policy: policy, From: from, To: to, Reason: reason, Action: store.ActionApplied}},
		Events: []store.Event{c.ownEvent(key, now, autoscaler.EventNormal, "Scaling",
			"In-place scaling triggered: "+formatParallelism(from, to))},
	}
}

// withUnrecorded adds an applied record whose own commit failed to this cycle's commit,
// unless it did reach the store after all (a commit that outlived its deadline).
func (c *Controller) withUnrecorded(cycle *store.Cycle, lv *jobLive, key store.JobKey) {
	u := lv.unrecorded
	if u == nil {
		return
	}
	if st, _, err := c.store.Job(key); err == nil && st.Intent != nil && st.Intent.ID == u.Resolve.IntentID &&
		st.Intent.Applied && st.Intent.AppliedAt.Equal(u.Resolve.At) {
		lv.unrecorded = nil
		return
	}
	if cycle.Resolve == nil {
		cycle.Resolve = u.Resolve
	}
	cycle.History = append(u.History, cycle.History...)
	cycle.Events = append(u.Events, cycle.Events...)
}

func (c *Controller) ownEvent(key store.JobKey, now time.Time, typ, reason, msg string) store.Event {
	return store.Event{Cluster: key.Cluster, Event: autoscaler.Event{Time: now, JobID: key.JobID, Type: typ, Reason: reason, Message: msg}}
}

// persisted notes the outcome of a job's commit: while a job's commits fail, nothing is
// applied to it and the controller reports unhealthy.
func (c *Controller) persisted(key store.JobKey, err error) {
	c.mu.Lock()
	if err != nil {
		c.persistFailing[key] = persistFailure{err: err, at: c.opts.Now()}
	} else {
		delete(c.persistFailing, key)
	}
	n := len(c.persistFailing)
	c.mu.Unlock()
	if err != nil {
		c.opts.Metrics.jobError(key)
		c.opts.Metrics.storeError()
	}
	c.opts.Metrics.unrecordable(n)
}

// Health reports whether the controller can do its job: nil, or why not. It fails while
// the store is damaged, not responding or failing writes, and while any job's cycles
// cannot be recorded (no change is applied to such jobs).
func (c *Controller) Health() error {
	if err := c.store.Health(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A job that stopped cycling (it ended) no longer counts; one still failing renews
	// its entry every interval.
	stale := c.opts.Now().Add(-3*c.opts.Interval - c.opts.CycleTimeout)
	for key, f := range c.persistFailing {
		if f.at.Before(stale) {
			delete(c.persistFailing, key)
		}
	}
	for key, f := range c.persistFailing {
		return fmt.Errorf("%d job(s) cannot record their cycles, no change is applied to them (%s: %v)", len(c.persistFailing), key, f.err)
	}
	return nil
}

type persistFailure struct {
	err error
	at  time.Time // wall clock
}

// maybePrune applies the retention policy at most once per RetentionEvery, in the
// background (it never delays a job's cycle).
func (c *Controller) maybePrune(now time.Time) {
	if !c.opts.Retention.Enabled() {
		return
	}
	c.mu.Lock()
	due := !c.pruning && (c.lastPrune.IsZero() || now.Sub(c.lastPrune) >= c.opts.RetentionEvery)
	if due {
		c.lastPrune, c.pruning = now, true
	}
	c.mu.Unlock()
	if !due {
		return
	}
	c.wg.Add(1)
	go func() {
		defer func() {
			c.mu.Lock()
			c.pruning = false
			c.mu.Unlock()
			c.wg.Done()
		}()
		n, err := c.store.Retain(now, c.opts.Retention)
		if err != nil {
			c.log.Warn("pruning events and history", "err", err)
			return
		}
		if n > 0 {
			c.log.Info("pruned events and history", "records", n)
		}
	}()
}
