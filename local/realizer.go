package local

// The process realizer: memory tuning applied to a standalone cluster by restarting its
// TaskManagers one at a time with the tuned memory. No platform (Kubernetes, YARN) redeploys
// the TaskManagers of a standalone cluster, so flinktune does it itself: each TaskManager is
// stopped and started again with the JVM flags and dynamic properties flinktune's memory model
// derives for the new configuration; the adaptive scheduler scales the job down to the slots
// left and back up when the new TaskManager registers, restoring from the latest checkpoint.
// A TaskManager that does not register, or a job that does not come back RUNNING (and stay
// so), rolls every restarted TaskManager back to the previous memory: nothing stays
// half-applied.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/memory"
)

// memoryStateFile records the TaskManager memory configuration in force (relative to the
// cluster's configuration file), so that a later flinktune process knows what runs.
const memoryStateFile = "taskmanager-memory.json"

// MemoryState is what taskmanager-memory.json holds: the TaskManager configuration in force
// is the cluster's configuration file with Removals deleted and Overrides set.
type MemoryState struct {
	Overrides map[string]string `json:"overrides"`
	Removals  []string          `json:"removals,omitempty"`
	// Applied is when the last change completed.
	Applied time.Time `json:"applied"`
}

// ProcessRealizer applies memory-tuning changes to a local standalone cluster by restarting
// its TaskManagers one at a time; it implements controller.ConfigRealizer.
type ProcessRealizer struct {
	Cluster *Cluster
	// RegisterTimeout bounds the wait for a restarted TaskManager's registration (default 2 min).
	RegisterTimeout time.Duration
	// RunningTimeout bounds the wait for the job to run again at its parallelism after a
	// restart (default 3 min).
	RunningTimeout time.Duration
	// StableFor is how long the job must stay RUNNING after the last restart for the change
	// to count as applied (default 20 s): a heap too small fails within it.
	StableFor time.Duration
	Logger    *slog.Logger
	// Now is the clock of the record (default time.Now).
	Now func() time.Time

	// mu serializes changes: jobs of one cluster share its TaskManagers.
	mu sync.Mutex
}

// RealizeTimeout is how long one change may take: every TaskManager restarted, checked and,
// on failure, restarted again with the previous memory. The controller gives the realizer
// this long instead of its default.
func (r *ProcessRealizer) RealizeTimeout() time.Duration {
	n := max(1, len(r.Cluster.liveTaskManagers()))
	per := r.registerTimeout() + r.runningTimeout() + r.stableFor()
	return time.Duration(2*n)*per + time.Minute
}

