// Package local runs a real Flink standalone session cluster on 127.0.0.1 from a classpath
// assembled from Maven modules (see flink/): a JobManager on the adaptive scheduler and N
// TaskManagers, each started the way Flink's scripts start it, with the JVM flags and dynamic
// properties that flinktune's memory model derives and the Java 17 options of Flink's
// distribution. Every process keeps its log; Stop (or the parent's death) leaves no JVM and no
// bound port behind.
package local

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flinktune/flinktune/memory"
)

// Spec describes a local cluster.
type Spec struct {
	Dist *Dist
	// Dir holds conf/, log/ and tmp/; it is created if missing.
	Dir string
	// TaskManagers is how many TaskManagers start with the cluster.
	TaskManagers int
	// Config is the Flink configuration shared by all processes (memory keys included); the
	// launcher adds addresses, ports, the adaptive scheduler and temp/log directories.
	Config map[string]string
	// Detached starts the processes so that they outlive this one (flinktune local up);
	// otherwise they die with it (tests).
	Detached bool
}

// Process is one JVM of the cluster.
type Process struct {
	Role string // "jobmanager" or "taskmanager"
	// ID is the TaskManager's resource id (taskmanager.resource-id) or "jobmanager".
	ID      string
	PID     int
	Log     string // Flink's log file
	Out     string // the JVM's stdout and stderr
	JVMArgs []string
	// DynamicProperties are the -D key=value arguments after the main class.
	DynamicProperties []string
	cmd               *exec.Cmd
	done              chan struct{}
	stopped           atomic.Bool // Kill was called: an exit is expected
}

// Cluster is a running local cluster.
type Cluster struct {
	Spec    Spec
	RESTURL string
	Ports   []int
	JM      *Process

	mu  sync.Mutex
	TMs []*Process
	// Kafka is the cluster's broker, when one runs (StartKafka); it stops with the cluster.
	Kafka *Broker
}

// defaultConfig keeps a 2-core machine usable: small JobManager, quick failure detection.
var defaultConfig = map[string]string{
	"jobmanager.memory.process.size":                               "768m",
	"taskmanager.memory.process.size":                              "1g",
	"taskmanager.numberOfTaskSlots":                                "2",
	"parallelism.default":                                          "1",
	"jobmanager.scheduler":                                         "adaptive",
	"jobmanager.execution.failover-strategy":                       "region",
	"heartbeat.timeout":                                            "20000",
	"heartbeat.interval":                                           "2000",
	"metrics.fetcher.update-interval":                              "2000",
	"jobmanager.adaptive-scheduler.resource-stabilization-timeout": "2s",
	// A loaded machine starts actor systems and answers RPCs slowly: the defaults (10 s) are
	// too tight for a 2-core machine running several JVMs.
	"pekko.startup-timeout": "60 s",
	"pekko.ask.timeout":     "30 s",
	// 1.19/1.20: cooldown after a rescale (30 s by default); ignored by 2.x.
	"jobmanager.adaptive-scheduler.scaling-interval.min":                     "5s",
	"jobmanager.adaptive-scheduler.resource-wait-timeout":                    "60s",
	"taskmanager.network.memory.buffer-debloat.enabled":                      "false",
	"cluster.evenly-spread-out-slots":                                        "false",
	"execution.checkpointing.interval":                                       "5s",
	"rest.flamegraph.enabled":                                                "false",
	"jobmanager.adaptive-scheduler.executing.resource-stabilization-timeout": "2s",
}

