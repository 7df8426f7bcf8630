package collect

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
)

// TestBadDataFailsTheCycle feeds the collector the implausible values of issue 13 (a 1e308
// gauge, Infinity, NaN where a count belongs, negative parallelism, 10,000 vertices, ...):
// each must fail the job's collection with a typed bad-data error naming the field, never
// reach a snapshot.
func TestBadDataFailsTheCycle(t *testing.T) {
	setTM := func(name string, v float64) func(f *fakeFlink) {
		return func(f *fakeFlink) {
			for i := range f.tmAgg {
				if f.tmAgg[i].ID == name {
					f.tmAgg[i].Max = flinkrest.DoublePtr(v)
				}
			}
		}
	}
	setVertex := func(name string, v float64) func(f *fakeFlink) {
		return func(f *fakeFlink) {
			for i := range f.vertexAgg {
				if f.vertexAgg[i].ID == name {
					f.vertexAgg[i].Avg = flinkrest.DoublePtr(v)
				}
			}
		}
	}
	setJM := func(name, v string) func(f *fakeFlink) {
		return func(f *fakeFlink) {
			for i := range f.jmMetrics {
				if f.jmMetrics[i].ID == name {
					f.jmMetrics[i].Value = v
				}
			}
		}
	}
	for _, tc := range []struct {
		name  string
		edit  func(f *fakeFlink)
		field string
	}{
		{"TaskManager gauge 1e308", setTM(TMHeapUsed, 1e308), TMHeapUsed + " max"},
		{"TaskManager gauge +Inf", setTM(TMHeapUsed, math.Inf(1)), TMHeapUsed + " max"},
		{"TaskManager gauge negative", setTM(TMManagedUsed, -5), TMManagedUsed + " max"},
		{"busy time 1e9 ms/s", setVertex(MetricBusyTime, 1e9), MetricBusyTime + " avg"},
		{"rate -Inf", setVertex("Source__kafka-orders.numRecordsInPerSecond", math.Inf(-1)), "numRecordsInPerSecond avg"},
		{"pending records negative", setVertex("Source__kafka-orders.pendingRecords", -10), "pendingRecords avg"},
		{"slots NaN", setJM(MetricSlotsTotal, "NaN"), MetricSlotsTotal},
		{"slots 1e12", setJM(MetricSlotsTotal, "1e12"), MetricSlotsTotal},
		{"negative parallelism", func(f *fakeFlink) { f.details.Vertices[1].Parallelism = -4 }, "parallelism"},
		{"zero parallelism", func(f *fakeFlink) { f.details.Vertices[1].Parallelism = 0 }, "parallelism"},
		{"parallelism above Flink's max", func(f *fakeFlink) {
			f.details.Vertices[1].Parallelism, f.details.Vertices[1].MaxParallelism = 40000, 40000
		}, "parallelism"},
		{"parallelism above the vertex max", func(f *fakeFlink) { f.details.Vertices[1].Parallelism = f.details.Vertices[1].MaxParallelism + 1 }, "parallelism"},
		{"max parallelism 2^31-1", func(f *fakeFlink) { f.details.Vertices[1].MaxParallelism = math.MaxInt32 }, "maxParallelism"},
		{"negative records", func(f *fakeFlink) { f.details.Vertices[0].Metrics.WriteRecords = -1 }, "write-records"},
		{"year 300000", func(f *fakeFlink) { f.details.Now = math.MaxInt64 / 2 }, "now"},
		{"10,000 vertices", func(f *fakeFlink) {
			for i := range 10_000 {
				id := fmt.Sprintf("%032x", i+1)
				f.details.Vertices = append(f.details.Vertices, flinkrest.JobVertex{ID: id, Name: id, Parallelism: 1, MaxParallelism: 128, Status: "RUNNING"})
				f.details.Plan.Nodes = append(f.details.Plan.Nodes, flinkrest.PlanNode{ID: id})
			}
		}, "number of vertices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, c := setup(t)
			f.edit(tc.edit)
			snap, err := c.Collect(context.Background(), jobID, now)
			if snap != nil || err == nil {
				t.Fatalf("bad data passed: snapshot %v, error %v", snap != nil, err)
			}
			var bad *BadDataError
			if !errors.As(err, &bad) || !errors.Is(err, ErrBadData) || !IsBadData(err) {
				t.Fatalf("error %T %v, want a *BadDataError", err, err)
			}
			if !strings.Contains(bad.Field, tc.field) || bad.JobID != jobID {
				t.Errorf("error %q does not name the field %q", err, tc.field)
			}
		})
	}
}

// TestPlausibleValuesPass: NaN aggregates (not measured yet), a -1 JVM maximum (undefined)
// and a busy time slightly above 1000 ms/s are what real clusters send: no error.
func TestPlausibleValuesPass(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) {
		for i := range f.vertexAgg {
			if f.vertexAgg[i].ID == MetricBusyTime {
				f.vertexAgg[i].Avg = flinkrest.DoublePtr(math.NaN())
				f.vertexAgg[i].Max = flinkrest.DoublePtr(1000.4)
			}
		}
		for i := range f.tmAgg {
			if f.tmAgg[i].ID == TMMetaspaceMax {
				f.tmAgg[i].Max = flinkrest.DoublePtr(-1)
			}
		}
	})
	snap, err := c.Collect(context.Background(), jobID, now)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := snap.TaskManagerMetrics[TMMetaspaceMax]; ok && !math.IsNaN(m.Max) {
		t.Errorf("an undefined maximum (-1) must read as absent, got %v", m.Max)
	}
}

// TestMalformedNumbersAreBadData: numbers that overflow their Go type fail decoding, which
// counts as bad data too.
func TestMalformedNumbersAreBadData(t *testing.T) {
	f, c := setup(t)
	f.edit(func(f *fakeFlink) {
		f.reqs = `{"` + keyedID + `": {"parallelism": {"lowerBound": 1, "upperBound": 1e400}}}`
	})
	_, err := c.Collect(context.Background(), jobID, now)
	if err == nil || !IsBadData(err) {
		t.Fatalf("overflowing number: %v", err)
	}
}

// TestClusterAnswersSharedPerCycle: the TaskManager list and the TaskManager and JobManager
// metrics are fetched once per cycle (the time given to Collect), not once per job.
func TestClusterAnswersSharedPerCycle(t *testing.T) {
	f, c := setup(t)
	for range 3 {
		if _, err := c.Collect(context.Background(), jobID, now); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.take()
	if n := countPrefix(reqs, "GET /taskmanagers?"); n != 1 {
		t.Errorf("GET /taskmanagers %d times in one cycle", n)
	}
	if n := countPrefix(reqs, "GET /jobmanager/metrics"); n != 1 {
		t.Errorf("GET /jobmanager/metrics %d times in one cycle", n)
	}
	if n := countPrefix(reqs, "GET /jobs/"+jobID+"?"); n != 3 {
		t.Errorf("job details %d times for 3 collections", n)
	}
	if _, err := c.Collect(context.Background(), jobID, now.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(f.take(), "GET /taskmanagers?"); n != 1 {
		t.Errorf("the next cycle did not fetch the TaskManagers again (%d)", n)
	}
}
