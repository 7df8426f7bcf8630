package controller

import (
	"context"
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
	var rep CycleReport
	// The listing keeps the full CycleTimeout even past the interval: a slow listing only
	// delays this cluster's own loop, and cutting it at a short interval would fail every
	// cycle of a merely slow cluster.
	lctx, cancel := context.WithTimeout(ctx, c.opts.CycleTimeout)
	jobs, err := cl.Collector.ListJobs(lctx)
	cancel()
	if err != nil {
		c.opts.Metrics.clusterError(cl.Name)
		rep.Errors = append(rep.Errors, fmt.Errorf("%s: list jobs: %w", cl.Name, err))
		return rep
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	if !deadline.IsZero() && time.Until(deadline) < c.opts.Interval/2 {
		// The listing took most of the interval (the ticker drops the ticks it missed): give
		// the jobs a full interval from now rather than skip them all.
		deadline = time.Now().Add(c.opts.Interval)
	}

	var (
		mu   sync.Mutex // guards rep: stragglers report after cycleCluster returned
		wg   sync.WaitGroup
		pool = c.workers[cl.Name]
	)
	var expired <-chan struct{} // nil (never) without a deadline; stays closed once passed
	if !deadline.IsZero() {
		dctx, dcancel := context.WithDeadline(context.Background(), deadline)
		defer dcancel()
		expired = dctx.Done()
	}
	tick := deadline.Add(-c.opts.Interval)
	for i, job := range jobs {
		key := store.JobKey{Cluster: cl.Name, JobID: job.ID}
		if ctx.Err() != nil {
			break
		}
		if !deadline.IsZero() && !c.pace(ctx, tick.Add(c.opts.Interval/2*time.Duration(i)/time.Duration(len(jobs))), expired) {
			mu.Lock()
			rep.Skipped += len(jobs) - i
			mu.Unlock()
			return c.waitCycle(&mu, &rep, &wg, expired)
		}
		if !c.claim(key) {
			continue // the previous cycle of this job is still running (a stuck call)
		}
		select {
		case pool <- struct{}{}:
		case <-expired:
			c.release(key)
			mu.Lock()
			rep.Skipped += len(jobs) - i
			mu.Unlock()
			return c.waitCycle(&mu, &rep, &wg, expired)
		case <-ctx.Done():
			c.release(key)
			return c.waitCycle(&mu, &rep, &wg, nil)
		}
		mu.Lock()
		rep.Jobs++
		mu.Unlock()
		wg.Add(1)
		c.wg.Add(1)
		go func() {
			defer func() {
				<-pool
				c.release(key)
				wg.Done()
				c.wg.Done()
			}()
			res, err := c.cycleJob(ctx, *cl, job, key, now)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				rep.Cycled++
			} else {
				rep.Errors = append(rep.Errors, fmt.Errorf("%s job %s: %w", cl.Name, job.ID, err))
			}
			if res.scaled {
				rep.Scaled++
			}
			if res.realized {
				rep.Realized++
			}
		}()
	}
	return c.waitCycle(&mu, &rep, &wg, expired)
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

// waitCycle waits for the cycle's jobs, or until expired fires, and returns a copy of the
// report so far.
func (c *Controller) waitCycle(mu *sync.Mutex, rep *CycleReport, wg *sync.WaitGroup, expired <-chan struct{}) CycleReport {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-expired:
	}
	mu.Lock()
	defer mu.Unlock()
	out := *rep
	out.Errors = append([]error(nil), rep.Errors...)
	return out
}

func (r *CycleReport) add(o CycleReport) {
	r.Jobs += o.Jobs
	r.Cycled += o.Cycled
	r.Scaled += o.Scaled
	r.Realized += o.Realized
	r.Skipped += o.Skipped
	r.Errors = append(r.Errors, o.Errors...)
}
