package capture

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
)

// Options control a capture.
type Options struct {
	// Window is the time between the two samples (default 30s). Longer is steadier: busy
	// time is whole milliseconds and rates are counter deltas.
	Window time.Duration
	// Sleep waits d (default: a timer); tests against the simulator advance it instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// Name is the scenario's name (default: the job's name).
	Name string
	// Poll is how often a sample re-reads until the metrics change (default 100ms), and
	// FreshWithin how long it tries (default 15s: Flink's fetcher refreshes every 10 s by
	// default). See sample.
	Poll, FreshWithin time.Duration
}

// Capture reads job jobID over the Flink REST API and returns its twin.
func Capture(ctx context.Context, c *flinkrest.Client, jobID string, o Options) (*Twin, error) {
	if o.Window <= 0 {
		o.Window = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.FreshWithin <= 0 {
		o.FreshWithin = 15 * time.Second
	}
	if o.Sleep == nil {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
				return nil
			}
		}
	}
	obs, err := observeShape(ctx, c, jobID)
	if err != nil {
		return nil, err
	}
	names := map[string][]string{}
	first, err := freshSample(ctx, c, jobID, &obs.Job, names, o)
	if err != nil {
		return nil, err
	}
	// A sample halfway, so that Build can tell a steady job from one still warming up.
	if err := o.Sleep(ctx, o.Window/2); err != nil {
		return nil, err
	}
	mid, err := freshSample(ctx, c, jobID, &obs.Job, names, o)
	if err != nil {
		return nil, err
	}
	if err := o.Sleep(ctx, o.Window-o.Window/2); err != nil {
		return nil, err
	}
	last, err := freshSample(ctx, c, jobID, &obs.Job, names, o)
	if err != nil {
		return nil, err
	}
	obs.First, obs.Mid, obs.Last = first, &mid, last
	obs.StatePerVertex, obs.TotalState = checkpointState(ctx, c, jobID)
	name := o.Name
	if name == "" {
		name = obs.Job.Name
	}
	return Build(*obs, name)
}

// observeShape reads the version, the cluster and the job's graph; the job must be running.
func observeShape(ctx context.Context, c *flinkrest.Client, jobID string) (*Observation, error) {
	obs := &Observation{Config: map[string]string{}}
	if v, err := c.FlinkVersion(ctx); err == nil {
		obs.FlinkVersion = v.String()
	}
	job, err := c.JobDetails(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("capture: job %s: %w", jobID, err)
	}
	if job.State != "RUNNING" {
		return nil, fmt.Errorf("capture: job %s is %s; capture reads a RUNNING job's rates", jobID, job.State)
	}
	obs.Job = *job
	if cfg, err := c.JobManagerConfig(ctx); err == nil {
		for _, e := range cfg {
			obs.Config[e.Key] = e.Value
		}
	}
	if tms, err := c.TaskManagers(ctx); err == nil {
		obs.TaskManagers = len(tms.TaskManagers)
		for _, tm := range tms.TaskManagers {
			obs.Slots = max(obs.Slots, tm.SlotsNumber)
		}
	}
	return obs, nil
}

