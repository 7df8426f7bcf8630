package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/flinktune/flinktune/store"
)

// Per-cluster scheduling. Every cluster has its own loop, its own ticker and its own pool of
// Parallelism workers, so a cluster that answers slowly or not at all only delays its own
// jobs: its listing and its calls wait on their own deadlines while the other clusters'
// cycles start on time. Inside a cluster, a cycle that cannot start a job before the next
// tick (all workers busy with stuck calls) skips it for this interval rather than pile up,
// and a job whose previous cycle still runs is not started twice.
//
// The jobs' starts are spread over the first half of the interval, each at a fixed offset
// (jobs in id order): a job is then evaluated at the same point of every interval whatever
// the cycle's total duration, which keeps the time between its evaluations at the interval
// (with 1000 jobs all started at the tick, a job's place in a queue of varying speed made
// its gaps vary by the cycle's duration), and the cluster gets a steady trickle of calls
// instead of a burst per tick.

func workerPools(clusters []Cluster, n int) map[string]chan struct{} {
	out := make(map[string]chan struct{}, len(clusters))
	for _, cl := range clusters {
		out[cl.Name] = make(chan struct{}, n)
	}
	return out
}

// clusterLoop cycles one cluster every Interval until ctx ends. A cycle waits for its jobs
// until the next tick at most: stragglers finish in the background (their jobs are skipped
// until then) and never hold back the schedule.
func (c *Controller) clusterLoop(ctx context.Context, cl *Cluster) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		rep := c.cycleCluster(ctx, cl, c.opts.Now(), start.Add(c.opts.Interval))
		c.opts.Metrics.clusterCycle(cl.Name, time.Since(start), rep.Skipped)
		for _, err := range rep.Errors {
			c.log.Warn("cycle error", "err", err)
		}
		if rep.Skipped > 0 {
			c.log.Warn("cluster cycle overran its interval: jobs skipped", "cluster", cl.Name, "skipped", rep.Skipped,
				"interval", c.opts.Interval.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cycleCluster runs one cycle of one cluster at time now. With a zero deadline it waits
// for every job (RunOnce, lockstep); otherwise it starts no job after the deadline and
// returns by then with what completed.
func (c *Controller) cycleCluster(ctx context.Context, cl *Cluster, now, deadline time.Time) CycleReport {
	jobs, err := c.listJobs(ctx, cl)
	if err != nil {
		c.opts.Metrics.clusterError(cl.Name)
		return CycleReport{Errors: []error{fmt.Errorf("%s: list jobs: %w", cl.Name, err)}}
	}
	if !deadline.IsZero() && time.Until(deadline) < c.opts.Interval/2 {
		// The listing took most of the interval (the ticker drops the ticks it missed): give
		// the jobs a full interval from now rather than skip them all.
		deadline = time.Now().Add(c.opts.Interval)
	}
	r := &clusterCycle{c: c, cl: cl, now: now, pool: c.workers[cl.Name]}
	if !deadline.IsZero() {
		dctx, dcancel := context.WithDeadline(context.Background(), deadline)
		defer dcancel()
		r.expired = dctx.Done()
	}
	tick := deadline.Add(-c.opts.Interval)
	for i, job := range jobs {
		key := store.JobKey{Cluster: cl.Name, JobID: job.ID}
		if ctx.Err() != nil {
			break
		}
		if !deadline.IsZero() && !c.pace(ctx, tick.Add(c.opts.Interval/2*time.Duration(i)/time.Duration(len(jobs))), r.expired) {
			r.skip(len(jobs) - i)
			return r.wait(r.expired)
		}
		if !c.claim(key) {
			continue // the previous cycle of this job is still running (a stuck call)
		}
		switch r.acquire(ctx, key) {
		case errExpired:
			r.skip(len(jobs) - i)
			return r.wait(r.expired)
		case nil:
			r.start(ctx, job, key)
		default: // ctx ended
			return r.wait(nil)
		}
	}
	return r.wait(r.expired)
}

// listJobs lists the cluster's jobs in id order (the order of their fixed start offsets).
// The listing keeps the full CycleTimeout even past the interval: a slow listing only
// delays this cluster's own loop, and cutting it at a short interval would fail every
// cycle of a merely slow cluster.
func (c *Controller) listJobs(ctx context.Context, cl *Cluster) ([]JobRef, error) {
	lctx, cancel := context.WithTimeout(ctx, c.opts.CycleTimeout)
	defer cancel()
	jobs, err := cl.Collector.ListJobs(lctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	return jobs, nil
}

// clusterCycle is one cycle of one cluster in flight: its report, the jobs it started and
// the cluster's worker pool.
type clusterCycle struct {
	c       *Controller
	cl      *Cluster
	now     time.Time
	pool    chan struct{}
	expired <-chan struct{} // nil (never) without a deadline; stays closed once passed
	mu      sync.Mutex      // guards rep: stragglers report after cycleCluster returned
	rep     CycleReport
	wg      sync.WaitGroup
}

// errExpired says the cycle's deadline passed before a worker was free.
var errExpired = errors.New("cycle deadline passed")

// acquire takes a worker of the cluster's pool for key's job. When the deadline passes
// (errExpired) or ctx ends first, it releases the job's claim.
func (r *clusterCycle) acquire(ctx context.Context, key store.JobKey) error {
	select {
	case r.pool <- struct{}{}:
		return nil
	case <-r.expired:
		r.c.release(key)
		return errExpired
	case <-ctx.Done():
		r.c.release(key)
		return ctx.Err()
	}
}

// skip counts n jobs not started before the deadline.
func (r *clusterCycle) skip(n int) {
	r.mu.Lock()
	r.rep.Skipped += n
	r.mu.Unlock()
}

// start cycles job in the background on the worker acquire took, and reports its outcome.
func (r *clusterCycle) start(ctx context.Context, job JobRef, key store.JobKey) {
	r.mu.Lock()
	r.rep.Jobs++
	r.mu.Unlock()
	r.wg.Add(1)
	r.c.wg.Add(1)
	go func() {
		defer func() {
			<-r.pool
			r.c.release(key)
			r.wg.Done()
			r.c.wg.Done()
		}()
		res, err := r.c.cycleJob(ctx, *r.cl, job, key, r.now)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err == nil {
			r.rep.Cycled++
		} else {
			r.rep.Errors = append(r.rep.Errors, fmt.Errorf("%s job %s: %w", r.cl.Name, job.ID, err))
		}
		if res.scaled {
			r.rep.Scaled++
		}
		if res.realized {
			r.rep.Realized++
		}
	}()
}

// wait waits for the cycle's jobs, or until expired fires, and returns a copy of the report
// so far.
func (r *clusterCycle) wait(expired <-chan struct{}) CycleReport {
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-expired:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.rep
	out.Errors = append([]error(nil), r.rep.Errors...)
	return out
}

// pace waits until at; false when the cycle's deadline or ctx ends first.
func (c *Controller) pace(ctx context.Context, at time.Time, expired <-chan struct{}) bool {
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-expired:
		return false
	case <-ctx.Done():
		return false
	}
}

func (r *CycleReport) add(o CycleReport) {
	r.Jobs += o.Jobs
	r.Cycled += o.Cycled
	r.Scaled += o.Scaled
	r.Realized += o.Realized
	r.Skipped += o.Skipped
	r.Errors = append(r.Errors, o.Errors...)
}
