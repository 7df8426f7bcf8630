//go:build integration

package local_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
	"github.com/flinktune/flinktune/sim"
)

// vertexSample is one vertex's metrics at one time, summed (counters, lag) or averaged over
// subtasks (busy and back-pressured ms per second).
type vertexSample struct {
	In, Out      float64 // numRecordsIn / numRecordsOut counters
	Busy, BackPr float64
	Idle         float64
	Pending      float64
	// Meter is numRecordsInPerSecond (sources: numRecordsOutPerSecond), Flink's 60 s meter.
	Meter       float64
	Parallelism int
	Running     bool
	// Started is the scenario time the vertex's current execution started (its start-time).
	Started time.Duration
	// At is the scenario time the metrics were read (real runs read late on a loaded machine).
	At time.Duration
}

// phaseStats is a vertex's behaviour over a window: rates from counter deltas, busy and
// back-pressure as the mean of the samples, lag growth per second.
type phaseStats struct {
	Rate, Busy, BackPr, Idle, LagGrowth float64
}

func statsOver(samples []map[string]vertexSample, v string, source bool) phaseStats {
	first, last := samples[0][v], samples[len(samples)-1][v]
	secs := (last.At - first.At).Seconds()
	var st phaseStats
	if source {
		st.Rate = (last.Out - first.Out) / secs
	} else {
		st.Rate = (last.In - first.In) / secs
	}
	st.LagGrowth = (last.Pending - first.Pending) / secs
	for _, s := range samples {
		st.Busy += s[v].Busy / float64(len(samples))
		st.BackPr += s[v].BackPr / float64(len(samples))
		st.Idle += s[v].Idle / float64(len(samples))
	}
	return st
}

const sampleEvery = 2 * time.Second

// A fidelityRun drives one execution of the scenario: the simulator or real Flink.
type fidelityRun interface {
	// at waits (or simulates) until scenario time t and samples every vertex.
	at(t time.Duration) (map[string]vertexSample, error)
	// rescale sets one vertex's parallelism (PUT resource requirements) at the current time.
	rescale(vertexID string, p int) error
	// checkpointAcks are the completion times (scenario time) of the completed checkpoints.
	checkpointAcks() ([]time.Duration, error)
}

// cpWait is how long after t0 the first checkpoint completed. Flink 2.x rescales on a
// requirement change only once a checkpoint completes (FLIP-461); 1.20 does not wait (the
// simulator once assumed it did: sim/CALIBRATION.md), so there a rescale is the restart alone.
func cpWait(t *testing.T, r fidelityRun, t0 time.Duration) time.Duration {
	t.Helper()
	acks, err := r.checkpointAcks()
	if err != nil {
		t.Fatal(err)
	}
	best := time.Duration(-1)
	for _, a := range acks {
		if a >= t0 && (best < 0 || a < best) {
			best = a
		}
	}
	if best < 0 {
		return 0
	}
	return best - t0
}

