package sim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
	"github.com/flinktune/flinktune/sim/adaptive"
)

// Job statuses (Flink's JobStatus) and task states (ExecutionState) the simulator uses.
const (
	StatusInitializing = "INITIALIZING"
	StatusCreated      = "CREATED"
	StatusRunning      = "RUNNING"
	StatusRestarting   = "RESTARTING"
	StatusFailed       = "FAILED"
	StatusCanceled     = "CANCELED"

	TaskDeploying    = "DEPLOYING"
	TaskInitializing = "INITIALIZING"
	TaskRunning      = "RUNNING"
	TaskCanceled     = "CANCELED"
	TaskCreated      = "CREATED"
)

// JobStatuses lists Flink's job statuses in the order of the timestamps map.
var JobStatuses = []string{"INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING", "CANCELED", "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING"}

// ExecutionStates lists Flink's task states in the order of the tasks/status-counts maps.
var ExecutionStates = []string{"CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED", "CANCELING", "CANCELED", "FAILED", "RECONCILING", "INITIALIZING"}

// Restart causes in the parallelism change log.
const (
	causeRequirements = "requirements"
	causeResources    = "resources"
	causeReactive     = "reactive"
	causeTMLoss       = "tm-loss"
	causeFailure      = "failure"
	causeJobManager   = "jobmanager"
	causeTMConfig     = "tm-config"
	causeSubmission   = "submission"
)

type job struct {
	s     *Sim
	sj    *scenario.Job
	idx   int
	id    string
	name  string
	cfg   *flinkconf.Config
	opts  adaptive.Options
	sched *adaptive.Scheduler
	vs    []*vtx // topological order (sources first)
	byID  map[string]int
	srcs  []int
	req   []scheduler.VertexRequirement // in vs order
	// desired caches scheduler.RequiredSlots(req): Σ over slot sharing groups of the max
	// upper bound.
	desired int
	rocks   bool
	incr    bool // RocksDB incremental checkpoints
	cpInt   time.Duration
	cpTO    time.Duration
	cpMin   time.Duration
	cpTol   int // execution.checkpointing.tolerable-failed-checkpoints
	rs      restartPolicy

	status     string
	timestamps map[string]int64
	startTime  time.Time
	endTime    time.Time
	exec       *execution
	attempt    int
	numRestart int // numRestarts of the current JobMaster
	cause      string
	lastP      map[string]int // parallelism of the previous execution, by scenario vertex id
	failures   int            // consecutive failures (exponential-delay backoff)
	lastFail   time.Time

	cpCounter  int64
	cpRunning  *checkpoint
	cpHistory  []*checkpoint
	cpTotal    int64
	cpDone     int64
	cpFailed   int64
	cpFailRun  int // consecutive expired checkpoints
	cpRestored int64
	latest     *checkpoint // latest completed (restore point); survives JobManager failover
	latestFail *checkpoint
	restored   *restoreInfo
	nextCp     time.Time

	exceptions []ExceptionEntry

	st stats
}

type execution struct {
	attempt   int
	deployed  time.Time
	baseDone  time.Time
	initDone  time.Time
	running   bool
	netOK     bool
	placement [][]*taskManager // [vertex][subtask]
	restoreB  int64
}

type checkpoint struct {
	id           int64
	trigger      time.Time
	completeAt   time.Time
	ack          time.Time
	status       string
	stateSize    int64
	checkpointed int64
	positions    [][]int64 // per source (j.srcs order), per partition
	failure      string
	failedAt     time.Time
	numSubtasks  int
	perVertex    []int
}

type restoreInfo struct {
	id   int64
	at   time.Time
	path string
}

// ExceptionEntry is one failure in a job's exception history.
type ExceptionEntry struct {
	Time          time.Time
	Exception     string // "<class>: <message>"
	Stacktrace    string
	TaskName      string
	Location      string // host:port of the TaskManager, or empty
	TaskManagerID string
}

