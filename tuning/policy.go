package tuning

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// Policy adds memory tuning to a scaling policy: every snapshot feeds the tuner, every cycle
// asks it for the parallelism the policy decided, and a worthwhile change (in automatic mode)
// goes into the decision's configuration overrides, so the controller hands it to the
// configuration realizer before the rescale of the same cycle. A change rides along with a
// rescale when there is one; alone it goes only when it is a safety increase or saves at least
// min-saving of the process memory after min-observation.
type Policy struct {
	inner autoscaler.Policy
	tuner *Tuner
	// lastKey is the key of the last recommendation event, so each is reported once.
	lastKey string
}

// WithTuner wraps a scaling policy with a memory tuner.
func WithTuner(p autoscaler.Policy, o Options) *Policy { return &Policy{inner: p, tuner: New(o)} }

var _ autoscaler.Policy = (*Policy)(nil)

// Tuner returns the wrapped tuner.
func (p *Policy) Tuner() *Tuner { return p.tuner }

// Name implements autoscaler.Policy: the scaling policy's name.
func (p *Policy) Name() string { return p.inner.Name() }

// Applied implements autoscaler.Policy.
func (p *Policy) Applied(t time.Time, parallelism map[string]int) { p.inner.Applied(t, parallelism) }

// Cycle implements autoscaler.Policy. A tuning failure (a configuration that does not derive)
// is reported as an event and never blocks scaling.
func (p *Policy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	p.tuner.Observe(snap)
	d, err := p.inner.Cycle(snap)
	if err != nil || snap == nil || snap.Status != "RUNNING" {
		return d, err
	}
	rec, err := p.tuner.Recommend(snap, d.Parallelism)
	if err != nil {
		d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning,
			Reason: ReasonRecommendation, Message: "memory tuning: " + err.Error(), Key: "memory-error:" + err.Error()})
		return d, nil
	}
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
		d.ConfigOverrides = maps.Clone(rec.Overrides)
		d.ConfigRemovals = append([]string(nil), rec.Removals...)
		p.tuner.Applied(snap.Time, rec)
	}
	return d, nil
}

type policyState struct {
	Version int             `json:"version"`
	Policy  json.RawMessage `json:"policy"`
	Tuner   json.RawMessage `json:"tuner"`
	LastKey string          `json:"lastKey,omitempty"`
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
	return json.Marshal(policyState{Version: StateVersion, Policy: inner, Tuner: tu, LastKey: p.lastKey})
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
	return nil
}
