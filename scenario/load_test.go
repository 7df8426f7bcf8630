package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `
duration: 1h
cluster:
  taskManagers: {initial: 2}
jobs:
  - vertices:
      - {id: src, capacity: 1000}
    load:
      - {source: src, at: 0s, rate: 100}
`

func TestExampleScenariosLoad(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("want the 3 example scenarios, got %v (%v)", files, err)
	}
	for _, f := range files {
		sc, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".yaml"); sc.Name != want {
			t.Errorf("%s: name %q, want %q", f, sc.Name, want)
		}
		if len(sc.Jobs) == 0 || len(sc.Jobs[0].Load) == 0 {
			t.Errorf("%s: no job or load", f)
		}
	}
}

func TestExampleValues(t *testing.T) {
	sc, err := Load("../scenarios/kafka-diurnal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed != 11 || sc.Duration != 48*time.Hour || sc.Tick != time.Second || sc.FlinkVersion != V120 {
		t.Errorf("top level: seed %d duration %v tick %v version %s", sc.Seed, sc.Duration, sc.Tick, sc.FlinkVersion)
	}
	tm := sc.Cluster.TaskManagers
	if tm != (TaskManagers{Initial: 2, Min: 1, Max: 40, StartupDelay: 30 * time.Second, IdleTimeout: 30 * time.Second}) {
		t.Errorf("taskManagers %+v", tm)
	}
	if sc.Cluster.Config["taskmanager.memory.process.size"] != "2g" {
		t.Errorf("config %v", sc.Cluster.Config)
	}
	if sc.SLO.MaxLag != 120*time.Second || sc.SLO.Settle != 30*time.Minute {
		t.Errorf("slo %+v", sc.SLO)
	}
	if sc.Autoscaler["job.autoscaler.metrics.window"] != "10m" {
		t.Errorf("autoscaler %v", sc.Autoscaler)
	}
	j := sc.Jobs[0]
	if j.Restart != (Restart{Base: 30 * time.Second, RestoreRate: 200 << 20}) {
		t.Errorf("restart %+v", j.Restart)
	}
	src, sess := j.Vertex("src"), j.Vertex("sessions")
	if src.Partitions != 24 || src.Topic != "src" || src.MaxParallelism != 720 || !src.IsSource() {
		t.Errorf("src %+v", src)
	}
	if sess.KeySkew != 0.4 || sess.State.BytesPerSubtask != 300<<20 || sess.Inputs[0] != (Input{From: "enrich", Ship: ShipHash}) {
		t.Errorf("sessions %+v", sess)
	}
	if sess.Heap.Base != 16<<20 || sess.ScalingEfficiency != 1 || sess.Selectivity != 1 {
		t.Errorf("defaults %+v", sess)
	}
	l := j.Load[0]
	if l.Shape != ShapeSine || l.SinePeriod != 24*time.Hour || l.SineAmplitude != 0.8 || l.Noise != 0.05 || l.Rate != 30000 {
		t.Errorf("load %+v", l)
	}
	cfg := sc.JobConfig(&j)
	if cfg["execution.checkpointing.interval"] != "30s" || cfg["jobmanager.scheduler"] != "adaptive" || cfg["job.autoscaler.metrics.window"] != "10m" {
		t.Errorf("job config %v", cfg)
	}
}

func TestDefaults(t *testing.T) {
	sc, err := Parse([]byte(minimal), "dir/min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "min" || sc.Seed != 1 || sc.FlinkVersion != V120 {
		t.Errorf("%+v", sc)
	}
	if sc.Cluster.TaskManagers != (TaskManagers{Initial: 2, Min: 2, Max: 2, StartupDelay: 20 * time.Second, IdleTimeout: 30 * time.Second}) {
		t.Errorf("%+v", sc.Cluster.TaskManagers)
	}
	j := sc.Jobs[0]
	v := j.Vertices[0]
	if j.Name != "job-1" || v.Name != "src" || v.Parallelism != 1 || v.MaxParallelism != 128 || v.SlotSharingGroup != "default" {
		t.Errorf("%+v %+v", j, v)
	}
	if v.RecordBytes != 0 || v.OutRecordBytes() != DefaultRecordBytes {
		t.Errorf("record bytes %d (%d on the network), want unset (%d)", v.RecordBytes, v.OutRecordBytes(), DefaultRecordBytes)
	}
	if j.Load[0].Shape != ShapeStep || j.Load[0].Noise != 0.02 {
		t.Errorf("%+v", j.Load[0])
	}
}

