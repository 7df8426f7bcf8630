// Package adaptive is a deterministic model of Flink's adaptive scheduler (and, for contrast,
// the default scheduler) for one job: its states, its timers and its rescale decisions per
// Flink version, as flink-scheduling.md §A describes them.
//
// The Scheduler is a pure state machine driven by its caller: every method takes the current
// time; timers fire only inside Advance, in deadline order, and only if the state that armed
// them is still active ("run if still in state"). The environment — slots available to the
// job, resource requirements, running parallelism — is read through the Env interface, and
// decisions are reported synchronously through the Listener.
package adaptive

import (
	"maps"
	"slices"
	"time"

	"github.com/flinktune/flinktune/scheduler"
)

// State is the scheduler state (§A.1).
type State int

// States.
const (
	Created State = iota
	WaitingForResources
	Executing
	Restarting
	Finished
)

func (s State) String() string {
	return [...]string{"Created", "WaitingForResources", "Executing", "Restarting", "Finished"}[s]
}

// Cause says why a running job rescales.
type Cause string

// Rescale causes.
const (
	CauseRequirements Cause = "requirements" // new resource requirements (PUT)
	CauseResources    Cause = "resources"    // slots came or went
)

// Env is what the scheduler reads from the JobMaster around it.
type Env interface {
	// Slots is the number of slots the job's slot pool can use (held and offered).
	Slots() int
	// Requirements are the per-vertex bounds in force.
	Requirements() []scheduler.VertexRequirement
}

// Listener receives the scheduler's decisions.
type Listener interface {
	// Deploy: CreatingExecutionGraph succeeded and the job enters Executing with this
	// parallelism (restored from the latest completed checkpoint).
	Deploy(now time.Time, parallelism map[string]int)
	// Rescale: Executing goes to Restarting with backoff 0 to apply new parallelism.
	Rescale(now time.Time, cause Cause)
	// Fail: the job fails terminally (not enough resources when the wait timeout fired).
	Fail(now time.Time, reason string)
}

type timer struct {
	at    time.Time
	seq   uint64
	epoch uint64
	fn    func(now time.Time)
}

// Scheduler is one job's scheduler.
type Scheduler struct {
	opts  Options
	env   Env
	lis   Listener
	state State
	// epoch changes on every state entry; timers of an older epoch are dropped.
	epoch  uint64
	seq    uint64
	timers []timer

	running map[string]int // parallelism of the current execution (Executing)

	// WaitingForResources
	stableSince time.Time // zero = not sufficient yet

	// Executing (1.19 / 1.20)
	lastRescale      time.Time
	rescalePending   bool // a maybeRescale is scheduled
	forcePending     bool // a forceRescale is scheduled
	failedCheckpoint int  // consecutive failed checkpoints

	// Executing (2.x) DefaultStateTransitionManager
	phase        phase
	phaseEpoch   uint64
	firstChange  time.Time
	lastChange   time.Time
	desiredCheck bool

	causes map[Cause]bool // change events since entering Executing
}

type phase int

const (
	phaseCooldown phase = iota
	phaseIdling
	phaseStabilizing
	phaseStabilized
	phaseTransitioning
)

func (p phase) String() string {
	return [...]string{"Cooldown", "Idling", "Stabilizing", "Stabilized", "Transitioning"}[p]
}

// New returns a scheduler in state Created.
func New(opts Options, env Env, lis Listener) *Scheduler {
	return &Scheduler{opts: opts, env: env, lis: lis}
}

// State is the current state.
func (s *Scheduler) State() State { return s.state }

// Options returns the options in force.
func (s *Scheduler) Options() Options { return s.opts }

// Phase names the 2.x transition-manager phase while Executing ("" otherwise).
func (s *Scheduler) Phase() string {
	if s.state != Executing || s.opts.Version < V2 || !s.opts.Adaptive {
		return ""
	}
	return s.phase.String()
}

// Running is the parallelism of the current execution (nil unless Executing).
func (s *Scheduler) Running() map[string]int { return s.running }

func (s *Scheduler) semantics() scheduler.Semantics {
	if s.opts.Version == V118 {
		return scheduler.Flink118
	}
	return scheduler.Flink119
}

// NextTimer is the earliest pending timer deadline (zero if none).
func (s *Scheduler) NextTimer() time.Time {
	var t time.Time
	for _, tm := range s.timers {
		if tm.epoch == s.epoch && (t.IsZero() || tm.at.Before(t)) {
			t = tm.at
		}
	}
	return t
}

