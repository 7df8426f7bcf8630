//go:build integration

package kube_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/kube"
	"github.com/flinktune/flinktune/sim"
)

// startSim serves a scenario with `flinktune sim` on loopback (the Flink side) and returns
// its REST URL.
func startSim(t *testing.T, name, scenario string, speed int) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(file, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	p := env.startFlinktune(t, "sim-"+name, "sim", "--scenario", file, "--listen", "127.0.0.1:0",
		"--speed", strconv.Itoa(speed), "--status-every", "1h")
	line := p.waitOutput(t, "REST API (simulated) at ", 60*time.Second)
	m := regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no URL in %q", line)
	}
	return m[1]
}

func simStats(t *testing.T, url, job string) sim.Stats {
	t.Helper()
	var st sim.Stats
	resp, err := http.Get(url + "/flinktune/v1/jobs/" + job + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&st)
	return st
}

// setParallelism PUTs resource requirements to the simulated job: parallelism p per vertex
// (all vertices at all when all > 0).
func setParallelism(ctx context.Context, url, job string, p map[string]int, all int) error {
	c, err := flinkrest.New(url)
	if err != nil {
		return err
	}
	req, err := c.ResourceRequirements(ctx, job)
	if err != nil {
		return err
	}
	for id, r := range req {
		n, ok := p[id]
		if all > 0 {
			n, ok = all, true
		}
		if ok {
			r.Parallelism = flinkrest.ParallelismBounds{LowerBound: 1, UpperBound: n}
			req[id] = r
		}
	}
	return c.SetResourceRequirements(ctx, job, req)
}

// standIn plays, for the tests, the component that would act on a resource in a real
// cluster. It watches the resources of kind r named name through the real API server and
// applies what flinktune wrote there to the simulated job:
//   - for a FlinkDeployment it is the Flink Kubernetes operator's in-place rescale: the
//     parallelism overrides in spec.flinkConfiguration become the job's resource
//     requirements (the PUT the operator sends for Flink 1.18+ with the adaptive scheduler);
//   - for a reactive-mode TaskManager Deployment it is the Deployment controller, kubelet
//     and Flink's reactive mode together: replicas × slots becomes every vertex's parallelism.
//
// Everything flinktune does goes through the API server; only this stand-in talks to the
// simulator on the operator's behalf.
type standIn struct {
	mu       sync.Mutex
	seen     []string // each distinct value seen, in order (overrides, or replicas)
	applied  int      // values applied to the simulator
	errs     []error
	versions int
}

func (s *standIn) values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func runStandIn(ctx context.Context, r kube.Resource, name, flinkURL, job string, slots int) *standIn {
	s := &standIn{}
	go func() {
		var last string
		for ctx.Err() == nil {
			items, rv, err := env.admin.List(ctx, r, testNS, "")
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			handle := func(o kube.Object) {
				if o.Name() != name {
					return
				}
				var v string
				if r == kube.Deployments {
					n, _ := o.Get("spec", "replicas").(float64)
					v = strconv.Itoa(int(n))
				} else {
					v = o.StrMap("spec", "flinkConfiguration")[kube.KeyOverrides]
				}
				if v == last || v == "" {
					return
				}
				last = v
				s.mu.Lock()
				s.seen = append(s.seen, v)
				s.mu.Unlock()
				var err error
				if r == kube.Deployments {
					n, _ := strconv.Atoi(v)
					err = setParallelism(ctx, flinkURL, job, nil, n*slots)
				} else {
					var p map[string]int
					if p, err = kube.ParseOverrides(v); err == nil {
						err = setParallelism(ctx, flinkURL, job, p, 0)
					}
				}
				s.mu.Lock()
				if err != nil {
					s.errs = append(s.errs, err)
				} else {
					s.applied++
				}
				s.mu.Unlock()
			}
			for _, o := range items {
				handle(o)
			}
			for ctx.Err() == nil {
				if rv, err = env.admin.Watch(ctx, r, testNS, "", rv, time.Minute, func(ev kube.WatchEvent) { handle(ev.Object) }); err != nil {
					break
				}
			}
		}
	}()
	return s
}
