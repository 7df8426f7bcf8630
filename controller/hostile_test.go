package controller_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/collect"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
	"github.com/flinktune/flinktune/store"
)

// The hostile-endpoint fuzz test of issue 13: the simulator serves Flink's REST API, a proxy
// in front of it rewrites its answers as a broken or hostile endpoint would (extreme numbers,
// NaN and Infinity, overflowing literals, wrong types, 10,000 vertices, truncated or random
// bodies), and the whole control loop (collector, the operator and flinktune policies, the
// memory tuner, the store) runs on them. Whatever the answers: no panic, no crash, nothing
// that cannot be persisted, and no decision on a cycle whose data was found bad.

const hostileScenario = `
name: hostile
seed: 7
duration: 2h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 2, min: 1, max: 8}
jobs:
  - name: etl
    config:
      pipeline.max-parallelism: 120
      execution.checkpointing.interval: 20s
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 40000, partitions: 12}
      - {id: enrich, name: "Map: enrich", parallelism: 1, capacity: 6000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 3000}
      - {source: src, at: 3m, rate: 15000}
`

// Short windows so that a decision is due within minutes of simulated time.
var hostileConfig = map[string]string{
	"job.autoscaler.metrics.window":         "2m",
	"job.autoscaler.stabilization.interval": "30s",
	"job.autoscaler.memory.tuning.enabled":  "true",
	"job.autoscaler.scaling.event.interval": "1m",
	"flinktune.settle":                      "1m",
	"job.autoscaler.restart.time":           "30s",
	"job.autoscaler.catch-up.duration":      "2m",
	"job.autoscaler.scale-down.interval":    "1m",
}

const (
	hostileInterval = 10 * time.Second
	// The load steps up after cycle 18: on clean data the operator policy decides at once,
	// flinktune's about 9 cycles later, both within the hostile cycles.
	warmCycles    = 16 // clean cycles before the hostile ones
	hostileCycles = 14
)

// mutation rewrites one kind of answer.
type mutation struct {
	endpoint int    // index into hostileEndpoints
	index    uint16 // which number, array or byte it hits
	value    byte   // what it becomes (see extremes) or, from 0xF0, a whole-body mode
}

// hostileEndpoints classify the collector's calls.
var hostileEndpoints = []func(path, query string) bool{
	func(p, q string) bool { return p == "/jobs/overview" },
	func(p, q string) bool { return strings.Count(p, "/") == 2 && strings.HasPrefix(p, "/jobs/") }, // job details
	func(p, q string) bool { return strings.HasSuffix(p, "/subtasks/metrics") && q != "" },
	func(p, q string) bool { return strings.HasSuffix(p, "/subtasks/metrics") && q == "" },
	func(p, q string) bool { return p == "/taskmanagers/metrics" },
	func(p, q string) bool { return p == "/jobmanager/metrics" },
	func(p, q string) bool {
		return strings.HasPrefix(p, "/jobs/") && strings.HasSuffix(p, "/metrics") && !strings.Contains(p, "vertices")
	},
	func(p, q string) bool { return p == "/taskmanagers" },
	func(p, q string) bool { return strings.HasSuffix(p, "/jobmanager/config") },
	func(p, q string) bool { return strings.HasSuffix(p, "/resource-requirements") },
	func(p, q string) bool { return strings.HasSuffix(p, "/exceptions") },
	func(p, q string) bool { return p == "/config" },
}

// extremes are the values a number (or a numeric string) is replaced with: raw JSON
// tokens, non-JSON tokens Jackson may write, and wrong types.
var extremes = []string{"1e308", "-1e308", "1e400", "-1", "0", "2147483648", "9223372036854775808", "32769",
	"10000", "NaN", "Infinity", "-Infinity", "1.5", "null", `"x"`, "true", "[]", "{}", "-0.0001", "4294967296e9",
	"1e-320", "253402300800000", "99999999999999999999999"}

func parseMutations(data []byte) []mutation {
	var out []mutation
	for len(data) >= 4 && len(out) < 8 {
		out = append(out, mutation{endpoint: int(data[0]) % len(hostileEndpoints), index: binary.BigEndian.Uint16(data[1:3]), value: data[3]})
		data = data[4:]
	}
	return out
}

// hostileProxy serves the simulator's answers, rewritten by the active mutations, and counts
// the rescale PUTs that reach the simulator.
type hostileProxy struct {
	srv *simrest.Server

	mu     sync.Mutex
	active []mutation
	puts   int
	noBulk bool // multiplied arrays (megabytes per answer) only in the first hostile cycle
}

