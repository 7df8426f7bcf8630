package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim/adaptive"
)

// Epoch is the simulated start time unless Options.Start is set.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Model constants. They calibrate behaviour the scenario format does not describe.
const (
	// frameworkHeapUsed is the live heap of the TaskManager framework itself.
	frameworkHeapUsed = 64 << 20
	// defaultHeapStateFraction: hashmap keyed state counts at this fraction of its
	// checkpointed size in the live heap (see Options.HeapStateFraction).
	defaultHeapStateFraction = 0.5
	// allocPerRecord is the short-lived garbage a record creates in each operator chain.
	allocPerRecord = 256
	// nativeBase and nativePerSubtask are native memory outside the Flink pools (threads,
	// code cache, GC structures) that JVM overhead must cover.
	nativeBase       = 48 << 20
	nativePerSubtask = 6 << 20
	// meterSpan and viewInterval are Flink's MeterView window and its update interval.
	meterSpan    = 60 * time.Second
	viewInterval = 5 * time.Second
	ringLen      = int(meterSpan/viewInterval) + 1
	// checkpointBase is the fixed part of a checkpoint's duration.
	checkpointBase = time.Second
	// rocksDBIncrementalFraction of the state is uploaded by an incremental RocksDB checkpoint.
	rocksDBIncrementalFraction = 0.1
	// maxSlotsPerTM bounds taskmanager.numberOfTaskSlots (Flink has no limit; the simulator
	// allocates per slot).
	maxSlotsPerTM = 4096
	// historySize is web.checkpoints.history (checkpoints) and the exception history length.
	historySize = 10
)

// Options tune a run beyond the scenario.
type Options struct {
	// Start is the simulated time at t = 0 (default Epoch).
	Start time.Time
	// HeapStateFraction is the fraction of a hashmap-backend vertex's keyed state that lives
	// on the TaskManager heap (default 0.5). The scenario's state sizes are checkpoint sizes;
	// this calibration keeps the example scenarios runnable on their configured TaskManagers.
	HeapStateFraction float64
	// NoSeries skips the per-tick series in Stats (saves memory on long runs).
	NoSeries bool
}

// Sim is a simulated Flink cluster.
type Sim struct {
	sc      *scenario.Scenario
	opts    Options
	version adaptive.Version
	start   time.Time
	now     time.Time
	tick    time.Duration
	ticks   int64
	end     time.Time
	rng     *rand.Rand
	seed    uint64

	// Cluster.
	clusterCfg *flinkconf.Config // scenario cluster config (flink defaults applied)
	tmCfg      *flinkconf.Config // TaskManager configuration in force
	tmGen      int               // generation of tmCfg (SetTaskManagerConfig)
	tmMem      *memory.TaskManager
	jmMem      *memory.JobManager
	tms        []*taskManager // registered, in registration order
	pending    []pendingTM
	nextTM     int
	tmBounds   scenario.TaskManagers
	idleSlot   time.Duration // slot.idle.timeout
	jmDown     time.Time     // JobManager (and REST) down until
	jmStarted  time.Time
	fetchEvery time.Duration
	nextFetch  time.Time
	nextView   time.Time
	fetchSeq   uint64

	jobs   []*job
	faults []scenario.Fault // sorted by time
	nextF  int

	published *published // metrics as of the last MetricFetcher refresh

	// Cluster-wide accounting.
	tmSeconds       float64
	tmProcessBytesT float64 // Σ process bytes × seconds
	oomKills        int
	containerKills  int
	heapRatioMax    float64
	events          []Event
	scratch         []bool
}

// Event is something that happened in the cluster, for logs and the CLI status line.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Job     string    `json:"job,omitempty"`
	Message string    `json:"message"`
}

