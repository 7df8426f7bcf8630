// Package capture turns a running Flink job into a flinktune scenario (a "twin"): the job graph
// as Flink reports it (one scenario vertex per job vertex, ship strategies from the plan, slot
// sharing groups, max parallelism), each vertex's service time from its busy time and rate,
// selectivities from its in and out rates, state sizes from the latest checkpoint, and the
// current load (source rate plus lag growth, and the lag as a start backlog).
//
// Capture reads the REST API twice, a window apart, and works from counter deltas: records in
// and out (numRecordsIn/numRecordsOut summed over subtasks), the accumulated busy time of the
// job details, and the sources' pendingRecords. The estimates:
//
//	busy fraction   b = Δaccumulated-busy-time / (Δt · parallelism)
//	capacity        = (Δrecords in / Δt) / parallelism / b    (sources: records out)
//	selectivity     = Δrecords out / Δrecords in
//	source load     = Δrecords out / Δt + ΔpendingRecords / Δt
//	record size     = numBytesOut / numRecordsOut since the tasks started (recordBytes;
//	                  unset for a vertex with no network output, such as a sink)
//
// What it cannot see is left at the format's defaults and listed in the output's comment: key
// skew, heap per record, the restart model, scaling efficiency (1 is assumed), and any
// capacity of a vertex too idle to measure (below MinBusy).
package capture

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"gopkg.in/yaml.v3"
)

// MinBusy is the busy fraction below which a vertex's capacity is not estimated from its
// busy time: timer gauges are whole milliseconds and noisy, so 1% busy says little. Such a
// vertex gets IdleCapacityFactor times its current per-subtask rate (it is not the bottleneck
// at any load this job has shown) and a note.
const (
	MinBusy            = 0.02
	IdleCapacityFactor = 50
)

// SteadyTolerance is how far a vertex's busy time per record may move between the capture
// window's two halves before the twin carries a note that the job was not steady. A job just
// started (or restarted by a rescale) runs its per-record code interpreted until the JVM has
// compiled it after a few thousand records: on a lightly loaded vertex that is most of its busy
// time, and a twin captured then over-predicts it at higher load (sim/CALIBRATION.md §3).
const SteadyTolerance = 0.15

// VertexSample is one vertex's counters at one time, summed over its subtasks.
type VertexSample struct {
	RecordsIn, RecordsOut float64
	// BytesOut is numBytesOut: the serialized bytes written to the network.
	BytesOut float64
	// Busy, Idle and BackPressured are the accumulated times in ms, summed over subtasks.
	Busy, Idle, BackPressured float64
	// Pending is the sum of the sources' pendingRecords (NaN when the vertex has none).
	Pending float64
}

// Sample is the job's counters at one time.
type Sample struct {
	// At is the JobManager's clock (the job details' "now").
	At       time.Time
	Vertices map[string]VertexSample
}

// Observation is everything Capture reads: the job's shape, two samples, and the state sizes.
type Observation struct {
	FlinkVersion string
	Job          flinkrest.JobDetailsInfo
	// Config holds the cluster options the twin copies (see CopiedKeys).
	Config       map[string]string
	TaskManagers int
	Slots        int
	First, Last  Sample
	// Mid is a sample in between (nil when none was taken): Build compares each vertex's busy
	// time per record over the window's two halves (see SteadyTolerance).
	Mid *Sample
	// StatePerVertex is each vertex's state size in the latest completed checkpoint; nil when
	// the checkpoint details are not available (then TotalState is split, see Build).
	StatePerVertex map[string]int64
	TotalState     int64
}

// CopiedKeys are the cluster options a twin keeps from the captured cluster.
var CopiedKeys = []string{
	"taskmanager.numberOfTaskSlots", "taskmanager.memory.process.size", "jobmanager.scheduler",
	"metrics.fetcher.update-interval", "jobmanager.adaptive-scheduler.resource-stabilization-timeout",
	"jobmanager.adaptive-scheduler.scaling-interval.min", "state.backend.type",
}

// Twin is a captured scenario: its YAML and, per scenario vertex, what was measured.
type Twin struct {
	YAML []byte
	// Vertices are in the job's topological order.
	Vertices []Measured
	Window   time.Duration
	Notes    []string
}