func (s *Scheduler) schedule(at time.Time, fn func(now time.Time)) {
	s.seq++
	s.timers = append(s.timers, timer{at: at, seq: s.seq, epoch: s.epoch, fn: fn})
}

func (s *Scheduler) enter(st State) {
	s.state = st
	s.epoch++
	// Drop timers of the state we left.
	s.timers = slices.DeleteFunc(s.timers, func(t timer) bool { return t.epoch != s.epoch })
}

// Advance fires every timer due at now, in deadline order (ties in scheduling order).
func (s *Scheduler) Advance(now time.Time) {
	for {
		idx := -1
		for i, t := range s.timers {
			if t.epoch != s.epoch || t.at.After(now) {
				continue
			}
			if idx < 0 || t.at.Before(s.timers[idx].at) || (t.at.Equal(s.timers[idx].at) && t.seq < s.timers[idx].seq) {
				idx = i
			}
		}
		if idx < 0 {
			return
		}
		t := s.timers[idx]
		s.timers = slices.Delete(s.timers, idx, idx+1)
		// A timer fires at its deadline; the caller's tick may be later.
		t.fn(t.at)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Start is startScheduling(): Created → WaitingForResources.
func (s *Scheduler) Start(now time.Time) {
	if s.state != Created {
		return
	}
	s.enterWaiting(now)
}

// desiredSlots is the slot count the job declares: Σ over SSGs of the max upper bound.
func (s *Scheduler) desiredSlots() int { return scheduler.RequiredSlots(s.env.Requirements()) }

func (s *Scheduler) determine(slots int) (map[string]int, bool) {
	return scheduler.DetermineParallelism(s.env.Requirements(), slots, s.semantics())
}

// --- WaitingForResources (§A.2) ---

func (s *Scheduler) enterWaiting(now time.Time) {
	s.enter(WaitingForResources)
	s.running = nil
	s.stableSince = time.Time{}
	if s.opts.Adaptive && s.opts.ResourceWaitTimeout >= 0 {
		s.schedule(now.Add(s.opts.ResourceWaitTimeout), func(now time.Time) { s.waitTimeout(now) })
	}
	s.check(now)
}

func (s *Scheduler) check(now time.Time) {
	slots := s.env.Slots()
	if !s.opts.Adaptive {
		// The default scheduler needs every slot of the configured parallelism.
		if slots >= s.desiredSlots() {
			s.createExecutionGraph(now)
		}
		return
	}
	if slots >= s.desiredSlots() {
		s.createExecutionGraph(now)
		return
	}
	if _, ok := s.determine(slots); !ok {
		s.stableSince = time.Time{} // insufficient resets the stabilization deadline
		return
	}
	if s.stableSince.IsZero() {
		s.stableSince = now
		deadline := now.Add(s.opts.StabilizationTimeout)
		if !deadline.After(now) {
			s.createExecutionGraph(now)
			return
		}
		s.schedule(deadline, func(now time.Time) { s.check(now) })
		return
	}
	if !now.Before(s.stableSince.Add(s.opts.StabilizationTimeout)) {
		s.createExecutionGraph(now)
	}
}

func (s *Scheduler) waitTimeout(now time.Time) {
	if _, ok := s.determine(s.env.Slots()); !ok {
		s.enter(Finished)
		s.lis.Fail(now, "org.apache.flink.runtime.jobmanager.scheduler.NoResourceAvailableException: Not enough resources available for scheduling.")
		return
	}
	s.createExecutionGraph(now)
}

func (s *Scheduler) createExecutionGraph(now time.Time) {
	var p map[string]int
	if s.opts.Adaptive {
		var ok bool
		p, ok = s.determine(s.env.Slots())
		if !ok {
			// Slots vanished meanwhile: back to waiting.
			s.enterWaiting(now)
			return
		}
	} else {
		p = map[string]int{}
		for _, v := range s.env.Requirements() {
			p[v.ID] = v.Upper
		}
	}
	s.enterExecuting(now, p)
}

// --- Executing (§A.3, §A.4) ---

func (s *Scheduler) enterExecuting(now time.Time, p map[string]int) {
	s.enter(Executing)
	s.running = maps.Clone(p)
	s.lastRescale = now
	s.rescalePending, s.forcePending = false, false
	s.failedCheckpoint = 0
	s.causes = map[Cause]bool{}
	s.lis.Deploy(now, maps.Clone(p))
	if s.state != Executing || !s.opts.Adaptive {
		return
	}
	if s.opts.Version >= V2 {
		s.enterPhase(now, phaseCooldown)
		s.schedule(now.Add(s.opts.Cooldown), func(now time.Time) { s.cooldownOver(now) })
	}
	// Executing checks once right after entry, in case slots came or went while the
	// execution graph was created; with nothing changed there is nothing to schedule.
	if _, changed := s.changed(); changed {
		s.onChange(now, CauseResources)
	}
}

// changed reports whether the parallelism computable from the current slots differs from the
// running one, and the computed parallelism.
func (s *Scheduler) changed() (map[string]int, bool) {
	p, ok := s.determine(s.env.Slots())
	if !ok {
		return nil, false
	}
	for id, n := range p {
		if s.running[id] != n {
			return p, true
		}
	}
	return p, false
}

// shouldRescale is Executing.shouldRescale with the EnforceMinimalIncreaseRescalingController
// (force = false: any decrease, or an increase ≥ min-parallelism-increase on some vertex) or the
// EnforceParallelismChangeRescalingController (force = true: any change).
func (s *Scheduler) shouldRescale(force bool) bool {
	p, changed := s.changed()
	if !changed {
		return false
	}
	if force {
		return true
	}
	for _, id := range slices.Sorted(maps.Keys(p)) {
		cur, next := s.running[id], p[id]
		if next < cur || next-cur >= max(s.opts.MinParallelismIncrease, 1) {
			return true
		}
	}
	return false
}

func (s *Scheduler) hasDesired() bool {
	_, changed := s.changed()
	return changed && s.env.Slots() >= s.desiredSlots()
}

func (s *Scheduler) hasSufficient() bool {
	_, changed := s.changed()
	return changed
}

func (s *Scheduler) onChange(now time.Time, cause Cause) {
	if s.state != Executing || !s.opts.Adaptive {
		return
	}
	if cause != "" {
		s.causes[cause] = true
	}
	switch s.opts.Version {
	case V118:
		if s.shouldRescale(false) {
			s.rescale(now)
		}
	case V119, V120:
		s.rescaleWhenCooldownIsOver(now)
	default:
		s.phaseChange(now)
	}
}

func (s *Scheduler) rescaleWhenCooldownIsOver(now time.Time) {
	if now.Sub(s.lastRescale) > s.opts.Cooldown {
		s.maybeRescale(now)
		return
	}
	if !s.rescalePending {
		s.rescalePending = true
		s.schedule(now.Add(s.opts.Cooldown), func(now time.Time) {
			s.rescalePending = false
			s.maybeRescale(now)
		})
	}
}

func (s *Scheduler) maybeRescale(now time.Time) {
	if s.shouldRescale(false) {
		s.rescale(now)
		return
	}
	if s.opts.ScalingIntervalMax <= 0 || !s.hasSufficient() {
		return
	}
	if now.Sub(s.lastRescale) > s.opts.ScalingIntervalMax {
		s.rescale(now)
		return
	}
	if !s.forcePending {
		s.forcePending = true
		s.schedule(now.Add(s.opts.ScalingIntervalMax), func(now time.Time) {
			s.forcePending = false
			if s.shouldRescale(true) {
				s.rescale(now)
			}
		})
	}
}

func (s *Scheduler) rescale(now time.Time) {
	cause := CauseResources
	if s.causes[CauseRequirements] {
		cause = CauseRequirements
	}
	// The listener cancels the running tasks before the job can be redeployed.
	s.lis.Rescale(now, cause)
	s.enterRestarting(now, 0)
}

// --- 2.x DefaultStateTransitionManager (§A.4) ---

func (s *Scheduler) enterPhase(now time.Time, p phase) {
	s.phase = p
	s.phaseEpoch++
	epoch := s.phaseEpoch
	inPhase := func(fn func(now time.Time)) func(now time.Time) {
		return func(now time.Time) {
			if s.state == Executing && s.phaseEpoch == epoch {
				fn(now)
			}
		}
	}
	switch p {
	case phaseCooldown:
		s.firstChange = time.Time{}
	case phaseStabilizing:
		t0 := s.firstChange
		s.lastChange = t0
		s.desiredCheck = false
		s.schedule(maxTime(t0.Add(s.opts.ExecutingStabilization), now), inPhase(func(now time.Time) {
			s.enterPhase(now, phaseStabilized)
		}))
		s.scheduleDesiredCheck(now, inPhase)
	case phaseStabilized:
		t0 := s.firstChange
		s.schedule(maxTime(t0.Add(s.opts.MaxTriggerDelay), now), inPhase(func(now time.Time) { s.phaseTrigger(now) }))
	case phaseTransitioning:
		s.rescale(now)
	}
}

func (s *Scheduler) scheduleDesiredCheck(now time.Time, inPhase func(func(time.Time)) func(time.Time)) {
	if s.desiredCheck {
		return
	}
	s.desiredCheck = true
	s.schedule(maxTime(s.lastChange.Add(s.opts.MaxTriggerDelay), now), inPhase(func(now time.Time) {
		s.desiredCheck = false
		if s.hasDesired() {
			s.enterPhase(now, phaseTransitioning)
		}
	}))
}

func (s *Scheduler) cooldownOver(now time.Time) {
	if s.state != Executing || s.phase != phaseCooldown {
		return
	}
	if s.firstChange.IsZero() {
		s.enterPhase(now, phaseIdling)
		return
	}
	s.enterPhase(now, phaseStabilizing)
}

func (s *Scheduler) phaseChange(now time.Time) {
	switch s.phase {
	case phaseCooldown:
		if s.firstChange.IsZero() && s.hasSufficient() {
			s.firstChange = now
		}
	case phaseIdling:
		if s.hasSufficient() {
			s.firstChange = now
			s.enterPhase(now, phaseStabilizing)
		}
	case phaseStabilizing:
		s.lastChange = now
		epoch := s.phaseEpoch
		s.scheduleDesiredCheck(now, func(fn func(time.Time)) func(time.Time) {
			return func(now time.Time) {
				if s.state == Executing && s.phaseEpoch == epoch {
					fn(now)
				}
			}
		})
	}
}

func (s *Scheduler) phaseTrigger(now time.Time) {
	switch s.phase {
	case phaseStabilizing:
		if s.hasDesired() {
			s.enterPhase(now, phaseTransitioning)
		}
	case phaseStabilized:
		if s.hasSufficient() {
			s.enterPhase(now, phaseTransitioning)
		} else {
			s.enterPhase(now, phaseIdling)
		}
	}
}

// --- events ---

// OnResources tells the scheduler that the job's available slots changed.
func (s *Scheduler) OnResources(now time.Time) {
	switch s.state {
	case WaitingForResources:
		s.check(now)
	case Executing:
		s.onChange(now, CauseResources)
	}
}

// OnNewRequirements tells the scheduler that the resource requirements changed (§A.8).
func (s *Scheduler) OnNewRequirements(now time.Time) {
	switch s.state {
	case WaitingForResources:
		s.check(now)
	case Executing:
		s.onChange(now, CauseRequirements)
	}
}

// OnCheckpoint reports a checkpoint's completion (ok) or failure; in 2.x a completed
// checkpoint, or MaxCheckpointFailures consecutive failed ones, is the rescale trigger.
func (s *Scheduler) OnCheckpoint(now time.Time, ok bool) {
	if s.state != Executing || !s.opts.Adaptive {
		return
	}
	if !ok {
		s.failedCheckpoint++
		if s.opts.MaxCheckpointFailures <= 0 || s.failedCheckpoint < s.opts.MaxCheckpointFailures {
			return
		}
	}
	s.failedCheckpoint = 0
	if s.opts.Version == V2 {
		s.phaseTrigger(now)
	}
}

// OnFailure is a task failure in Executing (or a failure while restarting): the job restarts
// after backoff. The caller has already decided that the restart strategy allows it.
func (s *Scheduler) OnFailure(now time.Time, backoff time.Duration) {
	switch s.state {
	case Executing, Restarting, WaitingForResources:
		s.enterRestarting(now, backoff)
	}
}

// Finish ends the job (no more restarts, or cancellation).
func (s *Scheduler) Finish() {
	s.enter(Finished)
	s.running = nil
}

func (s *Scheduler) enterRestarting(now time.Time, backoff time.Duration) {
	s.enter(Restarting)
	s.running = nil
	s.schedule(now.Add(backoff), func(now time.Time) { s.enterWaiting(now) })
	if backoff <= 0 {
		s.Advance(now)
	}
}