// New builds a simulator for sc. It fails, naming the key, when the TaskManager memory
// configuration is invalid or an option has a bad value.
func New(sc *scenario.Scenario, opts Options) (*Sim, error) {
	if opts.Start.IsZero() {
		opts.Start = Epoch
	}
	if opts.HeapStateFraction <= 0 {
		opts.HeapStateFraction = defaultHeapStateFraction
	}
	v, err := adaptive.ParseVersion(string(sc.FlinkVersion))
	if err != nil {
		return nil, err
	}
	s := &Sim{
		sc:       sc,
		opts:     opts,
		version:  v,
		start:    opts.Start,
		now:      opts.Start,
		tick:     sc.Tick,
		end:      opts.Start.Add(sc.Duration),
		seed:     sc.Seed,
		rng:      rand.New(rand.NewPCG(sc.Seed, 0x666c696e6b74756e)), // "flinktun"
		tmBounds: sc.Cluster.TaskManagers,
	}
	s.clusterCfg = withFlinkDefaults(flinkconf.FromMap(sc.Cluster.Config))
	if err := s.setTMConfig(s.clusterCfg.Clone()); err != nil {
		return nil, err
	}
	jm, err := memory.DeriveJobManager(s.clusterCfg, nil, s.memProfile())
	if err != nil {
		return nil, fmt.Errorf("cluster.config: %w", err)
	}
	s.jmMem = jm
	if d, _, ferr := s.clusterCfg.Duration(flinkconf.SlotIdleTimeout); ferr != nil {
		return nil, ferr
	} else {
		s.idleSlot = d
	}
	if d, _, ferr := s.clusterCfg.Duration(flinkconf.MetricFetcherInterval); ferr != nil {
		return nil, ferr
	} else if d <= 0 {
		return nil, fmt.Errorf("%s: want a positive duration", flinkconf.MetricFetcherInterval.Key)
	} else {
		s.fetchEvery = d
	}
	s.jmStarted = s.start
	for i := range sc.Jobs {
		j, err := newJob(s, i)
		if err != nil {
			return nil, fmt.Errorf("jobs[%d] (%s): %w", i, sc.Jobs[i].Name, err)
		}
		s.jobs = append(s.jobs, j)
	}
	s.faults = slices.Clone(sc.Faults)
	slices.SortStableFunc(s.faults, func(a, b scenario.Fault) int { return int(a.At - b.At) })

	for range sc.Cluster.TaskManagers.Initial {
		s.registerTM()
	}
	for _, j := range s.jobs {
		j.submit(s.now)
	}
	s.allocateSlots()
	s.manageResources()
	s.nextView = s.start.Add(viewInterval)
	s.nextFetch = s.start
	s.publish()
	s.nextFetch = s.start.Add(s.fetchEvery)
	return s, nil
}

func (s *Sim) memProfile() memory.Profile {
	if s.version >= adaptive.V2 {
		return memory.Flink2
	}
	return memory.Flink1
}

// withFlinkDefaults adds what Flink's shipped configuration file sets, so a scenario without
// memory keys runs like a fresh Flink distribution (1728m TaskManagers, 1600m JobManager).
func withFlinkDefaults(c *flinkconf.Config) *flinkconf.Config {
	c = c.Clone()
	tmKeys := []flinkconf.Option{flinkconf.TMProcessSize, flinkconf.TMFlinkSize, flinkconf.TMTaskHeap, flinkconf.TMLegacyHeapSize, flinkconf.TMLegacyHeapMB}
	if !slices.ContainsFunc(tmKeys, c.IsConfigured) {
		c.Set(flinkconf.TMProcessSize.Key, "1728m")
	}
	jmKeys := []flinkconf.Option{flinkconf.JMProcessSize, flinkconf.JMFlinkSize, flinkconf.JMHeapSize, flinkconf.JMLegacyHeapSize, flinkconf.JMLegacyHeapMB}
	if !slices.ContainsFunc(jmKeys, c.IsConfigured) {
		c.Set(flinkconf.JMProcessSize.Key, "1600m")
	}
	return c
}

// setTMConfig derives the TaskManager memory of cfg; on error nothing changes.
func (s *Sim) setTMConfig(cfg *flinkconf.Config) error {
	tm, err := memory.DeriveTaskManager(cfg, nil, s.memProfile())
	if err != nil {
		return fmt.Errorf("TaskManager configuration: %w", err)
	}
	if tm.NumSlots < 1 || tm.NumSlots > maxSlotsPerTM {
		return fmt.Errorf("%s: the simulator supports 1 to %d slots per TaskManager, got %d", flinkconf.TMNumberOfTaskSlots.Key, maxSlotsPerTM, tm.NumSlots)
	}
	s.tmCfg, s.tmMem = cfg, tm
	s.tmGen++
	return nil
}

// Scenario is the scenario being simulated.
func (s *Sim) Scenario() *scenario.Scenario { return s.sc }

// Now is the current simulated time.
func (s *Sim) Now() time.Time { return s.now }

// Start is the simulated time at t = 0.
func (s *Sim) Start() time.Time { return s.start }

