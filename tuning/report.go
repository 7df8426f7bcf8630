package tuning

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flinktune/flinktune/autoscaler"
)

// Event reasons.
const (
	ReasonRecommendation = "MemoryRecommendation"
	ReasonMemoryPressure = "MemoryPressure"
)

// Summary is one paragraph: the decision, the pools that change and the overrides.
func (r *Recommendation) Summary() string {
	var b strings.Builder
	mode := "dry run (job.autoscaler.memory.tuning.enabled: false)"
	if r.Apply {
		mode = "automatic"
	}
	verdict := "not worth a restart"
	if r.Worthwhile {
		verdict = "worth applying"
	}
	fmt.Fprintf(&b, "Memory tuning (%s), %s: %s.", mode, verdict, r.Reason)
	var changes []string
	for _, p := range r.Pools {
		if p.Proposed != p.Current {
			changes = append(changes, fmt.Sprintf("%s %s → %s", p.Pool, hb(p.Current), hb(p.Proposed)))
		}
	}
	if len(changes) > 0 {
		b.WriteString(" " + strings.Join(changes, ", ") + ".")
	}
	// A pool kept for a reason (a peak still growing, a new layout) says so: the event is
	// all a user (or a failed real-Flink test) sees of why it did not shrink.
	for _, p := range r.Pools {
		if p.Proposed == p.Current && strings.HasPrefix(p.Basis, "kept (") {
			fmt.Fprintf(&b, " %s %s %s.", p.Pool, hb(p.Current), p.Basis)
		}
	}
	if r.SlotsPerTaskManager != r.Slots.Current && r.SlotsPerTaskManager > 0 {
		fmt.Fprintf(&b, " Consider %d slots per TaskManager (now %d).", r.SlotsPerTaskManager, r.Slots.Current)
	}
	if len(r.Overrides) > 0 {
		b.WriteString("\n")
		for _, k := range slices.Sorted(maps.Keys(r.Overrides)) {
			b.WriteString(k + ": " + r.Overrides[k] + "\n")
		}
		if len(r.Removals) > 0 {
			b.WriteString("Remove: " + strings.Join(r.Removals, ", ") + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// Events returns the recommendation as events: the recommendation itself (deduplicated by
// its overrides), and a warning per out-of-memory failure or GC pressure the tuner reacted to.
func (r *Recommendation) Events() []autoscaler.Event {
	key := "memory:" + strings.Join(overrideList(r.Overrides), ",")
	out := []autoscaler.Event{{Time: r.Time, JobID: r.JobID, Type: autoscaler.EventNormal, Reason: ReasonRecommendation,
		Message: r.Summary(), Key: key}}
	for _, e := range r.Observed.Events {
		msg := fmt.Sprintf("%s on %s: %s; %s held at %s", e.Kind, e.Time.UTC().Format("2006-01-02T15:04:05Z"), e.Detail, e.Pool, hb(e.Bump))
		if e.Rollback {
			msg += " (rolled back the change that shrank it)"
		}
		out = append(out, autoscaler.Event{Time: r.Time, JobID: r.JobID, Type: autoscaler.EventWarning, Reason: ReasonMemoryPressure,
			Message: msg, Key: "memory-event:" + e.Kind + ":" + e.Time.UTC().Format("20060102T150405")})
	}
	return out
}

func overrideList(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// MarshalJSON adds the limit, current and proposed process sizes to the recommendation's
// JSON (the memory.TaskManager values carry derivation traces and are left out).
func (r *Recommendation) MarshalJSON() ([]byte, error) {
	type plain Recommendation
	return json.Marshal(struct {
		*plain
		LimitProcess    int64 `json:"limitProcessBytes"`
		CurrentProcess  int64 `json:"currentProcessBytes"`
		ProposedProcess int64 `json:"proposedProcessBytes"`
	}{(*plain)(r), PoolsOf(r.Original).Process, PoolsOf(r.Current).Process, PoolsOf(r.Proposed).Process})
}
