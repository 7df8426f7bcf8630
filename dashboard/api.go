package dashboard

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/store"
)

// Store is what the dashboard reads from the control loop's store.
type Store interface {
	Jobs() ([]store.JobInfo, error)
	History(key store.JobKey, since time.Time) ([]store.HistoryEntry, error)
	Events(q store.EventQuery) ([]store.Event, error)
}

// JobSummary is one row of GET /api/v1/jobs.
type JobSummary struct {
	Cluster      string  `json:"cluster"`
	JobID        string  `json:"jobId"`
	Name         string  `json:"name"`
	Policy       string  `json:"policy"`
	State        string  `json:"state"`
	Reason       string  `json:"reason"`
	Status       string  `json:"status,omitempty"`
	Parallelism  int     `json:"parallelism"`  // summed over vertices, last sample
	TaskManagers float64 `json:"taskManagers"` // last sample
	Samples      int     `json:"samples"`
	LastT        float64 `json:"lastT,omitempty"` // job clock of the last sample, unix seconds
	Markers      int     `json:"markers"`
	LastSeen     string  `json:"lastSeen,omitempty"`
}

// JobList is the body of GET /api/v1/jobs.
type JobList struct {
	Points   int          `json:"points"`
	Clusters []string     `json:"clusters"`
	Jobs     []JobSummary `json:"jobs"`
	// StoreError says why the store's jobs are missing (the recorder's are still listed).
	StoreError string `json:"storeError,omitempty"`
}

// JobDetail is the body of GET /api/v1/job.
type JobDetail struct {
	JobSummary
	Window   float64           `json:"window"` // seconds of job time returned, 0: all kept
	Vertices []vertexInfo      `json:"vertices"`
	Series   Series            `json:"series"`
	Markers  []Marker          `json:"markers"`
	Last     Evaluation        `json:"lastEvaluation"`
	Options  map[string]string `json:"options"`
	Memory   map[string]string `json:"memoryConfig"`
	LagMax   float64           `json:"lagMaxSeconds,omitempty"`
	History  []PlacedHistory   `json:"history"`
	Events   []PlacedEvent     `json:"events"`
	Error    string            `json:"lastError,omitempty"`
	// StoreError says why history and events are missing (the series are still shown).
	StoreError string `json:"storeError,omitempty"`
}

// Series are the job's columns, index-aligned with T. Absent values are null.
type Series struct {
	T             nums64                 `json:"t"`
	Wall          nums64                 `json:"wall"`
	TaskManagers  nums                   `json:"taskManagers"`
	Slots         nums                   `json:"slots"`
	HeapUsed      nums                   `json:"heapUsed"`
	HeapMax       nums                   `json:"heapMax"`
	ManagedUsed   nums                   `json:"managedUsed"`
	ManagedTotal  nums                   `json:"managedTotal"`
	MetaspaceUsed nums                   `json:"metaspaceUsed"`
	LagSeconds    nums                   `json:"lagSeconds"`
	Backlog       nums                   `json:"backlog"`
	Vertices      map[string]VertexSerie `json:"vertices"`
}

// VertexSerie is one vertex's columns.
type VertexSerie struct {
	Parallelism nums `json:"parallelism"`
	Busy        nums `json:"busy"`
	TrueRate    nums `json:"trueProcessingRate"`
	TargetRate  nums `json:"targetRate"`
}

// PlacedHistory is a stored decision placed on the job's clock (T) for the charts.
type PlacedHistory struct {
	store.HistoryEntry
	T float64 `json:"t"`
}

// PlacedEvent is a stored event placed on the job's clock.
type PlacedEvent struct {
	store.Event
	T float64 `json:"t"`
}

// Handler serves the page, its static files and the JSON API. Everything is read-only:
// any method but GET and HEAD is refused.
func Handler(rec *Recorder, st Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, rec.List(st))
	})
	mux.HandleFunc("/api/v1/job", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key := store.JobKey{Cluster: q.Get("cluster"), JobID: q.Get("job")}
		if key.JobID == "" {
			http.Error(w, "job: required (the job id; cluster: its cluster as in /api/v1/jobs)", http.StatusBadRequest)
			return
		}
		var window time.Duration
		if s := q.Get("window"); s != "" && s != "all" {
			d, perr := flinkconf.ParseDuration(s)
			if perr != nil || d <= 0 {
				http.Error(w, "window "+strconv.Quote(s)+": want a duration such as 1h, or all", http.StatusBadRequest)
				return
			}
			window = d
		}
		det, ok, err := rec.Detail(st, key, window)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if !ok {
			http.Error(w, "no job "+key.JobID+" on cluster "+key.Cluster, http.StatusNotFound)
			return
		}
		writeJSON(w, det)
	})
	mux.Handle("/", staticHandler())
	return readOnly(mux)
}

