package realize

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

type fakeAPI struct {
	req  flinkrest.JobResourceRequirements
	puts int
	fail error
}

func (f *fakeAPI) ResourceRequirements(context.Context, string) (flinkrest.JobResourceRequirements, error) {
	return f.req, nil
}

func (f *fakeAPI) SetResourceRequirements(_ context.Context, _ string, r flinkrest.JobResourceRequirements) error {
	if f.fail != nil {
		return f.fail
	}
	f.puts++
	f.req = r
	return nil
}

func bounds(l, u int) flinkrest.JobVertexResourceRequirements {
	return flinkrest.JobVertexResourceRequirements{Parallelism: flinkrest.ParallelismBounds{LowerBound: l, UpperBound: u}}
}

func snap(sched string) *autoscaler.Snapshot {
	return &autoscaler.Snapshot{JobID: "j", Status: "RUNNING", Config: map[string]string{"jobmanager.scheduler": sched},
		Vertices: []autoscaler.Vertex{{ID: "a", Parallelism: 2}, {ID: "b", Parallelism: 3}}}
}

func TestRescale(t *testing.T) {
	api := &fakeAPI{req: flinkrest.JobResourceRequirements{"a": bounds(2, 2), "b": bounds(1, 3)}}
	r := &Rescale{API: api, Verify: true}
	sent, err := r.Realize(context.Background(), snap("adaptive"), map[string]int{"a": 4})
	if err != nil || !sent || api.puts != 1 {
		t.Fatalf("sent %v err %v puts %d", sent, err, api.puts)
	}
	if api.req["a"] != bounds(1, 4) || api.req["b"] != bounds(1, 3) {
		t.Errorf("requirements %+v", api.req)
	}
	// Idempotent: the same target again sends nothing.
	if sent, err := r.Realize(context.Background(), snap("Adaptive"), map[string]int{"a": 4}); sent || err != nil {
		t.Errorf("second realize sent=%v err=%v", sent, err)
	}
	// Operator style keeps a user-raised lower bound (capped by the new upper bound).
	api.req["a"] = bounds(3, 4)
	r.Lower = LowerBoundKeep
	r.Realize(context.Background(), snap("adaptive"), map[string]int{"a": 2})
	if api.req["a"] != bounds(2, 2) {
		t.Errorf("keep lower bound: %+v", api.req["a"])
	}
}

func TestRescaleRefusals(t *testing.T) {
	api := &fakeAPI{req: flinkrest.JobResourceRequirements{}}
	r := &Rescale{API: api}
	if _, err := r.Realize(context.Background(), snap("default"), map[string]int{"a": 4}); !errors.Is(err, ErrNotAdaptive) {
		t.Errorf("default scheduler: %v", err)
	}
	// A Flink outside the supported matrix is refused before any call, naming the fix.
	for _, v := range []string{"1.17.2", "3.0.0"} {
		s := snap("adaptive")
		s.FlinkVersion = v
		if _, err := r.Realize(context.Background(), s, map[string]int{"a": 4}); !errors.Is(err, flinkrest.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "Flink "+v) {
			t.Errorf("Flink %s: %v", v, err)
		}
	}
	if api.puts != 0 {
		t.Errorf("%d PUTs to unsupported versions", api.puts)
	}
	s := snap("adaptive")
	s.FlinkVersion = "1.20.5"
	s.Status = "FAILED"
	if _, err := r.Realize(context.Background(), s, map[string]int{"a": 4}); err == nil {
		t.Error("a failed job must not be rescaled")
	}
	// A rollback goes to a job that is restarting: the adaptive scheduler takes it.
	s.Status = "RESTARTING"
	if sent, err := r.Realize(context.Background(), s, map[string]int{"a": 3}); err != nil || !sent {
		t.Errorf("restarting job (rollback): sent %v err %v", sent, err)
	}
	api.req = flinkrest.JobResourceRequirements{}
	// FLINK-32341: an empty GET body still yields a complete PUT.
	sent, err := r.Realize(context.Background(), snap("adaptive"), map[string]int{"a": 4})
	if err != nil || !sent || len(api.req) != 2 || api.req["b"] != bounds(1, 3) {
		t.Errorf("empty GET: sent %v err %v req %+v", sent, err, api.req)
	}
	api.fail = errors.New("503")
	if _, err := r.Realize(context.Background(), snap("adaptive"), map[string]int{"a": 5}); err == nil {
		t.Error("PUT failure must surface")
	}
}