// freshSample reads until the metrics change and returns the first changed reading. Flink's
// REST API serves metrics from the JobManager's MetricFetcher store, refreshed at most every
// metrics.fetcher.update-interval and only after a request asks: a lone reading can be as old
// as the previous request (a whole window, without this). The reading where the values change
// is at most one poll younger than the refresh, at both ends of the window alike.
func freshSample(ctx context.Context, c *flinkrest.Client, jobID string, shape *flinkrest.JobDetailsInfo,
	names map[string][]string, o Options) (Sample, error) {
	prev, err := sample(ctx, c, jobID, shape, names)
	if err != nil {
		return Sample{}, err
	}
	for waited := time.Duration(0); waited < o.FreshWithin; waited += o.Poll {
		if err := o.Sleep(ctx, o.Poll); err != nil {
			return Sample{}, err
		}
		cur, err := sample(ctx, c, jobID, shape, names)
		if err != nil {
			return Sample{}, err
		}
		if changed(prev, cur) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil // nothing moves: an idle job's counters are as fresh as they get
}

func changed(a, b Sample) bool {
	for id, x := range b.Vertices {
		y := a.Vertices[id]
		if x.RecordsIn != y.RecordsIn || x.RecordsOut != y.RecordsOut || x.Busy != y.Busy || x.Idle != y.Idle {
			return true
		}
	}
	return false
}

// sample reads the accumulated times from the job details and the record and byte counters (and the
// sources' pendingRecords) from each vertex's subtask metrics, summed. names caches each
// vertex's pendingRecords metric names.
func sample(ctx context.Context, c *flinkrest.Client, jobID string, shape *flinkrest.JobDetailsInfo, names map[string][]string) (Sample, error) {
	job, err := c.JobDetails(ctx, jobID)
	if err != nil {
		return Sample{}, fmt.Errorf("capture: job %s: %w", jobID, err)
	}
	for _, v := range job.Vertices {
		if v.Parallelism != vertexParallelism(shape, v.ID) || v.Status != "RUNNING" {
			return Sample{}, fmt.Errorf("capture: vertex %s (%s) changed during the capture (parallelism %d, %s); capture a job that is not rescaling", v.ID, v.Name, v.Parallelism, v.Status)
		}
	}
	s := Sample{At: time.UnixMilli(job.Now), Vertices: map[string]VertexSample{}}
	if job.Now == 0 {
		s.At = time.Now()
	}
	for _, v := range job.Vertices {
		x := VertexSample{Busy: float64(v.Metrics.AccumulatedBusyTime), Idle: float64(v.Metrics.AccumulatedIdleTime),
			BackPressured: float64(v.Metrics.AccumulatedBackpressuredTime), Pending: math.NaN()}
		pending, ok := names[v.ID]
		if !ok {
			all, err := c.VertexMetricNames(ctx, jobID, v.ID)
			if err != nil {
				return Sample{}, fmt.Errorf("capture: vertex %s metrics: %w", v.Name, err)
			}
			pending = []string{}
			for _, n := range all {
				if strings.HasSuffix(n, ".pendingRecords") || n == "pendingRecords" {
					pending = append(pending, n)
				}
			}
			if len(all) > 0 { // the store may not have this vertex's names yet
				names[v.ID] = pending
			}
		}
		get := append([]string{"numRecordsIn", "numRecordsOut", "numBytesOut"}, pending...)
		ms, err := c.VertexMetrics(ctx, jobID, v.ID, get, []string{"sum"})
		if err != nil {
			return Sample{}, fmt.Errorf("capture: vertex %s metrics: %w", v.Name, err)
		}
		for _, m := range ms {
			if m.Sum == nil {
				continue
			}
			sum := float64(*m.Sum)
			switch {
			case m.ID == "numRecordsIn":
				x.RecordsIn = sum
			case m.ID == "numRecordsOut":
				x.RecordsOut = sum
			case m.ID == "numBytesOut":
				x.BytesOut = sum
			default: // pendingRecords, one metric per source operator
				if math.IsNaN(x.Pending) {
					x.Pending = 0
				}
				x.Pending += sum
			}
		}
		s.Vertices[v.ID] = x
	}
	return s, nil
}

func vertexParallelism(job *flinkrest.JobDetailsInfo, id string) int {
	for _, v := range job.Vertices {
		if v.ID == id {
			return v.Parallelism
		}
	}
	return -1
}

// checkpointState is the latest completed checkpoint's state per vertex (its details) or,
// when the details are not served, its total.
func checkpointState(ctx context.Context, c *flinkrest.Client, jobID string) (map[string]int64, int64) {
	cp, err := c.Checkpoints(ctx, jobID)
	if err != nil || cp.Latest.Completed == nil {
		return nil, 0
	}
	latest := cp.Latest.Completed
	var details flinkrest.CheckpointStatistics
	path := "/jobs/" + jobID + "/checkpoints/details/" + strconv.FormatInt(latest.ID, 10)
	if err := c.Get(ctx, path, &details); err == nil && len(details.Tasks) > 0 {
		out := map[string]int64{}
		for id, t := range details.Tasks {
			out[id] = t.StateSize
		}
		return out, latest.StateSize
	}
	return nil, latest.StateSize
}
