package tuning

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// stubPolicy decides a fixed parallelism and records what it is told.
type stubPolicy struct {
	target  map[string]int
	applied int
	state   string
	err     error
}

func (s *stubPolicy) Name() string { return "stub" }
func (s *stubPolicy) Cycle(*autoscaler.Snapshot) (autoscaler.Decision, error) {
	return autoscaler.Decision{Parallelism: s.target, Ready: true, Events: []autoscaler.Event{{Reason: "ScalingReport"}}}, s.err
}
func (s *stubPolicy) Applied(time.Time, map[string]int) { s.applied++ }
func (s *stubPolicy) MarshalState() ([]byte, error)     { return json.Marshal(s.state) }
func (s *stubPolicy) RestoreState(b []byte) error       { return json.Unmarshal(b, &s.state) }

func TestPolicyHandsWorthwhileChangesToTheRealizer(t *testing.T) {
	j := newJob(nil, 8)
	inner := &stubPolicy{target: j.layout, state: "inner"}
	o := DefaultOptions()
	o.Apply = true
	p := WithTuner(inner, o)
	var changes []autoscaler.Decision
	var recEvents int
	at := t0
	heapMax := 1.5 * gib
	for i := range 200 {
		at = t0.Add(time.Duration(i) * 10 * time.Second)
		d, err := p.Cycle(j.snap(at, usage{heap: 500*mib + float64(i%6)*60*mib, heapMax: heapMax, meta: 120 * mib}))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Events) == 0 || d.Events[0].Reason != "ScalingReport" || len(d.Parallelism) != 3 {
			t.Fatalf("the scaling decision was not passed through: %+v", d)
		}
		for _, e := range d.Events {
			if e.Reason == ReasonRecommendation {
				recEvents++
			}
		}
		if len(d.ConfigOverrides) > 0 {
			changes = append(changes, d)
			heapMax = float64(p.Tuner().st.Pending.Heap) // the TaskManagers restart onto it
		}
	}
	// Once min-observation has passed, one memory-only change, reported once.
	if len(changes) != 1 || recEvents != 1 {
		t.Fatalf("%d changes, %d recommendation events", len(changes), recEvents)
	}
	if changes[0].ConfigOverrides["taskmanager.memory.managed.size"] != "0 bytes" {
		t.Errorf("overrides %v", changes[0].ConfigOverrides)
	}
	p.Applied(at, j.layout)
	if inner.applied != 1 || p.Name() != "stub" {
		t.Error("Applied or Name not forwarded")
	}

	// State round trip, and a bare policy state (from before tuning) restores the policy only.
	data, err := p.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	// The inner states are spliced in: the bytes are encoding/json's for the whole state.
	innerState, _ := json.Marshal(inner.state)
	tu, _ := p.tuner.MarshalState()
	plain, _ := json.Marshal(policyState{Version: StateVersion, Policy: innerState, Tuner: tu, LastKey: p.lastKey, Rollback: &p.rb,
		HoldUntil: p.holdUntil, Reported: p.reported, SpreadFor: p.spreadFor})
	if string(data) != string(plain) || p.lastKey == "" {
		t.Errorf("state (last key %q)\n%s\nwant\n%s", p.lastKey, data, plain)
	}
	q := WithTuner(&stubPolicy{}, o)
	if err := q.RestoreState(data); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.MarshalState(); string(again) != string(data) {
		t.Errorf("state differs after a round trip")
	}
	bare := WithTuner(&stubPolicy{}, o)
	if err := bare.RestoreState([]byte(`"old"`)); err != nil || bare.inner.(*stubPolicy).state != "old" || bare.Tuner().st.Original != nil {
		t.Errorf("bare state: %v %+v", err, bare.inner)
	}
}

func TestPolicyDryRunAndFailures(t *testing.T) {
	j := newJob(nil, 8)
	p := WithTuner(&stubPolicy{target: map[string]int{"src": 16, "agg": 16, "sink": 16}}, DefaultOptions())
	for i := range 80 {
		d, err := p.Cycle(j.snap(t0.Add(time.Duration(i)*10*time.Second), usage{heap: 500 * mib, heapMax: 1.5 * gib, meta: 120 * mib}))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.ConfigOverrides) > 0 {
			t.Fatal("a dry run applied a change")
		}
	}
	// A configuration the memory model rejects: scaling goes on, a warning says why.
	bad := newJob(map[string]string{"taskmanager.memory.process.size": "lots"}, 8)
	q := WithTuner(&stubPolicy{target: bad.layout}, DefaultOptions())
	d, err := q.Cycle(bad.snap(t0, usage{heap: 500 * mib, heapMax: gib}))
	if err != nil || len(d.Parallelism) != 3 {
		t.Fatalf("scaling blocked: %v", err)
	}
	if last := d.Events[len(d.Events)-1]; last.Type != autoscaler.EventWarning || !strings.Contains(last.Message, "does not derive") {
		t.Errorf("events %+v", d.Events)
	}
	// The scaling policy's error passes through.
	r := WithTuner(&stubPolicy{err: errors.New("boom")}, DefaultOptions())
	if _, err := r.Cycle(j.snap(t0, usage{})); err == nil {
		t.Error("error swallowed")
	}
}
