// Package conformance checks the operator port (autoscaler/operator) against the real operator
// autoscaler (flink-autoscaler from Maven Central, run by autoscaler/operatorjava) decision by
// decision, in lockstep on the simulator.
//
// Each control cycle: the simulator advances one interval and freezes; the real autoscaler runs
// one cycle at the simulator's time, reading the REST API through a recorder that keeps every
// answer and holds back its rescale request; the port then runs on exactly those answers
// (replayed; a request the autoscaler did not make is answered by the same frozen simulator);
// finally the real autoscaler's rescale reaches the simulator. The cluster therefore follows the
// real autoscaler, and a first difference cannot make the two runs diverge. Per cycle and job the
// sets of (vertex, new parallelism) each side decided are compared.
package conformance

import (
	"context"

	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/autoscaler/operatorjava"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// Options tune a conformance run.
type Options struct {
	// Interval between control cycles in simulated time (default 10 s, the standalone's loop).
	Interval time.Duration
	// Set are key=value settings under every job's configuration, for both sides.
	Set []string
	// Classpath of the harness (default: operatorjava.Classpath()).
	Classpath string
	// Log receives the JVM's log.
	Log io.Writer
	// Until stops the run after this much simulated time (0: the scenario's duration).
	Until time.Duration
}

// Cycle is one job's control cycle where at least one side decided.
type Cycle struct {
	Time  time.Time      `json:"time"`
	JobID string         `json:"jobId"`
	Java  map[string]int `json:"java"`
	Port  map[string]int `json:"port"`
	// Current is the parallelism of the vertices either side changed.
	Current    map[string]int `json:"current"`
	PortReason string         `json:"portReason,omitempty"`
	// JavaMemory and PortMemory are the memory overrides each side recommends (with
	// job.autoscaler.memory.tuning.enabled), compared on decided cycles.
	JavaMemory map[string]string `json:"javaMemory,omitempty"`
	PortMemory map[string]string `json:"portMemory,omitempty"`
	JavaReport string            `json:"javaReport,omitempty"`
}

// Agree reports whether both sides decided the same set of (vertex, parallelism).
func (c *Cycle) Agree() bool { return maps.Equal(c.Java, c.Port) }

// Report is the outcome of one scenario.
type Report struct {
	Scenario string `json:"scenario"`
	// Cycles counts job control cycles; Decided those where either side decided; Agreed those
	// where both decided the same (vertex, parallelism) set.
	Cycles        int `json:"cycles"`
	Decided       int `json:"decided"`
	Agreed        int `json:"agreed"`
	JavaDecisions int `json:"javaDecisions"`
	PortDecisions int `json:"portDecisions"`
	// Differences are the cycles where the sides disagreed; Decisions every decided cycle.
	Differences []Cycle `json:"differences,omitempty"`
	Decisions   []Cycle `json:"decisions,omitempty"`
	// JavaErrors and PortErrors are the first AutoscalerError messages of each side.
	JavaErrors   []string `json:"javaErrors,omitempty"`
	PortErrors   []string `json:"portErrors,omitempty"`
	RejectedPuts int      `json:"rejectedPuts"`
	// MemoryCompared counts decided cycles where either side recommended memory overrides;
	// MemoryAgreed those where both recommended the same.
	MemoryCompared int `json:"memoryCompared"`
	MemoryAgreed   int `json:"memoryAgreed"`
	// SkippedCycles are cycles the real autoscaler skipped because listing the jobs or reading
	// a job's configuration failed (the port is not run either: flinktune's controller skips
	// them too).
	SkippedCycles int         `json:"skippedCycles"`
	Replay        ReplayStats `json:"replay"`
	WallSeconds   float64     `json:"wallSeconds"`
	// JavaSeconds and PortSeconds are the wall time spent in the real autoscaler's cycles
	// (its REST calls included) and in the port's (collection from the recording included).
	JavaSeconds float64 `json:"javaSeconds"`
	PortSeconds float64 `json:"portSeconds"`
}

// Agreement is Agreed / Decided (1 when nobody decided).
func (r *Report) Agreement() float64 {
	if r.Decided == 0 {
		return 1
	}
	return float64(r.Agreed) / float64(r.Decided)
}

// Run runs the scenario with the real autoscaler in charge and the port in its shadow.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*Report, error) {
	wall := time.Now()
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	base := flinkconf.New()
	if err := base.ApplyOverrides(opts.Set); err != nil {
		return nil, err
	}
	if !base.Has("job.autoscaler.enabled") {
		base.Set("job.autoscaler.enabled", "true")
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		return nil, err
	}
	srv := simrest.New(s, simrest.Options{})
	rec := newRecorder(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	proc, err := operatorjava.Start(operatorjava.Config{RESTAddress: "http://" + ln.Addr().String(),
		Options: base.Map(), Classpath: opts.Classpath, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	defer proc.Close()

	client, err := flinkrest.New("http://replay", flinkrest.WithHTTPClient(&http.Client{Transport: rec}),
		flinkrest.WithRetries(0, 0, 0), flinkrest.WithTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	sh := &shadow{base: base, col: collect.New(client, collect.Options{Cluster: "simulator"}), ports: map[string]*operator.Policy{}}
	rep := &Report{Scenario: sc.Name}
	var start time.Time
	srv.Do(func(s *sim.Sim) { start = s.Now() })
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var now time.Time
		var done bool
		srv.Do(func(s *sim.Sim) { done = s.Done() })
		if done {
			break
		}
		srv.Advance(opts.Interval)
		srv.Do(func(s *sim.Sim) { now = s.Now() })
		if opts.Until > 0 && now.Sub(start) > opts.Until {
			break
		}
		rec.beginCycle()
		t0 := time.Now()
		reply, err := proc.Cycle(now, "")
		if err != nil {
			return rep, err
		}
		t1 := time.Now()
		rep.JavaSeconds += t1.Sub(t0).Seconds()
		if len(reply.FetchErrors) > 0 {
			rep.SkippedCycles++
		}
		for _, o := range reply.Jobs {
			sh.compare(ctx, rep, now, o)
		}
		rep.PortSeconds += time.Since(t1).Seconds()
		for _, st := range rec.flush() {
			if st != http.StatusOK {
				rep.RejectedPuts++
			}
		}
	}
	rep.Replay = rec.stats
	rep.WallSeconds = time.Since(wall).Seconds()
	return rep, nil
}

// shadow runs the port on the recorded answers.
type shadow struct {
	base  *flinkconf.Config
	col   *collect.Collector
	ports map[string]*operator.Policy
}

func (sh *shadow) compare(ctx context.Context, rep *Report, now time.Time, o operatorjava.JobOutcome) {
	rep.Cycles++
	c := Cycle{Time: now, JobID: o.JobID, Java: o.Decided, Current: map[string]int{}, JavaMemory: o.ConfigOverrides}
	if c.Java == nil {
		c.Java = map[string]int{}
	}
	for _, e := range o.Events {
		switch e.Reason {
		case "AutoscalerError":
			if len(rep.JavaErrors) < 10 {
				rep.JavaErrors = append(rep.JavaErrors, now.UTC().Format(time.TimeOnly)+" "+e.Message)
			}
		case "ScalingReport":
			c.JavaReport = e.Message
		}
	}
	snap, dec, err := sh.portCycle(ctx, now, o.JobID)
	c.Port = map[string]int{}
	if err != nil {
		c.PortReason = err.Error()
		if len(rep.PortErrors) < 10 {
			rep.PortErrors = append(rep.PortErrors, now.UTC().Format(time.TimeOnly)+" "+err.Error())
		}
	} else {
		c.PortReason = dec.Reason
		c.PortMemory = dec.ConfigOverrides
		for _, e := range dec.Events {
			if e.Reason == operator.ReasonAutoscalerError && len(rep.PortErrors) < 10 {
				rep.PortErrors = append(rep.PortErrors, now.UTC().Format(time.TimeOnly)+" "+e.Message)
			}
		}
		if dec.Scaled {
			for v, p := range dec.Parallelism {
				if cur := snap.Vertex(v); cur != nil && cur.Parallelism != p {
					c.Port[v] = p
				}
			}
		}
	}
	if len(c.Java) == 0 && len(c.Port) == 0 {
		return
	}
	if snap != nil {
		for _, v := range slices.Concat(slices.Collect(maps.Keys(c.Java)), slices.Collect(maps.Keys(c.Port))) {
			if cur := snap.Vertex(v); cur != nil {
				c.Current[v] = cur.Parallelism
			}
		}
	}
	rep.Decided++
	if len(c.Java) > 0 {
		rep.JavaDecisions++
	}
	if len(c.Port) > 0 {
		rep.PortDecisions++
	}
	if len(c.JavaMemory) > 0 || len(c.PortMemory) > 0 {
		rep.MemoryCompared++
		if maps.Equal(c.JavaMemory, c.PortMemory) {
			rep.MemoryAgreed++
		}
	}
	rep.Decisions = append(rep.Decisions, c)
	if c.Agree() {
		rep.Agreed++
	} else {
		rep.Differences = append(rep.Differences, c)
	}
}

// portCycle collects the job through the replaying client and runs the port's cycle.
func (sh *shadow) portCycle(ctx context.Context, now time.Time, jobID string) (*autoscaler.Snapshot, autoscaler.Decision, error) {
	snap, err := sh.col.Collect(ctx, jobID, now)
	if err != nil {
		return nil, autoscaler.Decision{}, fmt.Errorf("port collection failed: %w", err)
	}
	cfg := sh.base.Clone()
	cfg.Merge(flinkconf.FromMap(snap.Config))
	snap.Config = cfg.Map()
	p := sh.ports[jobID]
	if p == nil {
		o, err := operator.ParseOptions(cfg)
		if err != nil {
			return snap, autoscaler.Decision{}, err
		}
		p = operator.New(o)
		sh.ports[jobID] = p
	}
	dec, err := p.Cycle(snap)
	return snap, dec, err
}

// Summary is one line per report, for logs.
func (r *Report) Summary() string {
	return fmt.Sprintf("%s: %d cycles, %d decided (java %d, port %d), agreement %.1f%%, %d differences, java errors %d, port errors %d, skipped %d, memory %d/%d, replay %d/%d/%d (recorded/derived/live), %.1fs (java %.1fs, port %.1fs)",
		r.Scenario, r.Cycles, r.Decided, r.JavaDecisions, r.PortDecisions, 100*r.Agreement(), len(r.Differences),
		len(r.JavaErrors), len(r.PortErrors), r.SkippedCycles, r.MemoryAgreed, r.MemoryCompared, r.Replay.Recorded, r.Replay.Derived, r.Replay.Live, r.WallSeconds, r.JavaSeconds, r.PortSeconds)
}

// FormatCycle prints one cycle's sides for a difference table.
func FormatCycle(c Cycle) string {
	return fmt.Sprintf("%s job %s: java %s port %s (current %s) port: %s", c.Time.UTC().Format(time.DateTime), short(c.JobID),
		fmtSet(c.Java), fmtSet(c.Port), fmtSet(c.Current), c.PortReason)
}

func fmtSet(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", short(k), m[k])
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
