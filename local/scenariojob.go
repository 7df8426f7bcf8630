package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// JobSpec is a scenario job as the harness's ScenarioJob executes it on real Flink: one Flink
// vertex per scenario vertex, in topological order. Each vertex's uid is the scenario vertex
// id, so its JobVertexID is stable (Flink hashes the uid with murmur3; the simulator's ids are
// its own hashes, so the two are matched by vertex name).
type JobSpec struct {
	Name string `json:"name"`
	// OriginMs is the wall-clock time (epoch ms) of the scenario's t = 0: load schedules count
	// from it, so arrivals continue while the job is down, as in a real log.
	OriginMs int64 `json:"originMs"`
	// OriginFile, when set, replaces OriginMs for the sources' schedules: they start when
	// StartLoad writes the origin to it (the harness does once the job runs), see LoadOnSignal.
	OriginFile string            `json:"originFile,omitempty"`
	Config     map[string]string `json:"config"`
	Vertices   []SpecVertex      `json:"vertices"`
}

// SpecVertex is one vertex of a JobSpec.
type SpecVertex struct {
	ID               string  `json:"id"`
	Name             string  `json:"name"`
	Parallelism      int     `json:"parallelism"`
	MaxParallelism   int     `json:"maxParallelism,omitempty"`
	SlotSharingGroup string  `json:"slotSharingGroup"`
	ServiceNanos     int64   `json:"serviceNanos"`
	Selectivity      float64 `json:"selectivity"`
	// RecordBytes is the size of each record the vertex emits on the network (numBytesOut per
	// numRecordsOut): the harness pads its records' value with a payload to it.
	RecordBytes      int         `json:"recordBytes"`
	Partitions       int         `json:"partitions,omitempty"`
	Keys             int64       `json:"keys,omitempty"`
	StateBytesPerKey int64       `json:"stateBytesPerKey,omitempty"`
	Inputs           []SpecInput `json:"inputs,omitempty"`
	Load             *SpecLoad   `json:"load,omitempty"`
	Kafka            *SpecKafka  `json:"kafka,omitempty"` // a source reading a real topic
}

// SpecInput is an input edge.
type SpecInput struct {
	From string `json:"from"`
	Ship string `json:"ship"`
}

// SpecLoad is a source's arrivals: a start backlog and a piecewise-linear rate, points
// [ms since origin, records/s], the last rate holding.
type SpecLoad struct {
	Backlog int64        `json:"backlog"`
	Points  [][2]float64 `json:"points"`
}

// Real-Flink stand-ins for what the scenario leaves open.
const (
	// defaultPartitions is a source's partition count when the scenario sets none (the
	// simulator's "unlimited"): enough that every subtask up to a parallelism of 16 reads
	// within 7% of an equal share.
	defaultPartitions = 240
	// specKeys is the number of distinct keys behind HASH inputs when the scenario's state
	// names none (state.keys); keyed state is spread evenly over them.
	specKeys = 1024
	// defaultBufferTimeout replaces Flink's 100 ms output flush interval: a scenario runs at
	// hundreds of records per second, so its 32 KiB network buffers never fill and records
	// would move between tasks only on the flusher's tick, in 100 ms batches; a consumer then
	// idles between batches while its producer is back-pressured (sim/CALIBRATION.md). A job
	// at the scenario's real rates fills buffers in far less than 100 ms, so 1 ms keeps the
	// hand-over as continuous as there.
	// The key is execution.buffer-timeout.interval since 1.19 and execution.buffer-timeout
	// before; both are set, each version reads its own.
	bufferTimeoutKey     = "execution.buffer-timeout.interval"
	bufferTimeoutOldKey  = "execution.buffer-timeout"
	defaultBufferTimeout = "1ms"
)

// jobConfigPrefixes are the scenario's job-level keys the real job takes (the rest are the
// cluster's or the autoscaler's).
var jobConfigPrefixes = []string{"state.", "execution.checkpointing.", "pipeline.", "restart-strategy", "execution.runtime-mode", "execution.buffer-timeout"}

// ScenarioSpec turns job ji of sc into the spec ScenarioJob runs, with the load schedule
// starting at origin. What real Flink cannot take is refused with the field named: noise is
// dropped (the real job's own jitter stands in for it), scalingEfficiency and keySkew are the
// real job's own.
func ScenarioSpec(sc *scenario.Scenario, ji int, origin time.Time) (*JobSpec, error) {
	if ji < 0 || ji >= len(sc.Jobs) {
		return nil, fmt.Errorf("scenario %s has no job %d", sc.Name, ji)
	}
	j := &sc.Jobs[ji]
	spec := &JobSpec{Name: j.Name, OriginMs: origin.UnixMilli(), Config: map[string]string{}}
	for k, v := range sc.JobConfig(j) {
		for _, p := range jobConfigPrefixes {
			if strings.HasPrefix(k, p) {
				spec.Config[k] = v
			}
		}
	}
	if _, ok := spec.Config["execution.checkpointing.interval"]; !ok {
		spec.Config["execution.checkpointing.interval"] = "5s"
	}
	if _, ok := spec.Config[bufferTimeoutKey]; !ok {
		if old, ok := spec.Config[bufferTimeoutOldKey]; ok {
			spec.Config[bufferTimeoutKey] = old
		} else {
			spec.Config[bufferTimeoutKey] = defaultBufferTimeout
		}
	}
	spec.Config[bufferTimeoutOldKey] = spec.Config[bufferTimeoutKey]
	order, err := topoOrder(j)
	if err != nil {
		return nil, err
	}
	for _, v := range order {
		if v.Capacity <= 0 {
			return nil, fmt.Errorf("job %s vertex %s: capacity %v: real Flink needs a positive capacity", j.Name, v.ID, v.Capacity)
		}
		sv := SpecVertex{
			ID: v.ID, Name: v.Name, Parallelism: max(1, v.Parallelism),
			MaxParallelism: v.MaxParallelism, SlotSharingGroup: v.SlotSharingGroup,
			ServiceNanos: int64(math.Round(1e9 / v.Capacity)), Selectivity: v.Selectivity,
			RecordBytes: v.OutRecordBytes(),
		}
		if sv.SlotSharingGroup == "" {
			sv.SlotSharingGroup = "default"
		}
		if v.IsSource() {
			sv.Partitions = v.Partitions
			if sv.Partitions == 0 {
				sv.Partitions = defaultPartitions
			}
			sv.Load = sourceLoad(sc, j, v.ID)
		}
		for _, in := range v.Inputs {
			sv.Inputs = append(sv.Inputs, SpecInput{From: in.From, Ship: in.Ship})
			if in.Ship == scenario.ShipHash {
				sv.Keys = specKeys
				if v.State.Keys > 0 {
					sv.Keys = v.State.Keys
				}
				sv.StateBytesPerKey = v.StateBytes(sv.Parallelism) / sv.Keys
			}
		}
		spec.Vertices = append(spec.Vertices, sv)
	}
	return spec, nil
}

