// Package collect reads one Flink job per cycle through the REST API and fills an
// autoscaler.Snapshot with what the autoscaler policies need (flink-rest-api.md §3,
// autoscaler.md §3): job details and topology, per-vertex metric names and aggregated
// subtask metrics, TaskManager memory, network and GC aggregates, JobManager slot and memory
// gauges, the job's restart count (and its exception history when it restarted), the job's
// configuration and its resource requirements.
//
// A collection either succeeds completely or fails with an error naming the call that
// failed: policies never see partial data. Optional metrics Flink does not report are simply
// absent (names missing from an answer) or NaN (aggregates missing from an entry). Every
// number is validated on the way in (validate.go): implausible data fails the collection
// with a *BadDataError, so that no policy decides on it. Cluster-wide answers are fetched
// once per cycle and shared by its jobs (shared.go).
package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

// API is the subset of *flinkrest.Client the collector calls.
type API interface {
	FlinkVersion(ctx context.Context) (flinkrest.Version, error)
	JobsOverview(ctx context.Context) (*flinkrest.MultipleJobsDetails, error)
	JobDetails(ctx context.Context, jobID string) (*flinkrest.JobDetailsInfo, error)
	VertexMetricNames(ctx context.Context, jobID, vertexID string) ([]string, error)
	VertexMetrics(ctx context.Context, jobID, vertexID string, names, aggs []string) ([]flinkrest.AggregatedMetric, error)
	TaskManagers(ctx context.Context) (*flinkrest.TaskManagersInfo, error)
	TaskManagerMetrics(ctx context.Context, names, aggs []string) ([]flinkrest.AggregatedMetric, error)
	JobManagerMetrics(ctx context.Context, names []string) ([]flinkrest.Metric, error)
	JobMetrics(ctx context.Context, jobID string, names []string) ([]flinkrest.Metric, error)
	Exceptions(ctx context.Context, jobID string, maxExceptions int) (*flinkrest.JobExceptionsInfoWithHistory, error)
	JobManagerConfigForJob(ctx context.Context, jobID string) (flinkrest.ConfigurationInfo, error)
	ResourceRequirements(ctx context.Context, jobID string) (flinkrest.JobResourceRequirements, error)
}

var _ API = (*flinkrest.Client)(nil)

// Names of the metrics the collector reads outside the per-vertex selection.
const (
	MetricBusyTime       = "busyTimeMsPerSecond"
	MetricBackPressured  = "backPressuredTimeMsPerSecond"
	MetricIdleTime       = "idleTimeMsPerSecond"
	MetricRecordsInRate  = "numRecordsInPerSecond"
	MetricRecordsOutRate = "numRecordsOutPerSecond"
	MetricSlotsTotal     = "taskSlotsTotal"
	MetricSlotsAvailable = "taskSlotsAvailable"
	TMHeapUsed           = "Status.JVM.Memory.Heap.Used"
	TMHeapMax            = "Status.JVM.Memory.Heap.Max"
	TMHeapCommitted      = "Status.JVM.Memory.Heap.Committed"
	TMManagedUsed        = "Status.Flink.Memory.Managed.Used"
	TMManagedTotal       = "Status.Flink.Memory.Managed.Total"
	TMMetaspaceUsed      = "Status.JVM.Memory.Metaspace.Used"
	TMMetaspaceMax       = "Status.JVM.Memory.Metaspace.Max"
	TMGCTimePerSecond    = "Status.JVM.GarbageCollector.All.TimeMsPerSecond"
	TMNetworkUsedSegs    = "Status.Shuffle.Netty.UsedMemorySegments"
	TMNetworkTotalSegs   = "Status.Shuffle.Netty.TotalMemorySegments"
	MetricNumRestarts    = "numRestarts"
	// MetricLastCheckpointDuration is the last completed checkpoint's duration (ms): with the
	// checkpoint interval it bounds how far back a restart rewinds the sources.
	MetricLastCheckpointDuration = "lastCheckpointDuration"
	// MetricLastCheckpointSize and MetricLastCheckpointFullSize are the bytes the last
	// checkpoint wrote and the full state it refers to (Flink 1.15+): an incremental checkpoint
	// writes a fraction of what a restore reads back.
	MetricLastCheckpointSize     = "lastCheckpointSize"
	MetricLastCheckpointFullSize = "lastCheckpointFullSize"
	// MetricCompletedCheckpoints counts the job's completed checkpoints: its step tells a
	// policy that a checkpoint has just completed, the moment a restart replays the least.
	MetricCompletedCheckpoints = "numberOfCompletedCheckpoints"
	// MaxExceptions is how many entries of the exception history a restart fetches.
	MaxExceptions        = 10
	sourcePrefix         = "Source__"
	pendingRecordsSuffix = ".pendingRecords"
	schedulerKey         = "jobmanager.scheduler"
	schedulerModeKey     = "scheduler-mode"
	defaultCallTimeout   = 10 * time.Second
)