// window samples [from, to] every sampleEvery.
func window(t *testing.T, r fidelityRun, from, to time.Duration) []map[string]vertexSample {
	t.Helper()
	var out []map[string]vertexSample
	for at := from; at <= to; at += sampleEvery {
		s, err := r.at(at)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// rescaleTime rescales v to p at t0 and returns when (scenario time) the job runs again at p.
func rescaleTime(t *testing.T, r fidelityRun, t0 time.Duration, v string, p int) time.Duration {
	t.Helper()
	if _, err := r.at(t0); err != nil {
		t.Fatal(err)
	}
	if err := r.rescale(v, p); err != nil {
		t.Fatal(err)
	}
	var s map[string]vertexSample
	for at := t0 + 500*time.Millisecond; at < t0+3*time.Minute; at += 500 * time.Millisecond {
		var err error
		s, err = r.at(at)
		if err != nil {
			t.Fatal(err)
		}
		all := true
		for _, x := range s {
			all = all && x.Running
		}
		for _, x := range s {
			all = all && x.Started >= t0
		}
		if all && s[v].Parallelism == p {
			return at - t0
		}
	}
	t.Fatalf("%T: %s not running at parallelism %d within 3 minutes: %+v", r, v, p, s)
	return 0
}

// TestFidelityRealFlink runs testdata/fidelity-pipeline.yaml on the simulator and on real Flink
// (the harness's ScenarioJob on a local cluster, first prepared version) and compares, per
// vertex, the processing rate, busy and back-pressured time, source lag growth, and the
// rescale downtime. Both runs are also checked against the scenario's arithmetic: a test that
// compares two wrong runs would pass.
func TestFidelityRealFlink(t *testing.T) {
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := dists[0]
	sc, err := scenario.Load("testdata/fidelity-pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The simulator models the real cluster's line (its 2.x model is 2.0's).
	if strings.HasPrefix(d.Version, "2.") {
		sc.FlinkVersion = "2.0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	simRun := &simFidelity{s: s, jobID: sim.JobID(sc.Name, sc.Jobs[0].Name), job: sc.Jobs[0].Name}

	c := startClusterWith(t, ctx, d, sc.Cluster.TaskManagers.Initial, local.ScenarioClusterConfig(sc))
	spec, err := local.ScenarioSpec(sc, 0, time.Now().Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	jobID, err := c.SubmitScenario(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	realRun := &realFidelity{ctx: ctx, c: c, jobID: jobID, job: sc.Jobs[0].Name,
		origin: time.UnixMilli(spec.OriginMs), vertices: spec.Vertices}
	if err := c.WaitJobRunning(ctx, jobID, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	// One real vertex per scenario vertex, named as in the scenario.
	var jd struct {
		Vertices []struct{ ID, Name string } `json:"vertices"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID, &jd); err != nil {
		t.Fatal(err)
	}
	if len(jd.Vertices) != len(spec.Vertices) {
		t.Fatalf("real job has %d vertices, the scenario %d", len(jd.Vertices), len(spec.Vertices))
	}
	for _, v := range jd.Vertices {
		if realRun.scenarioID(v.Name) == "" {
			t.Errorf("real vertex %q (%s) is no scenario vertex", v.Name, v.ID)
		}
	}

	type phase struct {
		name     string
		from, to time.Duration
	}
	phases := []phase{{"steady 120/s", 30 * time.Second, 50 * time.Second}, {"overload 300/s", 80 * time.Second, 100 * time.Second}}
	results := map[string]map[string]phaseStats{}
	var rescales, waits []time.Duration
	var drain []map[string]vertexSample
	for _, r := range []fidelityRun{simRun, realRun} {
		name := map[bool]string{true: "sim", false: "real"}[r == fidelityRun(simRun)]
		for _, ph := range phases {
			samples := window(t, r, ph.from, ph.to)
			for _, v := range []string{"src", "work", "agg"} {
				results[name+"/"+ph.name+"/"+v] = map[string]phaseStats{"": statsOver(samples, v, v == "src")}
			}
		}
		// Rescale work 2 → 4 at 104 s: capacity 400/s drains the lag built in the overload.
		rt := rescaleTime(t, r, 104*time.Second, "work", 4)
		rescales = append(rescales, rt)
		waits = append(waits, cpWait(t, r, 104*time.Second))
		from := (104*time.Second + rt + 10*time.Second).Truncate(time.Second)
		drain = window(t, r, from, from+14*time.Second)
		results[name+"/drain/work"] = map[string]phaseStats{"": statsOver(drain, "work", false)}
	}

	t.Logf("Flink %s, scenario %s; per vertex: rate r/s, busy ms/s, back-pressured ms/s, idle ms/s, source lag growth r/s (sim | real)", d.Version, sc.Name)
	for _, ph := range append([]string{phases[0].name, phases[1].name}, "drain") {
		for _, v := range []string{"src", "work", "agg"} {
			sm, ok := results["sim/"+ph+"/"+v]
			if !ok {
				continue
			}
			a, b := sm[""], results["real/"+ph+"/"+v][""]
			t.Logf("  %-15s %-5s rate %6.1f | %6.1f   busy %6.0f | %6.0f   bp %6.0f | %6.0f   idle %6.0f | %6.0f   lag %+6.1f | %+6.1f",
				ph, v, a.Rate, b.Rate, a.Busy, b.Busy, a.BackPr, b.BackPr, a.Idle, b.Idle, a.LagGrowth, b.LagGrowth)
		}
	}
	t.Logf("  real source lag metric %q", realRun.pending)
	type row struct {
		Phase, Vertex                                  string
		SimRate, RealRate, SimBusy, RealBusy           float64
		SimBackPressured, RealBackPressured            float64
		SimIdle, RealIdle, SimLagGrowth, RealLagGrowth float64
	}
	var rows []row
	for _, ph := range append([]string{phases[0].name, phases[1].name}, "drain") {
		for _, v := range []string{"src", "work", "agg"} {
			sm, ok := results["sim/"+ph+"/"+v]
			if !ok {
				continue
			}
			a, b := sm[""], results["real/"+ph+"/"+v][""]
			rows = append(rows, row{ph, v, a.Rate, b.Rate, a.Busy, b.Busy, a.BackPr, b.BackPr, a.Idle, b.Idle, a.LagGrowth, b.LagGrowth})
		}
	}
	testutil.WriteResult(t, "fidelity-"+d.Version, map[string]any{
		"flinkVersion": d.Version, "scenario": sc.Name, "phases": rows,
		"rescaleSeconds":               map[string]float64{"sim": rescales[0].Seconds(), "real": rescales[1].Seconds()},
		"rescaleCheckpointWaitSeconds": map[string]float64{"sim": waits[0].Seconds(), "real": waits[1].Seconds()},
	})
	t.Logf("  rescale work 2→4: job running again after %s (sim) | %s (real), of which waiting for a checkpoint %s | %s",
		rescales[0], rescales[1], waits[0], waits[1])

	// The scenario's arithmetic, for both runs: 120/s through work (2 × 100/s) → busy 600;
	// agg sees 120/s at 400/s → 300. At 300/s work saturates: 200/s through, busy ~1000, the
	// source back-pressured and lag growing by ~100/s. After the rescale, work drains at ~400/s.
	checks := []struct {
		key      string
		got      func(phaseStats) float64
		want, by float64
		what     string
	}{
		{"steady 120/s/work", func(s phaseStats) float64 { return s.Rate }, 120, 0.1, "rate"},
		{"steady 120/s/agg", func(s phaseStats) float64 { return s.Rate }, 120, 0.1, "rate"},
		{"steady 120/s/work", func(s phaseStats) float64 { return s.Busy }, 600, 0.2, "busy"},
		{"overload 300/s/work", func(s phaseStats) float64 { return s.Rate }, 200, 0.1, "rate"},
		{"overload 300/s/work", func(s phaseStats) float64 { return s.Busy }, 1000, 0.25, "busy"},
		{"overload 300/s/src", func(s phaseStats) float64 { return s.LagGrowth }, 100, 0.3, "lag growth"},
		{"drain/work", func(s phaseStats) float64 { return s.Rate }, 400, 0.15, "rate"},
	}
	for _, run := range []string{"sim", "real"} {
		for _, ck := range checks {
			got := ck.got(results[run+"/"+ck.key][""])
			if math.Abs(got-ck.want) > ck.by*ck.want {
				t.Errorf("%s %s %s = %.1f, want %.0f ± %.0f%%", run, ck.key, ck.what, got, ck.want, 100*ck.by)
			}
		}
	}
	if bp := results["real/overload 300/s/src"][""].BackPr; bp < 300 {
		t.Errorf("real source back-pressured %.0f ms/s under overload, want ≥ 300", bp)
	}
}

// simFidelity is the simulator's run.
type simFidelity struct {
	s          *sim.Sim
	jobID, job string
}

func (r *simFidelity) at(t time.Duration) (map[string]vertexSample, error) {
	r.s.AdvanceTo(r.s.Start().Add(t))
	jv, ok := r.s.Job(r.jobID)
	if !ok {
		return nil, fmt.Errorf("sim: no job %s", r.jobID)
	}
	out := map[string]vertexSample{}
	for _, v := range jv.Vertices {
		x := vertexSample{Parallelism: v.Parallelism, Running: v.Status == "RUNNING" && jv.Status == "RUNNING", At: t,
			Started: time.UnixMilli(v.StartTime).Sub(r.s.Start())}
		for _, st := range v.Subtasks {
			m := st.Metrics
			x.In += m.RecordsIn
			x.Out += m.RecordsOut
			x.Pending += float64(m.Pending)
			x.Busy += m.BusyMsPerSec / float64(len(v.Subtasks))
			x.BackPr += m.BackPressuredMs / float64(len(v.Subtasks))
			x.Idle += m.IdleMsPerSec / float64(len(v.Subtasks))
		}
		out[v.ScenarioID] = x
	}
	return out, nil
}

func (r *simFidelity) checkpointAcks() ([]time.Duration, error) {
	cp, _ := r.s.Checkpoints(r.jobID)
	var out []time.Duration
	for _, c := range cp.History {
		if c.Status == "COMPLETED" {
			out = append(out, time.UnixMilli(c.LatestAck).Sub(r.s.Start()))
		}
	}
	return out, nil
}

func (r *simFidelity) rescale(v string, p int) error {
	req, err := r.s.Requirements(r.jobID)
	if err != nil {
		return err
	}
	req[sim.VertexID(r.job, v)] = scheduler.Bounds{Lower: 1, Upper: p}
	_, err = r.s.SetRequirements(r.jobID, req)
	return err
}

// realFidelity is the real job's run; scenario time counts from the spec's origin.
type realFidelity struct {
	ctx        context.Context
	c          *local.Cluster
	jobID, job string
	origin     time.Time
	vertices   []local.SpecVertex
	pending    string // the source's pendingRecords metric name, once seen
}

func (r *realFidelity) at(t time.Duration) (map[string]vertexSample, error) {
	// The REST handlers answer from the MetricFetcher's store, refreshed in the background
	// after a request (every 500 ms at most: the scenario sets metrics.fetcher.update-interval,
	// which the simulator models too): a first round 700 ms early makes the answers at t
	// about that fresh.
	if time.Until(r.origin.Add(t)) > 700*time.Millisecond {
		if _, err := r.read(t - 700*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return r.read(t)
}

func (r *realFidelity) read(t time.Duration) (map[string]vertexSample, error) {
	if w := time.Until(r.origin.Add(t)); w > 0 {
		select {
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		case <-time.After(w):
		}
	}
	var jd struct {
		State    string `json:"state"`
		Vertices []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Parallelism int    `json:"parallelism"`
			Status      string `json:"status"`
			StartTime   int64  `json:"start-time"`
		} `json:"vertices"`
	}
	if err := r.c.GetJSON(r.ctx, "/jobs/"+r.jobID, &jd); err != nil {
		return nil, err
	}
	out := map[string]vertexSample{}
	at := time.Since(r.origin)
	for _, v := range jd.Vertices {
		id := r.scenarioID(v.Name)
		x := vertexSample{Parallelism: v.Parallelism, Running: v.Status == "RUNNING" && jd.State == "RUNNING", At: at,
			Started: time.UnixMilli(v.StartTime).Sub(r.origin)}
		base := "/jobs/" + r.jobID + "/vertices/" + v.ID + "/subtasks/metrics"
		get := []string{"numRecordsIn", "numRecordsOut", "busyTimeMsPerSecond", "backPressuredTimeMsPerSecond", "idleTimeMsPerSecond", "numRecordsInPerSecond", "numRecordsOutPerSecond"}
		if strings.HasPrefix(v.Name, "Source: ") {
			if r.pending == "" {
				var names []struct{ ID string }
				if err := r.c.GetJSON(r.ctx, base, &names); err == nil {
					for _, n := range names {
						if strings.HasSuffix(n.ID, ".pendingRecords") {
							r.pending = n.ID
						}
					}
				}
			}
			if r.pending != "" {
				get = append(get, r.pending)
			}
		}
		var raw []map[string]any
		if err := r.c.GetJSON(r.ctx, base+"?agg=sum,avg&get="+strings.Join(get, ","), &raw); err != nil && !isNotFound(err) {
			return nil, err
		}
		for _, m := range raw {
			id, _ := m["id"].(string)
			sum, _ := m["sum"].(float64)
			avg, _ := m["avg"].(float64)
			switch {
			case id == "numRecordsIn":
				x.In = sum
			case id == "numRecordsOut":
				x.Out = sum
			case id == "busyTimeMsPerSecond":
				x.Busy = avg
			case id == "backPressuredTimeMsPerSecond":
				x.BackPr = avg
			case id == "idleTimeMsPerSecond":
				x.Idle = avg
			case id == "numRecordsInPerSecond" && !strings.HasPrefix(v.Name, "Source: "),
				id == "numRecordsOutPerSecond" && strings.HasPrefix(v.Name, "Source: "):
				x.Meter = sum
			case strings.HasSuffix(id, ".pendingRecords"):
				x.Pending = sum
			}
		}
		out[id] = x
	}
	return out, nil
}

func isNotFound(err error) bool {
	return strings.Contains(err.Error(), fmt.Sprint(http.StatusNotFound))
}

func (r *realFidelity) checkpointAcks() ([]time.Duration, error) {
	var cp struct {
		History []struct {
			Status    string `json:"status"`
			LatestAck int64  `json:"latest_ack_timestamp"`
		} `json:"history"`
	}
	if err := r.c.GetJSON(r.ctx, "/jobs/"+r.jobID+"/checkpoints", &cp); err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, c := range cp.History {
		if c.Status == "COMPLETED" {
			out = append(out, time.UnixMilli(c.LatestAck).Sub(r.origin))
		}
	}
	return out, nil
}

func (r *realFidelity) rescale(v string, p int) error {
	type bounds struct {
		Parallelism scheduler.Bounds `json:"parallelism"`
	}
	req := map[string]bounds{}
	var jd struct {
		Vertices []struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			Parallelism int    `json:"parallelism"`
		} `json:"vertices"`
	}
	if err := r.c.GetJSON(r.ctx, "/jobs/"+r.jobID, &jd); err != nil {
		return err
	}
	for _, x := range jd.Vertices {
		b := scheduler.Bounds{Lower: 1, Upper: x.Parallelism}
		if r.scenarioID(x.Name) == v {
			b.Upper = p
		}
		req[x.ID] = bounds{b}
	}
	return r.c.PutJSON(r.ctx, "/jobs/"+r.jobID+"/resource-requirements", req)
}

// scenarioID is the scenario vertex a real vertex name belongs to ("" if none).
func (r *realFidelity) scenarioID(name string) string {
	for _, v := range r.vertices {
		if name == v.Name || (v.Load != nil && name == "Source: "+strings.TrimPrefix(v.Name, "Source: ")) {
			return v.ID
		}
	}
	return ""
}