func (h *hostileProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		h.mu.Lock()
		h.puts++
		h.mu.Unlock()
		h.srv.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	h.mu.Lock()
	muts := slices.Clone(h.active)
	h.mu.Unlock()
	h.mu.Lock()
	noBulk := h.noBulk
	h.mu.Unlock()
	for _, m := range muts {
		if noBulk && m.value >= 0xF0 && m.value < 0xFE {
			continue
		}
		if hostileEndpoints[m.endpoint](r.URL.Path, r.URL.RawQuery) {
			body = mutate(body, m)
		}
	}
	for k, vs := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// mutate applies one mutation to a JSON body.
func mutate(body []byte, m mutation) []byte {
	switch {
	case m.value == 0xFF: // truncated
		return body[:int(m.index)%(len(body)+1)]
	case m.value == 0xFE: // random bytes
		b := make([]byte, int(m.index)%64)
		for i := range b {
			b[i] = byte(int(m.index)*31 + i*7)
		}
		return b
	case m.value == 0xF0: // an array multiplied: 10,000 vertices (issue 13), TaskManagers, metrics
		return multiplyArray(body, int(m.index), 10_001)
	case m.value > 0xF0:
		return multiplyArray(body, int(m.index), 1_001)
	}
	return replaceNumber(body, int(m.index), extremes[int(m.value)%len(extremes)])
}

// replaceNumber replaces the n-th number (or numeric string) of body, in document order,
// by the raw token tok.
func replaceNumber(body []byte, n int, tok string) []byte {
	var spans [][2]int64
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		t, err := dec.Token()
		if err != nil {
			break
		}
		end := dec.InputOffset()
		switch v := t.(type) {
		case json.Number:
			spans = append(spans, [2]int64{start, end})
		case string:
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				spans = append(spans, [2]int64{start, end})
			}
		}
	}
	if len(spans) == 0 {
		return body
	}
	sp := spans[n%len(spans)]
	// The span may start with the separator the decoder skipped: keep it.
	lead := bytes.IndexFunc(body[sp[0]:sp[1]], func(r rune) bool { return r != ',' && r != ':' && r != ' ' && r != '\n' })
	if lead < 0 {
		return body
	}
	from := int(sp[0]) + lead
	out := append([]byte{}, body[:from]...)
	if body[from] == '"' && !strings.HasPrefix(tok, `"`) && tok != "null" && tok != "true" && tok != "[]" && tok != "{}" {
		tok = `"` + tok + `"` // a numeric string stays a string
	}
	out = append(out, tok...)
	return append(out, body[sp[1]:]...)
}

// multiplyArray repeats the first element of the n-th non-empty array (document order)
// until it has count elements, splicing bytes (the proxy must stay cheap at 10 MB).
func multiplyArray(body []byte, n, count int) []byte {
	var starts []int64 // offsets just past each '[' followed by an element
	dec := json.NewDecoder(bytes.NewReader(body))
	prevOpen := int64(-1)
	for {
		t, err := dec.Token()
		if err != nil {
			break
		}
		if prevOpen >= 0 && t != json.Delim(']') {
			starts = append(starts, prevOpen)
		}
		prevOpen = -1
		if t == json.Delim('[') {
			prevOpen = dec.InputOffset()
		}
	}
	if len(starts) == 0 {
		return body
	}
	at := starts[n%len(starts)]
	var first json.RawMessage
	if json.NewDecoder(bytes.NewReader(body[at:])).Decode(&first) != nil {
		return body
	}
	out := make([]byte, 0, len(body)+(len(first)+1)*count)
	out = append(out, body[:at]...)
	for range count - 1 {
		out = append(out, first...)
		out = append(out, ',')
	}
	return append(out, body[at:]...)
}

