package controller

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/store"
)

// badDataCollector answers one job with implausible data, the others as the fake does.
type badDataCollector struct {
	*fakeCluster
	bad string
}

func (b badDataCollector) Collect(ctx context.Context, ref JobRef, now time.Time) (*autoscaler.Snapshot, error) {
	if ref.ID == b.bad {
		return nil, &collect.BadDataError{JobID: ref.ID, Field: "taskmanagers/metrics Status.JVM.Memory.Heap.Used max", Value: "1e308", Want: "a number in [0, 9.007199254740992e+15]"}
	}
	return b.fakeCluster.Collect(ctx, ref, now)
}

func TestBadDataIsCountedRecordedAndNotDecided(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFake()
	m := NewMetrics()
	c := New(st, []Cluster{{Name: "http://fake:8081", Collector: badDataCollector{f, "a"}, Realizer: f}}, factory,
		Options{Policy: "doubling", AllJobs: true, Metrics: m})
	rep := c.RunOnce(context.Background(), t0)
	if rep.Realized != 1 || len(rep.Errors) != 1 || f.jobs["a"].parallelism["src"] != 1 {
		t.Fatalf("report %+v, job a %v", rep, f.jobs["a"].parallelism)
	}
	evs, _ := st.Events(store.EventQuery{JobID: "a"})
	if len(evs) != 1 || evs[0].Reason != ReasonBadData || !strings.Contains(evs[0].Message, "1e308") {
		t.Errorf("events %+v", evs)
	}
	if got := jobCounterValue(t, m, "flinktune_bad_data_total", "a"); got != 1 {
		t.Errorf("flinktune_bad_data_total = %v", got)
	}
	if h, _ := st.History(store.JobKey{Cluster: "http://fake:8081", JobID: "a"}, time.Time{}); len(h) != 0 {
		t.Errorf("history on bad data: %+v", h)
	}
}

// counterValue reads a counter of job from the metrics' registry.
func jobCounterValue(t *testing.T, m *Metrics, name, job string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mm := range f.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "job" && l.GetValue() == job {
					return mm.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
