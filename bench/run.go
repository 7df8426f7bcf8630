package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler/operatorjava"
	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/realize"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
	"github.com/flinktune/flinktune/store"
)

// Options tune a benchmark run.
type Options struct {
	// Interval between control-loop cycles, in simulated time (default 10 s, the standalone
	// autoscaler's loop interval).
	Interval time.Duration
	// Set are key=value settings under every job's configuration (like run --set).
	Set []string
	// Progress, if set, is called after every cycle with the simulator (for live displays).
	Progress func(s *sim.Sim, policy string)
	// Transport overrides the in-process HTTP transport (e.g. to go through loopback).
	Transport func(h http.Handler) (baseURL string, client *http.Client, stop func())
	// DataDir for the controller's store; a temporary directory when empty.
	DataDir string
	// After, if set, sees the simulator and the controller's store when the run ends (to
	// read events and the history, e.g. in tests of the failure scenarios).
	After func(s *sim.Sim, st *store.Store)
	// Observer, if set, sees every cycle of the control loop (the dashboard's recorder).
	Observer controller.Observer
	// Opened, if set, is called with the controller's store once it is open (to serve it).
	Opened func(st *store.Store)
	// Logger receives the controller's log (each cycle's decision and reason at debug);
	// discarded when nil.
	Logger *slog.Logger
	// SLOObjective says when each scenario's slo.maxLag reaches flinktune as flinktune.lag.max
	// (slo.go): where it is stricter than flinktune's default when empty.
	SLOObjective SLOObjective
}

// Run simulates the scenario with one policy managing every job, the control loop talking
// Flink's REST API to the simulator, and scores the outcome.
func Run(ctx context.Context, sc *scenario.Scenario, policy string, opts Options) (*Result, error) {
	if !policies.Valid(policy) {
		return nil, fmt.Errorf("unknown policy %q", policy)
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	wall := time.Now()
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		return nil, err
	}
	srv := simrest.New(s, simrest.Options{})
	base, httpClient, stop := "http://simulator", &http.Client{Transport: simrest.RoundTripper(srv)}, func() {}
	if policy == operatorjava.Name && opts.Transport == nil {
		opts.Transport = loopback // the real autoscaler's JVM reads the simulator over loopback
	}
	if opts.Transport != nil {
		base, httpClient, stop = opts.Transport(srv)
	}
	defer stop()
	client, err := flinkrest.New(base, flinkrest.WithHTTPClient(httpClient), flinkrest.WithTimeout(5*time.Second),
		flinkrest.WithRetries(0, 0, 0))
	if err != nil {
		return nil, err
	}
	dir := opts.DataDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "flinktune-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
	}
	st, err := store.OpenWith(dir, store.Options{NoSync: opts.DataDir == ""})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if opts.Opened != nil {
		opts.Opened(st)
	}
	cfg := flinkconf.New()
	if err := cfg.ApplyOverrides(opts.Set); err != nil {
		return nil, err
	}
	applyLagObjective(cfg, sc, opts.SLOObjective)
	if policy == operatorjava.Name {
		cfg.Set(operatorjava.OptRESTAddress.Key, base)
	}
	cluster := controller.FlinkCluster("simulator", client, 15*time.Second)
	// The simulator can roll TaskManagers onto a new memory configuration, as a platform
	// that deploys them would (memory tuning with job.autoscaler.memory.tuning.enabled).
	cluster.Config = &realize.SimConfig{BaseURL: base, Client: httpClient}
	var next slog.Handler
	if opts.Logger != nil {
		next = opts.Logger.Handler()
	}
	reasons := newReasonLog(sc, next)
	ctl := controller.New(st, []controller.Cluster{cluster},
		policies.New, controller.Options{Policy: policy, AllJobs: true, Base: cfg, Interval: opts.Interval, Parallelism: 4,
			Logger: slog.New(reasons), Observer: opts.Observer})

	for !s.Done() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		srv.Advance(opts.Interval)
		ctl.RunOnce(ctx, s.Now())
		if opts.Progress != nil {
			opts.Progress(s, policy)
		}
	}
	if opts.After != nil {
		opts.After(s, st)
	}
	res := score(s, policy)
	res.Reasons = reasons.top(5)
	res.WallSeconds = time.Since(wall).Seconds()
	return res, nil
}