func TestMaxParallelismRule(t *testing.T) {
	y := strings.Replace(minimal, "{id: src, capacity: 1000}", "{id: src, capacity: 1000, parallelism: 100}", 1)
	sc, err := Parse([]byte(y), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Flink's default rule: roundUpPow2(100 + 50) = 256.
	if got := sc.Jobs[0].Vertices[0].MaxParallelism; got != 256 {
		t.Errorf("max parallelism %d, want 256", got)
	}
}

func TestShapesAndFaults(t *testing.T) {
	y := `
name: all
seed: 42
duration: 2h
tick: 500ms
flinkVersion: "2.0"
cluster:
  config:
    taskmanager:
      numberOfTaskSlots: 4
    jobmanager.scheduler: adaptive
  taskManagers: {initial: 1, min: 0, max: 3, startupDelay: 5s, idleTimeout: 1m}
jobs:
  - name: a
    restart: {base: 10s, restoreRate: 1g}
    vertices:
      - {id: s, capacity: 10, partitions: 3, topic: clicks}
      - {id: k, capacity: 10, keySkew: 1.2, state: {bytes: 1g}, heap: {base: 1m, perRecordPerSecond: 2k},
         metaspace: 64m, maxParallelism: 64, inputs: [{from: s, ship: hash}]}
    load:
      - {source: s, at: 0, rate: 5, backlog: 1000}
      - {source: s, at: 10m, rate: 50, ramp: 5m, noise: 0}
      - {source: s, at: 20m, rate: 50, sine: {period: 1h, amplitude: 0.5}}
      - {source: s, at: 1h, rate: 50, spike: {for: 1m, factor: 3}}
      - {source: s, at: 90m, rate: 10, step: ~}
faults:
  - {at: 1m, kill: taskmanager}
  - {at: 2m, kill: jobmanager}
  - {at: 3m, for: 1m, rest: slow}
  - {at: 4m, for: 1m, rest: errors, rate: 0.5}
  - {at: 5m, for: 1m, metrics: missing, names: [busyTimeMsPerSecond, "*.pendingRecords"]}
`
	sc, err := Parse([]byte(y), "all.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.FlinkVersion != V20 || sc.Tick != 500*time.Millisecond || sc.Seed != 42 {
		t.Errorf("%+v", sc)
	}
	if sc.Cluster.Config["taskmanager.numberOfTaskSlots"] != "4" {
		t.Errorf("nested config not flattened: %v", sc.Cluster.Config)
	}
	k := sc.Jobs[0].Vertex("k")
	if k.Heap.PerRecordPerSecond != 2048 || k.Metaspace != 64<<20 || k.Inputs[0].Ship != ShipHash || k.StateBytes(4) != 1<<30 {
		t.Errorf("%+v", k)
	}
	if sc.Jobs[0].Vertex("s").Topic != "clicks" {
		t.Error("topic")
	}
	shapes := []Shape{ShapeStep, ShapeRamp, ShapeSine, ShapeSpike, ShapeStep}
	for i, s := range sc.Jobs[0].Load {
		if s.Shape != shapes[i] {
			t.Errorf("segment %d shape %v want %v", i, s.Shape, shapes[i])
		}
	}
	if sc.Jobs[0].Load[0].Backlog != 1000 || sc.Jobs[0].Load[1].Ramp != 5*time.Minute || sc.Jobs[0].Load[3].SpikeFactor != 3 {
		t.Errorf("%+v", sc.Jobs[0].Load)
	}
	f := sc.Faults
	if f[0].Kind != KillTaskManager || f[0].Count != 1 || f[1].Kind != KillJobManager || f[1].For != DefaultJMDowntime ||
		f[2].REST != RESTSlow || f[2].Delay != DefaultSlowDelay || f[2].Rate != 1 || f[3].Rate != 0.5 ||
		f[4].Kind != MetricsMissing || len(f[4].Names) != 2 {
		t.Errorf("faults %+v", f)
	}
	if !f[2].Active(3*time.Minute) || f[2].Active(4*time.Minute) {
		t.Error("Active window")
	}
}

func TestBadScenarios(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want string
	}{
		{"unknown top", "duration: 1h\ncolor: red\n", `x.yaml:2: unknown field "color" in scenario`},
		{"typo hint", "durtion: 1h\n", `x.yaml:1: unknown field "durtion" in scenario (did you mean "duration"?)`},
		{"unknown vertex field", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, capacty: 3}", 1), `x.yaml:7: unknown field "capacty" in jobs[0].vertices[0] (did you mean "capacity"?)`},
		{"missing duration", "cluster: {}\njobs: []\n", `x.yaml:1: scenario: missing required field "duration"`},
		{"bad duration", strings.Replace(minimal, "duration: 1h", "duration: 1 fortnight", 1), `x.yaml:2: duration: invalid duration "1 fortnight"`},
		{"negative rate", strings.Replace(minimal, "rate: 100", "rate: -5", 1), `x.yaml:9: jobs[0].load[0].rate: invalid value -5: want a rate ≥ 0 in records per second`},
		{"zero capacity", strings.Replace(minimal, "capacity: 1000", "capacity: 0", 1), `x.yaml:7: jobs[0].vertices[0].capacity: invalid value 0: want a positive number of records per second`},
		{"bad version", "flinkVersion: 1.17\n" + minimal, `x.yaml:1: flinkVersion: unsupported version "1.17": want 1.18, 1.19, 1.20 or 2.0`},
		{"record too small", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, recordBytes: 12}", 1), `x.yaml:7: jobs[0].vertices[0].recordBytes: 12: want a record size from 16 bytes (an 8-byte value and Flink's 8 bytes of lengths) to 16m`},
		{"bad size", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, state: {bytes: 3 parsecs}}", 1), `x.yaml:7: jobs[0].vertices[0].state.bytes: invalid memory size "3 parsecs"`},
		{"zero state keys", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, state: {bytes: 1m, keys: 0}}", 1), `x.yaml:7: jobs[0].vertices[0].state.keys: invalid value 0: want a number of keys between 1 and 2147483647`},
		{"unknown input", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: b, capacity: 1, inputs: [{from: nope}]}", 1), `x.yaml:8: jobs[0].vertices[1].inputs[0].from: unknown vertex "nope" (vertices of job "job-1": "src", "b")`},
		{"load on non-source", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: b, capacity: 1, inputs: [{from: src}]}", 1) + "      - {source: b, at: 0, rate: 1}\n", `x.yaml:11: jobs[0].load[1].source: "b" has inputs; load segments are for sources only (sources of job "job-1": "src")`},
		{"cycle", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: a, capacity: 1, inputs: [{from: b}]}\n      - {id: b, capacity: 1, inputs: [{from: a}]}", 1), `x.yaml:6: jobs[0]: the inputs form a cycle: b -> a -> b`},
		{"segments out of order", minimal + "      - {source: src, at: 1h, rate: 1}\n      - {source: src, at: 30m, rate: 1}\n", `x.yaml:11: jobs[0].load[2].at: segments of source "src" must be in time order: 30 min comes after 1 h`},
		{"two shapes", strings.Replace(minimal, "rate: 100}", "rate: 100, ramp: 1m, spike: {for: 1m, factor: 2}}", 1), `x.yaml:9: jobs[0].load[0]: give at most one of step, ramp, sine, spike`},
		{"backlog later", minimal + "      - {source: src, at: 1h, rate: 1, backlog: 5}\n", `x.yaml:10: jobs[0].load[1].backlog: a backlog is the lag at the start: only allowed on a segment at 0`},
		{"forward parallelism", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: b, capacity: 1, parallelism: 2, inputs: [{from: src, ship: FORWARD}]}", 1), `x.yaml:8: jobs[0].vertices[1].inputs[0]: Forward partitioning does not allow change of parallelism.`},
		{"bad ship", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: b, capacity: 1, inputs: [{from: src, ship: RANDOM}]}", 1), `x.yaml:8: jobs[0].vertices[1].inputs[0].ship: invalid ship strategy "RANDOM": want FORWARD, HASH, REBALANCE, RESCALE or BROADCAST`},
		{"tm bounds", strings.Replace(minimal, "{initial: 2}", "{initial: 5, max: 3}", 1), `x.yaml:4: cluster.taskManagers: want min ≤ initial ≤ max, got min 5, initial 5, max 3`},
		{"bad config value", strings.Replace(minimal, "cluster:\n", "cluster:\n  config: {taskmanager.memory.process.size: 4x}\n", 1), `x.yaml:4: cluster.config.taskmanager.memory.process.size: IllegalArgumentException: Could not parse value '4x' for key 'taskmanager.memory.process.size'.: caused by IllegalArgumentException: Memory size unit 'x' does not match`},
		{"bad scheduler", strings.Replace(minimal, "cluster:\n", "cluster:\n  config: {jobmanager.scheduler: fancy}\n", 1), `x.yaml:4: cluster.config.jobmanager.scheduler: invalid value "fancy": want Default or Adaptive`},
		{"autoscaler key", "autoscaler: {taskmanager.numberOfTaskSlots: 2}\n" + minimal, `x.yaml:1: autoscaler: key "taskmanager.numberOfTaskSlots" is not a job.autoscaler.* option`},
		{"duplicate vertex", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: src, capacity: 2}", 1), `x.yaml:8: jobs[0].vertices[1]: duplicate vertex id "src"`},
		{"duplicate field", strings.Replace(minimal, "duration: 1h", "duration: 1h\nduration: 2h", 1), `x.yaml:3: duplicate field "duration" in scenario`},
		{"partitions on non-source", strings.Replace(minimal, "- {id: src, capacity: 1000}", "- {id: src, capacity: 1000}\n      - {id: b, capacity: 1, partitions: 3, inputs: [{from: src}]}", 1), `x.yaml:8: jobs[0].vertices[1].partitions: applies to sources only; "b" has inputs`},
		{"fault kind", minimal + "faults:\n  - {at: 1m, for: 1m}\n", `x.yaml:11: faults[0]: give exactly one of kill, rest, metrics`},
		{"fault field", minimal + "faults:\n  - {at: 1m, kill: taskmanager, names: [x]}\n", `x.yaml:11: faults[0]: field "names" does not apply to a kill taskmanager fault`},
		{"rest without for", minimal + "faults:\n  - {at: 1m, rest: errors}\n", `x.yaml:11: faults[0]: a rest fault needs for: <duration>`},
		{"parallelism over max", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, parallelism: 10, maxParallelism: 4}", 1), `x.yaml:7: jobs[0].vertices[0]: parallelism 10 exceeds maxParallelism 4`},
		{"list expected", "duration: 1h\ncluster: {}\njobs: 3\n", `x.yaml:3: jobs: want a list, got "3"`},
		{"yaml syntax", "duration: [1h\n", `x.yaml: line 1: did not find expected ',' or ']'`},
		{"empty", "", `x.yaml: empty scenario`},
		{"tick too long", strings.Replace(minimal, "duration: 1h", "duration: 1h\ntick: 2h", 1), `x.yaml:2: tick (2 h) is longer than duration (1 h)`},
		{"no jobs", "duration: 1h\ncluster: {}\njobs: []\n", `x.yaml:3: jobs: want at least one job`},
		{"unknown load source", strings.Replace(minimal, "source: src", "source: nope", 1), `x.yaml:9: jobs[0].load[0].source: unknown vertex "nope" (sources of job "job-1": "src")`},
		{"keySkew on source", strings.Replace(minimal, "capacity: 1000}", "capacity: 1000, keySkew: 1}", 1), `x.yaml:7: jobs[0].vertices[0].keySkew: applies to vertices with a HASH input; "src" is a source`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), "x.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(p)
	if err != nil || sc.Name != "f" || sc.Source != p {
		t.Fatalf("%v %+v", err, sc)
	}
}

func TestVersionOrder(t *testing.T) {
	if !V20.AtLeast(V120) || V119.AtLeast(V120) || !V118.AtLeast(V118) {
		t.Error("AtLeast")
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{"../scenarios/kafka-diurnal.yaml", "../scenarios/taskmanager-loss.yaml", "../scenarios/wordcount-ramp.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(minimal))
	f.Add([]byte("duration: &d 1h\ntick: *d\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		// A loaded scenario is validated: the invariants the simulator relies on hold.
		if sc.Duration <= 0 || sc.Tick <= 0 || sc.Tick > sc.Duration || len(sc.Jobs) == 0 {
			t.Fatalf("invalid scenario accepted: %+v", sc)
		}
		tm := sc.Cluster.TaskManagers
		if tm.Min > tm.Initial || tm.Initial > tm.Max {
			t.Fatalf("bad TM bounds accepted: %+v", tm)
		}
		for _, j := range sc.Jobs {
			if len(j.Vertices) == 0 {
				t.Fatal("job without vertices")
			}
			for _, v := range j.Vertices {
				if v.Parallelism < 1 || v.Parallelism > v.MaxParallelism || v.Capacity <= 0 {
					t.Fatalf("bad vertex accepted: %+v", v)
				}
				for _, in := range v.Inputs {
					if j.Vertex(in.From) == nil {
						t.Fatalf("dangling input accepted: %+v", in)
					}
				}
			}
			for _, s := range j.Load {
				if v := j.Vertex(s.Source); v == nil || !v.IsSource() {
					t.Fatalf("bad load source accepted: %+v", s)
				}
			}
			if findCycle(&j) != nil {
				t.Fatal("cycle accepted")
			}
		}
	})
}