func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only: "+r.Method+" is not allowed", http.StatusMethodNotAllowed)
			return
		}
		// Everything the page needs comes from here: no CDN, no inline script, no framing.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// List summarizes every job the recorder or the store knows.
func (r *Recorder) List(st Store) JobList {
	var infos []store.JobInfo
	var storeErr string
	if st != nil {
		var err error
		if infos, err = st.Jobs(); err != nil {
			storeErr = err.Error()
		}
	}
	r.mu.RLock()
	seen := map[store.JobKey]bool{}
	list := JobList{Points: r.points, StoreError: storeErr, Jobs: make([]JobSummary, 0, max(len(infos), len(r.jobs)))}
	for _, info := range infos {
		seen[info.Key] = true
		s := r.summaryLocked(info.Key)
		s.LastSeen = info.LastSeen.UTC().Format(time.RFC3339)
		s.Name = cmp.Or(s.Name, info.Name)
		s.Policy = cmp.Or(s.Policy, info.Policy)
		list.Jobs = append(list.Jobs, s)
	}
	for key := range r.jobs {
		if !seen[key] {
			list.Jobs = append(list.Jobs, r.summaryLocked(key))
		}
	}
	r.mu.RUnlock()
	clusters := map[string]bool{}
	for _, j := range list.Jobs {
		clusters[j.Cluster] = true
	}
	for c := range clusters {
		list.Clusters = append(list.Clusters, c)
	}
	slices.Sort(list.Clusters)
	slices.SortFunc(list.Jobs, func(a, b JobSummary) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Name, b.Name), cmp.Compare(a.JobID, b.JobID))
	})
	return list
}

func (r *Recorder) summaryLocked(key store.JobKey) JobSummary {
	s := JobSummary{Cluster: key.Cluster, JobID: key.JobID, State: StateWaiting, Reason: "not cycled since flinktune started"}
	js := r.jobs[key]
	if js == nil {
		return s
	}
	s.Name, s.Policy, s.Status, s.Samples, s.Markers = js.name, js.policy, js.status, js.n, len(js.markers)
	s.State, s.Reason = js.state()
	if js.n > 0 {
		last := js.idx(js.n - 1)
		s.LastT = js.t[last]
		s.TaskManagers = float64(js.tms[last])
		for _, vc := range js.vcols {
			if p := vc.parallelism[last]; !math.IsNaN(float64(p)) {
				s.Parallelism += int(p)
			}
		}
	}
	return s
}

// Detail is one job's series over the last window of its own clock (0: everything kept),
// with its markers, last evaluation, options, and the store's decisions and events.
func (r *Recorder) Detail(st Store, key store.JobKey, window time.Duration) (JobDetail, bool, error) {
	r.mu.RLock()
	js := r.jobs[key]
	if js == nil {
		r.mu.RUnlock()
		return r.storedOnly(st, key)
	}
	d := JobDetail{JobSummary: r.summaryLocked(key), Window: window.Seconds(), Last: js.last,
		Options: js.options, Memory: js.memCfg, LagMax: js.lagMax, Error: js.lastErr}
	d.Vertices = slices.Clone(js.vertices)
	from := 0
	if window > 0 && js.n > 0 {
		cut := js.t[js.idx(js.n-1)] - window.Seconds()
		for from < js.n && js.t[js.idx(from)] < cut {
			from++
		}
	}
	d.Series = js.slice(from)
	var startT float64
	if len(d.Series.T) > 0 {
		startT = d.Series.T[0]
	}
	for _, m := range js.markers {
		if m.T >= startT {
			d.Markers = append(d.Markers, m)
		}
	}
	walls, ts := slices.Clone(d.Series.Wall), slices.Clone(d.Series.T)
	r.mu.RUnlock()

	if d.Markers == nil {
		d.Markers = []Marker{}
	}
	d.History, d.Events = []PlacedHistory{}, []PlacedEvent{}
	if st == nil {
		return d, true, nil
	}
	since := time.Time{}
	if len(walls) > 0 {
		since = time.UnixMilli(int64(walls[0] * 1000))
	}
	hist, err := st.History(key, since)
	if err != nil {
		d.StoreError = err.Error()
		return d, true, nil
	}
	for _, h := range hist {
		d.History = append(d.History, PlacedHistory{HistoryEntry: h, T: place(walls, ts, h.Time)})
	}
	evs, err := st.Events(store.EventQuery{JobID: key.JobID, Since: since})
	if err != nil {
		d.StoreError = err.Error()
		return d, true, nil
	}
	for _, e := range evs {
		if e.Cluster != "" && e.Cluster != key.Cluster || e.JobID != key.JobID {
			continue
		}
		d.Events = append(d.Events, PlacedEvent{Event: e, T: place(walls, ts, e.Time)})
	}
	if n := len(d.Events); n > 200 {
		d.Events = d.Events[n-200:]
	}
	return d, true, nil
}

