package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
)

// fakeJMClock serves a JobManager clock running at rate times a fake wall clock that advances
// by step per call of wallNow.
type fakeJMClock struct {
	jobs  []flinkrest.JobDetails
	rate  float64
	wall  time.Time
	start time.Time
	step  time.Duration
	now   int64         // when > 0: a fixed JobManager clock
	tick  time.Duration // when > 0: the JobManager clock advances in whole ticks (a simulator)
}

func (f *fakeJMClock) wallNow() time.Time { f.wall = f.wall.Add(f.step); return f.wall }

func (f *fakeJMClock) JobsOverview(context.Context) (*flinkrest.MultipleJobsDetails, error) {
	return &flinkrest.MultipleJobsDetails{Jobs: f.jobs}, nil
}

func (f *fakeJMClock) JobDetails(_ context.Context, id string) (*flinkrest.JobDetailsInfo, error) {
	if f.now != 0 {
		return &flinkrest.JobDetailsInfo{JID: id, Now: f.now}, nil
	}
	jm := f.start.Add(time.Duration(float64(f.wall.Sub(f.start)) * f.rate))
	if f.tick > 0 {
		jm = f.start.Add(jm.Sub(f.start).Truncate(f.tick))
	}
	return &flinkrest.JobDetailsInfo{JID: id, Now: jm.UnixMilli()}, nil
}

func TestMeasureClockRate(t *testing.T) {
	running := []flinkrest.JobDetails{{JID: "a", State: "FINISHED"}, {JID: "b", State: "RUNNING"}}
	for _, tc := range []struct {
		name    string
		f       fakeJMClock
		want    float64
		wantErr bool
	}{
		{"wall clock", fakeJMClock{jobs: running, rate: 1}, 1, false},
		{"skewed but real time", fakeJMClock{jobs: running, rate: 1.03}, 1, false},
		{"sim --speed 60", fakeJMClock{jobs: running, rate: 60}, 60, false},
		{"slow motion", fakeJMClock{jobs: running, rate: 0.5}, 0.5, false},
		{"no job", fakeJMClock{rate: 60}, 0, true},
		{"sim --speed 1 ticking in whole seconds", fakeJMClock{jobs: running, rate: 1, tick: time.Second}, 1, false},
		{"clock stands still", fakeJMClock{jobs: running, now: 1_700_000_000_000}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.start = time.Unix(1_700_000_000, 0)
			f.wall = f.start
			f.step = 500 * time.Millisecond
			if f.tick > 0 {
				f.step = 5 * time.Millisecond // readings much finer than the tick
			}
			got, err := measureClockRate(context.Background(), &f, time.Millisecond, f.wallNow)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("rate %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := got - tc.want; d > 0.01*tc.want || d < -0.01*tc.want {
				t.Errorf("rate %v, want %v", got, tc.want)
			}
		})
	}
	f := fakeJMClock{}
	if _, err := measureClockRate(context.Background(), &f, 0, time.Now); !errors.Is(err, errNoClock) {
		t.Errorf("no job: %v, want errNoClock", err)
	}
}

func TestWallInterval(t *testing.T) {
	for _, tc := range []struct {
		every      time.Duration
		rate       float64
		wall, span time.Duration
	}{
		{10 * time.Second, 1, 10 * time.Second, 10 * time.Second},
		{10 * time.Second, 60, 10 * time.Second / 60, 10*time.Second/60*60 - 40},
		{10 * time.Second, 0.5, 20 * time.Second, 10 * time.Second},
		{10 * time.Second, 1800, minWallInterval, 180 * time.Second}, // floored: a cycle spans 3 min of the job's time
	} {
		wall, span := wallInterval(tc.every, tc.rate)
		if wall != tc.wall || (span-tc.span).Abs() > time.Microsecond {
			t.Errorf("wallInterval(%v, %v) = %v, %v; want %v, %v", tc.every, tc.rate, wall, span, tc.wall, tc.span)
		}
	}
}
