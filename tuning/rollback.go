package tuning

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// rollback remembers the last parallelism that ran healthy and the last rescale, so that a
// rescale after which the job keeps failing is undone and its layout kept out for a while
// (FLINK-37411, FLINK-33801: a new parallelism that needs more network buffers than the
// TaskManagers have fails over forever).
type rollback struct {
	// Healthy is the last layout that ran for healthy-after without a failure.
	Healthy map[string]int `json:"healthy,omitempty"`
	// Rescale is the last applied rescale (none after a rollback).
	Rescale *rescaleRecord `json:"rescale,omitempty"`
	// Failures since the rescale (or since the last memory change after it), and the kinds.
	Failures    int       `json:"failures"`
	MemoryKinds []string  `json:"memoryKinds,omitempty"`
	LastFailure time.Time `json:"lastFailure"`
	// Blocked keeps the broken layout out until Until.
	Blocked *blockedLayout `json:"blocked,omitempty"`
	// rollingBack: the next Applied is the rollback, not a rescale.
	RollingBack bool `json:"rollingBack,omitempty"`
}

type rescaleRecord struct {
	At   time.Time      `json:"at"`
	From map[string]int `json:"from"`
	To   map[string]int `json:"to"`
}

type blockedLayout struct {
	From   map[string]int `json:"from"` // healthy
	To     map[string]int `json:"to"`   // broken
	Until  time.Time      `json:"until"`
	Reason string         `json:"reason"`
}

// observe counts failures (from the exception history) and notices a healthy run. A
// TaskManager lost with no sign of memory trouble (failureKind with gcBound: its GC time
// before the loss) is a host, a kill or the network, not the layout: counted, it rolled back
// the scale-ups of a job on a cluster that loses TaskManagers anyway, and kept them out for
// rollback.hold.
func (r *rollback) observe(snap *autoscaler.Snapshot, o Options, gcBound func(time.Time) (float64, bool)) {
	latest := r.LastFailure
	for _, e := range snap.Exceptions {
		if !e.Time.After(r.LastFailure) {
			continue
		}
		latest = maxTime(latest, e.Time)
		if r.Rescale == nil || !e.Time.After(r.Rescale.At) {
			continue
		}
		k, _, _ := failureKind(e, gcBound)
		if k == "" && taskManagerLost(e) {
			continue
		}
		r.Failures++
		if k != "" && !slices.Contains(r.MemoryKinds, k) {
			r.MemoryKinds = append(r.MemoryKinds, k)
		}
	}
	r.LastFailure = latest
	if snap.Status == "RUNNING" && !snap.RunningSince.IsZero() && snap.Time.Sub(snap.RunningSince) >= o.HealthyAfter &&
		r.LastFailure.Before(snap.RunningSince) {
		if l := parallelismOf(snap); len(l) > 0 {
			r.Healthy = l
			if r.Rescale != nil && maps.Equal(r.Rescale.To, l) {
				r.Rescale, r.Failures, r.MemoryKinds = nil, 0, nil // the rescale worked
			}
		}
	}
}

// applied records a rescale the controller realized (or the rollback itself).
func (r *rollback) applied(t time.Time, p map[string]int) {
	if r.RollingBack {
		r.RollingBack = false
		r.Rescale, r.Failures, r.MemoryKinds = nil, 0, nil
		return
	}
	if r.Rescale != nil && maps.Equal(r.Rescale.To, p) {
		return
	}
	r.Rescale = &rescaleRecord{At: t, From: maps.Clone(r.Healthy), To: maps.Clone(p)}
	r.Failures, r.MemoryKinds = 0, nil
}

// maybeRollback rolls back the last rescale when the job failed after it and has not run
// healthy since: at the first failure of a memory class (deterministic at that layout), else
// at the second. A memory change applied after the rescale restarts the count.
func (r *rollback) maybeRollback(snap *autoscaler.Snapshot, d *autoscaler.Decision, t *Tuner) {
	rs := r.Rescale
	if rs == nil || len(rs.From) == 0 || maps.Equal(rs.From, rs.To) || !t.o.Rollback {
		return
	}
	if t.st.AppliedAt.After(rs.At) {
		// A memory remedy went out after the rescale: count failures from then on.
		rs.At = t.st.AppliedAt
		r.Failures, r.MemoryKinds = 0, nil
		return
	}
	if r.Failures < 2 && (r.Failures < 1 || len(r.MemoryKinds) == 0) {
		return
	}
	cause := "failures"
	if len(r.MemoryKinds) > 0 {
		cause = strings.Join(r.MemoryKinds, ", ")
	}
	until := snap.Time.Add(t.o.RollbackHold)
	d.Parallelism = maps.Clone(rs.From)
	d.Scaled, d.Rollback, d.Ready = true, true, true
	d.Reason = "rollback"
	r.Blocked = &blockedLayout{From: maps.Clone(rs.From), To: maps.Clone(rs.To), Until: until,
		Reason: fmt.Sprintf("failed %d× (%s) after the rescale at %s", r.Failures, cause, rs.At.UTC().Format(time.RFC3339))}
	r.RollingBack = true
	d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning, Reason: ReasonRollback,
		Message: fmt.Sprintf("the job failed %d time(s) (%s) since the rescale to %s at %s and has not run healthy since: rolled back to the last healthy parallelism %s; %s is kept out until %s",
			r.Failures, cause, layoutText(rs.To), rs.At.UTC().Format(time.RFC3339), layoutText(rs.From), layoutText(rs.To), until.UTC().Format(time.RFC3339)),
		Key: "rollback:" + rs.At.UTC().Format(time.RFC3339)})
}

// hold keeps the policy's decision away from a layout that broke the job, while the block
// lasts: a vertex asked to go as far as (or beyond) where it failed, in that direction, stays
// at the healthy parallelism. (Searching between the two costs a failure per probe, and which
// vertex of a multi-vertex rescale broke the job is unknown: the hold is strict.)
func (r *rollback) hold(snap *autoscaler.Snapshot, d *autoscaler.Decision) {
	b := r.Blocked
	if b == nil || len(d.Parallelism) == 0 {
		return
	}
	if snap.Time.After(b.Until) {
		r.Blocked = nil
		return
	}
	var held []string
	for _, id := range slices.Sorted(maps.Keys(d.Parallelism)) {
		p := d.Parallelism[id]
		from, to := b.From[id], b.To[id]
		if h := r.Healthy[id]; h > 0 && (to > from && h > from && h < to || to < from && h < from && h > to) {
			from = h // a layout between ran healthy since
		}
		if from == 0 || to == 0 || from == to {
			continue
		}
		if !(to > from && p >= to) && !(to < from && p <= to) {
			continue
		}
		d.Parallelism[id] = from
		held = append(held, fmt.Sprintf("%s %d → %d", shortID(id), p, d.Parallelism[id]))
	}
	if len(held) == 0 {
		return
	}
	slices.Sort(held)
	d.Scaled = !maps.Equal(d.Parallelism, parallelismOf(snap))
	// The policy proposes the held layout again every cycle: its report of it is kept once
	// per event interval, like the hold's own.
	for i := range d.Events {
		if d.Events[i].Key == "" {
			d.Events[i].Key = "held:" + d.Events[i].Reason + ":" + strings.Join(held, ",")
		}
	}
	d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventNormal, Reason: ReasonRollbackHold,
		Message: fmt.Sprintf("held back %s until %s: that layout %s", strings.Join(held, ", "), b.Until.UTC().Format(time.RFC3339), b.Reason),
		Key:     "rollback-hold:" + strings.Join(held, ",")})
}
