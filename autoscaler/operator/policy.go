// Package operator is flinktune's baseline policy: a faithful port of the Flink Kubernetes
// Operator's autoscaler (flink-autoscaler, main branch 1.16, with the 1.15.0 behaviour behind
// Options.Variant): metric collection from snapshots, evaluation, per-vertex decisions,
// parallelism alignment, delayed scale-down, the executor's gates, events, persistent state and
// TaskManager memory tuning, as specified in reference/autoscaler.md (shared material).
//
// The policy is a deterministic core: all time comes from the snapshots, it performs no I/O,
// and its state round-trips through MarshalState/RestoreState.
package operator

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

const stateVersion = 1

// Counters are the operator's AutoScaler counters.
type Counters struct {
	Scalings int `json:"scalings"`
	Balanced int `json:"balanced"`
	Errors   int `json:"errors"`
}

// state is everything the operator keeps in its state store for a job.
type state struct {
	Version          int                       `json:"version"`
	Metrics          History                   `json:"collectedMetrics"`
	ScalingHistory   map[string][]SummaryEntry `json:"scalingHistory"`
	Tracking         ScalingTracking           `json:"scalingTracking"`
	Overrides        map[string]string         `json:"parallelismOverrides"`
	ConfigChanges    *ConfigChanges            `json:"configChanges,omitempty"`
	DelayedScaleDown *DelayedScaleDown         `json:"delayedScaleDown"`
	// Events is the event log used for deduplication (Kubernetes keeps events too).
	Events map[string]*eventRecord `json:"events,omitempty"`
}

type eventRecord struct {
	Last  time.Time `json:"last"`
	Label string    `json:"label,omitempty"`
	Count int       `json:"count"`
}

func newState() *state {
	return &state{
		Version:          stateVersion,
		ScalingHistory:   map[string][]SummaryEntry{},
		Overrides:        map[string]string{},
		DelayedScaleDown: NewDelayedScaleDown(),
		Events:           map[string]*eventRecord{},
	}
}

// Policy is the operator autoscaler for one job. It implements autoscaler.Policy.
type Policy struct {
	base      Options
	st        *state
	collector Collector
	last      *EvaluatedMetrics
	counters  Counters

	cachedCfg  map[string]string
	cachedOpts *Options
	cachedErr  error
	cachedVal  error
}

var _ autoscaler.Policy = (*Policy)(nil)