// hostileRun runs the control loop on the simulator: warmCycles clean cycles, then
// hostileCycles with the mutations, then checks every cycle's outcome.
func hostileRun(t *testing.T, policy string, muts []mutation) (decisions int) {
	sc, err := scenario.Parse([]byte(hostileScenario), "hostile.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	proxy := &hostileProxy{srv: simrest.New(s, simrest.Options{})}
	client, err := flinkrest.New("http://simulator", flinkrest.WithHTTPClient(&http.Client{Transport: simrest.RoundTripper(proxy)}),
		flinkrest.WithRetries(0, 0, 0), flinkrest.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenWith(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctl := controller.New(st, []controller.Cluster{controller.FlinkCluster("simulator", client, 10*time.Second)}, policies.New,
		controller.Options{Policy: policy, AllJobs: true, Base: flinkconf.FromMap(hostileConfig), Interval: hostileInterval, Parallelism: 2})
	ctx := context.Background()
	job := store.JobKey{Cluster: "simulator", JobID: sim.JobID("hostile", "etl")}
	for i := range warmCycles + hostileCycles {
		if i == warmCycles || i == warmCycles+1 {
			proxy.mu.Lock()
			proxy.active, proxy.noBulk = muts, i > warmCycles
			proxy.mu.Unlock()
		}
		proxy.srv.Advance(hostileInterval)
		proxy.mu.Lock()
		putsBefore := proxy.puts
		proxy.mu.Unlock()
		histBefore, err := st.History(job, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		rep := ctl.RunOnce(ctx, s.Now())
		decisions += rep.Scaled
		bad := false
		for _, err := range rep.Errors {
			msg := err.Error()
			if strings.Contains(msg, "panic") || strings.Contains(msg, "persist") || strings.Contains(msg, "unsupported value") {
				t.Fatalf("%s, cycle %d, mutations %+v: %v", policy, i, muts, err)
			}
			bad = bad || collect.IsBadData(err)
		}
		if !bad {
			continue
		}
		histAfter, _ := st.History(job, time.Time{})
		proxy.mu.Lock()
		puts := proxy.puts - putsBefore
		proxy.mu.Unlock()
		if rep.Scaled != 0 || rep.Realized != 0 || puts != 0 || len(histAfter) != len(histBefore) {
			t.Fatalf("%s, cycle %d: a decision on bad data (scaled %d, realized %d, PUTs %d, history %d -> %d): %v",
				policy, i, rep.Scaled, rep.Realized, puts, len(histBefore), len(histAfter), rep.Errors)
		}
	}
	// Whatever happened, the job's stored state reads back.
	if _, _, err := st.Job(job); err != nil {
		t.Fatalf("%s: stored job state: %v", policy, err)
	}
	return decisions
}

func hostileSeeds() [][]byte {
	var seeds [][]byte
	add := func(ms ...mutation) {
		var b []byte
		for _, m := range ms {
			b = append(b, byte(m.endpoint), byte(m.index>>8), byte(m.index), m.value)
		}
		seeds = append(seeds, b)
	}
	ext := func(s string) byte { return byte(slices.Index(extremes, s)) }
	add()                                                           // clean: the harness must see decisions, or "no decision on bad data" means nothing
	add(mutation{4, 0, ext("1e308")}, mutation{4, 3, ext("1e308")}) // TaskManager gauges of 1e308 (issue 13)
	add(mutation{4, 1, ext("Infinity")}, mutation{5, 0, ext("Infinity")})
	add(mutation{2, 0, ext("NaN")}, mutation{2, 2, ext("-Infinity")})
	add(mutation{1, 5, ext("-1")})    // negative parallelism (or whatever number 5 is)
	add(mutation{1, 7, ext("32769")}) // beyond Flink's max parallelism
	add(mutation{1, 3, ext("1e400")}) // overflows float64
	add(mutation{1, 4, ext("9223372036854775808")})
	add(mutation{1, 0, 0xF0})  // 10,000 of the first array of the job details (vertices)
	add(mutation{7, 0, 0xF0})  // 10,000 TaskManagers
	add(mutation{2, 40, 0xFF}) // truncated metrics
	add(mutation{9, 7, 0xFE})  // random resource requirements
	add(mutation{5, 1, ext(`"x"`)}, mutation{6, 0, ext("1e308")})
	add(mutation{10, 2, ext("253402300800000")}) // exception timestamps past year 9999
	add(mutation{1, 2, ext("253402300800000")})  // "now" past year 9999
	return seeds
}

// FuzzHostileEndpoint runs a policy (each with its memory tuner; the seed corpus, which runs
// in the normal go test, has every seed under both) on the mutated answers. One input stays
// well under the fuzzing engine's 10 s limit per input.
func FuzzHostileEndpoint(f *testing.F) {
	// The in-process policies; operator-java needs a JVM (integration tier).
	inProcess := []string{"flinktune", "operator"}
	for _, s := range hostileSeeds() {
		for p := range inProcess {
			f.Add(s, uint8(p))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, p uint8) {
		muts := parseMutations(data)
		policy := inProcess[int(p)%len(inProcess)]
		n := hostileRun(t, policy, muts)
		if len(muts) == 0 && n == 0 {
			t.Errorf("%s: no decision on clean data within %d cycles: the harness checks nothing", policy, warmCycles+hostileCycles)
		}
	})
}
