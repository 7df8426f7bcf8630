// Package operatorjava runs the real Flink Kubernetes Operator autoscaler (flink-autoscaler from
// Maven Central, behind the harness in the repository's flink-autoscaler/ Maven project) as a
// child JVM, and exposes it as the "operator-java" scaling policy.
//
// The JVM runs in lockstep: before each control cycle its clock is set to the simulator's (or the
// cluster's) time, it reads the job through Flink's REST API itself, decides with the
// autoscaler's own classes and applies its decision through PUT /jobs/<id>/resource-requirements
// like the standalone autoscaler. It runs in its own process group with a parent-death signal,
// so no JVM outlives flinktune, and Close kills the whole group.
package operatorjava

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// MainClass is the harness's entry point.
const MainClass = "dev.flinktune.autoscalerharness.Harness"

// EnvHarnessDir names the built flink-autoscaler/ Maven project (target/classes and
// target/classpath.txt inside it); by default it is searched from the working directory up.
const EnvHarnessDir = "FLINKTUNE_AUTOSCALER_HARNESS"

// ErrNoHarness means the Maven project has not been built (mvn package in flink-autoscaler/).
var ErrNoHarness = errors.New("the operator autoscaler harness is not built: run `mvn -q -f flink-autoscaler/pom.xml package -DskipTests` (or scripts/integration.d/20-operator-autoscaler.sh), or set " + EnvHarnessDir)

// Classpath returns the harness's class path: the FLINKTUNE_AUTOSCALER_HARNESS directory if set,
// else the first flink-autoscaler/ found from the working directory upwards.
func Classpath() (string, error) {
	dir := os.Getenv(EnvHarnessDir)
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "flink-autoscaler", "pom.xml")); err == nil {
				dir = filepath.Join(d, "flink-autoscaler")
				break
			}
			if filepath.Dir(d) == d {
				return "", ErrNoHarness
			}
		}
	}
	deps, err := os.ReadFile(filepath.Join(dir, "target", "classpath.txt"))
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoHarness, err)
	}
	classes := filepath.Join(dir, "target", "classes")
	if _, err := os.Stat(filepath.Join(classes, "dev")); err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoHarness, err)
	}
	return classes + string(os.PathListSeparator) + strings.TrimSpace(string(deps)), nil
}

// Config starts a harness process.
type Config struct {
	// RESTAddress is the Flink REST endpoint, http://host:port.
	RESTAddress string
	// Mode is "lockstep" (cycles on request, Cycle) or "realtime" (the standalone's own loop).
	Mode string
	// Options are configuration defaults under every job (job.autoscaler.*, ...), and for
	// realtime mode autoscaler.standalone.control-loop.interval.ms.
	Options map[string]string
	// Java is the java binary (default: $JAVA_HOME/bin/java, else java on PATH).
	Java string
	// Classpath overrides Classpath().
	Classpath string
	// HeapMB is the JVM's maximum heap (default 192).
	HeapMB int
	// Log receives the JVM's standard error (its log); nil discards it.
	Log io.Writer
	// LogLevel is the harness's log level (default INFO).
	LogLevel string
}

// Process is a running harness JVM.
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     *bufio.Reader
	mu      sync.Mutex // one cycle at a time
	closing atomic.Bool
	once    sync.Once
	waited  chan struct{}
}

