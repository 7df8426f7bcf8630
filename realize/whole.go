package realize

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

// A scale-up in one restart. With lower bounds of 1, Flink's adaptive scheduler answers new
// requirements at once with the slots it has (Executing.onNewResourceRequirements, 1.18 to
// 2.x): where the new TaskManagers are still starting (an active resource manager, as on
// Kubernetes) the job restarts at a partial layout, and again when the TaskManagers arrive,
// paying the downtime and the replay since the last checkpoint twice (on the simulator's
// corpus: gen-100 26 -> 39 -> 90 subtasks 48 s apart; gen-187 50 -> 67 -> 81). A lower bound
// equal to the upper one for every vertex makes the partial layout "not possible"
// (SlotSharingSlotAllocator.determineParallelism), so the job keeps running as it is until
// every slot is there and then restarts once.
//
// Raised lower bounds are dangerous if they stay: a job that fails over (a lost TaskManager)
// waits for all of them, and fails for good after jobmanager.adaptive-scheduler.
// resource-wait-timeout. So they are lowered back to 1 (relaxed) as soon as the job is no
// longer running the old layout, whether it restarted for the rescale or for a failure, or
// when it has waited the policy's slot wait (a standalone cluster short of slots then runs
// what it can, as without the hold).

// heldScaleUp is a scale-up whose lower bounds are raised to its target. It is forgotten once
// they are lowered: the same target is not held again, Flink having it already (see hold).
type heldScaleUp struct {
	target map[string]int
	since  time.Time // the cluster's clock, as the snapshots
	wait   time.Duration
}

// RealizeWhole is Realize for a scale-up that must take one restart: the job waits up to wait
// for every slot of the target before it rescales (see above). A target that raises no vertex
// is realized as by Realize, and so is any target on Flink 1.18 (see
// flinkrest.Version.HoldsLowerBounds). Only with LowerBoundOne: the operator-style
// LowerBoundKeep, which keeps the lower bounds a user raised, neither holds nor relaxes.
func (r *Rescale) RealizeWhole(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int, wait time.Duration) (bool, error) {
	return r.realize(ctx, snap, target, wait)
}

// hold records target as held for the job and reports whether its lower bounds are to be
// raised: a new target (fresh: it changes an upper bound) that raises some vertex, or the one
// held now. A target Flink already has is not held: a job below it is
// recovering from a failure, as Flink recovers without flinktune (holding it would turn that
// recovery into a rescale of ours).
func (r *Rescale) hold(snap *autoscaler.Snapshot, target map[string]int, wait time.Duration, fresh bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.held[snap.JobID]; h != nil && maps.Equal(h.target, target) {
		return true
	}
	v, err := flinkrest.ParseVersion(snap.FlinkVersion)
	if !fresh || !raises(snap, target) || snap.Status != "RUNNING" || err != nil || !v.HoldsLowerBounds() {
		// A rollback of a failing job must not wait: it is already down. An unknown version
		// is not held either: holding on 1.18 would only add a PUT.
		delete(r.held, snap.JobID)
		return false
	}
	if r.held == nil {
		r.held = map[string]*heldScaleUp{}
	}
	r.held[snap.JobID] = &heldScaleUp{target: maps.Clone(target), since: snap.Time, wait: wait}
	return true
}

// raises reports whether target raises a vertex above its running parallelism.
func raises(snap *autoscaler.Snapshot, target map[string]int) bool {
	for _, v := range snap.Vertices {
		if p, ok := target[v.ID]; ok && p > v.Parallelism {
			return true
		}
	}
	return false
}

// newUpper reports whether next changes some vertex's upper bound from current.
func newUpper(next, current flinkrest.JobResourceRequirements) bool {
	for id, b := range next {
		if c, ok := current[id]; !ok || c.Parallelism.UpperBound != b.Parallelism.UpperBound {
			return true
		}
	}
	return false
}

// holdWhole raises every vertex's lower bound to its upper one and reports whether that
// differs from current.
func holdWhole(next, current flinkrest.JobResourceRequirements) bool {
	changed := false
	for id, b := range next {
		b.Parallelism.LowerBound = b.Parallelism.UpperBound
		next[id] = b
		if current[id] != b {
			changed = true
		}
	}
	return changed
}

// Relax lowers a held scale-up's bounds back to 1 once the job no longer runs its old layout
// (it restarted: for the rescale, or for a failure that must not wait for every slot), runs
// the target, or has waited the slot wait. It returns why it relaxed (an empty Why when it
// did not) and is a no-op for a job with nothing held; the controller calls it every cycle.
//
// With wait > 0 (the job's policy holds scale-ups), a hold this process did not make is
// adopted: every vertex's lower bound at its upper one, some above 1, is what a flinktune
// stopped between its PUT and the end of the hold leaves behind, and it would outlive the
// rescale. A user's own such bounds are adopted as well: flinktune, as the standalone
// autoscaler, sets lower bounds to 1 on every rescale anyway (LowerBoundOne).
func (r *Rescale) Relax(ctx context.Context, snap *autoscaler.Snapshot, wait time.Duration) (Relaxed, error) {
	if wait > 0 && r.Lower == LowerBoundOne {
		r.adopt(snap, wait)
	}
	rel := r.relaxReason(snap)
	if rel.Why == "" {
		return Relaxed{}, nil
	}
	current, err := r.current(ctx, snap)
	if err != nil {
		return Relaxed{}, err
	}
	next, changed := flinkrest.JobResourceRequirements{}, false
	for id, b := range current {
		if b.Parallelism.LowerBound > 1 {
			b.Parallelism.LowerBound, changed = 1, true
		}
		next[id] = b
	}
	if changed {
		if _, err := r.put(ctx, snap.JobID, next); err != nil {
			return Relaxed{}, err
		}
	}
	r.mu.Lock()
	delete(r.held, snap.JobID)
	r.mu.Unlock()
	return rel, nil
}

// Relaxed says why a hold ended; Early when it ended before every slot was there (the slot
// wait ran out: the job rescales with the slots it has), which users are told of.
type Relaxed struct {
	Why   string
	Early bool
}

// adopt records a hold found in the job's requirements that this process does not know of.
func (r *Rescale) adopt(snap *autoscaler.Snapshot, wait time.Duration) {
	target, raised := map[string]int{}, false
	for id, b := range snap.Requirements {
		if b.Lower != b.Upper {
			return
		}
		target[id], raised = b.Upper, raised || b.Lower > 1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !raised || r.held[snap.JobID] != nil {
		return
	}
	if r.held == nil {
		r.held = map[string]*heldScaleUp{}
	}
	r.held[snap.JobID] = &heldScaleUp{target: target, since: snap.Time, wait: wait}
}

// relaxReason says why a held scale-up's bounds are to be lowered now (an empty Why: not now).
func (r *Rescale) relaxReason(snap *autoscaler.Snapshot) Relaxed {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.held[snap.JobID]
	switch {
	case h == nil:
		return Relaxed{}
	case snap.Status != "RUNNING":
		return Relaxed{Why: "the job is " + snap.Status}
	case !raises(snap, h.target):
		return Relaxed{Why: "the job runs the target"}
	case snap.Time.Sub(h.since) >= h.wait:
		return Relaxed{Why: fmt.Sprintf("not every slot arrived within %s; the job rescales with the slots it has", h.wait), Early: true}
	}
	return Relaxed{}
}