func newJob(s *Sim, idx int) (*job, error) {
	sj := &s.sc.Jobs[idx]
	cfgMap := s.sc.JobConfig(sj)
	for k, v := range s.clusterCfg.Map() {
		if _, ok := cfgMap[k]; !ok {
			cfgMap[k] = v
		}
	}
	j := &job{
		s: s, sj: sj, idx: idx,
		id:   JobID(s.sc.Name, sj.Name),
		name: sj.Name,
		cfg:  flinkconf.FromMap(cfgMap),
		byID: map[string]int{},
	}
	opts, err := adaptive.OptionsFromConfig(j.cfg, s.version)
	if err != nil {
		return nil, err
	}
	j.opts = opts
	backend, _ := j.cfg.String(flinkconf.StateBackend)
	j.rocks = strings.EqualFold(strings.TrimSpace(backend), "rocksdb")
	if incr, _, ferr := j.cfg.Bool(flinkconf.StateBackendIncremental); ferr != nil {
		return nil, ferr
	} else {
		j.incr = j.rocks && incr
	}
	if j.cpInt, _, err = durOpt(j.cfg, flinkconf.CheckpointingInterval); err != nil {
		return nil, err
	}
	if j.cpTO, _, err = durOpt(j.cfg, flinkconf.CheckpointingTimeout); err != nil {
		return nil, err
	}
	if j.cpMin, _, err = durOpt(j.cfg, flinkconf.CheckpointingMinPause); err != nil {
		return nil, err
	}
	if tol, _, ferr := j.cfg.Int(flinkconf.CheckpointingTolerableFail); ferr != nil {
		return nil, ferr
	} else {
		j.cpTol = int(tol)
	}
	if j.rs, err = newRestartPolicy(j.cfg, j.cpInt > 0, s.version); err != nil {
		return nil, err
	}
	if err := j.buildGraph(); err != nil {
		return nil, err
	}
	j.resetRequirements()
	j.timestamps = map[string]int64{}
	j.startTime = s.now
	j.st.init(j)
	return j, nil
}

func durOpt(c *flinkconf.Config, o flinkconf.Option) (time.Duration, bool, error) {
	d, ok, ferr := c.Duration(o)
	if ferr != nil {
		return 0, false, ferr
	}
	return d, ok, nil
}

// resetRequirements sets the default requirements: lower 1, upper = configured parallelism
// (reactive mode: max parallelism).
func (j *job) resetRequirements() {
	j.req = make([]scheduler.VertexRequirement, len(j.vs))
	for i, v := range j.vs {
		upper := v.sv.Parallelism
		if j.opts.Reactive {
			upper = v.maxP
		}
		lower := 1
		if !j.opts.Adaptive {
			lower = upper
		}
		j.req[i] = scheduler.VertexRequirement{ID: v.sv.ID, SlotSharingGroup: v.sv.SlotSharingGroup, Lower: lower, Upper: upper}
	}
	j.desired = scheduler.RequiredSlots(j.req)
}

// Slots implements adaptive.Env.
func (j *job) Slots() int { return j.heldSlots() }

// Requirements implements adaptive.Env.
func (j *job) Requirements() []scheduler.VertexRequirement { return j.req }

func (j *job) heldSlots() int {
	n := 0
	for _, tm := range j.s.tms {
		for _, sl := range tm.slots {
			if sl.job == j {
				n++
			}
		}
	}
	return n
}

// declaredSlots is what the JobMaster asks the ResourceManager for.
func (j *job) declaredSlots() int {
	if j.sched == nil || j.sched.State() == adaptive.Finished {
		return 0
	}
	return j.desired
}

func (j *job) terminal() bool { return j.status == StatusFailed || j.status == StatusCanceled }

func (j *job) setStatus(now time.Time, st string) {
	j.status = st
	j.timestamps[st] = now.UnixMilli()
}

// submit starts the job on a (new) JobMaster.
func (j *job) submit(now time.Time) {
	j.timestamps = map[string]int64{}
	j.setStatus(now, StatusInitializing)
	j.setStatus(now, StatusCreated)
	j.startTime = now
	j.numRestart = 0
	j.sched = adaptive.New(j.opts, j, j)
	j.cause = causeSubmission
	j.sched.Start(now)
}

func (j *job) advance(now time.Time) {
	if j.s.jobManagerAlive() && j.sched != nil {
		j.sched.Advance(now)
	}
}

