package simrest

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
	"github.com/flinktune/flinktune/sim"
)

// route dispatches a Flink REST call. The caller holds the lock.
func (srv *Server) route(w http.ResponseWriter, r *http.Request, path string) {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	m := r.Method
	get := m == http.MethodGet || m == http.MethodHead
	q := r.URL.Query()
	notFound := func() { writeError(w, http.StatusNotFound, "Not found: "+r.URL.Path) }
	allow := func(ok bool) bool {
		if !ok {
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s is not supported for %s.", m, r.URL.Path))
		}
		return ok
	}
	switch {
	case path == "/config":
		if allow(get) {
			srv.config(w)
		}
	case path == "/overview":
		if allow(get) {
			srv.overview(w)
		}
	case path == "/jobs":
		if allow(get) {
			srv.jobs(w)
		}
	case path == "/jobs/overview":
		if allow(get) {
			srv.jobsOverview(w)
		}
	case path == "/jobs/metrics":
		if allow(get) {
			srv.jobsMetrics(w, q)
		}
	case path == "/jobmanager/config":
		if allow(get) {
			writeJSON(w, http.StatusOK, configInfo(srv.sim.ClusterConfig()))
		}
	case path == "/jobmanager/metrics":
		if allow(get) {
			writeMetrics(w, srv.sim.JobManagerMetricList(), q, "")
		}
	case path == "/taskmanagers":
		if allow(get) {
			srv.taskManagers(w)
		}
	case path == "/taskmanagers/metrics":
		if allow(get) {
			srv.taskManagersMetrics(w, q)
		}
	case len(seg) >= 2 && seg[0] == "taskmanagers":
		tm, ok := srv.sim.TaskManager(seg[1])
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("org.apache.flink.runtime.resourcemanager.exceptions.UnknownTaskExecutorException: No TaskExecutor registered under %s.", seg[1]))
			return
		}
		switch {
		case len(seg) == 2 && allow(get):
			srv.taskManagerDetails(w, tm)
		case len(seg) == 3 && seg[2] == "metrics" && allow(get):
			ms, _ := srv.sim.TaskManagerMetricList(tm.ID)
			writeMetrics(w, ms, q, "")
		case len(seg) > 3 || (len(seg) == 3 && seg[2] != "metrics"):
			notFound()
		}
	case len(seg) >= 2 && seg[0] == "jobs":
		srv.jobRoute(w, r, seg[1], seg[2:], q, get, allow, notFound)
	default:
		notFound()
	}
}

func (srv *Server) jobRoute(w http.ResponseWriter, r *http.Request, jid string, rest []string, q map[string][]string, get bool,
	allow func(bool) bool, notFound func()) {
	s := srv.sim
	job, ok := srv.job(jid)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("org.apache.flink.runtime.rest.NotFoundException: Job %s not found", jid))
		return
	}
	sub := strings.Join(rest, "/")
	switch {
	case sub == "" && r.Method == http.MethodPatch:
		srv.cancel(w, jid, q)
	case sub == "":
		if allow(get) {
			writeJSON(w, http.StatusOK, srv.jobDetails(job))
		}
	case sub == "status":
		if allow(get) {
			writeJSON(w, http.StatusOK, flinkrest.JobStatusInfo{Status: job.Status})
		}
	case sub == "plan":
		if allow(get) {
			writeJSON(w, http.StatusOK, flinkrest.JobPlanInfo{Plan: srv.plan(job)})
		}
	case sub == "config":
		if allow(get) {
			srv.jobConfig(w, job)
		}
	case sub == "jobmanager/config":
		if allow(get) {
			cfg, _ := s.JobConfig(jid)
			writeJSON(w, http.StatusOK, configInfo(cfg))
		}
	case sub == "metrics":
		if allow(get) {
			ms, _ := s.JobMetricList(jid)
			writeMetrics(w, ms, q, "")
		}
	case sub == "checkpoints":
		if allow(get) {
			srv.checkpoints(w, jid)
		}
	case sub == "checkpoints/config":
		if allow(get) {
			srv.checkpointConfig(w, jid)
		}
	case sub == "exceptions":
		if allow(get) {
			srv.exceptions(w, jid, q)
		}
	case sub == "resource-requirements" && r.Method == http.MethodPut:
		srv.putRequirements(w, r, jid)
	case sub == "resource-requirements":
		if allow(get) {
			req, _ := s.Requirements(jid)
			writeJSON(w, http.StatusOK, toWire(req))
		}
	case sub == "rescaling":
		if allow(r.Method == http.MethodPatch) {
			writeError(w, http.StatusServiceUnavailable, "org.apache.flink.runtime.rest.handler.RestHandlerException: Rescaling is temporarily disabled. See FLINK-12312.")
		}
	case sub == "savepoints":
		if allow(r.Method == http.MethodPost) {
			srv.triggerSavepoint(w, r, job)
		}
	case len(rest) == 2 && rest[0] == "savepoints":
		if allow(get) {
			srv.savepointStatus(w, jid, rest[1])
		}
	case len(rest) >= 2 && rest[0] == "vertices":
		srv.vertexRoute(w, job, jid, rest, q, get, allow, notFound)
	default:
		notFound()
	}
}