func (r *ProcessRealizer) registerTimeout() time.Duration {
	return orDefault(r.RegisterTimeout, 2*time.Minute)
}
func (r *ProcessRealizer) runningTimeout() time.Duration {
	return orDefault(r.RunningTimeout, 3*time.Minute)
}
func (r *ProcessRealizer) stableFor() time.Duration { return orDefault(r.StableFor, 20*time.Second) }

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (r *ProcessRealizer) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// RealizeConfig implements controller.ConfigRealizer. It is idempotent: TaskManagers that
// already run the derived memory are not restarted, and when all do nothing is sent.
func (r *ProcessRealizer) RealizeConfig(ctx context.Context, snap *autoscaler.Snapshot, overrides map[string]string, removals []string) (bool, error) {
	if len(overrides) == 0 && len(removals) == 0 {
		return false, nil
	}
	if err := checkTaskManagerKeys(overrides, removals); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.Cluster
	st, err := ReadMemoryState(c.Spec.Dir)
	if err != nil {
		return false, err
	}
	cur := c.tmConfigOf(st)
	next := applied(cur, overrides, removals)
	prevTM, err := c.deriveConf(cur)
	if err != nil {
		return false, fmt.Errorf("the TaskManager memory in force does not derive: %w", err)
	}
	nextTM, err := c.deriveConf(next)
	if err != nil {
		return false, fmt.Errorf("the tuned TaskManager memory does not derive, nothing applied: %w", err)
	}
	nextState := diffState(c.Spec.Config, next)
	var todo []*Process
	for _, p := range c.liveTaskManagers() {
		if !runsMemory(p, nextTM) {
			todo = append(todo, p)
		}
	}
	// A TaskManager that exited on its own (a fatal error such as an OutOfMemoryError in one of
	// its threads) runs nothing, and on a standalone cluster nothing starts it again: it is
	// replaced with the new memory, or the change would count as in force with its slots gone.
	for _, p := range c.exitedTaskManagers() {
		r.log().Warn("TaskManager exited on its own: replacing it", "taskmanager", p.ID, "pid", p.PID, "log", p.Log)
		todo = append(todo, p)
	}
	if len(todo) == 0 {
		// Already in force (e.g. a previous flinktune finished the restarts but not the record).
		return false, r.record(nextState)
	}
	jobs, err := r.watchedJobs(ctx, snap)
	if err != nil {
		return false, err
	}
	r.log().Info("restarting TaskManagers with tuned memory", "taskmanagers", len(todo),
		"process", nextTM.TotalProcess, "heap", nextTM.JVMHeap(), "managed", nextTM.Managed)
	var done []*Process // the new TaskManagers, to roll back on failure
	for i, old := range todo {
		p, err := r.restart(ctx, old, nextTM, jobs, i == len(todo)-1)
		if p != nil {
			done = append(done, p)
		}
		if err != nil {
			missing := 0
			if p == nil {
				missing = 1 // stopped, but no replacement started
			}
			rbErr := r.rollback(ctx, done, missing, prevTM, jobs)
			if rbErr != nil {
				return true, fmt.Errorf("%w; rolling back to the previous memory (process %s) failed too: %v", err, mib(prevTM.TotalProcess), rbErr)
			}
			return true, fmt.Errorf("%w; rolled back: the TaskManagers run the previous memory (process %s) again", err, mib(prevTM.TotalProcess))
		}
	}
	return true, r.record(nextState)
}