func (j *job) slotsChanged(now time.Time) {
	if j.s.jobManagerAlive() && j.sched != nil {
		j.sched.OnResources(now)
	}
}

// Deploy implements adaptive.Listener: a new execution starts, restoring the latest
// completed checkpoint.
func (j *job) Deploy(now time.Time, p map[string]int) {
	j.attempt++
	ex := &execution{attempt: j.attempt, deployed: now, placement: make([][]*taskManager, len(j.vs))}
	changes := map[string]VertexChange{}
	for _, v := range j.vs {
		np := p[v.sv.ID]
		if old, ok := j.lastP[v.sv.ID]; ok && old != np {
			changes[v.sv.ID] = VertexChange{Old: old, New: np}
		}
		v.deploy(np)
	}
	if len(changes) > 0 {
		j.st.changes = append(j.st.changes, ParallelismChange{Time: now, Vertices: changes, Cause: j.cause})
		if j.cause == causeRequirements {
			j.st.Rescales++
		}
		var parts []string
		for _, id := range slices.Sorted(maps.Keys(changes)) {
			parts = append(parts, fmt.Sprintf("%s %d→%d", id, changes[id].Old, changes[id].New))
		}
		j.s.logf("rescale", j, "parallelism %s (%s)", strings.Join(parts, ", "), j.cause)
	}
	j.lastP = maps.Clone(p)
	j.exec = ex
	j.place(ex)
	// Restore: sources go back to the checkpointed offsets (or their start), state is loaded.
	if j.latest != nil {
		for si, vi := range j.srcs {
			j.vs[vi].src.rewind(j.latest.positions[si], &j.st)
		}
		ex.restoreB = j.latest.stateSize
		j.restored = &restoreInfo{id: j.latest.id, at: now, path: checkpointPath(j.id, j.latest.id)}
		j.cpRestored++
	} else {
		for _, vi := range j.srcs {
			j.vs[vi].src.rewind(nil, &j.st)
		}
	}
	ex.baseDone = now.Add(j.sj.Restart.Base)
	restore := time.Duration(float64(ex.restoreB) / float64(j.sj.Restart.RestoreRate) * float64(time.Second))
	ex.initDone = ex.baseDone.Add(restore.Round(time.Millisecond))
	j.setStatus(now, StatusRunning)
	j.cause = ""
}

// place maps the execution's shared slots onto the job's slots in TaskManager registration
// order (slot i of a group holds subtask i of every vertex in it).
//
// Flink's adaptive scheduler (1.18 to 2.1) builds the same execution slot-sharing groups
// (subtask i of every vertex of a group together) and hands them to the free slots in the
// order the slot pool iterates them (DefaultSlotAssigner), a HashMap over random allocation
// IDs (DefaultAllocatedSlotPool): which TaskManager gets which groups is arbitrary and changes
// with every deployment. cluster.evenly-spread-out-slots and taskmanager.load-balance.mode act
// on the ResourceManager's slot matching and the default scheduler, not on this assignment;
// the adaptive scheduler honours taskmanager.load-balance.mode (SLOTS, TASKS) only from Flink
// 2.2 (SlotsBalancedSlotMatchingResolver, TaskBalancedSlotSharingResolver), later than the
// versions simulated. Registration order is one of the orders Flink may pick: the first
// TaskManager holds min(slots, p) subtasks of every vertex, the most any placement puts on
// one TaskManager. A memory sizing must hold for that one, since the next restart may draw it.
func (j *job) place(ex *execution) {
	for i, v := range j.vs {
		ex.placement[i] = make([]*taskManager, v.p)
	}
	p := map[string]int{}
	for _, v := range j.vs {
		p[v.sv.ID] = v.p
	}
	shared := scheduler.SharedSlots(j.req, p)
	k := 0
	for _, tm := range j.s.tms {
		for si := range tm.slots {
			sl := &tm.slots[si]
			if sl.job != j || k >= len(shared) {
				continue
			}
			sl.inUse = true
			for _, st := range shared[k].Subtasks {
				ex.placement[j.byID[st.Vertex]][st.Index] = tm
			}
			k++
		}
	}
	j.s.rebuildHosted()
}