// cancel serves PATCH /jobs/<id>?mode=cancel (mode may be left out; no other mode exists).
func (srv *Server) cancel(w http.ResponseWriter, jid string, q map[string][]string) {
	if mode := firstQ(q, "mode"); mode != "" && mode != "cancel" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid value for mode: %s", mode))
		return
	}
	srv.sim.Cancel(jid)
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// vertexRoute serves /jobs/<id>/vertices/<vid>[/...]: rest starts at "vertices". The path is
// matched before the method is checked, so that a wrong method answers one 405 and an unknown
// path one 404 (checking the method inside each case wrote a 405 and then fell through to the
// 404: two bodies).
func (srv *Server) vertexRoute(w http.ResponseWriter, job sim.JobView, jid string, rest []string, q map[string][]string, get bool,
	allow func(bool) bool, notFound func()) {
	var vx *sim.VertexView
	for i := range job.Vertices {
		if job.Vertices[i].ID == rest[1] {
			vx = &job.Vertices[i]
		}
	}
	if vx == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("org.apache.flink.runtime.rest.NotFoundException: JobVertex %s not found", rest[1]))
		return
	}
	sub := rest[2:]
	vsub := strings.Join(sub, "/")
	subtask := len(sub) == 3 && sub[0] == "subtasks" && sub[2] == "metrics"
	switch vsub {
	case "", "metrics", "subtasks/metrics", "backpressure", "watermarks":
	default:
		if !subtask {
			notFound()
			return
		}
	}
	if !allow(get) {
		return
	}
	switch vsub {
	case "":
		writeJSON(w, http.StatusOK, srv.vertexDetails(job, vx))
	case "metrics":
		srv.vertexMetrics(w, job, vx, q)
	case "subtasks/metrics":
		srv.subtasksMetrics(w, job, vx, q)
	case "backpressure":
		srv.backpressure(w, job, vx)
	case "watermarks":
		srv.watermarks(w, job, vx)
	default:
		i, err := strconv.Atoi(sub[1])
		if err != nil || i < 0 || i >= vx.Parallelism {
			writeError(w, http.StatusNotFound, fmt.Sprintf("Invalid subtask index %s for vertex %s.", sub[1], vx.ID))
			return
		}
		ms, _ := srv.sim.SubtaskMetricList(jid, vx.ID, i)
		writeMetrics(w, ms, q, "")
	}
}

func firstQ(q map[string][]string, keys ...string) string {
	for _, k := range keys {
		if v := q[k]; len(v) > 0 {
			return strings.Join(v, ",")
		}
	}
	return ""
}

func (srv *Server) config(w http.ResponseWriter) {
	s := srv.sim
	writeJSON(w, http.StatusOK, flinkrest.DashboardConfiguration{
		RefreshInterval: 3000, TimezoneName: "Coordinated Universal Time", TimezoneOffset: 0,
		FlinkVersion: s.FlinkVersion(), FlinkRevision: s.FlinkRevision(),
		Features: flinkrest.DashboardFeatures{WebSubmit: false, WebCancel: true, WebRescale: false, WebHistory: false},
	})
}

