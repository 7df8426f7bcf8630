// Package dashboard serves flinktune's web dashboard and its read-only JSON API
// (/api/v1/...): the jobs the control loop manages, each job's time series (parallelism,
// busy ratio, true processing vs target rate, lag against its SLO, TaskManagers and memory
// pools), markers for rescales, memory changes, rollbacks and restarts with their reasons,
// and the last evaluation when nothing was done. The page and the chart library (uPlot,
// vendored with its licence) are embedded in the binary: no CDN, works offline, no cookies.
//
// The time series are kept in memory by a Recorder the controller feeds (controller.Observer),
// bounded per job (Points samples), so that hundreds of jobs load fast and memory stays
// small; decisions and events come from the store.
package dashboard

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	ftpolicy "github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

// DefaultPoints is the samples kept per job by default: an hour at a 10 s interval.
const DefaultPoints = 360

// Job states shown on the page.
const (
	StateScaling        = "scaling"
	StateStabilizing    = "stabilizing"
	StateWaiting        = "waiting for metrics"
	StateRecommendation = "recommendation only"
	StateFailing        = "failing"
	StateBalanced       = "balanced"
)

// Recorder keeps a bounded time series per job from the control loop's cycles. It is safe
// for concurrent use and implements controller.Observer.
type Recorder struct {
	points int
	clock  func() time.Time

	mu   sync.RWMutex
	jobs map[store.JobKey]*jobSeries
}

// NewRecorder keeps at most points samples per job (DefaultPoints when points <= 0).
func NewRecorder(points int) *Recorder {
	if points <= 0 {
		points = DefaultPoints
	}
	return &Recorder{points: points, clock: time.Now, jobs: map[store.JobKey]*jobSeries{}}
}

// Points is the per-job sample bound.
func (r *Recorder) Points() int { return r.points }

// jobSeries is one job's ring of samples, column by column (float32: a chart needs no more,
// and it halves the memory of hundreds of jobs' histories).
type jobSeries struct {
	name, policy string
	vertices     []vertexInfo
	n, head      int // samples held; index of the oldest

	t, wall                     []float64 // job clock and controller clock, unix seconds
	tms, heapUsed, heapMax      []float32
	managedUsed, managedTotal   []float32
	metaspaceUsed               []float32
	lagSeconds, backlog, slotsT []float32
	vcols                       map[string]*vertexCols
	restarts                    int // the last sample's numRestarts (-1: none yet)

	markers []Marker // bounded too (markerLimit)
	last    Evaluation
	options map[string]string
	memCfg  map[string]string
	lastErr string
	errAt   time.Time
	status  string
	lagMax  float64 // the SLO (flinktune.lag.max) in seconds, 0 when unset
	dryRun  bool
}

type vertexInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type vertexCols struct {
	parallelism, busy, trueRate, targetRate []float32
}

// Marker is something that happened to a job: a rescale, a memory change, a rollback or a
// restart, with the decision's reason and the numbers behind it.
type Marker struct {
	T       float64            `json:"t"` // job clock, unix seconds
	Kind    string             `json:"kind"`
	Reason  string             `json:"reason"`
	From    map[string]int     `json:"from,omitempty"`
	To      map[string]int     `json:"to,omitempty"`
	Config  map[string]string  `json:"config,omitempty"`
	Numbers map[string]float64 `json:"numbers,omitempty"`
	// Repeats counts later cycles that decided the same change again while it was being
	// applied (the operator's policy does until the job restarts); they add no marker.
	Repeats int `json:"repeats,omitempty"`
}

// Marker kinds.
const (
	MarkerRescale  = "rescale"
	MarkerMemory   = "memory"
	MarkerRollback = "rollback"
	MarkerRestart  = "restart"
)

// Evaluation is a job's last policy cycle: the "why" (or "why not").
type Evaluation struct {
	T         float64                       `json:"t"`
	Ready     bool                          `json:"ready"`
	Scaled    bool                          `json:"scaled"`
	Reason    string                        `json:"reason"`
	Evaluated map[string]map[string]float64 `json:"evaluated,omitempty"`
}

const markerLimit = 200