// Measured is one vertex's estimates.
type Measured struct {
	ID, Name, FlinkID string
	Parallelism       int
	Busy              float64 // fraction of time busy, averaged over subtasks
	RateIn, RateOut   float64 // records/s, all subtasks
	Capacity          float64 // records/s per subtask at 100% busy
	Selectivity       float64
	RecordBytes       int // serialized size of a record it emits; 0 when it sent none
	StateBytes        int64
	Load              float64 // sources: arrival rate, records/s
	Backlog           int64   // sources: pending records at the end of the window
}

// Build turns an observation into a twin named name (pure: no I/O).
func Build(obs Observation, name string) (*Twin, error) {
	dt := obs.Last.At.Sub(obs.First.At)
	if dt <= 0 {
		return nil, fmt.Errorf("capture: samples %s apart; want a positive window", dt)
	}
	order, err := topological(obs.Job.Plan)
	if err != nil {
		return nil, err
	}
	vertexOf := map[string]flinkrest.JobVertex{}
	for _, v := range obs.Job.Vertices {
		vertexOf[v.ID] = v
	}
	ids := scenarioIDs(order, vertexOf)
	groups := slotSharingGroups(order, vertexOf)
	tw := &Twin{Window: dt}
	states := stateSizes(obs, order)
	job := jobSpec{Name: slug(obs.Job.Name, "job"), Config: map[string]string{}}
	for _, n := range order {
		jv := vertexOf[n.ID]
		m, notes := measure(obs, n, jv, ids[n.ID], dt.Seconds(), states[n.ID])
		tw.Notes = append(tw.Notes, notes...)
		tw.Vertices = append(tw.Vertices, m)
		job.Vertices = append(job.Vertices, vertexYAML(m, n, jv, ids, groups[n.ID]))
		if n.IsSource() {
			job.Load = append(job.Load, segmentSpec{Source: m.ID, At: "0s", Rate: round(m.Load, 3), Noise: new(float64), Backlog: m.Backlog})
		}
	}
	if obs.Job.MaxParallelism > 0 {
		job.Config["pipeline.max-parallelism"] = strconv.FormatInt(obs.Job.MaxParallelism, 10)
	}
	f := twinFile(obs, name, job)
	tw.Notes = append(tw.Notes, "not captured (format defaults): key skew, heap per record, restart model, scaling efficiency 1")
	if tw.YAML, err = f.marshal(obs, dt, tw.Notes); err != nil {
		return nil, err
	}
	// A twin that does not load is no twin: report why rather than write it.
	if _, err := scenario.Parse(tw.YAML, f.Name+".yaml"); err != nil {
		return nil, fmt.Errorf("capture: the captured scenario does not load: %w", err)
	}
	return tw, nil
}

// recordBytes is a vertex's serialized size per record out, read over the whole life of its
// tasks rather than the window: Flink counts numBytesOut when a network buffer is finished (full,
// or cut by an event such as a checkpoint barrier), not per record, so the counter lags the
// records by up to one 32 KiB buffer per output channel. Over a 20 s window at 70 records/s
// that step was 18% of the bytes (work captured at 307 bytes for 256, Flink 1.20.5); over the
// tasks' life it is a few percent, and shrinks as the job runs. 0 for a vertex that sent none.
func recordBytes(last VertexSample) int {
	if last.BytesOut <= 0 || last.RecordsOut <= 0 {
		return 0
	}
	return max(scenario.MinRecordBytes, int(math.Round(last.BytesOut/last.RecordsOut)))
}

