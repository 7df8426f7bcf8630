// Package simrest serves Flink's JobManager REST API over a simulated cluster (package sim),
// with the endpoints and wire shapes of flink-rest-api.md, so that flinktune's client, the
// Kubernetes operator's autoscaler or a curl session cannot tell it from Flink.
//
// Time: in lockstep mode the caller advances simulated time (Advance) and nothing moves by
// itself — tests and benchmarks use it; RunRealtime advances the simulation with the wall
// clock at a chosen speed. Every request is served under one mutex around the simulator.
//
// REST faults from the scenario are applied per request, decided by a hash of the scenario seed
// and the request's sequence number (so the same request sequence meets the same faults):
//   - unavailable: the connection is dropped without an answer (http.ErrAbortHandler; through
//     RoundTripper the client sees a connection-refused error), as when the JobManager is down;
//   - errors: HTTP 500 with Flink's {"errors": [...]} body;
//   - slow: the answer is delayed. A real-time server sleeps the fault's delay divided by the
//     speed; a lockstep server sleeps the delay × Options.SlowScale of wall time (default 1: a
//     client with a deadline shorter than the delay times out). The sleep honours the request's
//     context and does not hold the simulator's lock.
package simrest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/sim"
)

// Options configure a Server.
type Options struct {
	// SlowScale multiplies a slow fault's delay into wall-clock sleep in lockstep mode
	// (default 1). Benchmarks pass a small factor and shrink their client deadlines by the
	// same factor.
	SlowScale float64
}

// Server serves Flink's REST API for a simulator. It implements http.Handler.
type Server struct {
	mu       sync.Mutex
	sim      *sim.Sim
	opts     Options
	seq      uint64  // requests seen (fault decisions)
	speed    float64 // > 0 while RunRealtime runs
	triggers map[string]savepoint
	trigSeq  uint64
	// views are the jobs' views (sim.Job) at the current simulated instant, built once for
	// all the calls on a job in between: every call builds one, and they were most of the
	// simulator's cost in benchmarks. Handlers only read them. They are forgotten whenever
	// the simulator may change: time advances (Advance, RunRealtime), Do, or a call that is
	// not a GET or HEAD (or is an extension call).
	views map[string]sim.JobView
}

type savepoint struct {
	job, location string
}

// New returns a server over s.
func New(s *sim.Sim, opts Options) *Server {
	if opts.SlowScale <= 0 {
		opts.SlowScale = 1
	}
	return &Server{sim: s, opts: opts, triggers: map[string]savepoint{}, views: map[string]sim.JobView{}}
}

// job is the job's view at the current instant (sim.Job), built once per instant. The
// caller holds srv.mu.
func (srv *Server) job(id string) (sim.JobView, bool) {
	if v, ok := srv.views[id]; ok {
		return v, true
	}
	v, ok := srv.sim.Job(id)
	if ok {
		srv.views[id] = v
	}
	return v, ok
}

// Advance moves simulated time forward by d (lockstep mode), under the server's lock.
func (srv *Server) Advance(d time.Duration) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.sim.AdvanceTo(srv.sim.Now().Add(d))
	clear(srv.views)
}

// Do runs f with exclusive access to the simulator (for stats, control and inspection).
func (srv *Server) Do(f func(s *sim.Sim)) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	f(srv.sim)
	clear(srv.views)
}

// RunRealtime advances the simulation with the wall clock, speed simulated seconds per wall
// second, until ctx is done.
func (srv *Server) RunRealtime(ctx context.Context, speed float64) error {
	return srv.RunRealtimeUntil(ctx, speed, 0, nil)
}

// RunRealtimeUntil is RunRealtime that also stops once until (> 0) of simulated time has
// passed. onTick, if set, runs under the lock after each advance (status lines).
func (srv *Server) RunRealtimeUntil(ctx context.Context, speed float64, until time.Duration, onTick func(*sim.Sim)) error {
	if speed <= 0 {
		return fmt.Errorf("speed must be positive, got %v", speed)
	}
	srv.mu.Lock()
	srv.speed = speed
	startSim := srv.sim.Now()
	tick := srv.sim.Tick()
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		srv.speed = 0
		srv.mu.Unlock()
	}()
	wallTick := time.Duration(float64(tick) / speed)
	wallTick = max(wallTick, 10*time.Millisecond)
	t := time.NewTicker(wallTick)
	defer t.Stop()
	startWall := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		target := startSim.Add(time.Duration(float64(time.Since(startWall)) * speed))
		if until > 0 && target.After(startSim.Add(until)) {
			target = startSim.Add(until)
		}
		srv.mu.Lock()
		srv.sim.AdvanceTo(target)
		if onTick != nil {
			onTick(srv.sim)
		}
		clear(srv.views)
		done := until > 0 && !srv.sim.Now().Before(startSim.Add(until))
		srv.mu.Unlock()
		if done {
			return nil
		}
	}
}

// ServeHTTP implements http.Handler.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	path = strings.TrimPrefix(path, "/v1")
	if path == "" {
		path = "/"
	}
	ext := strings.HasPrefix(path, "/flinktune/")

	srv.mu.Lock()
	srv.seq++
	mode, rate, delay := srv.sim.RESTFault()
	seed := srv.sim.Scenario().Seed
	speed := srv.speed
	hit := rate > 0 && uniform(seed, srv.seq) < rate
	srv.mu.Unlock()

	if hit && !ext {
		switch mode {
		case "unavailable":
			// Drop the connection without an answer.
			panic(http.ErrAbortHandler)
		case "errors":
			writeJSON(w, http.StatusInternalServerError, flinkrest.ErrorResponse{Errors: []string{
				"Internal server error.",
				"<Exception on server side:\norg.apache.flink.runtime.rest.handler.RestHandlerException: simulated REST fault (rest: errors)\n\tat org.apache.flink.runtime.rest.handler.AbstractRestHandler.respondToRequest(simulated)\n\nEnd of exception on server side>",
			}})
			return
		case "slow":
			wait := time.Duration(float64(delay) * srv.opts.SlowScale)
			if speed > 0 {
				wait = time.Duration(float64(delay) / speed)
			}
			select {
			case <-time.After(wait):
			case <-r.Context().Done():
				return
			}
		}
	}

	srv.mu.Lock()
	defer srv.mu.Unlock()
	if ext || r.Method != http.MethodGet && r.Method != http.MethodHead {
		defer clear(srv.views) // the call may change the simulator
	}
	if ext {
		srv.extension(w, r, path)
		return
	}
	srv.route(w, r, path)
}

// uniform maps (seed, n) to [0, 1).
func uniform(seed, n uint64) float64 {
	x := seed ^ (n * 0x9E3779B97F4A7C15)
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(flinkrest.ErrorResponse{Errors: []string{"Internal server error.", err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, flinkrest.ErrorResponse{Errors: msgs})
}