// Start launches the harness JVM. In lockstep mode it returns once the harness is ready for
// its first cycle.
func Start(cfg Config) (*Process, error) {
	u, err := url.Parse(cfg.RESTAddress)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("operator-java: REST address %q: want http://host:port", cfg.RESTAddress)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("operator-java: REST address %q: %v", cfg.RESTAddress, err)
	}
	cp := cfg.Classpath
	if cp == "" {
		if cp, err = Classpath(); err != nil {
			return nil, err
		}
	}
	java := cfg.Java
	if java == "" {
		java = "java"
		if h := os.Getenv("JAVA_HOME"); h != "" {
			java = filepath.Join(h, "bin", "java")
		}
	}
	if cfg.Mode == "" {
		cfg.Mode = "lockstep"
	}
	heap := cfg.HeapMB
	if heap <= 0 {
		heap = 192
	}
	level := cfg.LogLevel
	if level == "" {
		level = "INFO"
	}
	args := []string{fmt.Sprintf("-Xmx%dm", heap), "-XX:+UseSerialGC", "-Xss512k",
		"-Dflinktune.log.level=" + level, "-cp", cp, MainClass,
		"--flinktune.harness.mode", cfg.Mode,
		"--autoscaler.standalone.fetcher.flink-cluster.host", host,
		"--autoscaler.standalone.fetcher.flink-cluster.port", port}
	keys := make([]string, 0, len(cfg.Options))
	for k := range cfg.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+k, cfg.Options[k])
	}
	cmd := exec.Command(java, args...)
	// Own process group (Close kills the whole group) and SIGKILL if flinktune dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = cfg.Log
	if cfg.Log == nil {
		cmd.Stderr = io.Discard
	}
	p := &Process{cmd: cmd, waited: make(chan struct{})}
	if cfg.Mode == "lockstep" {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		p.out = bufio.NewReaderSize(stdout, 1<<20)
	} else {
		cmd.Stdout = cmd.Stderr
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("operator-java: start %s: %w", java, err)
	}
	go func() { cmd.Wait(); close(p.waited) }()
	if cfg.Mode != "lockstep" {
		return p, nil
	}
	var ready struct {
		Ready bool   `json:"ready"`
		Error string `json:"error"`
	}
	if err := p.readLine(&ready, 2*time.Minute); err != nil || !ready.Ready {
		p.Close()
		if err == nil {
			err = errors.New(ready.Error)
		}
		return nil, fmt.Errorf("operator-java: harness did not start: %w", err)
	}
	return p, nil
}

// Pid is the JVM's process id (also its process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the JVM has exited.
func (p *Process) Done() <-chan struct{} { return p.waited }

// JobOutcome is one job's result of a lockstep cycle.
type JobOutcome struct {
	JobID  string `json:"jobId"`
	Status string `json:"status"`
	// Decided maps each vertex the autoscaler decided to rescale in this cycle to its new
	// parallelism (empty: no new decision).
	Decided map[string]int `json:"decided"`
	// Overrides are the parallelism overrides handed to the realizer this cycle (all the
	// autoscaler's decisions so far, re-applied every cycle).
	Overrides       map[string]string `json:"overrides"`
	ConfigOverrides map[string]string `json:"configOverrides"`
	Events          []Event           `json:"events"`
}

// Event is an autoscaler event (ScalingReport, AutoscalerError, ...).
type Event struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// CycleReply is the outcome of one lockstep cycle.
type CycleReply struct {
	Jobs []JobOutcome `json:"jobs"`
	// FetchErrors: listing the jobs or reading a job's configuration failed, so the cycle was
	// skipped (as the standalone autoscaler does).
	FetchErrors []string `json:"fetchErrors"`
	Error       string   `json:"error"`
}

// Cycle runs one control cycle at simulated time now, for jobID only (empty: every job).
func (p *Process) Cycle(now time.Time, jobID string) (*CycleReply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing.Load() || p.stdin == nil {
		return nil, errors.New("operator-java: harness is not running in lockstep")
	}
	line := fmt.Sprintf("cycle %d %s\n", now.UnixMilli(), jobID)
	if _, err := io.WriteString(p.stdin, line); err != nil {
		return nil, fmt.Errorf("operator-java: harness gone: %w", err)
	}
	var reply CycleReply
	if err := p.readLine(&reply, 5*time.Minute); err != nil {
		return nil, err
	}
	if reply.Error != "" {
		return nil, fmt.Errorf("operator-java: cycle failed: %s", reply.Error)
	}
	return &reply, nil
}

// readLine reads one JSON line, failing after timeout or when the JVM exits.
func (p *Process) readLine(v any, timeout time.Duration) error {
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		b, err := p.out.ReadBytes('\n')
		ch <- res{b, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("operator-java: harness output: %w", r.err)
		}
		if err := json.Unmarshal(r.b, v); err != nil {
			return fmt.Errorf("operator-java: harness output %q: %w", strings.TrimSpace(string(r.b)), err)
		}
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("operator-java: no answer from the harness within %s (killed)", timeout)
	}
}

// Close stops the JVM: quit in lockstep mode, then SIGKILL to its process group if it has not
// exited within two seconds (also while a cycle is still waiting for it). It waits for the exit.
func (p *Process) Close() error {
	p.once.Do(func() {
		p.closing.Store(true)
		if p.stdin != nil {
			// A whole line in one write: safe beside a cycle's own line.
			io.WriteString(p.stdin, "quit\n")
			p.stdin.Close()
		}
	})
	select {
	case <-p.waited:
	case <-time.After(2 * time.Second):
		p.kill()
		<-p.waited
	}
	return nil
}

func (p *Process) kill() {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}