// measure estimates one vertex from the window's counters: rates, busy share, selectivity,
// record size, a source's arrival rate and backlog, and the capacity of a subtask, with notes
// on what could not be measured or was not steady.
func measure(obs Observation, n flinkrest.PlanNode, jv flinkrest.JobVertex, id string, secs float64, state int64) (Measured, []string) {
	p := max(1, jv.Parallelism)
	if p == 1 && n.Parallelism > 1 {
		p = n.Parallelism
	}
	a, b := obs.First.Vertices[n.ID], obs.Last.Vertices[n.ID]
	m := Measured{ID: id, Name: displayName(jv, n), FlinkID: n.ID, Parallelism: p,
		RateIn: nonNeg(b.RecordsIn-a.RecordsIn) / secs, RateOut: nonNeg(b.RecordsOut-a.RecordsOut) / secs,
		Busy: clamp01(nonNeg(b.Busy-a.Busy) / (1000 * secs * float64(p))), StateBytes: state}
	through := m.RateIn
	if n.IsSource() {
		through = m.RateOut
		pend := 0.0
		if !math.IsNaN(a.Pending) && !math.IsNaN(b.Pending) {
			pend = (b.Pending - a.Pending) / secs
			m.Backlog = int64(math.Max(0, b.Pending))
		}
		m.Load = math.Max(0, m.RateOut+pend)
	}
	m.RecordBytes = recordBytes(b)
	m.Selectivity = 1
	if !n.IsSource() && m.RateIn > 0 && (m.RateOut > 0 || hasConsumer(obs.Job.Plan, n.ID)) {
		m.Selectivity = m.RateOut / m.RateIn
	}
	var notes []string
	switch {
	case m.Busy >= MinBusy && through > 0:
		m.Capacity = through / float64(p) / m.Busy
	case through > 0:
		m.Capacity = IdleCapacityFactor * through / float64(p)
		notes = append(notes, fmt.Sprintf("%s: busy %.1f%% is too little to measure; capacity set to %g× its rate", m.ID, 100*m.Busy, float64(IdleCapacityFactor)))
	default:
		m.Capacity = 1000
		notes = append(notes, fmt.Sprintf("%s: no records in the window; capacity unknown, set to 1000/s", m.ID))
	}
	if obs.Mid != nil && m.Busy >= MinBusy {
		if note := unsteady(m.ID, n.IsSource(), a, obs.Mid.Vertices[n.ID], b); note != "" {
			notes = append(notes, note)
		}
	}
	return m, notes
}

// twinFile is the scenario file of a twin: its job on a cluster of the observed TaskManagers
// and slots, with the configuration keys a twin keeps, on the adaptive scheduler.
func twinFile(obs Observation, name string, job jobSpec) fileSpec {
	f := fileSpec{Name: slug(name, "twin"), Duration: "10m", FlinkVersion: simVersion(obs.FlinkVersion),
		Cluster: clusterSpec{Config: map[string]string{}, TaskManagers: tmSpec{Initial: max(1, obs.TaskManagers)}},
		Jobs:    []jobSpec{job}}
	for _, k := range CopiedKeys {
		if v, ok := obs.Config[k]; ok && v != "" {
			f.Cluster.Config[k] = v
		}
	}
	if obs.Slots > 0 {
		f.Cluster.Config["taskmanager.numberOfTaskSlots"] = strconv.Itoa(obs.Slots)
	}
	f.Cluster.Config["jobmanager.scheduler"] = "adaptive"
	return f
}

// unsteady returns a note when the busy time per record of the window's first half (samples a
// to mid) and second half (mid to b) differ by more than SteadyTolerance, else "".
func unsteady(id string, source bool, a, mid, b VertexSample) string {
	perRecord := func(x, y VertexSample) float64 {
		recs := y.RecordsIn - x.RecordsIn
		if source {
			recs = y.RecordsOut - x.RecordsOut
		}
		if recs <= 0 || y.Busy-x.Busy <= 0 {
			return math.NaN()
		}
		return (y.Busy - x.Busy) / recs
	}
	c1, c2 := perRecord(a, mid), perRecord(mid, b)
	if math.IsNaN(c1) || math.IsNaN(c2) || math.Abs(c1-c2) <= SteadyTolerance*math.Max(c1, c2) {
		return ""
	}
	return fmt.Sprintf("%s: busy time per record moved from %.3g ms to %.3g ms between the window's halves: "+
		"the job was not steady (just started or rescaled, the JVM still compiling its per-record code?); capture it again later", id, c1, c2)
}

func vertexYAML(m Measured, n flinkrest.PlanNode, jv flinkrest.JobVertex, ids map[string]string, group string) vertexSpec {
	v := vertexSpec{ID: m.ID, Name: m.Name, Parallelism: m.Parallelism, Capacity: round(m.Capacity, 4), SlotSharingGroup: group}
	if jv.MaxParallelism > 0 {
		v.MaxParallelism = jv.MaxParallelism
	}
	if m.Selectivity != 1 {
		s := round(m.Selectivity, 4)
		v.Selectivity = &s
	}
	v.RecordBytes = m.RecordBytes
	for _, in := range n.Inputs {
		v.Inputs = append(v.Inputs, inputSpec{From: ids[in.ID], Ship: ship(in.ShipStrategy)})
	}
	if m.StateBytes > 0 {
		v.State = &stateSpec{Bytes: strconv.FormatInt(m.StateBytes, 10)}
	}
	return v
}