func (srv *Server) overview(w http.ResponseWriter) {
	s := srv.sim
	c := s.Cluster()
	writeJSON(w, http.StatusOK, flinkrest.ClusterOverview{
		TaskManagers: c.TaskManagers, SlotsTotal: c.SlotsTotal, SlotsAvailable: c.SlotsAvailable,
		JobsRunning: c.JobsRunning, JobsFinished: c.JobsFinished, JobsCancelled: c.JobsCancelled, JobsFailed: c.JobsFailed,
		FlinkVersion: s.FlinkVersion(), FlinkCommit: s.FlinkRevision(),
	})
}

func (srv *Server) jobs(w http.ResponseWriter) {
	out := flinkrest.JobIDsWithStatus{Jobs: []flinkrest.JobIDWithStatus{}}
	for _, j := range srv.sim.Jobs() {
		out.Jobs = append(out.Jobs, flinkrest.JobIDWithStatus{ID: j.ID, Status: j.Status})
	}
	writeJSON(w, http.StatusOK, out)
}

func taskCounts(j sim.JobView) map[string]int {
	m := map[string]int{}
	for _, st := range flinkrest.ExecutionStates {
		m[st] = 0
	}
	for _, v := range j.Vertices {
		if len(v.Subtasks) == 0 {
			if j.Status == sim.StatusRestarting || j.Status == sim.StatusCreated || j.Status == sim.StatusInitializing {
				m[flinkrest.TaskCreated] += v.Parallelism
			} else {
				m[flinkrest.TaskCanceled] += v.Parallelism
			}
			continue
		}
		m[j.TaskState] += len(v.Subtasks)
	}
	return m
}

func duration(j sim.JobView) int64 {
	if j.EndTime >= 0 {
		return j.EndTime - j.StartTime
	}
	return j.Now - j.StartTime
}

