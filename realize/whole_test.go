package realize

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkrest"
)

// wholeSnap is job j on Flink 1.20 running a at pa and b at pb, at t0+at, with the
// requirements the fake API holds (the collector reads them each cycle).
func wholeSnap(api *fakeAPI, status string, pa, pb int, at time.Duration) *autoscaler.Snapshot {
	s := snap("adaptive")
	s.FlinkVersion, s.Status = "1.20.5", status
	s.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(at)
	s.Vertices[0].Parallelism, s.Vertices[1].Parallelism = pa, pb
	s.Requirements = map[string]autoscaler.Bounds{}
	for id, b := range api.req {
		s.Requirements[id] = autoscaler.Bounds{Lower: b.Parallelism.LowerBound, Upper: b.Parallelism.UpperBound}
	}
	return s
}

func TestRealizeWholeHoldsAScaleUpUntilItRuns(t *testing.T) {
	ctx, wait := context.Background(), 2*time.Minute
	target := map[string]int{"a": 6, "b": 3}
	for _, tc := range []struct {
		name   string
		next   func(api *fakeAPI) *autoscaler.Snapshot // the cycle after the PUT
		relax  bool
		reason string
	}{
		{"still waiting for its slots", func(api *fakeAPI) *autoscaler.Snapshot { return wholeSnap(api, "RUNNING", 2, 3, 70*time.Second) }, false, ""},
		{"restarting for the rescale", func(api *fakeAPI) *autoscaler.Snapshot { return wholeSnap(api, "RESTARTING", 2, 3, 70*time.Second) }, true, "the job is RESTARTING"},
		{"running the target", func(api *fakeAPI) *autoscaler.Snapshot { return wholeSnap(api, "RUNNING", 6, 3, 90*time.Second) }, true, "the job runs the target"},
		{"slots never came", func(api *fakeAPI) *autoscaler.Snapshot { return wholeSnap(api, "RUNNING", 2, 3, 130*time.Second) }, true,
			"not every slot arrived within 2m0s; the job rescales with the slots it has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{req: flinkrest.JobResourceRequirements{"a": bounds(1, 2), "b": bounds(1, 3)}}
			r := &Rescale{API: api}
			if rel, err := r.Relax(ctx, wholeSnap(api, "RUNNING", 2, 3, 0), 0); rel.Why != "" || err != nil || api.puts != 0 {
				t.Fatalf("nothing held yet: relaxed %q, err %v, %d PUTs", rel.Why, err, api.puts)
			}
			if sent, err := r.RealizeWhole(ctx, wholeSnap(api, "RUNNING", 2, 3, 0), target, wait); !sent || err != nil {
				t.Fatalf("scale-up: sent %v err %v", sent, err)
			}
			// Every vertex's lower bound at its upper one: no partial layout is possible.
			if api.req["a"] != bounds(6, 6) || api.req["b"] != bounds(3, 3) {
				t.Fatalf("held requirements %+v", api.req)
			}
			if sent, _ := r.RealizeWhole(ctx, wholeSnap(api, "RUNNING", 2, 3, 10*time.Second), target, wait); sent {
				t.Error("the same target again must send nothing")
			}
			rel, err := r.Relax(ctx, tc.next(api), 0)
			if err != nil || rel.Why != tc.reason || rel.Early != strings.HasPrefix(tc.reason, "not every slot") {
				t.Fatalf("relax: %+v, err %v; want %q", rel, err, tc.reason)
			}
			want := bounds(6, 6)
			if tc.relax {
				want = bounds(1, 6)
			}
			if api.req["a"] != want {
				t.Errorf("after relax: a %+v, want %+v", api.req["a"], want)
			}
			if tc.relax && api.req["b"] != bounds(1, 3) {
				t.Errorf("after relax: b %+v, want lower bound 1", api.req["b"])
			}
			// A relaxed hold is not taken again for the same target (a cluster short of
			// slots runs what it can), and relaxing twice sends nothing.
			puts := api.puts
			r.RealizeWhole(ctx, tc.next(api), target, wait)
			r.Relax(ctx, tc.next(api), 0)
			if tc.relax && api.puts != puts {
				t.Errorf("%d PUTs after the hold ended", api.puts-puts)
			}
		})
	}
}

