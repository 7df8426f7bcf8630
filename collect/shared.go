package collect

import (
	"context"
	"time"
)

// Cluster-wide answers (the TaskManager list, TaskManager and JobManager metrics) are the
// same for every job of a cluster in one cycle: they are fetched once per cycle (the time
// passed to Collect) and shared by the cycle's jobs. With 250 jobs on a cluster of 126
// TaskManagers, fetching them per job was a third of the collector's work.

type sharedEntry struct {
	now  time.Time
	done chan struct{}
	val  any
	err  error
}

// shared returns the answer of f for key in the cycle at now: the first caller fetches it,
// concurrent and later callers of the same cycle wait for and reuse it (errors included: a
// cluster that failed to answer is not asked again by every job of the cycle). The value
// is shared: callers must not modify it.
func shared[T any](ctx context.Context, c *Collector, key string, now time.Time, f func() (T, error)) (T, error) {
	c.mu.Lock()
	e := c.shared[key]
	if e == nil || !e.now.Equal(now) {
		e = &sharedEntry{now: now, done: make(chan struct{})}
		c.shared[key] = e
		c.mu.Unlock()
		e.val, e.err = f()
		close(e.done)
	} else {
		c.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	v, _ := e.val.(T)
	return v, e.err
}
