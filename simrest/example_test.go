package simrest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// A benchmark-style run: the simulator in lockstep, its REST API served in process.
func ExampleRoundTripper() {
	sc, _ := scenarios.Open("wordcount-ramp")
	s, _ := sim.New(sc, sim.Options{})
	srv := simrest.New(s, simrest.Options{})
	hc := &http.Client{Transport: simrest.RoundTripper(srv)}

	srv.Advance(10 * time.Minute)
	resp, _ := hc.Get("http://simulator/jobs/" + sim.JobID("wordcount-ramp", "wordcount"))
	var job flinkrest.JobDetailsInfo
	json.NewDecoder(resp.Body).Decode(&job)
	resp.Body.Close()
	fmt.Println(job.Name, job.State, len(job.Vertices), "vertices")
	// Output: wordcount RUNNING 4 vertices
}
