package controller

import (
	"context"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/realize"
)

// FlinkCluster wires a Flink REST client into a Cluster: the collect package reads snapshots
// and the in-place realizer applies parallelism through resource requirements.
func FlinkCluster(name string, client *flinkrest.Client, callTimeout time.Duration) Cluster {
	c := &restCollector{c: collect.New(client, collect.Options{Cluster: name, CallTimeout: callTimeout}), seen: map[string]bool{}}
	return Cluster{Name: name, Collector: c, Realizer: &realize.Rescale{API: client}}
}

// restCollector adapts collect.Collector to the controller's Collector and forgets the
// caches of jobs that ended.
type restCollector struct {
	c    *collect.Collector
	mu   sync.Mutex
	seen map[string]bool
}

func (r *restCollector) ListJobs(ctx context.Context) ([]JobRef, error) {
	jobs, err := r.c.ListJobs(ctx)
	if err != nil {
		return nil, err
	}
	now := map[string]bool{}
	out := make([]JobRef, 0, len(jobs))
	for _, j := range jobs {
		now[j.ID] = true
		out = append(out, JobRef{ID: j.ID, Name: j.Name, State: j.State})
	}
	r.mu.Lock()
	for id := range r.seen {
		if !now[id] {
			r.c.Forget(id)
		}
	}
	r.seen = now
	r.mu.Unlock()
	return out, nil
}

func (r *restCollector) Collect(ctx context.Context, job JobRef, now time.Time) (*autoscaler.Snapshot, error) {
	snap, err := r.c.Collect(ctx, job.ID, now)
	if err != nil {
		return nil, err
	}
	if snap.JobName == "" {
		snap.JobName = job.Name
	}
	return snap, nil
}
