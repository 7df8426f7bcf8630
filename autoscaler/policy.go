package autoscaler

import "time"

// Event types, as Kubernetes events.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event is something a policy reports: a scaling report, a recommendation, a warning.
type Event struct {
	Time    time.Time `json:"time"`
	JobID   string    `json:"jobId"`
	Type    string    `json:"type"`   // Normal or Warning
	Reason  string    `json:"reason"` // ScalingReport, IneffectiveScaling, MemoryPressure, ...
	Message string    `json:"message"`
	// Key deduplicates repeated events (empty: never deduplicated).
	Key string `json:"key,omitempty"`
}

// Decision is what one policy cycle concluded for a job.
type Decision struct {
	// Parallelism is the desired parallelism of every vertex the policy manages; nil means
	// "no opinion yet" (not enough metrics). The realizer applies it idempotently every cycle.
	Parallelism map[string]int `json:"parallelism,omitempty"`
	// Scaled is true when this cycle made a new scaling decision (the operator's "scalings"
	// counter); false for "balanced" or "not ready" cycles.
	Scaled bool `json:"scaled"`
	// Ready is false while the policy lacks the metrics to decide (stabilizing, window not
	// full, missing or stale metrics).
	Ready bool `json:"ready"`
	// Reason explains the outcome in one line for logs and events.
	Reason string `json:"reason,omitempty"`
	// ConfigOverrides are configuration changes (memory tuning) to apply with the rescale.
	ConfigOverrides map[string]string `json:"configOverrides,omitempty"`
	ConfigRemovals  []string          `json:"configRemovals,omitempty"`
	// Evaluated holds the evaluated per-vertex metrics, for /metrics and reports:
	// vertex id -> metric name (LOAD, TRUE_PROCESSING_RATE, ...) -> value.
	Evaluated map[string]map[string]float64 `json:"evaluated,omitempty"`
	Events    []Event                       `json:"events,omitempty"`
	// Rollback marks a parallelism that rescues a failing job (it undoes a rescale the job
	// keeps failing at, or spreads heap state): the controller applies it although the job
	// is not RUNNING.
	Rollback bool `json:"rollback,omitempty"`
}

// SlotWaiter is a policy whose scale-ups are applied in one restart: the realizer has Flink
// keep the job running as it is until every slot of the new layout is there, for at most
// SlotWait (0: not at all), instead of restarting at a partial layout and again later.
type SlotWaiter interface {
	SlotWait() time.Duration
}

// Policy decides parallelism for ONE job. It is a deterministic core: all time comes from
// the snapshots, it performs no I/O, and its state round-trips through MarshalState so a
// restarted controller continues where it stopped.
type Policy interface {
	// Name is the policy's name ("operator", "flinktune").
	Name() string
	// Cycle ingests one snapshot and returns the decision for it.
	Cycle(snap *Snapshot) (Decision, error)
	// Applied tells the policy that a decision was realized at time t (a rescale was
	// requested through the REST API).
	Applied(t time.Time, parallelism map[string]int)
	// MarshalState returns the policy's persistent state as JSON.
	MarshalState() ([]byte, error)
	// RestoreState loads state written by MarshalState.
	RestoreState(data []byte) error
}