// TaskManagerMetricNames are the TaskManager metrics collected (aggregated over all
// TaskManagers with min, max and avg), GC time first dropped when the cluster lacks it. Names
// a cluster lacks are simply absent from the answer.
var taskManagerMetricNames = []string{TMHeapMax, TMHeapUsed, TMHeapCommitted, TMManagedUsed, TMManagedTotal,
	TMMetaspaceUsed, TMMetaspaceMax, TMNetworkUsedSegs, TMNetworkTotalSegs, TMGCTimePerSecond}

// jobManagerMemoryMetrics are the JobManager gauges read into Snapshot.JobManagerMetrics (with
// the slot gauges, in one query).
var jobManagerMemoryMetrics = []string{TMHeapUsed, TMHeapMax, TMHeapCommitted, TMMetaspaceUsed, TMMetaspaceMax, TMGCTimePerSecond}

// TaskManagerMetricNames returns the TaskManager metrics the collector queries.
func TaskManagerMetricNames() []string { return slices.Clone(taskManagerMetricNames) }

// SelectVertexMetrics returns the names, out of a vertex's names-only listing, whose
// aggregated values the collector queries (sorted, without duplicates):
//
//   - the task metrics busyTimeMsPerSecond, backPressuredTimeMsPerSecond,
//     idleTimeMsPerSecond, numRecordsInPerSecond, numRecordsOutPerSecond;
//   - the source operator metrics Source__<op>.numRecordsIn, .numRecordsOut,
//     .numRecordsInPerSecond, .numRecordsOutPerSecond;
//   - every name ending in .pendingRecords (source lag, FLIP-33).
//
// Policies and docs rely on this selection: a metric outside it is never in
// Snapshot.Vertices[].Metrics.
func SelectVertexMetrics(available []string) []string {
	var out []string
	for _, n := range available {
		if IsSelectedVertexMetric(n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// IsSelectedVertexMetric reports whether SelectVertexMetrics keeps the name.
func IsSelectedVertexMetric(name string) bool {
	switch name {
	case MetricBusyTime, MetricBackPressured, MetricIdleTime, MetricRecordsInRate, MetricRecordsOutRate:
		return true
	}
	if strings.HasSuffix(name, pendingRecordsSuffix) {
		return true
	}
	if strings.HasPrefix(name, sourcePrefix) {
		for _, s := range []string{".numRecordsIn", ".numRecordsOut", ".numRecordsInPerSecond", ".numRecordsOutPerSecond"} {
			if strings.HasSuffix(name, s) {
				return true
			}
		}
	}
	return false
}

// Options configure a Collector.
type Options struct {
	// Cluster names the REST endpoint in snapshots.
	Cluster string
	// CallTimeout is the deadline of each REST call (default 10s).
	CallTimeout time.Duration
}

// Collector fills snapshots for the jobs of one cluster. It caches per job the metric-name
// listings of non-source vertices (until the vertex set changes or the job restarts) and
// whether the cluster reports GC time; it is safe for concurrent use on different jobs.
type Collector struct {
	api  API
	opts Options

	mu     sync.Mutex
	jobs   map[string]*jobCache
	shared map[string]*sharedEntry // cluster-wide answers of the current cycle (shared.go)
}

type jobCache struct {
	mu           sync.Mutex // one collection of a job at a time
	vertexSet    string
	runningSince int64
	names        map[string][]string // non-source vertex id -> listing
	gcSupported  *bool
	restarts     int  // numRestarts of the last successful cycle
	restartsSeen bool // restarts is known
}

// New returns a collector reading through api.
func New(api API, opts Options) *Collector {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimeout
	}
	return &Collector{api: api, opts: opts, jobs: map[string]*jobCache{}, shared: map[string]*sharedEntry{}}
}

// CallError is a failed collection: which call failed, for which job (and vertex).
type CallError struct {
	JobID    string
	VertexID string // empty for job- and cluster-level calls
	Call     string // e.g. "GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?get=..."
	Err      error
}

func (e *CallError) Error() string {
	where := "job " + e.JobID
	if e.JobID == "" {
		where = "cluster"
	}
	if e.VertexID != "" {
		where += " vertex " + e.VertexID
	}
	return fmt.Sprintf("collecting %s: %s: %v", where, e.Call, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// Job is a job found on the cluster.
type Job struct {
	ID        string
	Name      string
	State     string
	StartTime time.Time
}

// terminal job states (globally terminal: the job will not run again).
var terminal = map[string]bool{flinkrest.JobFailed: true, flinkrest.JobCanceled: true, flinkrest.JobFinished: true}

// ListJobs returns the cluster's jobs that are not globally terminal (RUNNING,
// RESTARTING, CREATED, ...), from GET /jobs/overview, sorted by id.
func (c *Collector) ListJobs(ctx context.Context) ([]Job, error) {
	cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	ov, err := c.api.JobsOverview(cctx)
	if err != nil {
		return nil, &CallError{Call: "GET /jobs/overview", Err: err}
	}
	var out []Job
	for _, j := range ov.Jobs {
		if terminal[j.State] {
			continue
		}
		out = append(out, Job{ID: j.JID, Name: j.Name, State: j.State, StartTime: time.UnixMilli(j.StartTime)})
	}
	slices.SortFunc(out, func(a, b Job) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Forget drops what the collector cached about a job (call it when the job disappears).
func (c *Collector) Forget(jobID string) {
	c.mu.Lock()
	delete(c.jobs, jobID)
	c.mu.Unlock()
}

func (c *Collector) cache(jobID string) *jobCache {
	c.mu.Lock()
	defer c.mu.Unlock()
	jc, ok := c.jobs[jobID]
	if !ok {
		jc = &jobCache{}
		c.jobs[jobID] = jc
	}
	return jc
}

// call runs one REST call under the per-call deadline.
func call[T any](ctx context.Context, c *Collector, f func(context.Context) (T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, c.opts.CallTimeout)
	defer cancel()
	return f(cctx)
}

// Collect reads one job and returns its complete snapshot, or an error naming the failed
// call. The snapshot is timed by the JobManager's clock (the job details' "now") when Flink
// reports it, else by now: rates must be measured on the clock the counters advance with,
// which differs from the caller's under clock skew or against an accelerated simulator. For a job that is not effectively RUNNING only the job details and
// configuration are read: no policy decides on a job that does not run.
func (c *Collector) Collect(ctx context.Context, jobID string, now time.Time) (*autoscaler.Snapshot, error) {
	jc := c.cache(jobID)
	jc.mu.Lock()
	defer jc.mu.Unlock()

	k := &collection{c: c, ctx: ctx, jc: jc, jobID: jobID, now: now}
	if err := k.job(); err != nil {
		return nil, err
	}
	if k.snap.Status != flinkrest.JobRunning {
		c.markRestarts(jc, k.snap)
		return k.snap, nil
	}
	k.refreshCache()
	if err := k.vertices(); err != nil {
		return nil, err
	}
	if err := k.cluster(); err != nil {
		return nil, err
	}
	if err := k.requirements(); err != nil {
		return nil, err
	}
	if err := k.chk.result(); err != nil {
		return nil, err
	}
	c.markRestarts(jc, k.snap)
	return k.snap, nil
}

// collection is one Collect call's working state, shared by its steps, which fill snap in
// the order of the REST calls. chk gathers what Flink reported out of range, so that a
// snapshot with implausible values is refused whole.
type collection struct {
	c       *Collector
	ctx     context.Context
	jc      *jobCache
	jobID   string
	now     time.Time
	chk     *checker
	version flinkrest.Version
	details *flinkrest.JobDetailsInfo
	snap    *autoscaler.Snapshot
	// sources are the source vertices, whose metric listings are never cached.
	sources map[string]bool
}

// fail names the failed call (and its vertex) in the error.
func (k *collection) fail(vertex, what string, err error) error {
	return &CallError{JobID: k.jobID, VertexID: vertex, Call: what, Err: err}
}

// job reads what every job has, running or not: the Flink version, the job details, its
// configuration and, since they tell most about a job that does not run (a job failing over
// after an out-of-memory error), its restarts and exception history.
func (k *collection) job() error {
	c, ctx := k.c, k.ctx
	// An unparsable version (a development build) is no reason to stop: features are
	// then probed rather than assumed.
	version, err := call(ctx, c, c.api.FlinkVersion)
	if err != nil && !errors.Is(err, flinkrest.ErrUnknownVersion) {
		return k.fail("", "GET /config (Flink version)", err)
	}
	k.version = version
	details, err := call(ctx, c, func(ctx context.Context) (*flinkrest.JobDetailsInfo, error) { return c.api.JobDetails(ctx, k.jobID) })
	if err != nil {
		return k.fail("", "GET /jobs/{jobid}", err)
	}
	k.details = details
	k.chk = &checker{job: k.jobID}
	if k.chk.checkDetails(details); k.chk.err != nil {
		return k.chk.err
	}
	if k.snap, k.sources, err = fromDetails(details, k.now); err != nil {
		return k.fail("", "GET /jobs/{jobid}", err)
	}
	k.snap.Cluster = c.opts.Cluster
	k.snap.FlinkVersion = version.String()

	conf, err := call(ctx, c, func(ctx context.Context) (flinkrest.ConfigurationInfo, error) {
		return c.api.JobManagerConfigForJob(ctx, k.jobID)
	})
	if err != nil {
		return k.fail("", "GET /jobs/{jobid}/jobmanager/config", err)
	}
	k.snap.Config = conf.Map()
	if err := c.restarts(ctx, k.jc, k.jobID, k.snap, k.chk); err != nil {
		return err
	}
	return k.chk.result()
}

// refreshCache drops the cached listings and the GC probe when the job restarted or its
// vertex set changed: both may differ since.
func (k *collection) refreshCache() {
	jc := k.jc
	running := k.details.Timestamps[flinkrest.JobRunning]
	vset := vertexSet(k.details)
	if jc.vertexSet != vset || jc.runningSince != running {
		jc.vertexSet, jc.runningSince = vset, running
		jc.names = map[string][]string{}
		jc.gcSupported = nil
	}
}

// vertices reads each unfinished vertex's metrics: the listing of its metric names, then
// the aggregates of those the policies use.
func (k *collection) vertices() error {
	c, ctx, jobID := k.c, k.ctx, k.jobID
	for i := range k.snap.Vertices {
		v := &k.snap.Vertices[i]
		v.Metrics = map[string]autoscaler.Aggregate{}
		if v.Finished {
			continue
		}
		names, err := k.metricNames(v)
		if err != nil {
			return err
		}
		v.MetricNames = names
		selected := SelectVertexMetrics(names)
		if len(selected) == 0 {
			continue
		}
		aggs, err := call(ctx, c, func(ctx context.Context) ([]flinkrest.AggregatedMetric, error) {
			return c.api.VertexMetrics(ctx, jobID, v.ID, selected, nil)
		})
		if err != nil {
			return k.fail(v.ID, "GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?get=... ("+v.Name+")", err)
		}
		for _, a := range aggs {
			v.Metrics[a.ID] = k.chk.aggregate(v.ID, "", a)
		}
	}
	return nil
}

// metricNames lists a vertex's metric names, from the cache for a non-source vertex. A
// source's listing is read every cycle, never cached, so that lag metrics (.pendingRecords)
// registered after an earlier listing are still seen.
func (k *collection) metricNames(v *autoscaler.Vertex) ([]string, error) {
	c, jc := k.c, k.jc
	names, cached := jc.names[v.ID]
	if cached && !k.sources[v.ID] {
		return names, nil
	}
	names, err := call(k.ctx, c, func(ctx context.Context) ([]string, error) { return c.api.VertexMetricNames(ctx, k.jobID, v.ID) })
	if err != nil {
		return nil, k.fail(v.ID, "GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics (names of "+v.Name+")", err)
	}
	// Cache a non-source listing only once it is complete enough to be used: right
	// after a (re)start subtasks may not have registered their metrics yet.
	if !k.sources[v.ID] && slices.Contains(names, MetricBusyTime) {
		jc.names[v.ID] = names
	}
	return names, nil
}

// cluster reads the cluster-wide metrics (shared by the jobs of one cycle): the
// TaskManagers' memory and GC, the JobManager's slots and memory, the TaskManager count.
func (k *collection) cluster() error {
	c, ctx, now, snap, chk := k.c, k.ctx, k.now, k.snap, k.chk
	tm, err := c.taskManagerMetrics(ctx, k.jc, now)
	if err != nil {
		return k.fail("", "GET /taskmanagers/metrics", err)
	}
	snap.TaskManagerMetrics = make(map[string]autoscaler.Aggregate, len(tm))
	for _, a := range tm {
		snap.TaskManagerMetrics[a.ID] = chk.aggregate("", "taskmanagers/metrics ", a)
	}

	jm, err := shared(ctx, c, "jobmanager/metrics", now, func() ([]flinkrest.Metric, error) {
		return call(ctx, c, func(ctx context.Context) ([]flinkrest.Metric, error) {
			return c.api.JobManagerMetrics(ctx, append([]string{MetricSlotsTotal, MetricSlotsAvailable}, jobManagerMemoryMetrics...))
		})
	})
	if err != nil {
		return k.fail("", "GET /jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable,...", err)
	}
	snap.SlotsTotal, snap.SlotsAvailable = chk.gaugeInt(jm, MetricSlotsTotal, maxSlots), chk.gaugeInt(jm, MetricSlotsAvailable, maxSlots)
	snap.JobManagerMetrics = chk.gauges(jm, jobManagerMemoryMetrics)

	tms, err := shared(ctx, c, "taskmanagers", now, func() (*flinkrest.TaskManagersInfo, error) { return call(ctx, c, c.api.TaskManagers) })
	if err != nil {
		return k.fail("", "GET /taskmanagers", err)
	}
	snap.NumTaskManagers = len(tms.TaskManagers)
	return nil
}

// requirements reads the job's resource requirements under the adaptive scheduler, where
// the Flink version serves them (or may: an unknown version is probed).
func (k *collection) requirements() error {
	c, snap := k.c, k.snap
	if !adaptiveScheduler(snap.Config) || !(k.version.HasResourceRequirements() || !k.version.Known()) {
		return nil
	}
	req, err := call(k.ctx, c, func(ctx context.Context) (flinkrest.JobResourceRequirements, error) {
		return c.api.ResourceRequirements(ctx, k.jobID)
	})
	if err != nil {
		return k.fail("", "GET /jobs/{jobid}/resource-requirements", err)
	}
	// nil: FLINK-32341's empty body; the requirements are unknown, not empty.
	if k.chk.requirements(req); req != nil {
		snap.Requirements = make(map[string]autoscaler.Bounds, len(req))
		for id, r := range req {
			snap.Requirements[id] = autoscaler.Bounds{Lower: r.Parallelism.LowerBound, Upper: r.Parallelism.UpperBound}
		}
	}
	return nil
}

// restarts reads numRestarts and, when it changed since the last complete collection (or, on
// first sight, when the job ever restarted), the exception history.
func (c *Collector) restarts(ctx context.Context, jc *jobCache, jobID string, snap *autoscaler.Snapshot, chk *checker) error {
	names := []string{MetricNumRestarts, MetricLastCheckpointDuration,
		MetricLastCheckpointSize, MetricLastCheckpointFullSize, MetricCompletedCheckpoints}
	jobMetrics, err := call(ctx, c, func(ctx context.Context) ([]flinkrest.Metric, error) {
		return c.api.JobMetrics(ctx, jobID, names)
	})
	if err != nil {
		return &CallError{JobID: jobID, Call: "GET /jobs/{jobid}/metrics?get=" + strings.Join(names, ","), Err: err}
	}
	snap.NumRestarts = chk.gaugeInt(jobMetrics, MetricNumRestarts, math.MaxInt32)
	snap.LastCheckpointDuration = lastCheckpointDuration(jobMetrics)
	snap.LastCheckpointSize = checkpointGauge(jobMetrics, MetricLastCheckpointSize)
	snap.LastCheckpointFullSize = checkpointGauge(jobMetrics, MetricLastCheckpointFullSize)
	snap.CompletedCheckpoints = checkpointGauge(jobMetrics, MetricCompletedCheckpoints)
	if snap.NumRestarts > 0 && (!jc.restartsSeen || jc.restarts != snap.NumRestarts) {
		exc, err := call(ctx, c, func(ctx context.Context) (*flinkrest.JobExceptionsInfoWithHistory, error) {
			return c.api.Exceptions(ctx, jobID, MaxExceptions)
		})
		if err != nil {
			return &CallError{JobID: jobID, Call: "GET /jobs/{jobid}/exceptions?maxExceptions=" + strconv.Itoa(MaxExceptions), Err: err}
		}
		if exc != nil {
			for _, e := range exc.ExceptionHistory.Entries {
				chk.epochMillis("", "exceptions timestamp", e.Timestamp)
				for _, cc := range e.ConcurrentExceptions {
					chk.epochMillis("", "exceptions timestamp", cc.Timestamp)
				}
			}
		}
		snap.Exceptions = Exceptions(exc)
	}
	return nil
}

// markRestarts moves the restart mark; only a complete collection does, so a failed cycle
// reads the history again.
func (c *Collector) markRestarts(jc *jobCache, snap *autoscaler.Snapshot) {
	if snap.NumRestarts >= 0 {
		jc.restarts, jc.restartsSeen = snap.NumRestarts, true
	}
}

// Exceptions converts the exception history (newest first) into snapshot entries: each root
// failure followed by the failures that happened concurrently with it.
func Exceptions(info *flinkrest.JobExceptionsInfoWithHistory) []autoscaler.JobException {
	if info == nil {
		return nil
	}
	var out []autoscaler.JobException
	for _, root := range info.ExceptionHistory.Entries {
		out = append(out, jobException(root.ExceptionInfo))
		for _, c := range root.ConcurrentExceptions {
			out = append(out, jobException(c))
		}
	}
	return out
}

func jobException(e flinkrest.ExceptionInfo) autoscaler.JobException {
	msg := e.Stacktrace
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(msg, e.ExceptionName), ":"))
	// The root cause of a wrapped failure (a JobException around an OutOfMemoryError or
	// missing network buffers) is in the trace's "Caused by:" lines: keep them.
	for _, line := range strings.Split(e.Stacktrace, "\n") {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "Caused by: "); ok && len(msg) < 4096 {
			msg += " | Caused by: " + c
		}
	}
	tm := e.TaskManagerID
	if tm == "" {
		tm = e.Endpoint
	}
	if tm == "" {
		tm = e.Location
	}
	return autoscaler.JobException{Time: time.UnixMilli(e.Timestamp).UTC(), Name: e.ExceptionName, Message: msg, TaskManager: tm}
}

// taskManagerMetrics queries the TaskManager aggregates. The first query of a job (after a
// restart) includes the GC time; if that answer is empty the cluster is taken to lack it
// (older Flink) and the names without it are queried instead.
func (c *Collector) taskManagerMetrics(ctx context.Context, jc *jobCache, now time.Time) ([]flinkrest.AggregatedMetric, error) {
	aggs := []string{flinkrest.AggMin, flinkrest.AggMax, flinkrest.AggAvg}
	query := func(names []string) ([]flinkrest.AggregatedMetric, error) {
		return shared(ctx, c, "taskmanagers/metrics?"+strings.Join(names, ","), now, func() ([]flinkrest.AggregatedMetric, error) {
			return call(ctx, c, func(ctx context.Context) ([]flinkrest.AggregatedMetric, error) {
				return c.api.TaskManagerMetrics(ctx, names, aggs)
			})
		})
	}
	withoutGC := taskManagerMetricNames[:len(taskManagerMetricNames)-1]
	var res []flinkrest.AggregatedMetric
	var err error
	if jc.gcSupported == nil || *jc.gcSupported {
		if res, err = query(taskManagerMetricNames); err != nil {
			return nil, err
		}
		if jc.gcSupported == nil {
			ok := len(res) > 0
			jc.gcSupported = &ok
		}
	}
	if !*jc.gcSupported {
		if res, err = query(withoutGC); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// fromDetails builds the job part of a snapshot from GET /jobs/{jobid}; it also returns
// which vertices are sources (no inputs in the plan).
func fromDetails(d *flinkrest.JobDetailsInfo, now time.Time) (*autoscaler.Snapshot, map[string]bool, error) {
	if d.Now > 0 {
		now = time.UnixMilli(d.Now).UTC()
	}
	snap := &autoscaler.Snapshot{
		Time:           now,
		JobID:          d.JID,
		JobName:        d.Name,
		Status:         EffectiveStatus(d),
		SlotsTotal:     -1,
		SlotsAvailable: -1,
		NumRestarts:    -1,
	}
	if ts := d.Timestamps[flinkrest.JobRunning]; ts > 0 {
		snap.RunningSince = time.UnixMilli(ts)
	}
	nodes := make(map[string]*flinkrest.PlanNode, len(d.Plan.Nodes))
	for i := range d.Plan.Nodes {
		nodes[d.Plan.Nodes[i].ID] = &d.Plan.Nodes[i]
	}
	sources := map[string]bool{}
	for _, dv := range d.Vertices {
		node, ok := nodes[dv.ID]
		if !ok && snap.Status != flinkrest.JobRunning {
			// Between two execution graphs (a rescale or restart in progress) the plan can lag
			// the vertex list: a job that is not running is reported as such, without vertices,
			// and the policies wait for it to run again. Only a running job must be consistent.
			snap.Vertices = nil
			return snap, map[string]bool{}, nil
		}
		if !ok {
			return nil, nil, fmt.Errorf("the plan has no node for vertex %s (%s)", dv.ID, dv.Name)
		}
		v := autoscaler.Vertex{
			ID:                  dv.ID,
			Name:                dv.Name,
			Parallelism:         dv.Parallelism,
			MaxParallelism:      dv.MaxParallelism,
			SlotSharingGroup:    dv.SlotSharingGroupID,
			Finished:            dv.Status == flinkrest.TaskFinished,
			ReadRecords:         dv.Metrics.ReadRecords,
			WriteRecords:        dv.Metrics.WriteRecords,
			AccumulatedBusyTime: float64(dv.Metrics.AccumulatedBusyTime),
		}
		for _, in := range node.Inputs {
			if _, ok := nodes[in.ID]; !ok {
				return nil, nil, fmt.Errorf("vertex %s has an input from %s, which is not in the plan", dv.ID, in.ID)
			}
			v.Inputs = append(v.Inputs, autoscaler.Edge{From: in.ID, Ship: ShipStrategy(in.ShipStrategy)})
		}
		sources[dv.ID] = len(v.Inputs) == 0
		snap.Vertices = append(snap.Vertices, v)
	}
	if len(snap.Vertices) == 0 && snap.Status == flinkrest.JobRunning {
		return nil, nil, errors.New("a RUNNING job without vertices")
	}
	return snap, sources, nil
}

// EffectiveStatus is the standalone autoscaler's JobStatusUtils rule: a RUNNING job counts
// as RUNNING only when every task is RUNNING or FINISHED; otherwise it is CREATED (still
// deploying or recovering).
func EffectiveStatus(d *flinkrest.JobDetailsInfo) string {
	if d.State != flinkrest.JobRunning {
		return d.State
	}
	for _, v := range d.Vertices {
		if v.Tasks == nil {
			if v.Status != flinkrest.TaskRunning && v.Status != flinkrest.TaskFinished {
				return flinkrest.JobCreated
			}
			continue
		}
		for state, n := range v.Tasks {
			if n > 0 && state != flinkrest.TaskRunning && state != flinkrest.TaskFinished {
				return flinkrest.JobCreated
			}
		}
	}
	return flinkrest.JobRunning
}

// knownShip are the partitioner names Flink writes as ship_strategy.
var knownShip = map[string]bool{"FORWARD": true, "HASH": true, "REBALANCE": true, "RESCALE": true,
	"BROADCAST": true, "GLOBAL": true, "SHUFFLE": true, "CUSTOM": true}

// ShipStrategy normalizes a plan ship_strategy: upper case, anything unknown is UNKNOWN.
func ShipStrategy(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	if knownShip[u] {
		return u
	}
	return autoscaler.ShipUnknown
}

func vertexSet(d *flinkrest.JobDetailsInfo) string {
	ids := make([]string, len(d.Vertices))
	for i, v := range d.Vertices {
		ids[i] = v.ID
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

// adaptiveScheduler reports whether the job runs on the adaptive scheduler (explicitly or
// through reactive mode), the only one with resource requirements.
func adaptiveScheduler(cfg map[string]string) bool {
	return strings.EqualFold(strings.TrimSpace(cfg[schedulerKey]), "adaptive") ||
		strings.EqualFold(strings.TrimSpace(cfg[schedulerModeKey]), "reactive")
}

func toAggregate(a flinkrest.AggregatedMetric) autoscaler.Aggregate {
	return autoscaler.Aggregate{Min: a.Min.Float(), Max: a.Max.Float(), Avg: a.Avg.Float(), Sum: a.Sum.Float(), Skew: a.Skew.Float()}
}

// checkpointGauge reads a checkpoint gauge (a size in bytes, the count of completed
// checkpoints); 0 when missing, not a number or not positive (Flink reports -1 before the
// first checkpoint completes, and older versions have no lastCheckpointFullSize). Like the
// duration, it is restart-cost evidence only: a bad value is dropped, not a failed collection.
func checkpointGauge(ms []flinkrest.Metric, id string) int64 {
	for _, m := range ms {
		if m.ID != id {
			continue
		}
		if f, err := m.Float(); err == nil && f > 0 && f < math.MaxInt64 {
			return int64(f)
		}
	}
	return 0
}

// lastCheckpointDuration reads the lastCheckpointDuration gauge; 0 when missing or not a
// duration (Flink reports -1 before the first checkpoint completes). It is evidence for a
// policy's restart cost only, so a bad value is dropped rather than failing the collection.
func lastCheckpointDuration(ms []flinkrest.Metric) time.Duration {
	for _, m := range ms {
		if m.ID != MetricLastCheckpointDuration {
			continue
		}
		if f, err := m.Float(); err == nil && f > 0 && f < float64(24*time.Hour/time.Millisecond) {
			return time.Duration(f * float64(time.Millisecond))
		}
	}
	return 0
}