// topoOrder lists j's vertices so that every input comes before its consumer.
func topoOrder(j *scenario.Job) ([]*scenario.Vertex, error) {
	done := map[string]bool{}
	var out []*scenario.Vertex
	for len(out) < len(j.Vertices) {
		progress := false
		for i := range j.Vertices {
			v := &j.Vertices[i]
			if done[v.ID] {
				continue
			}
			ready := true
			for _, in := range v.Inputs {
				ready = ready && done[in.From]
			}
			if ready {
				done[v.ID], progress = true, true
				out = append(out, v)
			}
		}
		if !progress {
			return nil, fmt.Errorf("job %s: the vertices' inputs form a cycle", j.Name)
		}
	}
	return out, nil
}

// sourceLoad samples the simulator's rate curve for one source: every second, plus both sides
// of each step, so that steps stay steps.
func sourceLoad(sc *scenario.Scenario, j *scenario.Job, source string) *SpecLoad {
	var segs []scenario.LoadSegment
	l := &SpecLoad{}
	for _, s := range j.Load {
		if s.Source == source {
			segs = append(segs, s)
			if s.At == 0 {
				l.Backlog += s.Backlog
			}
		}
	}
	times := map[time.Duration]bool{}
	for t := time.Duration(0); t <= sc.Duration; t += time.Second {
		times[t] = true
	}
	for _, s := range segs {
		times[s.At] = true
		if s.At > 0 {
			times[s.At-time.Millisecond] = true
		}
		if s.Shape == scenario.ShapeSpike {
			times[s.At+s.SpikeFor] = true
			times[s.At+s.SpikeFor-time.Millisecond] = true
		}
	}
	ts := make([]time.Duration, 0, len(times))
	for t := range times {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(a, b int) bool { return ts[a] < ts[b] })
	for _, t := range ts {
		l.Points = append(l.Points, [2]float64{float64(t.Milliseconds()), sim.LoadRate(segs, t)})
	}
	return l
}

// SubmitScenario submits spec to the cluster (a short-lived client JVM running ScenarioJob)
// and returns the job id once Flink has accepted it.
func (c *Cluster) SubmitScenario(ctx context.Context, spec *JobSpec) (string, error) {
	return SubmitScenario(ctx, c.Spec.Dist, c.RESTURL, c.Spec.Dir, spec)
}

// SubmitScenario submits spec to the session cluster at restURL (on 127.0.0.1) with d's
// harness, keeping the spec file in dir.
func SubmitScenario(ctx context.Context, d *Dist, restURL, dir string, spec *JobSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	f := filepath.Join(dir, "job-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		return "", err
	}
	port := restURL[strings.LastIndex(restURL, ":")+1:]
	cmd := d.JavaCommand(ctx, []string{"-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dlog4j2.level=WARN"}, "io.flinktune.harness.scenario.ScenarioJob",
		"--host", "127.0.0.1", "--port", port, "--jar", d.Harness, "--spec", f)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("submit scenario job %s: %w\n%s", spec.Name, err, tail(errb.Bytes(), 3000))
	}
	m := jobIDPattern.FindStringSubmatch(out.String())
	if m == nil {
		return "", fmt.Errorf("submit scenario job %s: no job id in output %q\n%s", spec.Name, out.String(), tail(errb.Bytes(), 3000))
	}
	return m[1], nil
}

// ScenarioClusterConfig is the Flink configuration a local cluster running sc's jobs takes:
// the scenario's cluster keys (the launcher derives each TaskManager's memory flags from them)
// but the JobManager's memory (the launcher's small default fits), plus buffer debloating. A
// scenario runs at hundreds of records per second, so even with records of a realistic size
// (recordBytes, 256 by default: about 128 in a 32 KiB buffer) a full buffer is a second or
// more of a slow vertex's work; debloating bounds in-flight data to about one second of
// throughput, which the simulator assumes (it holds no data in flight).
func ScenarioClusterConfig(sc *scenario.Scenario) map[string]string {
	conf := map[string]string{}
	for k, v := range sc.Cluster.Config {
		if !strings.HasPrefix(k, "jobmanager.memory.") {
			conf[k] = v
		}
	}
	conf["taskmanager.network.memory.buffer-debloat.enabled"] = "true"
	return conf
}