// Start launches the JobManager and the TaskManagers and waits until the REST API reports all
// TaskManagers registered. On failure everything started is stopped again.
func Start(ctx context.Context, spec Spec) (*Cluster, error) {
	if spec.Dist == nil {
		return nil, errors.New("local cluster: no Flink dist")
	}
	for _, sub := range []string{"conf", "log", "tmp"} {
		if err := os.MkdirAll(filepath.Join(spec.Dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	conf := maps.Clone(defaultConfig)
	maps.Copy(conf, spec.Config)
	maps.Copy(conf, map[string]string{
		"jobmanager.rpc.address": "127.0.0.1",
		"jobmanager.bind-host":   "127.0.0.1",
		"jobmanager.rpc.port":    strconv.Itoa(ports[0]),
		"rest.address":           "127.0.0.1",
		"rest.bind-address":      "127.0.0.1",
		"rest.port":              strconv.Itoa(ports[1]),
		"blob.server.port":       strconv.Itoa(ports[2]),
		"taskmanager.host":       "127.0.0.1",
		"taskmanager.bind-host":  "127.0.0.1",
		"io.tmp.dirs":            filepath.Join(spec.Dir, "tmp"),
		"jobmanager.scheduler":   "adaptive",
		"state.checkpoints.dir":  "file://" + filepath.Join(spec.Dir, "checkpoints"),
	})
	if err := writeConf(spec, conf); err != nil {
		return nil, err
	}
	c := &Cluster{Spec: spec, RESTURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1]), Ports: ports}
	c.Spec.Config = conf
	if err := c.startJobManager(ctx); err != nil {
		c.Stop()
		return nil, err
	}
	for i := 0; i < spec.TaskManagers; i++ {
		if _, err := c.AddTaskManager(ctx, nil); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.WaitTaskManagers(ctx, 3*time.Minute); err != nil {
		c.Stop()
		return nil, err
	}
	return c, c.writeState()
}

// writeConf writes the configuration file the version reads and a log4j 2 configuration.
func writeConf(spec Spec, conf map[string]string) error {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(conf)) {
		v := conf[k]
		if spec.Dist.ConfigFileName() == "config.yaml" {
			v = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		b.WriteString(k + ": " + v + "\n")
	}
	dir := filepath.Join(spec.Dir, "conf")
	if err := os.WriteFile(filepath.Join(dir, spec.Dist.ConfigFileName()), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "log4j.properties"), []byte(log4jConfig), 0o644)
}

// log4jConfig is a trimmed copy of the distribution's log4j.properties: INFO to ${log.file}.
const log4jConfig = `monitorInterval=0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.akka.name = akka
logger.akka.level = WARN
logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
logger.netty.level = ERROR
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
`

// tmConfig is the configuration a TaskManager's memory is derived from: the cluster's, with
// the TaskManager's own overrides. An override that sizes the TaskManager (a total, task heap
// or managed size) replaces the cluster's totals rather than conflicting with them.
func (c *Cluster) tmConfig(overrides map[string]string) map[string]string {
	conf := maps.Clone(c.Spec.Config)
	for _, k := range []string{"taskmanager.memory.process.size", "taskmanager.memory.flink.size",
		"taskmanager.memory.task.heap.size", "taskmanager.memory.managed.size"} {
		if _, ok := overrides[k]; ok {
			delete(conf, "taskmanager.memory.process.size")
			delete(conf, "taskmanager.memory.flink.size")
			break
		}
	}
	maps.Copy(conf, overrides)
	return conf
}

// DeriveTaskManager is flinktune's derivation for a TaskManager started with overrides.
func (c *Cluster) DeriveTaskManager(overrides map[string]string) (*memory.TaskManager, error) {
	conf := c.tmConfig(overrides)
	return memory.DeriveTaskManager(memory.ConfigFromStrings(conf, "local"), nil, c.Spec.Dist.Profile())
}

func (c *Cluster) startJobManager(ctx context.Context) error {
	jm, err := memory.DeriveJobManager(memory.ConfigFromStrings(c.Spec.Config, "local"), nil, c.Spec.Dist.Profile())
	if err != nil {
		return fmt.Errorf("JobManager memory: %w", err)
	}
	p, err := c.launch(ctx, "jobmanager", "jobmanager", c.Spec.Config, strings.Fields(jm.JVMArgs()), splitDynamic(jm.DynamicConfigsString()), nil,
		"org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint")
	if err != nil {
		return err
	}
	c.JM = p
	return c.waitREST(ctx, 3*time.Minute)
}

// AddTaskManager starts one more TaskManager with the cluster's configuration plus overrides
// (memory keys, slots); its JVM flags and -D properties are flinktune's derivation, as
// taskmanager.sh would pass BashJavaUtils' output.
func (c *Cluster) AddTaskManager(ctx context.Context, overrides map[string]string) (*Process, error) {
	tm, err := c.DeriveTaskManager(overrides)
	if err != nil {
		return nil, fmt.Errorf("TaskManager memory: %w", err)
	}
	id := c.nextTaskManagerID()
	dyn := splitDynamic(tm.DynamicConfigsString())
	extra := []string{"-D", "taskmanager.resource-id=" + id}
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if !strings.HasPrefix(k, "taskmanager.memory.") && !strings.HasPrefix(k, "env.java.") && k != "taskmanager.numberOfTaskSlots" && k != "taskmanager.cpu.cores" {
			extra = append(extra, "-D", k+"="+overrides[k])
		}
	}
	p, err := c.launch(ctx, "taskmanager", id, c.tmConfig(overrides), strings.Fields(tm.JVMArgs()), dyn, extra,
		"org.apache.flink.runtime.taskexecutor.TaskManagerRunner")
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.TMs = append(c.TMs, p)
	c.mu.Unlock()
	return p, c.writeState()
}

// splitDynamic turns "-D k=v -D k2=v2" into ["-D", "k=v", "-D", "k2=v2"], as the shell does.
func splitDynamic(s string) []string { return strings.Fields(s) }