// ObserveCycle records one evaluated cycle.
func (r *Recorder) ObserveCycle(key store.JobKey, policy string, snap *autoscaler.Snapshot, d autoscaler.Decision, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	js := r.jobs[key]
	if js == nil {
		js = r.newSeries(snap)
		r.jobs[key] = js
	}
	js.name, js.policy, js.status = snap.JobName, policy, snap.Status
	js.lastErr = ""
	t := unix(snap.Time)
	prevRestarts := js.restarts
	js.restarts = snap.NumRestarts
	i := js.push(r.points)
	js.t[i], js.wall[i] = t, unix(now)
	js.tms[i] = float32(snap.NumTaskManagers)
	js.slotsT[i] = float32(snap.SlotsTotal)
	tm := snap.TaskManagerMetrics
	// Per TaskManager, the largest (Flink's aggregate; the collector asks for min, max, avg).
	js.heapUsed[i] = maxOf(tm, "Status.JVM.Memory.Heap.Used")
	js.heapMax[i] = maxOf(tm, "Status.JVM.Memory.Heap.Max")
	js.managedUsed[i] = maxOf(tm, "Status.Flink.Memory.Managed.Used")
	js.managedTotal[i] = maxOf(tm, "Status.Flink.Memory.Managed.Total")
	js.metaspaceUsed[i] = maxOf(tm, "Status.JVM.Memory.Metaspace.Used")
	js.recordVertices(i, snap, d, r.points)
	js.options, js.memCfg, js.lagMax, js.dryRun = optionsOf(snap.Config)
	js.last = Evaluation{T: t, Ready: d.Ready, Scaled: d.Scaled, Reason: d.Reason, Evaluated: finite(d.Evaluated)}
	if prevRestarts >= 0 && snap.NumRestarts > prevRestarts {
		js.mark(Marker{T: t, Kind: MarkerRestart, Reason: js.restartReason(snap),
			Numbers: map[string]float64{"numRestarts": float64(snap.NumRestarts)}})
	}
	if d.Scaled || d.Rollback || len(d.ConfigOverrides) > 0 || len(d.ConfigRemovals) > 0 {
		js.mark(decisionMarker(t, snap, d))
	}
}

// ObserveError notes a failed cycle: the job shows as failing until its next good cycle.
func (r *Recorder) ObserveError(key store.JobKey, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	js := r.jobs[key]
	if js == nil {
		js = r.newSeries(&autoscaler.Snapshot{})
		r.jobs[key] = js
	}
	js.lastErr, js.errAt = autoscaler.FirstLine(err.Error(), 300), now
}

func (r *Recorder) newSeries(snap *autoscaler.Snapshot) *jobSeries {
	f64 := func() []float64 { return make([]float64, 0, 8) }
	f32 := func() []float32 { return make([]float32, 0, 8) }
	return &jobSeries{
		t: f64(), wall: f64(), tms: f32(), heapUsed: f32(), heapMax: f32(), managedUsed: f32(), managedTotal: f32(),
		metaspaceUsed: f32(), lagSeconds: f32(), backlog: f32(), slotsT: f32(),
		vcols: map[string]*vertexCols{}, restarts: -1,
	}
}

// push makes room for one sample and returns its index. The columns grow to points, then
// the oldest sample is overwritten.
func (js *jobSeries) push(points int) int {
	if js.n < points {
		if js.n == cap(js.t) {
			js.reserve(min(2*js.n+16, points))
		}
		js.t, js.wall = append(js.t, 0), append(js.wall, 0)
		for _, c := range js.cols32() {
			*c = append(*c, float32(math.NaN()))
		}
		for _, vc := range js.vcols {
			vc.grow()
		}
		js.n++
		return js.n - 1
	}
	i := js.head
	js.head = (js.head + 1) % points
	for _, c := range js.cols32() {
		(*c)[i] = float32(math.NaN())
	}
	for _, vc := range js.vcols {
		vc.reset(i)
	}
	return i
}

// reserve grows every column to capacity c: append's own growth would overshoot the bound
// by up to half (hundreds of jobs' histories).
func (js *jobSeries) reserve(c int) {
	js.t, js.wall = slices.Grow(js.t, c-len(js.t)), slices.Grow(js.wall, c-len(js.wall))
	js.t, js.wall = js.t[:len(js.t):c], js.wall[:len(js.wall):c]
	for _, col := range js.cols32() {
		*col = slices.Grow(*col, c-len(*col))[:len(*col):c]
	}
	for _, vc := range js.vcols {
		for _, col := range vc.cols() {
			*col = slices.Grow(*col, c-len(*col))[:len(*col):c]
		}
	}
}

func (vc *vertexCols) cols() []*[]float32 {
	return []*[]float32{&vc.parallelism, &vc.busy, &vc.trueRate, &vc.targetRate}
}

func (js *jobSeries) cols32() []*[]float32 {
	return []*[]float32{&js.tms, &js.heapUsed, &js.heapMax, &js.managedUsed, &js.managedTotal, &js.metaspaceUsed,
		&js.lagSeconds, &js.backlog, &js.slotsT}
}

// idx maps the k-th oldest sample to its slot.
func (js *jobSeries) idx(k int) int { return (js.head + k) % len(js.t) }

func (vc *vertexCols) grow() {
	for _, c := range vc.cols() {
		*c = append(*c, float32(math.NaN()))
	}
}

