package simrest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// The server keeps each job's view for the calls of one simulated instant: whatever changes
// the simulator (time, a call that is not a GET, Do) must show in the next answer.
func TestJobViewsFollowChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(srv *Server, hc *http.Client, id string)
		check  func(before, after int64, state string) error
	}{
		{"advance", func(srv *Server, _ *http.Client, _ string) { srv.Advance(10 * time.Second) },
			func(before, after int64, _ string) error {
				if after != before+10000 {
					return fmt.Errorf("now %d after advancing 10 s from %d", after, before)
				}
				return nil
			}},
		{"PATCH cancel", func(_ *Server, hc *http.Client, id string) {
			req, _ := http.NewRequest(http.MethodPatch, "http://sim/jobs/"+id+"?mode=cancel", nil)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}, canceled},
		{"Do", func(srv *Server, _ *http.Client, id string) { srv.Do(func(s *sim.Sim) { s.Cancel(id) }) }, canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(fmt.Sprintf(rescaleYAML, "1.20")), "e2e.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s, err := sim.New(sc, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			srv := New(s, Options{})
			srv.Advance(time.Minute)
			hc := &http.Client{Transport: RoundTripper(srv)}
			id := s.JobIDs()[0]
			before := getJob(t, hc, "http://sim", id)
			if again := getJob(t, hc, "http://sim", id); again.Now != before.Now || again.State != "RUNNING" {
				t.Fatalf("the same instant answered now %d (%s), then %d (%s)", before.Now, before.State, again.Now, again.State)
			}
			tc.change(srv, hc, id)
			after := getJob(t, hc, "http://sim", id)
			if err := tc.check(before.Now, after.Now, after.State); err != nil {
				t.Error(err)
			}
		})
	}
}

func canceled(_, _ int64, state string) error {
	if state != sim.StatusCanceled {
		return fmt.Errorf("state %s after the cancel", state)
	}
	return nil
}