// Rescale implements adaptive.Listener: the running tasks are cancelled to apply new
// parallelism.
func (j *job) Rescale(now time.Time, c adaptive.Cause) {
	j.cancelExecution(now, "rescale")
	j.numRestart++
	j.st.Restarts++
	switch {
	case c == adaptive.CauseRequirements:
		j.cause = causeRequirements
	case j.opts.Reactive:
		j.cause = causeReactive
	default:
		j.cause = causeResources
	}
	j.setStatus(now, StatusRestarting)
}

// Fail implements adaptive.Listener: the job fails terminally.
func (j *job) Fail(now time.Time, reason string) {
	j.cancelExecution(now, "failed")
	j.addException(now, reason, nil, "")
	j.setStatus(now, StatusFailed)
	j.endTime = now
	j.s.logf("job", j, "job FAILED: %s", reason)
}

func (j *job) cancelExecution(now time.Time, why string) {
	if j.cpRunning != nil {
		j.failCheckpoint(now, "Checkpoint Coordinator is suspending.")
	}
	if j.exec == nil {
		return
	}
	for _, tm := range j.s.tms {
		for i := range tm.slots {
			if tm.slots[i].job == j && tm.slots[i].inUse {
				tm.slots[i].inUse = false
				tm.slots[i].freeSince = now
			}
		}
	}
	j.exec = nil
	for _, v := range j.vs {
		v.stop()
	}
	j.s.rebuildHosted()
}

// fail is a task failure (lost TaskManager, OOM, deployment error): restart per the restart
// strategy or fail the job.
func (j *job) fail(now time.Time, exception string, tm *taskManager, cause string) {
	if j.terminal() || j.sched == nil {
		return
	}
	task := ""
	if j.exec != nil && tm != nil {
	outer:
		for vi, subs := range j.exec.placement {
			for si, t := range subs {
				if t == tm {
					task = fmt.Sprintf("%s (%d/%d)#%d", j.vs[vi].sv.Name, si+1, len(subs), j.exec.attempt-1)
					break outer
				}
			}
		}
	}
	j.cancelExecution(now, "failure")
	j.addException(now, exception, tm, task)
	j.st.Failures++
	backoff, ok := j.rs.next(now, j)
	if !ok {
		j.sched.Finish()
		j.setStatus(now, StatusFailed)
		j.endTime = now
		j.s.logf("job", j, "job FAILED (restart strategy exhausted): %s", exception)
		return
	}
	j.numRestart++
	j.st.Restarts++
	j.cause = cause
	j.setStatus(now, StatusRestarting)
	j.s.logf("failure", j, "restarting in %s after: %s", flinkconf.FormatDuration(backoff), exception)
	j.sched.OnFailure(now, backoff)
}

func (j *job) addException(now time.Time, exception string, tm *taskManager, task string) {
	e := ExceptionEntry{Time: now, Exception: exception, TaskName: task}
	cls := exception
	if i := strings.Index(exception, ": "); i >= 0 {
		cls = exception[:i]
	}
	e.Stacktrace = exception + "\n\tat " + cls + ".<init>(simulated)\n"
	if tm != nil {
		e.Location = fmt.Sprintf("%s:%d", tm.host, tm.dataPort)
		e.TaskManagerID = tm.id
	}
	j.exceptions = append([]ExceptionEntry{e}, j.exceptions...)
	if len(j.exceptions) > historySize {
		j.exceptions = j.exceptions[:historySize]
	}
}

// tasksProgress moves deployed tasks through DEPLOYING → INITIALIZING → RUNNING.
func (j *job) tasksProgress(now time.Time) {
	ex := j.exec
	if ex == nil || ex.running {
		return
	}
	if !ex.netOK && !now.Before(ex.baseDone) {
		ex.netOK = true
		if tm, req := j.s.networkShortage(j); tm != nil {
			msg := fmt.Sprintf("java.io.IOException: Insufficient number of network buffers: required %d, but only %d available. The total number of network buffers is currently set to %d of %d bytes each. You can increase this number by setting the configuration keys 'taskmanager.memory.network.fraction', 'taskmanager.memory.network.min', and 'taskmanager.memory.network.max'.",
				req, max(0, tm.netTotal-(tm.netRequired-req)), tm.netTotal, j.s.segmentSize())
			j.fail(now, msg, tm, causeFailure)
			return
		}
	}
	if !now.Before(ex.initDone) {
		ex.running = true
		for _, v := range j.vs {
			v.startRunning()
		}
		if j.cpInt > 0 {
			j.nextCp = ex.initDone.Add(j.cpInt)
		}
	}
}