// loopback serves h on 127.0.0.1 for a policy outside this process.
func loopback(h http.Handler) (string, *http.Client, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1", http.DefaultClient, func() {} // the run reports the failure
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), &http.Client{Timeout: 30 * time.Second}, func() { hs.Close() }
}

// RunAll runs every policy on the scenario, concurrently (each run has its own simulator),
// and returns the results in the order of policies.
func RunAll(ctx context.Context, sc *scenario.Scenario, policyNames []string, opts Options) ([]*Result, error) {
	results := make([]*Result, len(policyNames))
	errs := make([]error, len(policyNames))
	var wg sync.WaitGroup
	for i, name := range policyNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opts
			if o.DataDir != "" {
				// One store per run: flinktune events --data-dir DIR/<scenario>-<policy>.
				o.DataDir = filepath.Join(opts.DataDir, sc.Name+"-"+name)
			}
			results[i], errs[i] = Run(ctx, sc, name, o)
		}()
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// score sums the simulator's accounting over the scenario's jobs.
func score(s *sim.Sim, policy string) *Result {
	sc := s.Scenario()
	r := &Result{Scenario: sc.Name, Policy: policy, Seed: sc.Seed, Convergence: []Convergence{}}
	for i, id := range s.JobIDs() {
		st, _ := s.Stats(id)
		r.SimulatedSeconds = st.SimulatedSeconds
		// A reconfiguration is a restart the policy caused: new requirements, or a TaskManager
		// memory roll-out (which also carries any parallelism change of the same cycle).
		r.Rescales += st.Rescales + st.TaskManagerConfigChanges
		r.Restarts += st.Restarts
		r.DowntimeSeconds += st.DowntimeSeconds
		r.SlotSeconds += st.SlotSeconds
		r.TaskManagerSeconds = st.TaskManagerSeconds // cluster-wide
		r.ParallelismSeconds += st.ParallelismSeconds
		r.MinimalSlotSeconds += st.MinimalSlotSeconds
		r.LagViolationSeconds += st.LagViolationSeconds
		r.MaxLagSeconds = max(r.MaxLagSeconds, st.MaxLagSeconds)
		r.InputRecords += st.InputRecords
		r.ProcessedRecords += st.ProcessedRecords
		r.FinalLagRecords += st.FinalLagRecords
		r.MemoryConfigChanges += st.TaskManagerConfigChanges
		r.Memory = Memory{OOMKills: st.OOMKills, ContainerKills: st.ContainerKills,
			TaskManagerProcessBytesAvg: st.TaskManagerProcessBytesAvg, HeapUsedMaxRatio: st.HeapUsedMaxRatio}
		changes := policyChanges(st)
		r.UnansweredLagViolationSeconds += unanswered(st.Series, changes, s.Start(), sc.SLO.MaxLag)
		r.Oscillations += oscillations(changes, sc.SLO.Settle)
		r.JobLevelOscillations += jobLevelOscillations(changes, sc.SLO.Settle)
		r.Flapping += flapping(changes, sc.SLO.Settle, newJobDemand(&sc.Jobs[i], s.Start()))
		r.Convergence = append(r.Convergence, convergence(s.Start(), s.LoadChanges(id), s.End(), changes, st.Series, sc.SLO.MaxLag)...)
	}
	r.TaskManagerMemoryGiBHours = r.TaskManagerSeconds * r.Memory.TaskManagerProcessBytesAvg / (1 << 30) / 3600
	return r
}