func (srv *Server) jobsOverview(w http.ResponseWriter) {
	out := flinkrest.MultipleJobsDetails{Jobs: []flinkrest.JobDetails{}}
	for _, j := range srv.sim.Jobs() {
		tasks := map[string]int{}
		total := 0
		for st, n := range taskCounts(j) {
			tasks[strings.ToLower(st)] = n
			total += n
		}
		tasks["total"] = total
		out.Jobs = append(out.Jobs, flinkrest.JobDetails{
			JID: j.ID, Name: j.Name, State: j.Status, StartTime: j.StartTime, EndTime: j.EndTime,
			Duration: duration(j), LastModification: j.LastModification, Tasks: tasks,
			PendingOperators: srv.pendingOperators(),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// ioMetrics converts a subtask's published metrics into IOMetricsInfo.
func ioMetrics(m sim.SubtaskMetrics, source bool) flinkrest.IOMetricsInfo {
	read := int64(m.RecordsIn)
	if source {
		read = 0
	}
	return flinkrest.IOMetricsInfo{
		ReadBytes: int64(float64(read) * m.InRecordBytes), ReadBytesComplete: true,
		WriteBytes: int64(m.RecordsOut * m.OutRecordBytes), WriteBytesComplete: true,
		ReadRecords: read, ReadRecordsComplete: true,
		WriteRecords: int64(m.RecordsOut), WriteRecordsComplete: true,
		AccumulatedBackpressuredTime: int64(m.AccBackPressMs), AccumulatedIdleTime: int64(m.AccIdleMs),
		AccumulatedBusyTime: flinkrest.Double(m.AccBusyMs),
	}
}

func sumIO(v sim.VertexView) flinkrest.IOMetricsInfo {
	var out flinkrest.IOMetricsInfo
	out.ReadBytesComplete, out.WriteBytesComplete, out.ReadRecordsComplete, out.WriteRecordsComplete = true, true, true, true
	busy := 0.0
	for _, st := range v.Subtasks {
		m := ioMetrics(st.Metrics, v.IsSource)
		out.ReadBytes += m.ReadBytes
		out.WriteBytes += m.WriteBytes
		out.ReadRecords += m.ReadRecords
		out.WriteRecords += m.WriteRecords
		out.AccumulatedBackpressuredTime += m.AccumulatedBackpressuredTime
		out.AccumulatedIdleTime += m.AccumulatedIdleTime
		busy += float64(m.AccumulatedBusyTime)
	}
	out.AccumulatedBusyTime = flinkrest.Double(busy)
	return out
}

func (srv *Server) jobDetails(j sim.JobView) flinkrest.JobDetailsInfo {
	out := flinkrest.JobDetailsInfo{
		JID: j.ID, Name: j.Name, IsStoppable: false, State: j.Status, JobType: "STREAMING",
		StartTime: j.StartTime, EndTime: j.EndTime, Duration: duration(j), MaxParallelism: int64(j.MaxParallelism),
		Now: j.Now, Timestamps: j.Timestamps, Vertices: []flinkrest.JobVertex{}, StatusCounts: taskCounts(j), Plan: srv.plan(j),
		PendingOperators: srv.pendingOperators(),
	}
	for _, v := range j.Vertices {
		tasks := map[string]int{}
		for _, st := range flinkrest.ExecutionStates {
			tasks[st] = 0
		}
		status := flinkrest.TaskCanceled
		if len(v.Subtasks) > 0 {
			tasks[j.TaskState] = len(v.Subtasks)
			status = j.TaskState
		} else if j.Status != sim.StatusFailed && j.Status != sim.StatusCanceled {
			tasks[flinkrest.TaskCreated] = v.Parallelism
			status = flinkrest.TaskCreated
		} else {
			tasks[flinkrest.TaskCanceled] = v.Parallelism
		}
		dur := int64(-1)
		if v.StartTime > 0 {
			dur = j.Now - v.StartTime
		}
		out.Vertices = append(out.Vertices, flinkrest.JobVertex{
			ID: v.ID, SlotSharingGroupID: v.SlotSharingGroupID, Name: v.Name, MaxParallelism: v.MaxParallelism,
			Parallelism: v.Parallelism, Status: status, StartTime: v.StartTime, EndTime: -1, Duration: dur,
			Tasks: tasks, Metrics: sumIO(v),
		})
	}
	return out
}

// pendingOperators is the job's "pending-operators" (operators not yet in the job graph, an
// adaptive-batch notion): 0 for a streaming job from 2.0 on, absent before (recorded from
// Flink 1.20.5, 2.0.1 and 2.2.1).
func (srv *Server) pendingOperators() *int {
	if !srv.sim.Version().AtLeast(scenario.V20) {
		return nil
	}
	zero := 0
	return &zero
}

// plan renders the JobGraph as JsonPlanGenerator does: sinks first (reverse topological
// order), edges as inputs on the consumer; 1.x sources have no "inputs" key, 2.x an empty list.
func (srv *Server) plan(j sim.JobView) flinkrest.Plan {
	v2 := srv.sim.Version().AtLeast(scenario.V20)
	p := flinkrest.Plan{JID: j.ID, Name: j.Name, Type: "STREAMING", Nodes: []flinkrest.PlanNode{}}
	for i := len(j.Vertices) - 1; i >= 0; i-- {
		v := j.Vertices[i]
		n := flinkrest.PlanNode{
			ID: v.ID, Parallelism: v.Parallelism, Operator: "", OperatorStrategy: "",
			Description:         strings.ReplaceAll(html.EscapeString(v.Name), "\n", "<br/>"),
			OptimizerProperties: flinkrest.RawJSON("{}"),
		}
		if v2 {
			n.Inputs = []flinkrest.PlanInput{}
		}
		for k, in := range v.Inputs {
			n.Inputs = append(n.Inputs, flinkrest.PlanInput{Num: k, ID: in.ID, ShipStrategy: in.Ship, Exchange: "pipelined_bounded"})
		}
		p.Nodes = append(p.Nodes, n)
	}
	return p
}

func (srv *Server) jobConfig(w http.ResponseWriter, j sim.JobView) {
	cfg, _ := srv.sim.JobConfig(j.ID)
	c := flinkconf.FromMap(cfg)
	par, _, _ := c.Int(flinkconf.ParallelismDefault)
	user := map[string]string{}
	for k, v := range cfg {
		if strings.HasPrefix(k, "job.autoscaler.") {
			user[k] = v
		}
	}
	ec := &flinkrest.ExecutionConfigInfo{
		RestartStrategy: "Cluster level default restart strategy", JobParallelism: int(par),
		ObjectReuseMode: false, UserConfig: user,
	}
	if !srv.sim.Version().AtLeast(scenario.V20) {
		ec.ExecutionMode = "PIPELINED"
	}
	writeJSON(w, http.StatusOK, flinkrest.JobConfigInfo{JID: j.ID, Name: j.Name, ExecutionConfig: ec})
}

func configInfo(m map[string]string) flinkrest.ConfigurationInfo {
	out := flinkrest.ConfigurationInfo{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, flinkrest.ConfigurationEntry{Key: k, Value: m[k]})
	}
	return out
}

func toWire(req map[string]scheduler.Bounds) flinkrest.JobResourceRequirements {
	out := flinkrest.JobResourceRequirements{}
	for id, b := range req {
		out[id] = flinkrest.JobVertexResourceRequirements{Parallelism: flinkrest.ParallelismBounds{LowerBound: b.Lower, UpperBound: b.Upper}}
	}
	return out
}

func (srv *Server) putRequirements(w http.ResponseWriter, r *http.Request, jid string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Request body could not be read: "+err.Error())
		return
	}
	var req flinkrest.JobResourceRequirements
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req == nil {
		msg := "Request did not match expected format JobResourceRequirementsBody."
		if err != nil {
			msg += " " + err.Error()
		}
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	in := make(map[string]scheduler.Bounds, len(req))
	for id, v := range req {
		in[id] = scheduler.Bounds{Lower: v.Parallelism.LowerBound, Upper: v.Parallelism.UpperBound}
	}
	if _, err := srv.sim.SetRequirements(jid, in); err != nil {
		var re *sim.RequestError
		switch {
		case errors.As(err, &re):
			writeError(w, re.Status, re.Messages...)
		case errors.Is(err, sim.ErrJobManagerDown):
			writeError(w, http.StatusServiceUnavailable, err.Error())
		default:
			writeError(w, http.StatusNotFound, err.Error())
		}
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (srv *Server) vertexDetails(j sim.JobView, v *sim.VertexView) flinkrest.JobVertexDetailsInfo {
	ver := srv.sim.Version()
	out := flinkrest.JobVertexDetailsInfo{ID: v.ID, Name: v.Name, MaxParallelism: v.MaxParallelism, Parallelism: v.Parallelism,
		Now: j.Now, Subtasks: []flinkrest.SubtaskExecutionAttempt{}}
	agg := map[string][]int64{}
	durAgg := map[string][]int64{}
	for _, st := range v.Subtasks {
		io := ioMetrics(st.Metrics, v.IsSource)
		sd := statusDuration(j)
		a := flinkrest.SubtaskExecutionAttempt{
			Subtask: st.Index, Status: st.Status, Attempt: st.Attempt,
			StartTime: st.StartTime, EndTime: -1, Duration: j.Now - st.StartTime,
			Metrics: io, TaskManagerID: st.TaskManagerID, StatusDuration: sd,
		}
		if ver.AtLeast(scenario.V120) {
			a.Endpoint = fmt.Sprintf("%s:%d", st.Host, st.Port)
		}
		if !ver.AtLeast(scenario.V20) {
			a.Host = st.Host
		}
		out.Subtasks = append(out.Subtasks, a)
		for k, x := range map[string]int64{
			"read-bytes": io.ReadBytes, "write-bytes": io.WriteBytes, "read-records": io.ReadRecords, "write-records": io.WriteRecords,
			"accumulated-backpressured-time": io.AccumulatedBackpressuredTime, "accumulated-idle-time": io.AccumulatedIdleTime,
			"accumulated-busy-time": int64(io.AccumulatedBusyTime),
		} {
			agg[k] = append(agg[k], x)
		}
		for k, x := range sd {
			durAgg[k] = append(durAgg[k], x)
		}
	}
	out.Aggregated = flinkrest.AggregatedTaskDetailsInfo{Metrics: map[string]map[string]int64{}, StatusDuration: map[string]map[string]int64{}}
	for k, xs := range agg {
		out.Aggregated.Metrics[k] = stats(xs)
	}
	for k, xs := range durAgg {
		out.Aggregated.StatusDuration[k] = stats(xs)
	}
	return out
}

// statusDuration is how long the current attempt spent in each state, in ms.
func statusDuration(j sim.JobView) map[string]int64 {
	sd := map[string]int64{"CREATED": 0, "SCHEDULED": 0, "DEPLOYING": 0, "INITIALIZING": 0, "RUNNING": 0}
	if j.DeployedAt == 0 {
		return sd
	}
	clamp := func(a, b int64) int64 { return max(0, min(b, j.Now)-a) }
	sd["DEPLOYING"] = clamp(j.DeployedAt, j.RestoreAt)
	if j.Now > j.RestoreAt {
		sd["INITIALIZING"] = clamp(j.RestoreAt, j.RunningAt)
	}
	if j.Now > j.RunningAt {
		sd["RUNNING"] = j.Now - j.RunningAt
	}
	return sd
}

// stats is {min, max, avg, sum, median, p25, p75, p95} over xs.
func stats(xs []int64) map[string]int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum int64
	for _, x := range s {
		sum += x
	}
	pct := func(p float64) int64 {
		if len(s) == 0 {
			return 0
		}
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	out := map[string]int64{"min": 0, "max": 0, "avg": 0, "sum": sum, "median": pct(0.5), "p25": pct(0.25), "p75": pct(0.75), "p95": pct(0.95)}
	if len(s) > 0 {
		out["min"], out["max"], out["avg"] = s[0], s[len(s)-1], sum/int64(len(s))
	}
	return out
}

func (srv *Server) backpressure(w http.ResponseWriter, j sim.JobView, v *sim.VertexView) {
	level := func(r float64) string {
		switch {
		case r <= 0.10:
			return "ok"
		case r <= 0.5:
			return "low"
		}
		return "high"
	}
	out := flinkrest.JobVertexBackPressureInfo{Status: "ok", BackpressureLevel: "ok", EndTimestamp: j.Now, Subtasks: []flinkrest.SubtaskBackPressureInfo{}}
	worst := 0.0
	for _, st := range v.Subtasks {
		m := st.Metrics
		r := m.BackPressuredMs / 1000
		worst = math.Max(worst, r)
		out.Subtasks = append(out.Subtasks, flinkrest.SubtaskBackPressureInfo{
			Subtask: st.Index, AttemptNumber: st.Attempt, BackpressureLevel: level(r),
			Ratio: flinkrest.Double(r), IdleRatio: flinkrest.Double(m.IdleMsPerSec / 1000), BusyRatio: flinkrest.Double(m.BusyMsPerSec / 1000),
		})
	}
	out.BackpressureLevel = level(worst)
	writeJSON(w, http.StatusOK, out)
}

func (srv *Server) watermarks(w http.ResponseWriter, j sim.JobView, v *sim.VertexView) {
	out := []flinkrest.Metric{}
	for _, st := range v.Subtasks {
		if !st.Metrics.Running || srv.sim.MetricMissing("currentInputWatermark") {
			continue
		}
		out = append(out, flinkrest.Metric{ID: strconv.Itoa(st.Index) + ".currentInputWatermark", Value: strconv.FormatInt(st.Metrics.Watermark, 10)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (srv *Server) checkpointConfig(w http.ResponseWriter, jid string) {
	cp, _ := srv.sim.Checkpoints(jid)
	if cp.Interval <= 0 {
		writeError(w, http.StatusNotFound, "Checkpointing is not enabled for job "+jid+".")
		return
	}
	cfg, _ := srv.sim.JobConfig(jid)
	backend := "HashMapStateBackend"
	if strings.EqualFold(strings.TrimSpace(cfg["state.backend.type"]), "rocksdb") {
		backend = "EmbeddedRocksDBStateBackend"
	}
	type ext struct {
		Enabled              bool `json:"enabled"`
		DeleteOnCancellation bool `json:"delete_on_cancellation"`
	}
	// ProcessingMode is written lower case on the wire (a @JsonValue the spec does not see).
	writeJSON(w, http.StatusOK, map[string]any{
		"mode":                           "exactly_once",
		"interval":                       cp.Interval.Milliseconds(),
		"timeout":                        cp.Timeout.Milliseconds(),
		"min_pause":                      cp.MinPause.Milliseconds(),
		"max_concurrent":                 1,
		"externalization":                ext{Enabled: true},
		"state_backend":                  backend,
		"checkpoint_storage":             "FileSystemCheckpointStorage",
		"unaligned_checkpoints":          false,
		"tolerable_failed_checkpoints":   0,
		"aligned_checkpoint_timeout":     0,
		"checkpoints_after_tasks_finish": true,
		"state_changelog_enabled":        false,
		"changelog_periodic_materialization_interval": 600000,
		"changelog_storage":                           "memory",
	})
}

func (srv *Server) checkpoints(w http.ResponseWriter, jid string) {
	cp, _ := srv.sim.Checkpoints(jid)
	out := flinkrest.CheckpointingStatistics{
		Counts:  flinkrest.CheckpointCounts{Restored: cp.Restored, Total: cp.Total, InProgress: int(cp.InProgress), Completed: cp.Completed, Failed: cp.Failed},
		History: []flinkrest.CheckpointStatistics{},
	}
	var sizes, states, durs []int64
	for _, c := range cp.History {
		out.History = append(out.History, cpWire(c))
		if c.Status == flinkrest.CheckpointCompleted {
			sizes = append(sizes, c.CheckpointedSize)
			states = append(states, c.StateSize)
			durs = append(durs, c.Duration)
		}
	}
	out.Summary = flinkrest.CheckpointStatisticsSummary{
		CheckpointedSize: summary(sizes), StateSize: summary(states), EndToEndDuration: summary(durs),
		AlignmentBuffered: summary(zeros(len(sizes))), ProcessedData: summary(zeros(len(sizes))), PersistedData: summary(zeros(len(sizes))),
	}
	if cp.LatestCompleted != nil {
		c := cpWire(*cp.LatestCompleted)
		out.Latest.Completed = &c
	}
	if cp.LatestFailed != nil {
		c := cpWire(*cp.LatestFailed)
		out.Latest.Failed = &c
	}
	if cp.HasRestored {
		path := cp.RestoredPath
		out.Latest.Restored = &flinkrest.RestoredCheckpointStatistics{ID: cp.RestoredID, RestoreTimestamp: cp.RestoreTimestamp, ExternalPath: &path}
	}
	writeJSON(w, http.StatusOK, out)
}

func zeros(n int) []int64 { return make([]int64, n) }

func summary(xs []int64) flinkrest.StatsSummary {
	if len(xs) == 0 {
		nan := flinkrest.Double(math.NaN())
		return flinkrest.StatsSummary{P50: nan, P90: nan, P95: nan, P99: nan, P999: nan}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum int64
	for _, x := range s {
		sum += x
	}
	q := func(p float64) flinkrest.Double {
		// Flink's Histogram quantile: linear interpolation between the two nearest ranks.
		pos := p * float64(len(s)+1)
		switch {
		case pos < 1:
			return flinkrest.Double(s[0])
		case pos >= float64(len(s)):
			return flinkrest.Double(s[len(s)-1])
		}
		lo := s[int(pos)-1]
		hi := s[int(pos)]
		return flinkrest.Double(float64(lo) + (pos-math.Floor(pos))*float64(hi-lo))
	}
	return flinkrest.StatsSummary{Min: s[0], Max: s[len(s)-1], Avg: sum / int64(len(s)), P50: q(0.5), P90: q(0.9), P95: q(0.95), P99: q(0.99), P999: q(0.999)}
}

func cpWire(c sim.CheckpointView) flinkrest.CheckpointStatistics {
	out := flinkrest.CheckpointStatistics{
		ID: c.ID, Status: c.Status, TriggerTimestamp: c.TriggerTimestamp, LatestAckTimestamp: c.LatestAck,
		CheckpointedSize: c.CheckpointedSize, StateSize: c.StateSize, EndToEndDuration: c.Duration,
		NumSubtasks: c.NumSubtasks, NumAcknowledgedSubtasks: c.NumAcknowledged, CheckpointType: "CHECKPOINT",
		Tasks: map[string]flinkrest.TaskCheckpointStatistics{},
	}
	total := max(1, c.NumSubtasks)
	for vid, n := range c.Vertices {
		ack := n
		if c.Status != flinkrest.CheckpointCompleted {
			ack = c.NumAcknowledged * n / total
		}
		out.Tasks[vid] = flinkrest.TaskCheckpointStatistics{
			ID: c.ID, Status: c.Status, LatestAckTimestamp: c.LatestAck,
			CheckpointedSize: c.CheckpointedSize * int64(n) / int64(total), StateSize: c.StateSize * int64(n) / int64(total),
			EndToEndDuration: c.Duration, NumSubtasks: n, NumAcknowledgedSubtasks: ack,
		}
	}
	switch c.Status {
	case flinkrest.CheckpointCompleted:
		out.ClassName = flinkrest.ClassCompleted
		p := c.ExternalPath
		out.ExternalPath = &p
	case flinkrest.CheckpointFailed:
		out.ClassName = flinkrest.ClassFailed
		out.FailureTimestamp = c.FailureTimestamp
		msg := c.FailureMessage
		out.FailureMessage = &msg
	default:
		out.ClassName = flinkrest.ClassInProgress
	}
	return out
}

func (srv *Server) exceptions(w http.ResponseWriter, jid string, q map[string][]string) {
	ex, _ := srv.sim.Exceptions(jid)
	maxN := 10
	if v := firstQ(q, "maxExceptions"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Cannot resolve query parameter maxExceptions: %q is not an integer.", v))
			return
		}
		maxN = n
	}
	ver := srv.sim.Version()
	out := flinkrest.JobExceptionsInfoWithHistory{AllExceptions: []flinkrest.ExecutionExceptionInfo{},
		ExceptionHistory: flinkrest.JobExceptionHistory{Entries: []flinkrest.RootExceptionInfo{}}}
	if len(ex) > 0 {
		root := ex[0].Stacktrace
		ts := ex[0].Time.UnixMilli()
		out.RootException, out.Timestamp = &root, &ts
	}
	for i, e := range ex {
		if i >= maxN {
			out.Truncated, out.ExceptionHistory.Truncated = true, true
			break
		}
		info := flinkrest.ExceptionInfo{ExceptionName: exceptionClass(e.Exception), Stacktrace: e.Stacktrace, Timestamp: e.Time.UnixMilli(),
			TaskName: e.TaskName, TaskManagerID: e.TaskManagerID, FailureLabels: map[string]string{}}
		if ver.AtLeast(scenario.V120) {
			info.Endpoint = e.Location
		} else {
			info.Location = e.Location
		}
		out.ExceptionHistory.Entries = append(out.ExceptionHistory.Entries, flinkrest.RootExceptionInfo{ExceptionInfo: info, ConcurrentExceptions: []flinkrest.ExceptionInfo{}})
		if e.TaskName != "" {
			out.AllExceptions = append(out.AllExceptions, flinkrest.ExecutionExceptionInfo{Exception: e.Stacktrace, Task: e.TaskName,
				Location: e.Location, Timestamp: e.Time.UnixMilli(), TaskManagerID: e.TaskManagerID})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func exceptionClass(e string) string {
	if i := strings.Index(e, ": "); i >= 0 {
		return e[:i]
	}
	return e
}

func (srv *Server) triggerSavepoint(w http.ResponseWriter, r *http.Request, j sim.JobView) {
	var req flinkrest.SavepointTriggerRequest
	if body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20)); len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "Request did not match expected format SavepointTriggerRequestBody.")
			return
		}
	}
	if j.Status != sim.StatusRunning {
		writeError(w, http.StatusConflict, fmt.Sprintf("Job %s is not in state RUNNING but %s instead. Aborting checkpoint.", j.ID, j.Status))
		return
	}
	srv.trigSeq++
	id := fmt.Sprintf("%016x%016x", srv.sim.Scenario().Seed, srv.trigSeq)
	if req.TriggerID != "" {
		id = req.TriggerID
	}
	dir := req.TargetDirectory
	if dir == "" {
		dir = "s3://flinktune-sim/savepoints"
	}
	srv.triggers[id] = savepoint{job: j.ID, location: fmt.Sprintf("%s/savepoint-%s-%s", strings.TrimSuffix(dir, "/"), j.ID[:6], id[len(id)-12:])}
	writeJSON(w, http.StatusAccepted, flinkrest.TriggerResponse{RequestID: id})
}

func (srv *Server) savepointStatus(w http.ResponseWriter, jid, trigger string) {
	sp, ok := srv.triggers[trigger]
	if !ok || sp.job != jid {
		writeError(w, http.StatusNotFound, "There is no savepoint operation with triggerId="+trigger+" for job "+jid+".")
		return
	}
	writeJSON(w, http.StatusOK, flinkrest.SavepointStatus{Status: flinkrest.QueueStatus{ID: flinkrest.QueueCompleted},
		Operation: &flinkrest.SavepointInfo{Location: sp.location}})
}
