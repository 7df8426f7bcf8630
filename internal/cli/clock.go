package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkrest"
)

// Policies measure everything (rates, windows, stabilization) on the clock of the JobManager
// that timed the snapshot. A simulator run with `flinktune sim --speed 60` moves that clock 60
// times faster than the wall, so run's wall-clock interval must shrink by the same factor for
// a job to be cycled every --interval of its own time; otherwise each cycle is 10 simulated
// minutes apart, longer than the metric window, and no policy ever becomes ready.

// minWallInterval bounds how often run cycles a fast-clocked cluster: every cycle is a dozen
// REST calls per job.
const minWallInterval = 100 * time.Millisecond

// clockRateTolerance: a measured rate this close to 1 is the wall clock (network jitter).
const clockRateTolerance = 0.05

// clockGap separates the two readings of a JobManager's clock: long enough that a simulator
// advancing in ticks on a loaded machine is measured within a few percent, short enough not to
// delay run's start much.
const clockGap = 2 * time.Second

// clockEdgePolls bounds the readings that wait for a clock's edge (a gap's worth in all).
const clockEdgePolls = 100

// clockSource reads a cluster's jobs and one job's details (their "now" is the JobManager's clock).
type clockSource interface {
	JobsOverview(ctx context.Context) (*flinkrest.MultipleJobsDetails, error)
	JobDetails(ctx context.Context, jobID string) (*flinkrest.JobDetailsInfo, error)
}

// errNoClock means the cluster runs no job whose details carry the JobManager's clock.
var errNoClock = errors.New("no job whose details carry the JobManager's clock")

// measureClockRate returns how many seconds the JobManager's clock advances per wall second,
// from two readings of a job's details gap apart (wall time read around each call). Rates
// within clockRateTolerance of 1 are 1.
func measureClockRate(ctx context.Context, src clockSource, gap time.Duration, wallNow func() time.Time) (float64, error) {
	ov, err := src.JobsOverview(ctx)
	if err != nil {
		return 0, err
	}
	jobID := ""
	for _, j := range ov.Jobs {
		if j.State == "RUNNING" || jobID == "" {
			jobID = j.JID
		}
	}
	if jobID == "" {
		return 0, errNoClock
	}
	read := func() (jm int64, wall time.Time, err error) {
		before := wallNow()
		d, err := src.JobDetails(ctx, jobID)
		if err != nil {
			return 0, time.Time{}, err
		}
		after := wallNow()
		if d.Now <= 0 {
			return 0, time.Time{}, errNoClock
		}
		return d.Now, before.Add(after.Sub(before) / 2), nil
	}
	jm1, w1, err := readEdge(ctx, read, gap/clockEdgePolls)
	if err != nil {
		return 0, err
	}
	if err := sleepCtx(ctx, gap); err != nil {
		return 0, err
	}
	jm2, w2, err := readEdge(ctx, read, gap/clockEdgePolls)
	if err != nil {
		return 0, err
	}
	wall := w2.Sub(w1).Seconds()
	if wall <= 0 {
		return 0, fmt.Errorf("the wall clock did not advance between two readings")
	}
	rate := float64(jm2-jm1) / 1000 / wall
	switch {
	case math.IsNaN(rate) || rate <= 0:
		return 0, fmt.Errorf("the JobManager's clock did not advance (%d ms then %d ms)", jm1, jm2)
	case math.Abs(rate-1) <= clockRateTolerance:
		return 1, nil
	}
	return rate, nil
}

// wallInterval is the wall-clock period that is every of the cluster's time at rate, at
// least minWallInterval; the second result is the cluster time a cycle then spans.
func wallInterval(every time.Duration, rate float64) (wall, span time.Duration) {
	if rate <= 0 || rate == 1 {
		return every, every
	}
	wall = time.Duration(float64(every) / rate)
	if wall < minWallInterval {
		wall = minWallInterval
	}
	return wall, time.Duration(float64(wall) * rate)
}

// clockGroup is the clusters cycled at one wall-clock interval.
type clockGroup struct {
	wall     time.Duration
	clusters []controller.Cluster
}

// groupByClock measures each cluster's clock rate (in parallel, bounded) and groups the
// clusters by the wall interval that makes every a cycle of their own time. A cluster whose
// clock cannot be read (no job yet, unreachable) is taken to run on the wall clock.
func groupByClock(ctx context.Context, log *slog.Logger, clusters []controller.Cluster, clients []*flinkrest.Client, every time.Duration) []clockGroup {
	rates := make([]float64, len(clusters))
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			rate, err := measureClockRate(mctx, clients[i], clockGap, time.Now)
			if err != nil {
				log.Info("cannot measure the cluster's clock rate; cycling on the wall clock", "cluster", clusters[i].Name, "reason", err)
				rate = 1
			}
			rates[i] = rate
		}()
	}
	wg.Wait()
	var groups []clockGroup
	for i, cl := range clusters {
		wall, span := wallInterval(every, rates[i])
		if rates[i] != 1 {
			log.Info("the cluster's clock is not the wall clock (a simulator's --speed?): its jobs are cycled in its time",
				"cluster", cl.Name, "clockRate", fmt.Sprintf("%.3g", rates[i]), "wallInterval", wall.String(), "jobTimeInterval", span.String())
			if span > every+every/10 {
				log.Warn("interval/speed mismatch: the cluster's clock runs so fast that a cycle spans more than --interval of its time",
					"cluster", cl.Name, "interval", every.String(), "jobTimeInterval", span.String(), "minWallInterval", minWallInterval.String())
			}
		}
		j := slices.IndexFunc(groups, func(g clockGroup) bool { return g.wall == wall })
		if j < 0 {
			groups = append(groups, clockGroup{wall: wall})
			j = len(groups) - 1
		}
		groups[j].clusters = append(groups[j].clusters, cl)
	}
	return groups
}

// runControllers runs every controller until ctx ends and returns the first error.
func runControllers(ctx context.Context, ctls []*controller.Controller) error {
	errs := make([]error, len(ctls))
	var wg sync.WaitGroup
	for i, c := range ctls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Run(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readEdge reads the clock until it moves. A simulator's clock advances in whole ticks, so two
// readings at arbitrary moments are off by up to a tick (a 1 s tick over a 2 s gap measured
// speed 1 as 1.5); readings taken as the clock moves are not. A millisecond clock (a real
// JobManager) moves between any two readings, so this costs one extra call there.
func readEdge(ctx context.Context, read func() (int64, time.Time, error), poll time.Duration) (int64, time.Time, error) {
	jm0, w0, err := read()
	if err != nil {
		return 0, time.Time{}, err
	}
	for range clockEdgePolls {
		if err := sleepCtx(ctx, poll); err != nil {
			return 0, time.Time{}, err
		}
		jm, w, err := read()
		if err != nil {
			return 0, time.Time{}, err
		}
		if jm != jm0 {
			return jm, w, nil
		}
	}
	return jm0, w0, nil // a clock that stands still: the caller says so
}