// New returns the policy for one job. opts are the base options (usually ParseOptions of the
// flinktune configuration); each snapshot's job configuration is overlaid on opts.Conf and
// re-parsed, as the standalone autoscaler does.
func New(opts Options) *Policy {
	if opts.Conf == nil {
		opts.Conf = flinkconf.New()
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	return &Policy{base: opts, st: newState()}
}

// Name is "operator".
func (p *Policy) Name() string { return "operator" }

// Counters returns the scalings / balanced / errors counters (not persisted, as in the
// operator's metric group).
func (p *Policy) Counters() Counters { return p.counters }

// Applied is a no-op: the operator records its decisions when it makes them.
func (p *Policy) Applied(time.Time, map[string]int) {}

// LastEvaluated returns the most recent evaluation (for gauges); nil before the first one.
func (p *Policy) LastEvaluated() *EvaluatedMetrics { return p.last }

// MarshalState returns the persistent state as versioned JSON.
//
// The metric window is spliced in from its per-sample cache rather than re-encoded (and
// re-validated) by encoding/json on every cycle.
func (p *Policy) MarshalState() ([]byte, error) {
	rest := *p.st
	rest.Metrics = nil
	head, err := json.Marshal(&rest)
	if err != nil {
		return nil, err
	}
	hist, err := p.st.Metrics.MarshalJSON()
	if err != nil {
		return nil, err
	}
	out, err := autoscaler.SpliceState(head, `"collectedMetrics":null`, []byte(`"collectedMetrics":`), hist)
	if err != nil {
		return nil, fmt.Errorf("operator state: %w", err)
	}
	return out, nil
}

// RestoreState loads state written by MarshalState. Volatile caches (metric names, the last
// evaluation, counters) start empty, as after an operator restart.
func (p *Policy) RestoreState(data []byte) error {
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return fmt.Errorf("operator policy state: %w", err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("operator policy state: unsupported version %d (want %d)", st.Version, stateVersion)
	}
	if st.ScalingHistory == nil {
		st.ScalingHistory = map[string][]SummaryEntry{}
	}
	if st.Overrides == nil {
		st.Overrides = map[string]string{}
	}
	if st.DelayedScaleDown == nil {
		st.DelayedScaleDown = NewDelayedScaleDown()
	}
	if st.DelayedScaleDown.Vertices == nil {
		st.DelayedScaleDown.Vertices = map[string]*VertexDelayedScaleDown{}
	}
	if st.Events == nil {
		st.Events = map[string]*eventRecord{}
	}
	p.st, p.last = st, nil
	p.collector.Reset()
	return nil
}

// optionsFor returns the options of this cycle: the base configuration with the job's own
// configuration on top. parseErr is a malformed value, valErr a validation failure.
func (p *Policy) optionsFor(snap *autoscaler.Snapshot) (o *Options, parseErr, valErr error) {
	if p.cachedOpts != nil || p.cachedErr != nil {
		if maps.Equal(p.cachedCfg, snap.Config) {
			return p.cachedOpts, p.cachedErr, p.cachedVal
		}
	}
	cfg := p.base.Conf.Clone()
	for k, v := range snap.Config {
		cfg.Set(k, v)
	}
	parsed, err := parseOptions(cfg, false)
	p.cachedCfg = maps.Clone(snap.Config)
	p.cachedOpts, p.cachedErr, p.cachedVal = nil, nil, nil
	if err != nil {
		p.cachedErr = err
		return nil, err, nil
	}
	parsed.TaskManagerCPU = p.base.TaskManagerCPU
	parsed.TaskManagerMemory = p.base.TaskManagerMemory
	parsed.ResourceCheck = p.base.ResourceCheck
	parsed.Plugins = p.base.Plugins
	parsed.DeriveTaskManager = p.base.DeriveTaskManager
	if len(snap.Config) == 0 || !cfg.IsConfigured(OptTimeZone) {
		parsed.Location = p.base.Location
	}
	p.cachedOpts = &parsed
	p.cachedVal = parsed.Validate()
	return p.cachedOpts, nil, p.cachedVal
}

// Cycle runs JobAutoScalerImpl#scale for one snapshot: collection, evaluation, execution,
// then (as the operator's finally block) the stored overrides are returned for re-application.
func (p *Policy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	if snap == nil {
		return autoscaler.Decision{}, errors.New("operator policy: nil snapshot")
	}
	var dec autoscaler.Decision
	o, parseErr, valErr := p.optionsFor(snap)
	interval := p.base.ScalingEventInterval
	if o != nil {
		interval = o.ScalingEventInterval
	}
	p.pruneEvents(snap.Time, interval)
	emit := func(pe pendingEvent) { p.record(&dec, snap, pe) }
	switch {
	case parseErr != nil:
		p.counters.Errors++
		emit(pendingEvent{Type: autoscaler.EventWarning, Reason: ReasonAutoscalerError, Message: parseErr.Error()})
		dec.Reason = "invalid autoscaler configuration: " + parseErr.Error()
		p.finish(&dec, &p.base, nil, emit)
		return dec, nil
	case valErr != nil:
		// The standalone autoscaler reports and skips the job entirely.
		emit(pendingEvent{Type: autoscaler.EventWarning, Reason: ReasonOptionsValidation, Message: valErr.Error(),
			Interval: p.base.ScalingEventInterval, HasInterval: true})
		dec.Reason = "invalid autoscaler configuration: " + valErr.Error()
		return dec, nil
	}
	c := &cycle{o: o, now: snap.Time, jobID: snap.JobID, excluded: map[string]bool{}, emit: emit}
	switch {
	case !o.Enabled:
		p.st = newState()
		p.collector.Reset()
		p.last = nil
		dec.Reason = "autoscaler disabled (" + OptEnabled.Key + ": false)"
	case snap.Status != "RUNNING":
		p.last = nil
		dec.Reason = "job is " + snap.Status + ", waiting for RUNNING"
	default:
		if err := p.runScalingLogic(c, snap, &dec); err != nil {
			if isNotReady(err) {
				dec.Reason = "not ready: " + err.Error()
			} else {
				p.counters.Errors++
				msg := err.Error()
				if len(msg) > 2048 {
					msg = msg[:2048]
				}
				emit(pendingEvent{Type: autoscaler.EventWarning, Reason: ReasonAutoscalerError, Message: msg})
				dec.Reason = "error: " + msg
			}
		}
	}
	p.finish(&dec, o, c.excluded, emit)
	return dec, nil
}

// collected is the outcome of the collection step of a cycle.
type collected struct {
	top            *Topology
	hist           History
	full           bool
	stabilizing    bool
	stable         time.Time
	windowFull     time.Time
	scalingHistory map[string][]SummaryEntry
	restart        time.Duration
}

// collect is ScalingMetricCollector#collect: it stores the snapshot's sample in the window
// (resetting it after a restart), trims the window once full and records restart durations.
func (p *Policy) collect(c *cycle, snap *autoscaler.Snapshot) (*collected, error) {
	o, now := c.o, c.now
	top, err := TopologyFromSnapshot(snap)
	if err != nil {
		return nil, err
	}
	hist := p.st.Metrics
	if len(hist) > 0 && snap.RunningSince.After(hist[0].Time) {
		// The job restarted or was rescaled: the window starts over.
		hist = nil
		p.st.Metrics = nil
		p.collector.Reset()
	}
	// Vertices no longer in the job leave the scaling history.
	trimmed := trimScalingHistory(now, o, p.st.ScalingHistory)
	removed := false
	for id := range trimmed {
		if top.Get(id) == nil {
			delete(trimmed, id)
			removed = true
		}
	}
	if removed {
		p.st.ScalingHistory = trimmed
	}
	for _, id := range top.Order {
		if top.IsSource(id) {
			if sv := snap.Vertex(id); sv != nil {
				if n := p.collector.numSourcePartitions(id, sv.MetricNames, o); n > 0 {
					top.Get(id).NumSourcePartitions = n
				}
			}
		}
	}
	for id := range top.Finished {
		c.excluded[id] = true
	}
	col := &collected{top: top}
	col.stable = snap.RunningSince.Add(o.StabilizationInterval)
	col.stabilizing = now.Before(col.stable)
	col.windowFull = now.Add(o.MetricsWindow)
	if i := hist.firstAtOrAfter(col.stable); i < len(hist) {
		col.windowFull = hist[i].Time.Add(o.MetricsWindow)
	}
	res, err := p.collector.Collect(snap, top, o, hist, col.stabilizing)
	if err != nil {
		return nil, err
	}
	for _, id := range res.Excluded {
		c.excluded[id] = true
	}
	hist = hist.put(res.Sample)
	col.full = !now.Before(col.windowFull)
	if col.full {
		hist = hist.dropBefore(now.Add(-o.MetricsWindow))
	}
	p.st.Metrics = hist
	col.hist = hist

	p.st.Tracking.removeOldRecords(now, o.HistoryMaxAge, o.HistoryMaxCount)
	col.scalingHistory = trimScalingHistory(now, o, p.st.ScalingHistory)
	p.st.Tracking.recordRestartDuration(snap.RunningSince, top, col.scalingHistory)
	col.restart = p.st.Tracking.maxRestartTimeOrDefault(o)
	return col, nil
}

// runScalingLogic is collect → evaluate → execute.
func (p *Policy) runScalingLogic(c *cycle, snap *autoscaler.Snapshot, dec *autoscaler.Decision) error {
	o, now := c.o, c.now
	col, err := p.collect(c, snap)
	if err != nil {
		return err
	}
	top, hist, full, stabilizing, stable, windowFull, scalingHistory, restart :=
		col.top, col.hist, col.full, col.stabilizing, col.stable, col.windowFull, col.scalingHistory, col.restart
	if len(hist) < 2 {
		dec.Reason = fmt.Sprintf("collecting metrics: %d sample(s), need 2", len(hist))
		return nil
	}

	e := &evaluator{o: o, top: top, h: hist, restart: restart, jobID: snap.JobID}
	em, err := e.run()
	if err != nil {
		return err
	}
	p.last = em
	defer func() { dec.Evaluated = reportEvaluated(em) }()
	for _, m := range em.Vertices {
		if par, ok := m.Get(MetricParallelism); ok {
			m.Set(MetricRecommendedParallelism, par)
		}
	}
	if !full {
		for _, m := range em.Vertices {
			m.Delete(MetricRecommendedParallelism)
		}
		if stabilizing {
			dec.Reason = "stabilizing until " + stable.UTC().Format(time.RFC3339)
		} else {
			dec.Reason = fmt.Sprintf("metric window not full until %s (%d samples)", windowFull.UTC().Format(time.RFC3339), len(hist))
		}
		return nil
	}
	dec.Ready = true
	in := &executorInput{evaluated: em, history: scalingHistory, tracking: &p.st.Tracking, topology: top, dsd: p.st.DelayedScaleDown}
	out, err := c.scaleResource(in)
	if err != nil {
		return err
	}
	if out == nil {
		p.counters.Balanced++
		dec.Reason = "no rescale: " + c.outcome()
		return nil
	}
	addSummaries(scalingHistory, now, out.summaries)
	p.st.ScalingHistory = scalingHistory
	p.st.Tracking.add(now)
	p.st.Overrides = out.overrides
	p.st.ConfigChanges = out.changes
	p.counters.Scalings++
	dec.Scaled = true
	dec.Reason = fmt.Sprintf("rescaling %d vertices", len(out.summaries))
	return nil
}

// finish is the operator's finally block: the stored parallelism overrides merged into the
// user's pipeline.jobvertex-parallelism-overrides (the user wins for excluded vertices), and
// the stored configuration changes when memory tuning is enabled.
func (p *Policy) finish(dec *autoscaler.Decision, o *Options, excluded map[string]bool, emit func(pendingEvent)) {
	if len(p.st.Overrides) > 0 {
		user := map[string]string{}
		if raw, ok := o.Conf.Get(optParallelismOverrides.Key); ok && raw != "" {
			parsed, err := parseMapOption(raw)
			if err != nil {
				p.counters.Errors++
				emit(pendingEvent{Type: autoscaler.EventWarning, Reason: ReasonAutoscalerError,
					Message: "Could not parse value '" + raw + "' for key '" + optParallelismOverrides.Key + "'."})
			} else {
				user = parsed
			}
		}
		isExcluded := func(id string) bool {
			if excluded[id] {
				return true
			}
			for _, x := range o.VertexExcludeIDs {
				if x == id {
					return true
				}
			}
			return false
		}
		for k, v := range p.st.Overrides {
			if _, has := user[k]; has && isExcluded(k) {
				continue
			}
			user[k] = v
		}
		dec.Parallelism = map[string]int{}
		for k, v := range user {
			if n, err := strconv.Atoi(v); err == nil {
				dec.Parallelism[k] = n
			}
		}
	}
	if o.MemoryTuning {
		cc := p.st.ConfigChanges
		if cc != nil && len(cc.Overrides) > 0 {
			dec.ConfigOverrides = maps.Clone(cc.Overrides)
		}
		if cc != nil && len(cc.Removals) > 0 {
			dec.ConfigRemovals = append([]string(nil), cc.Removals...)
		}
	}
}

// record deduplicates an event as the operator's Kubernetes event handler does and adds it to
// the decision when it is not suppressed.
func (p *Policy) record(dec *autoscaler.Decision, snap *autoscaler.Snapshot, pe pendingEvent) {
	id := pe.Key
	if id == "" {
		id = pe.Message
	}
	name := pe.Reason + "\x00" + pe.Type + "\x00" + id
	now := snap.Time
	if rec, ok := p.st.Events[name]; ok {
		labelOK := !pe.LabelCheck || rec.Label == pe.Label
		intervalOK := pe.HasInterval && now.Before(rec.Last.Add(pe.Interval))
		if labelOK && intervalOK {
			return
		}
		rec.Last, rec.Label = now, pe.Label
		rec.Count++
	} else {
		p.st.Events[name] = &eventRecord{Last: now, Label: pe.Label, Count: 1}
	}
	dec.Events = append(dec.Events, autoscaler.Event{Time: now, JobID: snap.JobID, Type: pe.Type,
		Reason: pe.Reason, Message: pe.Message, Key: pe.Key})
}

// pruneEvents forgets events that can no longer suppress anything.
func (p *Policy) pruneEvents(now time.Time, interval time.Duration) {
	for k, r := range p.st.Events {
		if !now.Before(r.Last.Add(interval)) {
			delete(p.st.Events, k)
		}
	}
}

// reportEvaluated renders evaluated metrics for the decision: per vertex the reported
// metrics (the average of average metrics, the current value of the others); non-finite
// values are left out (JSON cannot carry them).
func reportEvaluated(em *EvaluatedMetrics) map[string]map[string]float64 {
	out := make(map[string]map[string]float64, len(em.Vertices))
	for id, m := range em.Vertices {
		vm := map[string]float64{}
		for _, k := range ReportedVertexMetrics {
			e, ok := m.Get(k)
			if !ok {
				continue
			}
			v := e.Current
			if k.IsAverage() {
				v = e.Average
			}
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vm[k.String()] = v
			}
		}
		out[id] = vm
	}
	return out
}
