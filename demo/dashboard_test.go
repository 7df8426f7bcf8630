package demo

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/store"
)

// The demo prints the dashboard's URL as it starts, and the dashboard serves the live run.
func TestDemoServesTheDashboard(t *testing.T) {
	sc, err := scenario.Parse([]byte(short), "short.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rec := dashboard.NewRecorder(400)
	var srv *http.Server
	serve := func(st *store.Store) (string, error) {
		s, url, err := dashboard.Serve("127.0.0.1:0", rec, st)
		srv = s
		return url, err
	}
	var out bytes.Buffer
	err = Run(context.Background(), &out, sc, Options{Every: 10 * 60e9, Observer: rec, Serve: serve})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got := out.String()
	i := strings.Index(got, "dashboard: http://127.0.0.1:")
	if i < 0 || i > strings.Index(got, "input/s") {
		t.Errorf("the dashboard URL should be printed before the live view:\n%s", got)
	}
	list := rec.List(nil)
	if len(list.Jobs) != 1 || list.Jobs[0].Samples < 300 || list.Jobs[0].Markers == 0 {
		t.Errorf("the dashboard recorded %+v, want the job's whole run with its rescale", list.Jobs)
	}
}
