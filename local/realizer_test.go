package local

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/memory"
)

func testDist(version string) *Dist { return &Dist{Version: version} }

// fakeTM is a TaskManager process record that runs tm (its arguments as launch records them)
// without a real process behind it (pid 0: no /proc entry).
func fakeTM(id string, tm *memory.TaskManager) *Process {
	return &Process{Role: "taskmanager", ID: id, JVMArgs: strings.Fields(tm.JVMArgs()),
		DynamicProperties: append(splitDynamic(tm.DynamicConfigsString()), "-D", "taskmanager.resource-id="+id),
		done:              make(chan struct{})}
}

func TestReadConfRoundTrip(t *testing.T) {
	conf := map[string]string{
		"taskmanager.memory.process.size": "2g",
		"a.quoted":                        "it's: here",
		"empty.ish":                       " x ",
	}
	for _, v := range []string{"1.20.5", "2.2.1"} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
				t.Fatal(err)
			}
			d := testDist(v)
			if err := writeConf(Spec{Dist: d, Dir: dir}, conf); err != nil {
				t.Fatal(err)
			}
			got, err := readConf(filepath.Join(dir, "conf", d.ConfigFileName()))
			if err != nil {
				t.Fatal(err)
			}
			if v == "2.2.1" && !reflect.DeepEqual(got, conf) {
				t.Errorf("config.yaml read back %v, want %v", got, conf)
			}
			if got["taskmanager.memory.process.size"] != "2g" {
				t.Errorf("process size read back %q", got["taskmanager.memory.process.size"])
			}
		})
	}
	bad := filepath.Join(t.TempDir(), "flink-conf.yaml")
	os.WriteFile(bad, []byte("key without value\n"), 0o644)
	if _, err := readConf(bad); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Errorf("a line without \": \" was accepted or not located: %v", err)
	}
}

func TestDiffStateApplied(t *testing.T) {
	base := map[string]string{"taskmanager.memory.process.size": "2g", "taskmanager.memory.network.fraction": "0.1", "x": "1"}
	next := applied(base, map[string]string{"taskmanager.memory.process.size": "800m", "taskmanager.memory.task.heap.size": "100m"},
		[]string{"taskmanager.memory.network.fraction"})
	st := diffState(base, next)
	want := MemoryState{Overrides: map[string]string{"taskmanager.memory.process.size": "800m", "taskmanager.memory.task.heap.size": "100m"},
		Removals: []string{"taskmanager.memory.network.fraction"}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("diffState = %+v, want %+v", st, want)
	}
	c := &Cluster{Spec: Spec{Config: base}}
	if got := c.tmConfigOf(st); !reflect.DeepEqual(got, next) {
		t.Errorf("tmConfigOf(diffState(next)) = %v, want %v", got, next)
	}
}

func TestCheckTaskManagerKeys(t *testing.T) {
	if err := checkTaskManagerKeys(map[string]string{"taskmanager.memory.task.heap.size": "1g"}, []string{"taskmanager.memory.flink.size"}); err != nil {
		t.Errorf("TaskManager keys refused: %v", err)
	}
	err := checkTaskManagerKeys(map[string]string{"taskmanager.memory.task.heap.size": "1g", "jobmanager.memory.heap.size": "1g"}, nil)
	if err == nil || !strings.Contains(err.Error(), "jobmanager.memory.heap.size") || !strings.Contains(err.Error(), "jobmanager.enabled: false") {
		t.Errorf("a JobManager key was not refused with the key and the fix named: %v", err)
	}
}

func TestRunsMemory(t *testing.T) {
	c := &Cluster{Spec: Spec{Dist: testDist("1.20.5"), Config: map[string]string{"taskmanager.memory.process.size": "2g"}}}
	big, err := c.deriveConf(c.Spec.Config)
	if err != nil {
		t.Fatal(err)
	}
	small, err := c.deriveConf(map[string]string{"taskmanager.memory.process.size": "1g"})
	if err != nil {
		t.Fatal(err)
	}
	p := fakeTM("tm-0", big)
	if !runsMemory(p, big) {
		t.Error("a TaskManager started with the derived flags does not count as running them")
	}
	if runsMemory(p, small) {
		t.Error("a 2g TaskManager counts as running 1g")
	}
}

