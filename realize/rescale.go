// Package realize applies decisions to Flink: parallelism in place through the adaptive
// scheduler's resource requirements, and (for memory tuning) configuration changes rendered
// for the platform that deploys the TaskManagers.
package realize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

// RequirementsAPI is the part of Flink's REST API the in-place realizer uses.
type RequirementsAPI interface {
	ResourceRequirements(ctx context.Context, jobID string) (flinkrest.JobResourceRequirements, error)
	SetResourceRequirements(ctx context.Context, jobID string, req flinkrest.JobResourceRequirements) error
}

// LowerBounds selects how the lower parallelism bound is set.
type LowerBounds int

const (
	// LowerBoundOne sets lowerBound = 1 like the standalone autoscaler: the job keeps running
	// with fewer slots if TaskManagers are lost.
	LowerBoundOne LowerBounds = iota
	// LowerBoundKeep sets lowerBound = min(p, previous lower bound) like the Kubernetes
	// operator, preserving a lower bound the user raised.
	LowerBoundKeep
)

// ErrNotAdaptive is returned for jobs that do not run on the adaptive scheduler.
var ErrNotAdaptive = errors.New("in-place rescaling needs the adaptive scheduler (jobmanager.scheduler: adaptive)")

// Rescale applies parallelism through PUT /jobs/{id}/resource-requirements.
type Rescale struct {
	API    RequirementsAPI
	Lower  LowerBounds
	Verify bool // re-read the requirements after the PUT and fail if Flink did not take them

	mu   sync.Mutex
	held map[string]*heldScaleUp // by job id: scale-ups RealizeWhole holds for their slots
}

// Realize implements controller.Realizer.
func (r *Rescale) Realize(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int) (bool, error) {
	return r.realize(ctx, snap, target, 0)
}

func (r *Rescale) realize(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int, wait time.Duration) (bool, error) {
	if s := snap.Config["jobmanager.scheduler"]; !strings.EqualFold(s, "adaptive") {
		return false, ErrNotAdaptive
	}
	if v, err := flinkrest.ParseVersion(snap.FlinkVersion); err == nil {
		if err := v.CheckSupported(); err != nil {
			return false, err
		}
	}
	// The controller sends only a rollback to a job that is not running; the adaptive
	// scheduler takes new requirements in any state but a terminal one.
	if terminal(snap.Status) {
		return false, fmt.Errorf("job is %s; rescaling waits until it runs", snap.Status)
	}
	current, err := r.current(ctx, snap)
	if err != nil {
		return false, err
	}
	next, changed := Requirements(snap, current, target, r.Lower)
	if wait > 0 && r.Lower == LowerBoundOne && r.hold(snap, target, wait, newUpper(next, current)) {
		changed = holdWhole(next, current)
	}
	if !changed {
		return false, nil
	}
	return r.put(ctx, snap.JobID, next)
}

// current is the job's requirements as the snapshot read them, or from Flink when it did not.
func (r *Rescale) current(ctx context.Context, snap *autoscaler.Snapshot) (flinkrest.JobResourceRequirements, error) {
	if len(snap.Requirements) == 0 {
		got, err := r.API.ResourceRequirements(ctx, snap.JobID)
		if err != nil {
			return nil, fmt.Errorf("reading resource requirements: %w", err)
		}
		return got, nil
	}
	current := flinkrest.JobResourceRequirements{}
	for id, b := range snap.Requirements {
		current[id] = flinkrest.JobVertexResourceRequirements{Parallelism: flinkrest.ParallelismBounds{LowerBound: b.Lower, UpperBound: b.Upper}}
	}
	return current, nil
}

// put sends the requirements and, with Verify, checks that Flink took them. It reports
// whether Flink accepted the PUT: a failed verification still means a change was sent.
func (r *Rescale) put(ctx context.Context, jobID string, next flinkrest.JobResourceRequirements) (bool, error) {
	if err := r.API.SetResourceRequirements(ctx, jobID, next); err != nil {
		return false, fmt.Errorf("PUT resource requirements: %w", err)
	}
	if r.Verify {
		got, err := r.API.ResourceRequirements(ctx, jobID)
		if err != nil {
			return true, fmt.Errorf("verifying resource requirements: %w", err)
		}
		for id, want := range next {
			if got[id].Parallelism != want.Parallelism {
				return true, fmt.Errorf("vertex %s: Flink reports bounds %+v after PUT %+v", id, got[id].Parallelism, want.Parallelism)
			}
		}
	}
	return true, nil
}

// Requirements computes the full requirements body for target (Flink requires every vertex).
// Vertices without a target keep their current bounds; a vertex missing from current (an
// empty GET, FLINK-32341) gets [1, current parallelism].
func Requirements(snap *autoscaler.Snapshot, current flinkrest.JobResourceRequirements, target map[string]int, lower LowerBounds) (flinkrest.JobResourceRequirements, bool) {
	next := flinkrest.JobResourceRequirements{}
	changed := false
	for _, v := range snap.Vertices {
		cur, ok := current[v.ID]
		if !ok {
			cur.Parallelism = flinkrest.ParallelismBounds{LowerBound: 1, UpperBound: v.Parallelism}
			changed = true
		}
		b := cur.Parallelism
		if p, ok := target[v.ID]; ok {
			nb := flinkrest.ParallelismBounds{LowerBound: 1, UpperBound: p}
			if lower == LowerBoundKeep && b.LowerBound > 0 {
				nb.LowerBound = min(p, b.LowerBound)
			}
			if nb != b {
				changed = true
			}
			b = nb
		}
		next[v.ID] = flinkrest.JobVertexResourceRequirements{Parallelism: b}
	}
	return next, changed
}

func terminal(status string) bool {
	switch status {
	case "FAILED", "CANCELED", "CANCELLING", "FINISHED", "SUSPENDED", "FAILING":
		return true
	}
	return false
}