// End is the simulated time at which the scenario's duration is over.
func (s *Sim) End() time.Time { return s.end }

// Tick is the simulation step.
func (s *Sim) Tick() time.Duration { return s.tick }

// Done reports whether the scenario's duration has been simulated.
func (s *Sim) Done() bool { return !s.now.Before(s.end) }

// Elapsed is the simulated time since the start.
func (s *Sim) Elapsed() time.Duration { return s.now.Sub(s.start) }

// AdvanceTo steps until Now() ≥ t (at most one tick past t). It may run past the scenario's
// duration: the cluster keeps running with the last load segments in force.
func (s *Sim) AdvanceTo(t time.Time) {
	for s.now.Before(t) {
		s.Step()
	}
}

// Run simulates until Done.
func (s *Sim) Run() {
	for !s.Done() {
		s.Step()
	}
}

// Events returns the cluster's event log (newest last).
func (s *Sim) Events() []Event { return s.events }

func (s *Sim) logf(kind string, j *job, format string, a ...any) {
	e := Event{Time: s.now, Kind: kind, Message: fmt.Sprintf(format, a...)}
	if j != nil {
		e.Job = j.name
	}
	s.events = append(s.events, e)
	if len(s.events) > 10000 {
		s.events = slices.Clone(s.events[len(s.events)-5000:])
	}
}

// Step advances the simulation by one tick.
func (s *Sim) Step() {
	prev := s.now
	s.ticks++
	s.now = s.start.Add(time.Duration(s.ticks) * s.tick)
	dt := float64Duration{d: s.now.Sub(prev), s: s.now.Sub(prev).Seconds()}

	s.applyFaults()
	s.jobManagerRecovery()
	if s.jobManagerAlive() {
		// The ResourceManager runs in the JobManager process.
		s.registerPending()
	}
	s.allocateSlots()
	for _, j := range s.jobs {
		j.advance(s.now)
	}
	// Timers may have deployed or cancelled executions; slots follow.
	s.allocateSlots()
	for _, j := range s.jobs {
		j.tasksProgress(s.now)
		j.checkpoints(s.now)
	}
	for _, j := range s.jobs {
		j.arrive(dt)
		j.flow(dt)
	}
	s.updateMemory(dt)
	if s.jobManagerAlive() {
		s.manageResources()
	}
	if !s.now.Before(s.nextView) {
		for !s.now.Before(s.nextView) {
			s.nextView = s.nextView.Add(viewInterval)
		}
		for _, j := range s.jobs {
			j.updateViews()
		}
	}
	if !s.now.Before(s.nextFetch) {
		for !s.now.Before(s.nextFetch) {
			s.nextFetch = s.nextFetch.Add(s.fetchEvery)
		}
		s.publish()
	}
	s.account(dt)
}

// jobManagerAlive reports whether the JobManager is up at now.
func (s *Sim) jobManagerAlive() bool { return !s.now.Before(s.jmDown) }

// JobManagerDown reports whether the JobManager (and so the REST endpoint) is down.
func (s *Sim) JobManagerDown() bool { return !s.jobManagerAlive() }

func (s *Sim) jobManagerRecovery() {
	if s.jmDown.IsZero() || s.now.Before(s.jmDown) {
		return
	}
	s.jmDown = time.Time{}
	s.jmStarted = s.now
	s.logf("jobmanager", nil, "JobManager recovered; jobs restore from their latest completed checkpoint")
	for _, j := range s.jobs {
		j.recoverAfterJobManager(s.now)
	}
}

func (s *Sim) job(id string) *job {
	for _, j := range s.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

// JobIDs lists the ids of the scenario's jobs in scenario order.
func (s *Sim) JobIDs() []string {
	out := make([]string, len(s.jobs))
	for i, j := range s.jobs {
		out[i] = j.id
	}
	return out
}

// cleanOperatorName is the operator-scope prefix of a vertex's metrics: the chain's first
// operator, with ' ', '.', ':' and ',' replaced by '_' and cut to 80 characters
// (flink-rest-api.md §6.1: "Source: kafka-orders" → "Source__kafka-orders").
func cleanOperatorName(name string) string {
	// A chain's first operator names the metric group.
	if i := strings.Index(name, " -> "); i >= 0 {
		name = name[:i]
	}
	r := strings.NewReplacer(" ", "_", ".", "_", ":", "_", ",", "_")
	name = r.Replace(name)
	if len(name) > 80 {
		name = name[:80]
	}
	return name
}
