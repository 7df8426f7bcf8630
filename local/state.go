package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// stateFile records a detached cluster's processes and ports so that status and down work
// from another flinktune process.
const stateFile = "cluster.json"

// State is what cluster.json holds.
type State struct {
	FlinkVersion string `json:"flinkVersion"`
	RESTURL      string `json:"restUrl"`
	Ports        []int  `json:"ports"`
	// KafkaBootstrap is the broker's address when the cluster runs one (local up --kafka).
	KafkaBootstrap string         `json:"kafkaBootstrap,omitempty"`
	Processes      []ProcessState `json:"processes"`
}

// ProcessState is one JVM of a recorded cluster.
type ProcessState struct {
	Role string `json:"role"`
	ID   string `json:"id"`
	PID  int    `json:"pid"`
	Log  string `json:"log"`
}

func (c *Cluster) state() State {
	s := State{FlinkVersion: c.Spec.Dist.Version, RESTURL: c.RESTURL, Ports: c.Ports}
	c.mu.Lock()
	defer c.mu.Unlock()
	procs := append([]*Process{c.JM}, c.TMs...)
	if c.Kafka != nil {
		s.KafkaBootstrap = c.Kafka.Bootstrap
		s.Ports = append(slices.Clone(s.Ports), c.Kafka.Ports...)
		procs = append(append(procs, c.Kafka.Proc), c.Kafka.Loads...)
	}
	for _, p := range procs {
		if p != nil {
			s.Processes = append(s.Processes, ProcessState{Role: p.Role, ID: p.ID, PID: p.PID, Log: p.Log})
		}
	}
	return s
}

func (c *Cluster) writeState() error {
	b, err := json.MarshalIndent(c.state(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Spec.Dir, stateFile), b, 0o644)
}

// ReadState loads the state of the cluster in dir.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no local cluster in %s (start one with flinktune local up)", dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// Alive reports whether the recorded process still runs.
func (p ProcessState) Alive() bool { return p.PID > 0 && syscall.Kill(p.PID, 0) == nil }

// Down stops the cluster recorded in dir: SIGTERM to each process group, SIGKILL after grace,
// then waits for its ports to be free and removes the state file.
func Down(dir string, grace time.Duration) (*State, error) {
	s, err := ReadState(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range s.Processes {
		if p.Alive() {
			_ = syscall.Kill(-p.PID, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(grace)
	for _, p := range s.Processes {
		for p.Alive() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if p.Alive() {
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		}
	}
	for _, p := range s.Processes {
		for i := 0; p.Alive() && i < 50; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		if p.Alive() {
			return s, fmt.Errorf("%s (pid %d) did not exit", p.ID, p.PID)
		}
	}
	if err := waitPortsFree(s.Ports, 10*time.Second); err != nil {
		return s, err
	}
	return s, os.Remove(filepath.Join(dir, stateFile))
}