// ship maps the plan's ship strategy to the format's ("HASH", "FORWARD", ...); Flink writes
// a few with other spellings, and any it has that the format lacks ship as REBALANCE.
func ship(s string) string {
	switch u := strings.ToUpper(strings.TrimSpace(s)); {
	case u == "HASH" || strings.HasPrefix(u, "HASH"):
		return "HASH"
	case u == "FORWARD":
		return "FORWARD"
	case u == "RESCALE":
		return "RESCALE"
	case u == "BROADCAST":
		return "BROADCAST"
	default:
		return "REBALANCE"
	}
}

// topological orders the plan's nodes so every input comes first (ties by id, for stable
// output); a plan with a cycle or an input that is no node is an error.
func topological(p flinkrest.Plan) ([]flinkrest.PlanNode, error) {
	byID := map[string]flinkrest.PlanNode{}
	for _, n := range p.Nodes {
		if n.ID == "" {
			return nil, fmt.Errorf("capture: plan node without id")
		}
		if _, dup := byID[n.ID]; dup {
			return nil, fmt.Errorf("capture: plan node %s twice", n.ID)
		}
		byID[n.ID] = n
	}
	if len(byID) == 0 {
		return nil, fmt.Errorf("capture: the job's plan has no vertices")
	}
	keys := make([]string, 0, len(byID))
	for k := range byID {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	done := map[string]int{} // 1 visiting, 2 done
	var out []flinkrest.PlanNode
	var visit func(id string) error
	visit = func(id string) error {
		n, ok := byID[id]
		if !ok {
			return fmt.Errorf("capture: plan input %s is no vertex of the plan", id)
		}
		switch done[id] {
		case 1:
			return fmt.Errorf("capture: the plan has a cycle through %s", id)
		case 2:
			return nil
		}
		done[id] = 1
		for _, in := range n.Inputs {
			if err := visit(in.ID); err != nil {
				return err
			}
		}
		done[id] = 2
		out = append(out, n)
		return nil
	}
	for _, k := range keys {
		if err := visit(k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasConsumer(p flinkrest.Plan, id string) bool {
	for _, n := range p.Nodes {
		for _, in := range n.Inputs {
			if in.ID == id {
				return true
			}
		}
	}
	return false
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a readable scenario id from a Flink name ("Source: log" → "source-log").
func slug(s, fallback string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		return fallback
	}
	return s
}

// scenarioIDs names each vertex by its slugged name, unique within the job.
func scenarioIDs(order []flinkrest.PlanNode, vs map[string]flinkrest.JobVertex) map[string]string {
	ids := map[string]string{}
	used := map[string]bool{}
	for i, n := range order {
		name := vs[n.ID].Name
		if name == "" {
			name = n.Description
		}
		base := slug(strings.TrimPrefix(name, "Source: "), fmt.Sprintf("v%d", i))
		id := base
		for k := 2; used[id]; k++ {
			id = fmt.Sprintf("%s-%d", base, k)
		}
		used[id] = true
		ids[n.ID] = id
	}
	return ids
}

func displayName(jv flinkrest.JobVertex, n flinkrest.PlanNode) string {
	if jv.Name != "" {
		return jv.Name
	}
	return n.Description
}

// slotSharingGroups names the groups: the first source's group is "default", the others
// by their name (2.x) or in order of appearance; "" when every vertex shares one group or
// the version does not report groups (1.18).
func slotSharingGroups(order []flinkrest.PlanNode, vs map[string]flinkrest.JobVertex) map[string]string {
	names := map[string]string{}
	distinct := map[string]bool{}
	for _, n := range order {
		if g := vs[n.ID].SlotSharingGroupID; g != "" {
			distinct[g] = true
		}
	}
	out := map[string]string{}
	if len(distinct) < 2 {
		return out
	}
	k := 1
	for _, n := range order {
		jv := vs[n.ID]
		g := jv.SlotSharingGroupID
		if g == "" {
			continue
		}
		if _, ok := names[g]; !ok {
			switch {
			case len(names) == 0:
				names[g] = "default"
			case jv.SlotSharingGroupName != "" && jv.SlotSharingGroupName != "default":
				names[g] = slug(jv.SlotSharingGroupName, "group")
			default:
				names[g] = fmt.Sprintf("group-%d", k)
				k++
			}
		}
		out[n.ID] = names[g]
	}
	return out
}

// stateSizes is each vertex's state: from the checkpoint details when there are some, else
// the checkpoint's total split evenly over the vertices with a HASH input (keyed state is
// what a scenario's state models; operator state of sources is small).
func stateSizes(obs Observation, order []flinkrest.PlanNode) map[string]int64 {
	out := map[string]int64{}
	if obs.StatePerVertex != nil {
		for id, b := range obs.StatePerVertex {
			if b > 0 {
				out[id] = b
			}
		}
		return out
	}
	var keyed []string
	for _, n := range order {
		for _, in := range n.Inputs {
			if ship(in.ShipStrategy) == "HASH" {
				keyed = append(keyed, n.ID)
				break
			}
		}
	}
	if obs.TotalState <= 0 || len(keyed) == 0 {
		return out
	}
	for _, id := range keyed {
		out[id] = obs.TotalState / int64(len(keyed))
	}
	return out
}

// simVersion is the simulator's line for a Flink version ("1.20.5" → "1.20"; 2.x → "2.0",
// the simulator's 2.x model).
func simVersion(v string) string {
	switch {
	case strings.HasPrefix(v, "2."):
		return "2.0"
	case strings.HasPrefix(v, "1.18"), strings.HasPrefix(v, "1.19"), strings.HasPrefix(v, "1.20"):
		return v[:4]
	default:
		return "1.20"
	}
}

func nonNeg(x float64) float64 {
	if math.IsNaN(x) || x < 0 || math.IsInf(x, 1) {
		return 0
	}
	return x
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, nonNeg(x))) }

func round(x float64, digits int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	// Significant digits, so small and large capacities keep their precision.
	mag := math.Pow(10, float64(digits)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*mag) / mag
}

// The YAML written: a subset of scenarios/FORMAT.md with the format's own field names.
type fileSpec struct {
	Name         string      `yaml:"name"`
	Duration     string      `yaml:"duration"`
	FlinkVersion string      `yaml:"flinkVersion"`
	Cluster      clusterSpec `yaml:"cluster"`
	Jobs         []jobSpec   `yaml:"jobs"`
}

type clusterSpec struct {
	Config       map[string]string `yaml:"config"`
	TaskManagers tmSpec            `yaml:"taskManagers"`
}

type tmSpec struct {
	Initial int `yaml:"initial"`
}

type jobSpec struct {
	Name     string            `yaml:"name"`
	Config   map[string]string `yaml:"config,omitempty"`
	Vertices []vertexSpec      `yaml:"vertices"`
	Load     []segmentSpec     `yaml:"load,omitempty"`
}

type vertexSpec struct {
	ID               string      `yaml:"id"`
	Name             string      `yaml:"name"`
	Parallelism      int         `yaml:"parallelism"`
	MaxParallelism   int         `yaml:"maxParallelism,omitempty"`
	SlotSharingGroup string      `yaml:"slotSharingGroup,omitempty"`
	Capacity         float64     `yaml:"capacity"`
	Selectivity      *float64    `yaml:"selectivity,omitempty"`
	RecordBytes      int         `yaml:"recordBytes,omitempty"`
	Inputs           []inputSpec `yaml:"inputs,omitempty,flow"`
	State            *stateSpec  `yaml:"state,omitempty,flow"`
}

type inputSpec struct {
	From string `yaml:"from"`
	Ship string `yaml:"ship"`
}

type stateSpec struct {
	Bytes string `yaml:"bytes"`
}

type segmentSpec struct {
	Source  string   `yaml:"source"`
	At      string   `yaml:"at"`
	Rate    float64  `yaml:"rate"`
	Noise   *float64 `yaml:"noise"`
	Backlog int64    `yaml:"backlog,omitempty"`
}

func (f *fileSpec) marshal(obs Observation, dt time.Duration, notes []string) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Captured by flinktune scenario capture from job %s (%s) on Flink %s,\n",
		obs.Job.JID, obs.Job.Name, obs.FlinkVersion)
	fmt.Fprintf(&buf, "# over a %s window ending %s.\n", dt.Round(time.Millisecond), obs.Last.At.UTC().Format(time.RFC3339))
	for _, n := range notes {
		buf.WriteString("# " + n + "\n")
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return buf.Bytes(), nil
}