// TaskState is the state of every task of the current execution at now.
func (j *job) taskState(now time.Time) string {
	ex := j.exec
	switch {
	case ex == nil:
		if j.status == StatusRestarting {
			return TaskCanceled
		}
		return TaskCreated
	case ex.running:
		return TaskRunning
	case now.Before(ex.baseDone):
		return TaskDeploying
	default:
		return TaskInitializing
	}
}

// processing reports whether records flow (all tasks RUNNING).
func (j *job) processing() bool { return j.exec != nil && j.exec.running }

// stateBytes is the job's total keyed state at the current (or configured) parallelism.
func (j *job) stateBytes() int64 {
	var n int64
	for _, v := range j.vs {
		p := v.p
		if p == 0 {
			p = v.sv.Parallelism
		}
		n += v.sv.StateBytes(p)
	}
	return n
}

// checkpoints triggers and completes periodic checkpoints.
func (j *job) checkpoints(now time.Time) {
	if cp := j.cpRunning; cp != nil {
		if !now.Before(cp.completeAt) {
			cp.status = "COMPLETED"
			cp.ack = cp.completeAt
			j.cpRunning = nil
			j.cpDone++
			j.latest = cp
			for si, vi := range j.srcs {
				copy(j.vs[vi].src.committed, cp.positions[si])
			}
			j.nextCp = maxT(cp.trigger.Add(j.cpInt), cp.completeAt.Add(j.cpMin))
			j.cpFailRun = 0
			j.sched.OnCheckpoint(now, true)
		} else if j.cpTO > 0 && !now.Before(cp.trigger.Add(j.cpTO)) {
			const msg = "Checkpoint expired before completing."
			j.failCheckpoint(now, msg)
			j.nextCp = maxT(cp.trigger.Add(j.cpInt), now.Add(j.cpMin))
			j.cpFailRun++
			j.sched.OnCheckpoint(now, false)
			// CheckpointFailureManager: expired checkpoints beyond the tolerated count fail
			// the job over.
			if j.cpFailRun > j.cpTol {
				j.cpFailRun = 0
				j.fail(now, "org.apache.flink.util.FlinkRuntimeException: Exceeded checkpoint tolerable failure threshold. The latest checkpoint failed due to "+msg, nil, causeFailure)
			}
		}
		return
	}
	if j.cpInt <= 0 || !j.processing() || now.Before(j.nextCp) {
		return
	}
	j.cpCounter++
	j.cpTotal++
	cp := &checkpoint{id: j.cpCounter, trigger: now, status: "IN_PROGRESS"}
	cp.stateSize = j.stateBytes()
	cp.checkpointed = cp.stateSize
	if j.incr {
		cp.checkpointed = int64(float64(cp.stateSize) * rocksDBIncrementalFraction)
	}
	for _, vi := range j.srcs {
		cp.positions = append(cp.positions, slices.Clone(j.vs[vi].src.pos))
	}
	for _, v := range j.vs {
		cp.numSubtasks += v.p
		cp.perVertex = append(cp.perVertex, v.p)
	}
	d := checkpointBase + time.Duration(float64(cp.checkpointed)/float64(j.sj.Restart.RestoreRate)*float64(time.Second))
	cp.completeAt = now.Add(d.Round(time.Millisecond))
	j.cpRunning = cp
	j.pushHistory(cp)
}

func (j *job) failCheckpoint(now time.Time, msg string) {
	cp := j.cpRunning
	j.cpRunning = nil
	cp.status = "FAILED"
	cp.failure = msg
	cp.failedAt = now
	j.cpFailed++
	j.latestFail = cp
}

