package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
)

// hungCollector never answers: every call waits for its context.
type hungCollector struct{ listOK bool }

func (h hungCollector) ListJobs(ctx context.Context) ([]JobRef, error) {
	if h.listOK {
		var out []JobRef
		for i := range 40 {
			out = append(out, JobRef{ID: fmt.Sprintf("hung-%02d", i), State: "RUNNING"})
		}
		return out, nil
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hungCollector) Collect(ctx context.Context, _ JobRef, _ time.Time) (*autoscaler.Snapshot, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// countingCollector records when each job was collected.
type countingCollector struct {
	*fakeCluster
	mu    sync.Mutex
	times map[string][]time.Time
}

func (c *countingCollector) Collect(ctx context.Context, ref JobRef, now time.Time) (*autoscaler.Snapshot, error) {
	c.mu.Lock()
	c.times[ref.ID] = append(c.times[ref.ID], time.Now())
	c.mu.Unlock()
	return c.fakeCluster.Collect(ctx, ref, now)
}

// TestHungClusterDelaysNoOtherCluster reproduces issue 13 (one hung cluster slowed every
// cluster's jobs): a cluster whose listing hangs and one whose every job hangs, with calls
// that wait a full minute, next to a healthy cluster. The healthy jobs must be cycled every
// interval while the hung calls wait; before per-cluster scheduling they got one cycle.
func TestHungClusterDelaysNoOtherCluster(t *testing.T) {
	st, err := store.OpenWith(t.TempDir(), store.Options{NoSync: true}) // no fsync latency in a 100 ms interval
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	healthy := &countingCollector{fakeCluster: newFake(), times: map[string][]time.Time{}}
	for i := range 20 {
		healthy.jobs[fmt.Sprintf("j%02d", i)] = &fakeJob{parallelism: map[string]int{"src": 1, "sink": 1}}
	}
	const interval = 100 * time.Millisecond
	c := New(st, []Cluster{
		{Name: "hung-listing", Collector: hungCollector{}},
		{Name: "hung-jobs", Collector: hungCollector{listOK: true}},
		{Name: "healthy", Collector: healthy, Realizer: healthy.fakeCluster},
	}, factory, Options{Policy: "doubling", AllJobs: true, Interval: interval, CycleTimeout: time.Minute, Parallelism: 4, Metrics: NewMetrics()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	time.Sleep(15 * interval)
	healthy.mu.Lock()
	for id := range healthy.jobs {
		// 15 intervals: at least a third of them even on a loaded machine; the old loop
		// managed at most one cycle in a minute.
		if n := len(healthy.times[id]); n < 5 {
			t.Errorf("healthy job %s cycled %d times in 15 intervals", id, n)
		}
	}
	healthy.mu.Unlock()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Run did not return after cancel")
	}
}

// TestCycleDeadlineSkipsRatherThanPilesUp: when every worker of a cluster is stuck, the
// cycle returns by its deadline, reports the jobs it could not start, and the next cycle does
// not start the stuck jobs twice.
func TestCycleDeadlineSkipsRatherThanPilesUp(t *testing.T) {
	st, _ := store.Open(t.TempDir())
	defer st.Close()
	cl := Cluster{Name: "hung-jobs", Collector: hungCollector{listOK: true}}
	const interval = 200 * time.Millisecond
	c := New(st, []Cluster{cl}, factory, Options{Policy: "doubling", AllJobs: true, CycleTimeout: 2 * time.Second, Parallelism: 4, Interval: interval})
	start := time.Now()
	rep := c.cycleCluster(context.Background(), &c.clusters[0], t0, start.Add(interval))
	if took := time.Since(start); took > time.Second {
		t.Errorf("cycle took %v past its 200ms deadline", took)
	}
	if rep.Jobs != 4 || rep.Skipped != 36 {
		t.Errorf("report %+v: want 4 started, 36 skipped", rep)
	}
	rep = c.cycleCluster(context.Background(), &c.clusters[0], t0, time.Now().Add(interval))
	if rep.Jobs != 0 {
		t.Errorf("stuck jobs started again: %+v", rep)
	}
	c.wg.Wait()
}

// TestCycleSpreadsJobStarts: with a deadline (Run), a cluster's jobs start at fixed offsets
// over the first half of the interval, in id order, rather than all at the tick.
func TestCycleSpreadsJobStarts(t *testing.T) {
	st, _ := store.OpenWith(t.TempDir(), store.Options{NoSync: true})
	defer st.Close()
	f := &countingCollector{fakeCluster: &fakeCluster{jobs: map[string]*fakeJob{}}, times: map[string][]time.Time{}}
	for i := range 10 {
		f.jobs[fmt.Sprintf("j%d", i)] = &fakeJob{parallelism: map[string]int{"src": 1, "sink": 1}}
	}
	const interval = 2 * time.Second
	c := New(st, []Cluster{{Name: "c", Collector: f}}, factory, Options{Policy: "doubling", AllJobs: true, Interval: interval})
	tick := time.Now()
	rep := c.cycleCluster(context.Background(), &c.clusters[0], t0, tick.Add(interval))
	if rep.Cycled != 10 {
		t.Fatalf("report %+v", rep)
	}
	// j9 is due at 9/10 of half the interval (900 ms; a timer is never early); j0 at once.
	first, last := f.times["j0"][0].Sub(tick), f.times["j9"][0].Sub(tick)
	if last < 850*time.Millisecond || first > last-500*time.Millisecond {
		t.Errorf("j0 started after %v, j9 after %v; want j0 at once and j9 after about 900ms", first, last)
	}
}

// slowListing answers the job list after a delay longer than the interval.
type slowListing struct {
	*countingCollector
	delay time.Duration
}

func (s slowListing) ListJobs(ctx context.Context) ([]JobRef, error) {
	time.Sleep(s.delay)
	return s.countingCollector.ListJobs(ctx)
}

// TestSlowListingStillCyclesJobs: a listing slower than the interval delays the cluster's
// cycle but does not make it skip every job.
func TestSlowListingStillCyclesJobs(t *testing.T) {
	st, _ := store.OpenWith(t.TempDir(), store.Options{NoSync: true})
	defer st.Close()
	f := &countingCollector{fakeCluster: newFake(), times: map[string][]time.Time{}}
	const interval = 100 * time.Millisecond
	c := New(st, []Cluster{{Name: "slow", Collector: slowListing{f, 2 * interval}, Realizer: f.fakeCluster}}, factory,
		Options{Policy: "doubling", AllJobs: true, Interval: interval})
	rep := c.cycleCluster(context.Background(), &c.clusters[0], t0, time.Now().Add(interval))
	if rep.Cycled != 2 || rep.Skipped != 0 {
		t.Errorf("report %+v: want both jobs cycled", rep)
	}
}