// checkTaskManagerKeys refuses what restarting TaskManagers cannot apply: a JobManager
// restart loses a session cluster's jobs (no high availability here).
func checkTaskManagerKeys(overrides map[string]string, removals []string) error {
	var bad []string
	for _, k := range slices.Concat(slices.Collect(maps.Keys(overrides)), removals) {
		if !strings.HasPrefix(k, "taskmanager.") {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("the process realizer restarts TaskManagers only and cannot apply %s (a JobManager restart would lose the session cluster's jobs): "+
		"set flinktune.memory.tuning.jobmanager.enabled: false, or restart the cluster with the new value; nothing applied", strings.Join(bad, ", "))
}

// restart replaces one TaskManager by a new one running tm and waits until it registered and
// the jobs run again (last: and stay running for StableFor). It returns the new process when
// one was started.
func (r *ProcessRealizer) restart(ctx context.Context, old *Process, tm *memory.TaskManager, jobs map[string]int, last bool) (*Process, error) {
	c := r.Cluster
	start := time.Now()
	if old.Alive() { // an exited one's pid may be another process's by now
		stopProcess(old, 15*time.Second)
	}
	p, err := c.launchTaskManager(ctx, tm) // old is still listed: its id is not reused
	c.forget(old)
	if err != nil {
		return nil, fmt.Errorf("starting a TaskManager with the tuned memory: %w", err)
	}
	if err := c.WaitTaskManagers(ctx, r.registerTimeout(), p.ID); err != nil {
		return p, fmt.Errorf("TaskManager %s with the tuned memory (process %s) did not register: %w", p.ID, mib(tm.TotalProcess), err)
	}
	if err := r.waitJobs(ctx, jobs, last); err != nil {
		return p, fmt.Errorf("after restarting %s as %s with process %s: %w", old.ID, p.ID, mib(tm.TotalProcess), err)
	}
	r.log().Info("TaskManager restarted", "old", old.ID, "new", p.ID, "pid", p.PID, "took", time.Since(start).Round(100*time.Millisecond))
	return p, nil
}

// rollback restarts the given TaskManagers with the previous memory and starts missing more
// with it. It has its own deadline: the change's may be what ran out.
func (r *ProcessRealizer) rollback(ctx context.Context, procs []*Process, missing int, prev *memory.TaskManager, jobs map[string]int) error {
	n := len(procs) + missing
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Duration(n)*(r.registerTimeout()+r.runningTimeout()+r.stableFor()))
	defer cancel()
	var errs []error
	for range missing {
		p, err := r.Cluster.launchTaskManager(ctx, prev)
		if err == nil {
			err = r.Cluster.WaitTaskManagers(ctx, r.registerTimeout(), p.ID)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for i, p := range procs {
		if _, err := r.restart(ctx, p, prev, jobs, i == len(procs)-1); err != nil {
			errs = append(errs, err)
		}
	}
	if len(procs) == 0 && len(errs) == 0 {
		errs = append(errs, r.waitJobs(ctx, jobs, true))
	}
	return errors.Join(errs...)
}

// watchedJobs are the jobs that must run again after each restart, with the parallelism of
// each vertex they must reach (the sum over vertices): the snapshot's job, and every job
// RUNNING now. A job that is failing (the change may be its rescue) must be RUNNING after
// the last restart.
func (r *ProcessRealizer) watchedJobs(ctx context.Context, snap *autoscaler.Snapshot) (map[string]int, error) {
	var ov struct {
		Jobs []struct {
			ID    string `json:"jid"`
			State string `json:"state"`
		} `json:"jobs"`
	}
	if err := r.Cluster.GetJSON(ctx, "/jobs/overview", &ov); err != nil {
		return nil, fmt.Errorf("listing the cluster's jobs before restarting TaskManagers: %w", err)
	}
	jobs := map[string]int{}
	for _, j := range ov.Jobs {
		if j.State == "RUNNING" {
			jobs[j.ID] = 0
		}
	}
	if snap != nil && snap.JobID != "" {
		jobs[snap.JobID] = 0
	}
	for id := range jobs {
		js, err := r.Cluster.jobStatus(ctx, id)
		if err != nil {
			return nil, err
		}
		jobs[id] = js.parallelism
	}
	return jobs, nil
}

type jobStatus struct {
	state       string
	running     bool // the job and every vertex RUNNING
	parallelism int  // summed over vertices
}

func (c *Cluster) jobStatus(ctx context.Context, id string) (jobStatus, error) {
	var d struct {
		State    string `json:"state"`
		Vertices []struct {
			Status      string         `json:"status"`
			Parallelism int            `json:"parallelism"`
			Tasks       map[string]int `json:"tasks"`
		} `json:"vertices"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+id, &d); err != nil {
		return jobStatus{}, fmt.Errorf("job %s: %w", id, err)
	}
	js := jobStatus{state: d.State, running: d.State == "RUNNING" && len(d.Vertices) > 0}
	for _, v := range d.Vertices {
		js.running = js.running && vertexRunning(v.Status, v.Parallelism, v.Tasks)
		js.parallelism += v.Parallelism
	}
	return js, nil
}

// vertexRunning reports whether every subtask of a vertex runs. Flink's aggregate vertex status
// is RUNNING as soon as one subtask runs while others still deploy (and turns INITIALIZING
// when they start), so a wait on the status alone passed mid-scale-up and the stability check
// after it then saw the vertex "leave" RUNNING. The per-state subtask counts decide when given.
func vertexRunning(status string, parallelism int, tasks map[string]int) bool {
	if len(tasks) == 0 {
		return status == "RUNNING"
	}
	return parallelism > 0 && tasks["RUNNING"] == parallelism
}

// waitJobs waits until every job runs with all its vertices at no less than the parallelism
// it had (the adaptive scheduler scales back up once the new slots are stable); with stable,
// each must then stay RUNNING for StableFor.
func (r *ProcessRealizer) waitJobs(ctx context.Context, jobs map[string]int, stable bool) error {
	deadline := time.Now().Add(r.runningTimeout())
	for _, id := range slices.Sorted(maps.Keys(jobs)) {
		want := jobs[id]
		for {
			js, err := r.Cluster.jobStatus(ctx, id)
			if err == nil && js.running && js.parallelism >= want {
				break
			}
			if err == nil && terminal(js.state) {
				return fmt.Errorf("job %s ended (%s)", id, js.state)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("job %s not RUNNING at its parallelism %d within %s (state %s, parallelism %d, %v)",
					id, want, r.runningTimeout(), js.state, js.parallelism, err)
			}
			if err := sleepCtx(ctx, 500*time.Millisecond); err != nil {
				return err
			}
		}
	}
	if !stable {
		return nil
	}
	until := time.Now().Add(r.stableFor())
	for time.Now().Before(until) {
		for id := range jobs {
			js, err := r.Cluster.jobStatus(ctx, id)
			if err == nil && !js.running {
				return fmt.Errorf("job %s left RUNNING (%s) within %s of the restart", id, js.state, r.stableFor())
			}
		}
		if err := sleepCtx(ctx, time.Second); err != nil {
			return err
		}
	}
	return nil
}

func terminal(state string) bool {
	switch state {
	case "FINISHED", "CANCELED", "FAILED":
		return true
	}
	return false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (r *ProcessRealizer) record(s MemoryState) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	s.Applied = now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(r.Cluster.Spec.Dir, memoryStateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadMemoryState reads the TaskManager memory recorded in dir; none recorded means the
// configuration file's.
func ReadMemoryState(dir string) (MemoryState, error) {
	b, err := os.ReadFile(filepath.Join(dir, memoryStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return MemoryState{}, nil
	}
	if err != nil {
		return MemoryState{}, err
	}
	var s MemoryState
	if err := json.Unmarshal(b, &s); err != nil {
		return MemoryState{}, fmt.Errorf("%s: %w (delete it if the TaskManagers run the configuration file's memory)", filepath.Join(dir, memoryStateFile), err)
	}
	return s, nil
}

// applied is current with removals deleted and overrides set (realize.Applied; local does
// not import realize).
func applied(current, overrides map[string]string, removals []string) map[string]string {
	out := maps.Clone(current)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range removals {
		delete(out, k)
	}
	maps.Copy(out, overrides)
	return out
}

// diffState expresses conf relative to base.
func diffState(base, conf map[string]string) MemoryState {
	s := MemoryState{Overrides: map[string]string{}}
	for k, v := range conf {
		if b, ok := base[k]; !ok || b != v {
			s.Overrides[k] = v
		}
	}
	for k := range base {
		if _, ok := conf[k]; !ok {
			s.Removals = append(s.Removals, k)
		}
	}
	slices.Sort(s.Removals)
	return s
}

// tmConfigOf is the TaskManager configuration in force by the record.
func (c *Cluster) tmConfigOf(s MemoryState) map[string]string {
	return applied(c.Spec.Config, s.Overrides, s.Removals)
}

func (c *Cluster) deriveConf(conf map[string]string) (*memory.TaskManager, error) {
	return memory.DeriveTaskManager(memory.ConfigFromStrings(conf, "local"), nil, c.Spec.Dist.Profile())
}

// runsMemory reports whether the process was started with tm's JVM memory flags and dynamic
// properties: its command line (the kernel's, for a process another flinktune started).
func runsMemory(p *Process, tm *memory.TaskManager) bool {
	args, err := p.Cmdline()
	if err != nil {
		args = append(slices.Clone(p.JVMArgs), p.DynamicProperties...)
	}
	have := map[string]bool{}
	for i, a := range args {
		have[a] = true
		if a == "-D" && i+1 < len(args) {
			have["-D"+args[i+1]] = true
		}
	}
	for _, f := range strings.Fields(tm.JVMArgs()) {
		if !have[f] {
			return false
		}
	}
	for k, v := range tm.DynamicConfigs() {
		if !have["-D"+k+"="+v] {
			return false
		}
	}
	return true
}

// liveTaskManagers are the TaskManagers not stopped, in start order.
func (c *Cluster) liveTaskManagers() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Process
	for _, p := range c.TMs {
		if !p.stopped.Load() && p.Alive() {
			out = append(out, p)
		}
	}
	return out
}

// exitedTaskManagers are the TaskManagers that ended although nobody stopped them.
func (c *Cluster) exitedTaskManagers() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Process
	for _, p := range c.TMs {
		if !p.stopped.Load() && !p.Alive() {
			out = append(out, p)
		}
	}
	return out
}

// forget drops a stopped TaskManager from the cluster's list and state file, so that down
// never signals a pid the system may have reused.
func (c *Cluster) forget(p *Process) {
	c.mu.Lock()
	c.TMs = slices.DeleteFunc(c.TMs, func(q *Process) bool { return q == p })
	c.mu.Unlock()
	_ = c.writeState()
}

// nextTaskManagerID is a resource id no TaskManager of this cluster had: tm-<n> above every
// number in use (restarted TaskManagers get new ids, so Flink never confuses them).
func (c *Cluster) nextTaskManagerID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.TMs)
	for _, p := range c.TMs {
		if i, err := strconv.Atoi(strings.TrimPrefix(p.ID, "tm-")); err == nil && i >= n {
			n = i + 1
		}
	}
	return fmt.Sprintf("tm-%d", n)
}

// launchTaskManager starts a TaskManager running exactly tm (its JVM flags and dynamic
// properties), as taskmanager.sh would from BashJavaUtils' output. It lives as long as the
// cluster, not as long as ctx (a change's deadline).
func (c *Cluster) launchTaskManager(ctx context.Context, tm *memory.TaskManager) (*Process, error) {
	id := c.nextTaskManagerID()
	p, err := c.launch(context.WithoutCancel(ctx), "taskmanager", id, c.Spec.Config, strings.Fields(tm.JVMArgs()), splitDynamic(tm.DynamicConfigsString()),
		[]string{"-D", "taskmanager.resource-id=" + id}, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.TMs = append(c.TMs, p)
	c.mu.Unlock()
	return p, c.writeState()
}

// stopProcess ends a process this flinktune started (Kill) or one it attached to (by pid:
// SIGTERM to its process group, SIGKILL after grace).
func stopProcess(p *Process, grace time.Duration) {
	if p.cmd != nil {
		p.Kill(grace)
		return
	}
	p.terminateGroup(grace)
}

// Attach returns the cluster that flinktune local up recorded in dir, for the process
// realizer: its processes (watched by pid), ports, REST endpoint and configuration file.
// TaskManagers it starts are detached, like those of local up.
func Attach(dir string) (*Cluster, error) {
	s, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	d, err := FindDist(s.FlinkVersion, "")
	if err != nil {
		return nil, err
	}
	conf, err := readConf(filepath.Join(dir, "conf", d.ConfigFileName()))
	if err != nil {
		return nil, err
	}
	c := &Cluster{Spec: Spec{Dist: d, Dir: dir, Config: conf, Detached: true}, RESTURL: s.RESTURL, Ports: s.Ports}
	broker := func() *Broker { // the ports recorded are all in c.Ports already
		if c.Kafka == nil {
			c.Kafka = &Broker{Dir: filepath.Join(dir, "kafka"), Bootstrap: s.KafkaBootstrap}
		}
		return c.Kafka
	}
	for _, ps := range s.Processes {
		p := &Process{Role: ps.Role, ID: ps.ID, PID: ps.PID, Log: ps.Log, done: make(chan struct{})}
		// Each role where it belongs: a broker listed as a TaskManager would be "restarted"
		// with TaskManager memory by the next change.
		switch ps.Role {
		case "jobmanager":
			c.JM = p
		case "taskmanager":
			c.TMs = append(c.TMs, p)
		case "kafka":
			broker().Proc = p
		case "kafka-load":
			broker().Loads = append(broker().Loads, p)
		default:
			return nil, fmt.Errorf("%s: process %s has the unknown role %q", filepath.Join(dir, stateFile), ps.ID, ps.Role)
		}
		go watchPID(p)
	}
	if c.JM == nil || !c.JM.Alive() {
		return nil, fmt.Errorf("the JobManager recorded in %s is not running: flinktune local down, then up", dir)
	}
	return c, nil
}

// watchPID closes p.done when the process is gone.
func watchPID(p *Process) {
	for p.PID > 0 && syscall.Kill(p.PID, 0) == nil {
		time.Sleep(500 * time.Millisecond)
	}
	close(p.done)
}

// readConf reads the configuration file the launcher wrote: "key: value" lines, values
// single-quoted in config.yaml.
func readConf(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conf := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want \"key: value\", got %q", path, n, line)
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		}
		conf[k] = v
	}
	return conf, sc.Err()
}

func mib(n int64) string { return strconv.FormatInt(n>>20, 10) + " MiB" }
