package tuning

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// Policy adds memory tuning to a scaling policy: every snapshot feeds the tuner, every cycle
// asks it for the parallelism the policy decided, and a worthwhile change (in automatic mode)
// goes into the decision's configuration overrides, so the controller hands it to the
// configuration realizer before the rescale of the same cycle. A change rides along with a
// rescale when there is one; alone it goes only when it is a safety increase, or when it saves
// at least min-saving of the process memory after min-observation (and, with stable.max-wait
// set, the job is stable: no load trend, no backlog, time to catch up with a restart; see
// stable.go).
type Policy struct {
	inner autoscaler.Policy
	tuner *Tuner
	// lastKey is the key of the last recommendation event, so each is reported once.
	lastKey string
	// native: the scaling policy tunes memory itself (the operator's tuner); this wrapper
	// only rescues a failing job (its memory remedies replace the policy's own changes while
	// a failure holds a pool) and rolls back rescales that broke the job.
	native bool
	// holdUntil: in native mode, after a rescue applied a change, the tuner keeps the
	// job's memory until then (the policy's own changes would undo the remedy).
	holdUntil time.Time
	// reported is the newest failure a rescue event was emitted for.
	reported time.Time
	// spreadFor is the failure the last heap-spreading scale-out answered.
	spreadFor time.Time
	rb        rollback
}

// WithTuner wraps a scaling policy with a memory tuner.
func WithTuner(p autoscaler.Policy, o Options) *Policy { return &Policy{inner: p, tuner: New(o)} }

// WithRescue wraps a scaling policy that tunes memory itself: flinktune diagnoses its
// failures, remedies memory failures and rolls back a rescale that broke the job.
func WithRescue(p autoscaler.Policy, o Options) *Policy {
	return &Policy{inner: p, tuner: New(o), native: true}
}

var _ autoscaler.Policy = (*Policy)(nil)

// Native reports whether the scaling policy tunes memory itself (WithRescue).
func (p *Policy) Native() bool { return p.native }

// Tuner returns the wrapped tuner.
func (p *Policy) Tuner() *Tuner { return p.tuner }

// SlotWait implements autoscaler.SlotWaiter with the scaling policy's wait (0 if it has none).
func (p *Policy) SlotWait() time.Duration {
	if w, ok := p.inner.(autoscaler.SlotWaiter); ok {
		return w.SlotWait()
	}
	return 0
}

// Name implements autoscaler.Policy: the scaling policy's name.
func (p *Policy) Name() string { return p.inner.Name() }

// Applied implements autoscaler.Policy.
func (p *Policy) Applied(t time.Time, parallelism map[string]int) {
	p.rb.applied(t, parallelism)
	p.inner.Applied(t, parallelism)
}

// Cycle implements autoscaler.Policy. A tuning failure (a configuration that does not derive)
// is reported as an event and never blocks scaling.
func (p *Policy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	p.tuner.Observe(snap)
	d, err := p.inner.Cycle(snap)
	if err != nil || snap == nil {
		return d, err
	}
	p.rb.observe(snap, p.o(), p.tuner.gcBoundBefore)
	if snap.Status != "RUNNING" {
		p.rescue(snap, &d)
		return d, nil
	}
	p.rb.hold(snap, &d)
	if p.native {
		if !p.rescuing(snap.Time) {
			p.rb.maybeRollback(snap, &d, p.tuner)
			return d, nil // the policy's own tuner decides memory
		}
		d.ConfigOverrides, d.ConfigRemovals = nil, nil
	}
	p.checkScaleDown(snap, &d)
	rec, err := p.tuner.Recommend(snap, d.Parallelism)
	if err != nil {
		d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning,
			Reason: ReasonRecommendation, Message: "memory tuning: " + err.Error(), Key: "memory-error:" + err.Error()})
		return d, nil
	}
	p.report(snap, rec, &d)
	if len(d.ConfigOverrides) == 0 || p.native {
		p.rb.maybeRollback(snap, &d, p.tuner)
	}
	return d, nil
}

func (p *Policy) o() Options { return p.tuner.o }

// rescuing: in native mode, flinktune's tuner has the job's memory (a failure holds a pool, or
// a remedy went out less than bump.hold ago).
func (p *Policy) rescuing(now time.Time) bool {
	return p.tuner.Failing(now) || now.Before(p.holdUntil)
}

// report adds the recommendation's events (each worthwhile one once) and, in automatic mode,
// its changes to the decision.
func (p *Policy) report(snap *autoscaler.Snapshot, rec *Recommendation, d *autoscaler.Decision) {
	for _, e := range rec.Events() {
		if e.Reason == ReasonRecommendation && (!rec.Worthwhile || e.Key == p.lastKey) {
			continue // only worthwhile recommendations, each once
		}
		if e.Reason == ReasonRecommendation {
			p.lastKey = e.Key
		}
		d.Events = append(d.Events, e)
	}
	if rec.Apply && rec.Worthwhile && len(rec.Overrides) > 0 {
		d.ConfigOverrides, d.ConfigRemovals = p.tuner.realign(snap, rec)
		p.tuner.Applied(snap.Time, rec)
	}
}

type policyState struct {
	Version   int             `json:"version"`
	Policy    json.RawMessage `json:"policy"`
	Tuner     json.RawMessage `json:"tuner"`
	LastKey   string          `json:"lastKey,omitempty"`
	Rollback  *rollback       `json:"rollback,omitempty"`
	HoldUntil time.Time       `json:"holdUntil"`
	Reported  time.Time       `json:"reported"`
	SpreadFor time.Time       `json:"spreadFor"`
}

// MarshalState implements autoscaler.Policy: the scaling policy's state and the tuner's.
func (p *Policy) MarshalState() ([]byte, error) {
	inner, err := p.inner.MarshalState()
	if err != nil {
		return nil, err
	}
	tu, err := p.tuner.MarshalState()
	if err != nil {
		return nil, err
	}
	st := policyState{Version: StateVersion, Policy: inner, Tuner: tu, LastKey: p.lastKey, Rollback: &p.rb, HoldUntil: p.holdUntil, Reported: p.reported, SpreadFor: p.spreadFor}
	if len(inner) == 0 || len(tu) == 0 {
		return json.Marshal(st) // encoding/json's answer to an empty state
	}
	// Both states are spliced in as they are: encoding/json would re-validate and re-compact
	// them (the whole state, json.Marshal's output already) on every cycle.
	st.Policy, st.Tuner = nil, nil
	head, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	out, err := autoscaler.SpliceState(head, `"policy":null,"tuner":null`, []byte(`"policy":`), inner, []byte(`,"tuner":`), tu)
	if err != nil {
		return nil, fmt.Errorf("tuning policy state: %w", err)
	}
	return out, nil
}

// RestoreState implements autoscaler.Policy. A state written by the bare scaling policy (from
// before tuning was enabled) restores the policy and starts the tuner fresh.
func (p *Policy) RestoreState(data []byte) error {
	var st policyState
	if err := json.Unmarshal(data, &st); err != nil || st.Version != StateVersion || len(st.Policy) == 0 || len(st.Tuner) == 0 {
		return p.inner.RestoreState(data)
	}
	if err := p.inner.RestoreState(st.Policy); err != nil {
		return err
	}
	if err := p.tuner.RestoreState(st.Tuner); err != nil {
		return err
	}
	p.lastKey = st.LastKey
	if st.Rollback != nil {
		p.rb = *st.Rollback
	}
	p.holdUntil, p.reported, p.spreadFor = st.HoldUntil, st.Reported, st.SpreadFor
	return nil
}