// storedOnly answers for a job the store knows but this process has not cycled yet.
func (r *Recorder) storedOnly(st Store, key store.JobKey) (JobDetail, bool, error) {
	if st == nil {
		return JobDetail{}, false, nil
	}
	infos, err := st.Jobs()
	if err != nil {
		return JobDetail{}, false, err
	}
	i := slices.IndexFunc(infos, func(in store.JobInfo) bool { return in.Key == key })
	if i < 0 {
		return JobDetail{}, false, nil
	}
	d := JobDetail{JobSummary: JobSummary{Cluster: key.Cluster, JobID: key.JobID, Name: infos[i].Name, Policy: infos[i].Policy,
		State: StateWaiting, Reason: "not cycled since flinktune started"},
		Series: Series{Vertices: map[string]VertexSerie{}}, Markers: []Marker{}, Vertices: []vertexInfo{}}
	hist, err := st.History(key, time.Time{})
	if err != nil {
		return d, true, err
	}
	for _, h := range hist {
		d.History = append(d.History, PlacedHistory{HistoryEntry: h, T: unix(h.Time)})
	}
	d.Events = []PlacedEvent{}
	return d, true, nil
}

// place maps a controller-clock time onto the job's clock through the nearest sample (the
// two run at different rates against a simulator running faster than real time).
func place(walls, ts []float64, at time.Time) float64 {
	w := unix(at)
	if len(walls) == 0 {
		return w
	}
	i, _ := slices.BinarySearch(walls, w)
	switch {
	case i == len(walls):
		i--
	case i > 0 && w-walls[i-1] < walls[i]-w:
		i--
	}
	if math.IsNaN(ts[i]) {
		return w
	}
	return ts[i] + (w - walls[i])
}

func (js *jobSeries) slice(from int) Series {
	k := js.n - from
	s := Series{T: make(nums64, k), Wall: make(nums64, k), Vertices: map[string]VertexSerie{}}
	col := func(c []float32) nums {
		out := make(nums, k)
		for j := range k {
			out[j] = c[js.idx(from+j)]
		}
		return out
	}
	for j := range k {
		s.T[j], s.Wall[j] = js.t[js.idx(from+j)], js.wall[js.idx(from+j)]
	}
	s.TaskManagers, s.Slots = col(js.tms), col(js.slotsT)
	s.HeapUsed, s.HeapMax = col(js.heapUsed), col(js.heapMax)
	s.ManagedUsed, s.ManagedTotal = col(js.managedUsed), col(js.managedTotal)
	s.MetaspaceUsed = col(js.metaspaceUsed)
	s.LagSeconds, s.Backlog = col(js.lagSeconds), col(js.backlog)
	for id, vc := range js.vcols {
		s.Vertices[id] = VertexSerie{Parallelism: col(vc.parallelism), Busy: col(vc.busy),
			TrueRate: col(vc.trueRate), TargetRate: col(vc.targetRate)}
	}
	return s
}

// nums is a column whose NaNs encode as null (JSON has no NaN), with float32 precision.
type nums []float32

func (n nums) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(n)*8)
	b = append(b, '[')
	for i, v := range n {
		if i > 0 {
			b = append(b, ',')
		}
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, f, 'g', -1, 32)
	}
	return append(b, ']'), nil
}

// nums64 is a column of times (unix seconds with milliseconds).
type nums64 []float64

func (n nums64) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 2+len(n)*15)
	b = append(b, '[')
	for i, v := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, v, 'f', -1, 64)
	}
	return append(b, ']'), nil
}

// Compile-time check that the store satisfies the consumer interface.
var _ Store = (*store.Store)(nil)