func (vc *vertexCols) reset(i int) {
	for _, c := range [][]float32{vc.parallelism, vc.busy, vc.trueRate, vc.targetRate} {
		c[i] = float32(math.NaN())
	}
}

// recordVertices fills sample i of each vertex: parallelism from the snapshot, the policy's
// evaluation where it has one (LOAD, TRUE_PROCESSING_RATE, TARGET_DATA_RATE, LAG), Flink's
// own busy time otherwise. The job's lag is the sources' backlog over their target rate.
func (js *jobSeries) recordVertices(i int, snap *autoscaler.Snapshot, d autoscaler.Decision, points int) {
	js.vertices = js.vertices[:0]
	var backlog, ingest float64
	haveLag := false
	for _, v := range snap.Vertices {
		js.vertices = append(js.vertices, vertexInfo{ID: v.ID, Name: v.Name})
		vc := js.vcols[v.ID]
		if vc == nil {
			vc = &vertexCols{}
			for range js.n {
				vc.grow()
			}
			js.vcols[v.ID] = vc
		}
		vc.parallelism[i] = float32(v.Parallelism)
		// A policy's evaluation before it is ready holds placeholders: Flink's own numbers then.
		var ev map[string]float64
		if d.Ready {
			ev = d.Evaluated[v.ID]
		}
		busy, ok := ev["LOAD"]
		if !ok || math.IsNaN(busy) {
			if a, ok := v.Metrics["busyTimeMsPerSecond"]; ok && !math.IsNaN(a.Avg) {
				busy = a.Avg / 1000
			} else {
				busy = math.NaN()
			}
		}
		vc.busy[i] = float32(busy)
		vc.trueRate[i] = f32(ev, "TRUE_PROCESSING_RATE")
		vc.targetRate[i] = f32(ev, "TARGET_DATA_RATE")
		if ev == nil {
			// Before the policy's estimate: Flink's observed rate, and that rate over the busy
			// ratio as the true processing rate (Flink's own definition).
			if in := observedRate(&v); !math.IsNaN(in) {
				vc.targetRate[i] = float32(in)
				if busy > 0 {
					vc.trueRate[i] = float32(in / busy)
				}
			}
		}
		if v.IsSource() {
			if lag, ok := ev["LAG"]; ok && !math.IsNaN(lag) {
				backlog += lag
				haveLag = true
			} else if b := pending(&v); !math.IsNaN(b) {
				backlog += b
				haveLag = true
			}
			if r, ok := ev["TARGET_DATA_RATE"]; ok && !math.IsNaN(r) {
				ingest += r
			} else if r := observedRate(&v); !math.IsNaN(r) {
				ingest += r // before the policy has an estimate: what the source reads now
			}
		}
	}
	// Vertices gone from the job are dropped from its series.
	for id := range js.vcols {
		if !slices.ContainsFunc(js.vertices, func(v vertexInfo) bool { return v.ID == id }) {
			delete(js.vcols, id)
		}
	}
	if haveLag {
		js.backlog[i] = float32(backlog)
		if ingest > 0 {
			js.lagSeconds[i] = float32(backlog / ingest)
		} else if backlog == 0 {
			js.lagSeconds[i] = 0
		}
	}
}

// observedRate is the records a vertex reads per second (a source: writes), NaN if unknown.
func observedRate(v *autoscaler.Vertex) float64 {
	name := "numRecordsInPerSecond"
	if v.IsSource() {
		name = "numRecordsOutPerSecond"
	}
	if a, ok := v.Metrics[name]; ok && !math.IsNaN(a.Sum) {
		return a.Sum
	}
	return math.NaN()
}

// pending is a source's pendingRecords summed over its subtasks, NaN when Flink has none.
func pending(v *autoscaler.Vertex) float64 {
	total, found := 0.0, false
	for name, a := range v.Metrics {
		if strings.HasSuffix(name, "pendingRecords") && !math.IsNaN(a.Sum) {
			total += a.Sum
			found = true
		}
	}
	if !found {
		return math.NaN()
	}
	return total
}

func (js *jobSeries) mark(m Marker) {
	if n := len(js.markers); n > 0 && m.Kind != MarkerRestart {
		last := &js.markers[n-1]
		if last.Kind == m.Kind && maps.Equal(last.From, m.From) && maps.Equal(last.To, m.To) && maps.Equal(last.Config, m.Config) {
			last.Repeats++
			return
		}
	}
	if len(js.markers) >= markerLimit {
		js.markers = slices.Delete(js.markers, 0, len(js.markers)-markerLimit+1)
	}
	js.markers = append(js.markers, m)
}