func (j *job) pushHistory(cp *checkpoint) {
	j.cpHistory = append([]*checkpoint{cp}, j.cpHistory...)
	if len(j.cpHistory) > historySize {
		j.cpHistory = j.cpHistory[:historySize]
	}
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// jobManagerLost: the JobMaster dies with the JobManager; tasks are cancelled and the
// slots return to the TaskManagers.
func (j *job) jobManagerLost(now time.Time) {
	if j.terminal() {
		return
	}
	j.cancelExecution(now, "jobmanager")
	j.sched = nil
	for _, tm := range j.s.tms {
		for i := range tm.slots {
			if tm.slots[i].job == j {
				tm.slots[i] = slotState{}
				tm.idleSince = now
			}
		}
	}
	j.st.Restarts++
	j.cause = causeJobManager
}

// recoverAfterJobManager resubmits the job on the new JobManager: requirements survive (they
// are stored in the JobGraph), checkpoint statistics do not, the restore point does.
func (j *job) recoverAfterJobManager(now time.Time) {
	if j.terminal() {
		return
	}
	j.cpHistory = nil
	j.cpTotal, j.cpDone, j.cpFailed, j.cpRestored = 0, 0, 0, 0
	j.latestFail, j.restored = nil, nil
	j.exceptions = nil
	cause := j.cause
	j.submit(now)
	j.cause = cause
}

// restartPolicy is the restart strategy (fixed-delay, exponential-delay or none).
type restartPolicy struct {
	kind       string
	delay      time.Duration
	attempts   int
	initial    time.Duration
	maxBackoff time.Duration
	mult       float64
	reset      time.Duration
	used       int
}

func newRestartPolicy(c *flinkconf.Config, checkpointing bool, v adaptive.Version) (restartPolicy, error) {
	kind, configured := c.String(flinkconf.RestartStrategy)
	kind = strings.ToLower(strings.TrimSpace(kind))
	p := restartPolicy{}
	if !configured || kind == "" {
		switch {
		case !checkpointing:
			kind = "none"
		case v >= adaptive.V119:
			kind = "exponential-delay"
		default:
			kind = "fixed-delay"
			p.attempts = math.MaxInt32
		}
	}
	var err error
	get := func(o flinkconf.Option) time.Duration {
		d, _, e := durOpt(c, o)
		if e != nil && err == nil {
			err = e
		}
		return d
	}
	switch kind {
	case "none", "off", "disable":
		p.kind = "none"
	case "fixed-delay", "fixeddelay":
		p.kind = "fixed-delay"
		p.delay = get(flinkconf.FixedDelayDelay)
		if p.attempts == 0 {
			n, _, e := c.Int(flinkconf.FixedDelayAttempts)
			if e != nil {
				return p, e
			}
			p.attempts = int(n)
		}
	case "exponential-delay", "exponentialdelay":
		p.kind = "exponential-delay"
		p.initial = get(flinkconf.ExponentialInitialBackoff)
		p.maxBackoff = get(flinkconf.ExponentialMaxBackoff)
		p.reset = get(flinkconf.ExponentialResetThreshold)
		m, _, e := c.Double(flinkconf.ExponentialMultiplier)
		if e != nil {
			return p, e
		}
		p.mult = m
	default:
		return p, fmt.Errorf("%s: unsupported value %q: the simulator knows none, fixed-delay and exponential-delay", flinkconf.RestartStrategy.Key, kind)
	}
	return p, err
}

// next returns the backoff of the next restart, or false if the strategy gives up.
func (r *restartPolicy) next(now time.Time, j *job) (time.Duration, bool) {
	switch r.kind {
	case "fixed-delay":
		if r.used >= r.attempts {
			return 0, false
		}
		r.used++
		return r.delay, true
	case "exponential-delay":
		if !j.lastFail.IsZero() && now.Sub(j.lastFail) >= r.reset {
			j.failures = 0
		}
		b := float64(r.initial) * math.Pow(r.mult, float64(j.failures))
		j.failures++
		j.lastFail = now
		return time.Duration(math.Min(b, float64(r.maxBackoff))).Round(time.Millisecond), true
	}
	return 0, false
}