func TestRealizeWholeHoldsOnlyNewScaleUps(t *testing.T) {
	ctx, wait := context.Background(), 2*time.Minute
	for _, tc := range []struct {
		name    string
		version string
		status  string
		req     flinkrest.JobResourceRequirements
		target  map[string]int
		want    flinkrest.JobResourceRequirements
	}{
		{"scale-down", "1.20.5", "RUNNING", flinkrest.JobResourceRequirements{"a": bounds(1, 2), "b": bounds(1, 3)},
			map[string]int{"b": 1}, flinkrest.JobResourceRequirements{"a": bounds(1, 2), "b": bounds(1, 1)}},
		// 1.18 gives a slot sharing group its smallest lower bound (FLINK-33960): no hold.
		{"Flink 1.18", "1.18.1", "RUNNING", flinkrest.JobResourceRequirements{"a": bounds(1, 2), "b": bounds(1, 3)},
			map[string]int{"a": 6}, flinkrest.JobResourceRequirements{"a": bounds(1, 6), "b": bounds(1, 3)}},
		// A rollback to a failing job must not wait for slots.
		{"job not running", "1.20.5", "RESTARTING", flinkrest.JobResourceRequirements{"a": bounds(1, 2), "b": bounds(1, 3)},
			map[string]int{"a": 6}, flinkrest.JobResourceRequirements{"a": bounds(1, 6), "b": bounds(1, 3)}},
		// The target is what Flink has: the job below it recovers from a failure on its own.
		{"recovery", "1.20.5", "RUNNING", flinkrest.JobResourceRequirements{"a": bounds(1, 6), "b": bounds(1, 3)},
			map[string]int{"a": 6}, flinkrest.JobResourceRequirements{"a": bounds(1, 6), "b": bounds(1, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{req: tc.req}
			r := &Rescale{API: api}
			s := wholeSnap(api, tc.status, 2, 3, 0)
			s.FlinkVersion = tc.version
			if _, err := r.RealizeWhole(ctx, s, tc.target, wait); err != nil {
				t.Fatal(err)
			}
			for id, b := range tc.want {
				if api.req[id] != b {
					t.Errorf("%s: %+v, want %+v", id, api.req[id], b)
				}
			}
			if rel, _ := r.Relax(ctx, wholeSnap(api, "RESTARTING", 2, 3, time.Minute), 0); rel.Why != "" {
				t.Errorf("nothing was held, yet relaxed: %s", rel.Why)
			}
		})
	}
}

// A hold left by a flinktune killed between its PUT and the hold's end is ended by the next
// process: raised lower bounds must not outlive the rescale.
func TestRelaxAdoptsAHoldLeftBehind(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		req    flinkrest.JobResourceRequirements
		wait   time.Duration
		status string
		pa     int
		want   string
	}{
		{"running the target", flinkrest.JobResourceRequirements{"a": bounds(6, 6), "b": bounds(3, 3)}, time.Minute, "RUNNING", 6, "the job runs the target"},
		{"restarting", flinkrest.JobResourceRequirements{"a": bounds(6, 6), "b": bounds(3, 3)}, time.Minute, "RESTARTING", 2, "the job is RESTARTING"},
		{"still waiting", flinkrest.JobResourceRequirements{"a": bounds(6, 6), "b": bounds(3, 3)}, time.Minute, "RUNNING", 2, ""},
		{"policy holds nothing", flinkrest.JobResourceRequirements{"a": bounds(6, 6), "b": bounds(3, 3)}, 0, "RUNNING", 6, ""},
		{"not a hold", flinkrest.JobResourceRequirements{"a": bounds(1, 6), "b": bounds(3, 3)}, time.Minute, "RUNNING", 6, ""},
		{"nothing raised", flinkrest.JobResourceRequirements{"a": bounds(1, 1), "b": bounds(1, 1)}, time.Minute, "RUNNING", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{req: tc.req}
			r := &Rescale{API: api}
			rel, err := r.Relax(ctx, wholeSnap(api, tc.status, tc.pa, 3, 0), tc.wait)
			if err != nil || rel.Why != tc.want {
				t.Fatalf("relax: %q, err %v; want %q", rel.Why, err, tc.want)
			}
			if tc.want != "" && (api.req["a"].Parallelism.LowerBound != 1 || api.req["b"].Parallelism.LowerBound != 1) {
				t.Errorf("after relax %+v", api.req)
			}
			if tc.want == "" && api.puts != 0 {
				t.Errorf("%d PUTs without a reason", api.puts)
			}
		})
	}
	// An adopted hold that never sees its slots ends after the wait.
	api := &fakeAPI{req: flinkrest.JobResourceRequirements{"a": bounds(6, 6), "b": bounds(3, 3)}}
	r := &Rescale{API: api}
	r.Relax(ctx, wholeSnap(api, "RUNNING", 2, 3, 0), time.Minute)
	if rel, _ := r.Relax(ctx, wholeSnap(api, "RUNNING", 2, 3, time.Minute), time.Minute); !rel.Early {
		t.Errorf("adopted hold after its wait: %+v", rel)
	}
}