// launch starts one Flink process; conf is the configuration its role's JVM options
// (env.java.opts.*) are read from.
func (c *Cluster) launch(ctx context.Context, role, id string, conf map[string]string, memArgs, dynamic, extra []string, mainClass string) (*Process, error) {
	logDir := filepath.Join(c.Spec.Dir, "log")
	p := &Process{Role: role, ID: id, Log: filepath.Join(logDir, id+".log"), Out: filepath.Join(logDir, id+".out"), done: make(chan struct{})}
	jvm := jvmArgs(memArgs, conf, role, p.Log, filepath.Join(c.Spec.Dir, "conf", "log4j.properties"))
	args := append([]string{"--configDir", filepath.Join(c.Spec.Dir, "conf")}, dynamic...)
	args = append(args, extra...)
	cmdCtx := ctx
	if c.Spec.Detached {
		cmdCtx = context.Background() // a detached cluster outlives the command
	}
	cmd := c.Spec.Dist.JavaCommand(cmdCtx, jvm, mainClass, args...)
	if c.Spec.Detached {
		cmd.SysProcAttr.Pdeathsig = 0
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "FLINK_CONF_DIR="+filepath.Join(c.Spec.Dir, "conf"))
	out, err := os.OpenFile(p.Out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", id, err)
	}
	p.cmd, p.PID = cmd, cmd.Process.Pid
	p.JVMArgs, p.DynamicProperties = jvm, append(append([]string{}, dynamic...), extra...)
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Alive reports whether the process has not exited.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Cmdline is the process's command line as the kernel reports it (/proc/<pid>/cmdline).
func (p *Process) Cmdline() ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), nil
}

// Kill ends one process (its whole process group) and waits for it.
func (p *Process) Kill(grace time.Duration) {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.terminateGroup(grace)
}

// terminateGroup sends SIGTERM to the process group, SIGKILL after grace, and waits for the
// process to end.
func (p *Process) terminateGroup(grace time.Duration) {
	p.stopped.Store(true)
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		<-p.done
	}
}

// Stop ends every process, TaskManagers first, and returns an error naming any port still
// bound afterwards.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	tms := slices.Clone(c.TMs)
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range tms {
		wg.Add(1)
		go func() { defer wg.Done(); p.Kill(10 * time.Second) }()
	}
	wg.Wait()
	c.JM.Kill(10 * time.Second)
	kerr := c.Kafka.Stop()
	_ = os.Remove(filepath.Join(c.Spec.Dir, stateFile))
	return errors.Join(waitPortsFree(c.Ports, 10*time.Second), kerr)
}

func (c *Cluster) waitREST(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !c.JM.Alive() {
			return fmt.Errorf("JobManager exited during start-up; see %s and %s", c.JM.Log, c.JM.Out)
		}
		var ov map[string]any
		if err := c.GetJSON(ctx, "/overview", &ov); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("JobManager REST API not up at %s after %s; see %s", c.RESTURL, timeout, c.JM.Log)
}

// WaitTaskManagers waits until the given TaskManagers (all started ones when none is given)
// are registered with the JobManager, failing early when one of them exits.
func (c *Cluster) WaitTaskManagers(ctx context.Context, timeout time.Duration, ids ...string) error {
	c.mu.Lock()
	var procs []*Process
	for _, p := range c.TMs {
		if len(ids) == 0 && !p.stopped.Load() || slices.Contains(ids, p.ID) {
			procs = append(procs, p)
		}
	}
	c.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		var tms struct {
			TaskManagers []struct {
				ID string `json:"id"`
			} `json:"taskmanagers"`
		}
		err := c.GetJSON(ctx, "/taskmanagers", &tms)
		missing := 0
		for _, p := range procs {
			if !p.Alive() {
				return fmt.Errorf("TaskManager %s exited; see %s and %s", p.ID, p.Log, p.Out)
			}
			if !slices.ContainsFunc(tms.TaskManagers, func(t struct {
				ID string `json:"id"`
			}) bool {
				return t.ID == p.ID
			}) {
				missing++
			}
		}
		if err == nil && missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d TaskManagers not registered after %s (%v)", missing, len(procs), timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// GetJSON GETs path from the REST API and decodes the body into v.
func (c *Cluster) GetJSON(ctx context.Context, path string, v any) error {
	return getJSON(ctx, c.RESTURL, path, v)
}

// getJSON decodes the answer of GET restURL+path into v.
func getJSON(ctx context.Context, restURL, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, restURL+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// PutJSON sends v as JSON with PUT to the cluster's REST API and checks for a 2xx answer.
func (c *Cluster) PutJSON(ctx context.Context, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.RESTURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Errorf("PUT %s: %s %s", path, resp.Status, body)
	}
	return nil
}

// freePorts reserves n distinct loopback ports (released just before Flink binds them).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitPortsFree waits until every port can be bound again.
func waitPortsFree(ports []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var busy []int
		for _, p := range ports {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				busy = append(busy, p)
				continue
			}
			l.Close()
		}
		if len(busy) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ports still bound after stopping the cluster: %v", busy)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