// RealizeConfig is idempotent: TaskManagers that run the target already are not restarted,
// nothing is sent, and the record is written. Bad changes are refused before anything stops.
func TestRealizeConfigNoRestart(t *testing.T) {
	dir := t.TempDir()
	base := map[string]string{"taskmanager.memory.process.size": "2g"}
	c := &Cluster{Spec: Spec{Dist: testDist("1.20.5"), Dir: dir, Config: base}}
	target := map[string]string{"taskmanager.memory.process.size": "1g"}
	tm, err := c.deriveConf(target)
	if err != nil {
		t.Fatal(err)
	}
	c.TMs = []*Process{fakeTM("tm-0", tm), fakeTM("tm-1", tm)}
	c.JM = &Process{Role: "jobmanager", ID: "jobmanager", done: make(chan struct{})}
	r := &ProcessRealizer{Cluster: c}
	ctx := context.Background()
	if sent, err := r.RealizeConfig(ctx, nil, nil, nil); sent || err != nil {
		t.Errorf("no change: sent %v, err %v", sent, err)
	}
	sent, err := r.RealizeConfig(ctx, nil, target, nil)
	if sent || err != nil {
		t.Fatalf("change in force: sent %v, err %v", sent, err)
	}
	st, err := ReadMemoryState(dir)
	if err != nil || st.Overrides["taskmanager.memory.process.size"] != "1g" {
		t.Errorf("record after a change found in force: %+v %v", st, err)
	}
	if _, err := r.RealizeConfig(ctx, nil, map[string]string{"taskmanager.memory.process.size": "10m"}, nil); err == nil ||
		!strings.Contains(err.Error(), "nothing applied") {
		t.Errorf("a configuration that does not derive: %v", err)
	}
	if _, err := r.RealizeConfig(ctx, nil, map[string]string{"jobmanager.memory.process.size": "2g"}, nil); err == nil {
		t.Error("a JobManager change was accepted")
	}
	for _, p := range c.TMs {
		if p.stopped.Load() {
			t.Errorf("%s was stopped", p.ID)
		}
	}
	if got := r.RealizeTimeout(); got < 2*r.registerTimeout() {
		t.Errorf("RealizeTimeout %s does not cover two restarts", got)
	}
	os.WriteFile(filepath.Join(dir, memoryStateFile), []byte("{"), 0o644)
	if _, err := ReadMemoryState(dir); err == nil || !strings.Contains(err.Error(), memoryStateFile) {
		t.Errorf("a damaged record: %v", err)
	}
}

func TestNextTaskManagerID(t *testing.T) {
	c := &Cluster{}
	if id := c.nextTaskManagerID(); id != "tm-0" {
		t.Errorf("first id %s", id)
	}
	c.TMs = []*Process{{ID: "tm-1"}, {ID: "tm-4"}}
	if id := c.nextTaskManagerID(); id != "tm-5" {
		t.Errorf("after a restart, id %s collides or skips back (want tm-5)", id)
	}
	c.TMs = []*Process{{ID: "tm-0"}, {ID: "tm-1"}}
	if id := c.nextTaskManagerID(); id != "tm-2" {
		t.Errorf("plain growth: %s", id)
	}
}