// decisionMarker describes a decision with the evaluated numbers of the vertices it changes.
func decisionMarker(t float64, snap *autoscaler.Snapshot, d autoscaler.Decision) Marker {
	from := map[string]int{}
	for _, v := range snap.Vertices {
		from[v.ID] = v.Parallelism
	}
	m := Marker{T: t, Kind: MarkerRescale, Reason: d.Reason, From: from, To: maps.Clone(d.Parallelism),
		Numbers: map[string]float64{}}
	switch {
	case d.Rollback:
		m.Kind = MarkerRollback
	case !d.Scaled:
		m.Kind = MarkerMemory
	}
	if len(d.ConfigOverrides) > 0 {
		m.Config = maps.Clone(d.ConfigOverrides)
	}
	for _, k := range d.ConfigRemovals {
		if m.Config == nil {
			m.Config = map[string]string{}
		}
		m.Config[k] = "(removed)"
	}
	for id, ev := range d.Evaluated {
		if to, ok := d.Parallelism[id]; ok && to == from[id] {
			continue
		}
		short := id
		if len(short) > 8 {
			short = short[:8]
		}
		for _, name := range []string{"LOAD", "TRUE_PROCESSING_RATE", "TARGET_DATA_RATE", "LAG"} {
			if v, ok := ev[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				m.Numbers[short+" "+name] = v
			}
		}
	}
	return m
}

// restartReason says why the job restarted: the failure Flink recorded, or the decision
// just made (a rescale restarts the job).
func (js *jobSeries) restartReason(snap *autoscaler.Snapshot) string {
	if len(snap.Exceptions) > 0 {
		e := snap.Exceptions[0]
		return strings.TrimSpace("job restarted after a failure: " + e.Name + " " + autoscaler.FirstLine(e.Message, 300))
	}
	if n := len(js.markers); n > 0 && js.markers[n-1].Kind != MarkerRestart {
		return "job restarted to apply the " + js.markers[n-1].Kind + " decided at " +
			time.UnixMilli(int64(js.markers[n-1].T*1000)).UTC().Format("15:04:05")
	}
	return "job restarted (status " + snap.Status + ")"
}

// optionsOf picks the options in force that explain the job's decisions: job.autoscaler.*
// and flinktune.* (policy), and the memory configuration (taskmanager.memory.*).
func optionsOf(cfg map[string]string) (opts, mem map[string]string, lagMax float64, dryRun bool) {
	opts, mem = map[string]string{}, map[string]string{}
	for k, v := range cfg {
		switch {
		case strings.HasPrefix(k, "job.autoscaler.") || strings.HasPrefix(k, "flinktune."):
			opts[k] = v
		case strings.HasPrefix(k, "taskmanager.memory.") || k == "taskmanager.numberOfTaskSlots":
			mem[k] = v
		}
	}
	// The lag SLO: the job's flinktune.lag.max, else its default.
	v, ok := cfg[ftpolicy.OptMaxLag.Key]
	if !ok {
		v = ftpolicy.OptMaxLag.Default
	}
	if d, err := flinkconf.ParseDuration(v); err == nil {
		lagMax = d.Seconds()
	}
	dryRun = strings.EqualFold(cfg["job.autoscaler.scaling.enabled"], "false")
	return opts, mem, lagMax, dryRun
}

func (js *jobSeries) state() (string, string) {
	switch {
	case js.lastErr != "":
		return StateFailing, js.lastErr
	case js.status == "FAILING" || js.status == "RESTARTING" || js.status == "FAILED":
		return StateFailing, "job status " + js.status
	case js.n == 0:
		return StateWaiting, "no cycle yet"
	case js.dryRun && js.last.Ready:
		return StateRecommendation, js.last.Reason
	case js.last.Scaled:
		return StateScaling, js.last.Reason
	case !js.last.Ready && strings.Contains(strings.ToLower(js.last.Reason), "stabiliz"):
		return StateStabilizing, js.last.Reason
	case !js.last.Ready:
		return StateWaiting, js.last.Reason
	}
	return StateBalanced, js.last.Reason
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return math.NaN()
	}
	return float64(t.UnixMilli()) / 1000
}

func maxOf(m map[string]autoscaler.Aggregate, k string) float32 {
	a, ok := m[k]
	if !ok {
		return float32(math.NaN())
	}
	return float32(a.Max)
}

func f32(m map[string]float64, k string) float32 {
	v, ok := m[k]
	if !ok {
		return float32(math.NaN())
	}
	return float32(v)
}

// finite copies evaluated metrics without NaN and infinities (JSON has neither).
func finite(ev map[string]map[string]float64) map[string]map[string]float64 {
	if len(ev) == 0 {
		return nil
	}
	out := make(map[string]map[string]float64, len(ev))
	for id, m := range ev {
		c := make(map[string]float64, len(m))
		for k, v := range m {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				c[k] = v
			}
		}
		out[id] = c
	}
	return out
}