// Attach puts each recorded process where it belongs: a Kafka broker or producer listed as a
// TaskManager would be restarted with TaskManager memory by the next change. The state it
// writes back lists every process and port again, so local down still stops them all.
func TestAttachRoles(t *testing.T) {
	dist := t.TempDir()
	for name, body := range map[string]string{"version": "1.20.5\n", "classpath.txt": filepath.Join(dist, "harness.jar"), "harness.jar": ""} {
		if err := os.WriteFile(filepath.Join(dist, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(DistsEnv, dist)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "conf", "flink-conf.yaml"), []byte("taskmanager.memory.process.size: 1g\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid() // alive: Attach wants a running JobManager
	st := State{FlinkVersion: "1.20.5", RESTURL: "http://127.0.0.1:1", Ports: []int{1, 2, 3}, KafkaBootstrap: "127.0.0.1:3",
		Processes: []ProcessState{{Role: "jobmanager", ID: "jobmanager", PID: self}, {Role: "taskmanager", ID: "tm-0", PID: self},
			{Role: "kafka", ID: "kafka", PID: self}, {Role: "kafka-load", ID: "kafka-load-x", PID: self}, {Role: "taskmanager", ID: "tm-1", PID: self}}}
	write := func(s State) {
		b, _ := json.Marshal(s)
		if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(st)
	c, err := Attach(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tms []string
	for _, p := range c.TMs {
		tms = append(tms, p.ID)
	}
	if !reflect.DeepEqual(tms, []string{"tm-0", "tm-1"}) || c.Kafka == nil || c.Kafka.Proc == nil || c.Kafka.Proc.ID != "kafka" ||
		len(c.Kafka.Loads) != 1 || c.Kafka.Bootstrap != "127.0.0.1:3" {
		t.Fatalf("TaskManagers %v, broker %+v", tms, c.Kafka)
	}
	back := c.state()
	if !reflect.DeepEqual(back.Ports, st.Ports) || len(back.Processes) != len(st.Processes) || back.KafkaBootstrap != st.KafkaBootstrap {
		t.Errorf("state written back %+v, want every process and port of %+v", back, st)
	}
	st.Processes = append(st.Processes, ProcessState{Role: "zookeeper", ID: "zk", PID: self})
	write(st)
	if _, err := Attach(dir); err == nil || !strings.Contains(err.Error(), `unknown role "zookeeper"`) {
		t.Errorf("an unknown role: %v", err)
	}
}

// A TaskManager that exited although nobody stopped it is one to replace; one the realizer
// stopped is not.
func TestExitedTaskManagers(t *testing.T) {
	tm, err := memory.DeriveTaskManager(memory.ConfigFromStrings(map[string]string{"taskmanager.memory.process.size": "1g"}, "t"), nil, testDist("1.20.5").Profile())
	if err != nil {
		t.Fatal(err)
	}
	live, crashed, stopped := fakeTM("tm-0", tm), fakeTM("tm-1", tm), fakeTM("tm-2", tm)
	close(crashed.done)
	close(stopped.done)
	stopped.stopped.Store(true)
	c := &Cluster{TMs: []*Process{live, crashed, stopped}}
	if got := c.exitedTaskManagers(); len(got) != 1 || got[0] != crashed {
		t.Errorf("exited: %v, want tm-1 only", got)
	}
	if got := c.liveTaskManagers(); len(got) != 1 || got[0] != live {
		t.Errorf("live: %v, want tm-0 only", got)
	}
}

func TestVertexRunning(t *testing.T) {
	for _, c := range []struct {
		name        string
		status      string
		parallelism int
		tasks       map[string]int
		want        bool
	}{
		{"all subtasks running", "RUNNING", 2, map[string]int{"RUNNING": 2, "DEPLOYING": 0}, true},
		{"aggregate RUNNING while one subtask deploys", "RUNNING", 2, map[string]int{"RUNNING": 1, "DEPLOYING": 1}, false},
		{"aggregate RUNNING while one subtask initializes", "RUNNING", 3, map[string]int{"RUNNING": 2, "INITIALIZING": 1}, false},
		{"no counts: the aggregate status decides", "RUNNING", 2, nil, true},
		{"no counts, not running", "INITIALIZING", 2, nil, false},
		{"counts without a parallelism", "RUNNING", 0, map[string]int{"RUNNING": 0}, false},
	} {
		if got := vertexRunning(c.status, c.parallelism, c.tasks); got != c.want {
			t.Errorf("%s: vertexRunning = %v, want %v", c.name, got, c.want)
		}
	}
}
