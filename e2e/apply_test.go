package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/flinktune/flinktune/store"
)

// killScenario is the ramp with a long step (4 to 30 simulated minutes, 26 wall seconds at
// simSpeed), so that a loaded machine still sees the first rescale within it.
var killScenario = strings.Replace(rampScenario, "{source: src, at: 14m, rate: 3000}", "{source: src, at: 30m, rate: 3000}", 1)

// startKillSim serves killScenario like startSim.
func startKillSim(t *testing.T) (url, job string) {
	t.Helper()
	if killScenario == rampScenario {
		t.Fatal("killScenario did not change the ramp")
	}
	return serveScenario(t, killScenario)
}

// flinkProxy stands between flinktune run and the simulated Flink, records every PUT of
// resource requirements and can kill run at a chosen step of applying one: before the PUT
// reaches Flink, or after Flink accepted it but before run hears the answer.
type flinkProxy struct {
	url string

	mu       sync.Mutex
	accepted []string // bodies of PUTs Flink answered 200 that changed a vertex's parallelism
	dropped  []string // bodies of PUTs that never reached Flink
	// relaxed are accepted PUTs that changed lower bounds only: the end of a scale-up's
	// hold for its slots (realize.Rescale.Relax), not a rescale.
	relaxed []string
	uppers  map[string]int // the upper bounds of the last accepted PUT
	// beforePut and afterPut, when set, are called with the body; true means "the process
	// was killed now" (the PUT is dropped, or its answer never delivered).
	beforePut func(body string) bool
	afterPut  func(body string) bool
}

func newFlinkProxy(t *testing.T, flink string) *flinkProxy {
	t.Helper()
	target, err := url.Parse(flink)
	if err != nil {
		t.Fatal(err)
	}
	p := &flinkProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.HasSuffix(r.URL.Path, "/resource-requirements") {
			rp.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		before, after := p.beforePut, p.afterPut
		p.mu.Unlock()
		if before != nil && before(string(body)) {
			p.mu.Lock()
			p.dropped = append(p.dropped, string(body))
			p.mu.Unlock()
			panic(http.ErrAbortHandler) // the sender is dead; Flink never hears of it
		}
		req, _ := http.NewRequest(http.MethodPut, flink+r.URL.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			p.accept(t, body)
		}
		if after != nil && after(string(body)) {
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// accept records a PUT Flink took, as a rescale or, when only lower bounds changed, a relax.
func (p *flinkProxy) accept(t *testing.T, body []byte) {
	var req map[string]struct {
		Parallelism struct{ UpperBound int } `json:"parallelism"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Errorf("PUT body %s: %v", body, err)
	}
	uppers := map[string]int{}
	for id, v := range req {
		uppers[id] = v.Parallelism.UpperBound
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.uppers != nil && maps.Equal(uppers, p.uppers) {
		p.relaxed = append(p.relaxed, string(body))
		return
	}
	p.uppers = uppers
	p.accepted = append(p.accepted, string(body))
}

func (p *flinkProxy) relaxedPUTs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.relaxed...)
}

func (p *flinkProxy) counts() (accepted, dropped []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.accepted...), append([]string(nil), p.dropped...)
}

// killOnce returns a hook that SIGKILLs run the first time it is called, and a channel
// closed once it did.
func killOnce(run **proc) (func(string) bool, chan struct{}) {
	var once sync.Once
	done := make(chan struct{})
	return func(string) bool {
		killed := false
		once.Do(func() {
			(*run).cmd.Process.Signal(syscall.SIGKILL)
			(*run).cmd.Wait()
			killed = true
			close(done)
		})
		return killed
	}, done
}

// killAtFirstPut starts run on the proxy and kills it with SIGKILL at the first PUT, where
// slot (the proxy's beforePut or afterPut) places the kill; the hook is cleared afterwards.
// It logs when in the job's time that was: the margin the step leaves on this machine.
func killAtFirstPut(t *testing.T, p *flinkProxy, flink, job, dataDir string, slot *func(string) bool) {
	t.Helper()
	var run *proc
	hook, killed := killOnce(&run)
	p.mu.Lock()
	*slot = hook
	p.mu.Unlock()
	run, _ = startRun(t, p.url, dataDir)
	waitTimeout(t, killed, "the first PUT", 180*time.Second)
	p.mu.Lock()
	*slot = nil
	p.mu.Unlock()
	t.Logf("run killed at the first PUT, %.0f s into the job's time", simStats(t, flink, job).SimulatedSeconds)
}

func eventsOf(t *testing.T, listen, job string) map[string]int {
	t.Helper()
	var events []store.Event
	getJSON(t, listen+"/api/v1/events?job="+job[:8], &events)
	out := map[string]int{}
	for _, e := range events {
		out[e.Reason]++
	}
	return out
}

func waitTimeout(t *testing.T, ch chan struct{}, what string, d time.Duration) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// checkEveryRescaleRecorded: every change Flink took has exactly one Scaling event, and no
// scale-up's hold for its slots outlives it. A held scale-up lands only when its TaskManagers
// have started, and its bounds drop a cycle later: up to 4 minutes of the job's time (the
// slot wait is 2) are given to that first.
func checkEveryRescaleRecorded(t *testing.T, p *flinkProxy, listen, flink, job string) {
	t.Helper()
	landed := func() bool {
		accepted, _ := p.counts()
		return simStats(t, flink, job).Rescales >= len(accepted) && len(raisedLowerBounds(t, flink, job)) == 0
	}
	for i := 0; i < 24 && !landed(); i++ {
		duringJobTime(t, flink, listen, job, 10*time.Second, nil)
	}
	accepted, _ := p.counts()
	ev := eventsOf(t, listen, job)
	st := simStats(t, flink, job)
	if ev["Scaling"] != len(accepted) {
		t.Errorf("Flink accepted %d PUTs, flinktune recorded %d Scaling events (%v)", len(accepted), ev["Scaling"], ev)
	}
	if st.Rescales != ev["Scaling"] {
		t.Errorf("Flink rescaled %d times, flinktune recorded %d", st.Rescales, ev["Scaling"])
	}
	// Raised lower bounds left behind would keep a job that fails over from restarting with
	// fewer slots.
	if st.Rescales > 0 && len(p.relaxedPUTs()) == 0 {
		t.Errorf("no PUT lowered the bounds back after the rescales (%d accepted)", len(accepted))
	}
	for _, b := range raisedLowerBounds(t, flink, job) {
		t.Errorf("left with a raised lower bound: %s", b)
	}
}

// raisedLowerBounds lists the job's vertices whose lower bound is above 1.
func raisedLowerBounds(t *testing.T, flink, job string) []string {
	t.Helper()
	var req map[string]struct {
		Parallelism struct{ LowerBound, UpperBound int } `json:"parallelism"`
	}
	getJSON(t, flink+"/jobs/"+job+"/resource-requirements", &req)
	var out []string
	for id, v := range req {
		if v.Parallelism.LowerBound > 1 {
			out = append(out, fmt.Sprintf("vertex %s [%d, %d]", id, v.Parallelism.LowerBound, v.Parallelism.UpperBound))
		}
	}
	return out
}

// TestKillBeforePut: run is killed after it committed a decision, before the PUT reaches
// Flink, and restarted after the load that motivated it is gone (the step ends at 30 min).
// The old decision is not replayed: the intent is dropped with an event, nothing is sent
// that a fresh decision does not back.
func TestKillBeforePut(t *testing.T) {
	t.Parallel()
	flink, job := startKillSim(t)
	p := newFlinkProxy(t, flink)
	dataDir := t.TempDir()
	killAtFirstPut(t, p, flink, job, dataDir, &p.beforePut)
	_, dropped := p.counts()
	stale := dropped[0]
	// Restart much later: the step load is over.
	waitFor(t, "the load to drop", 180*time.Second, func() bool { return simStats(t, flink, job).SimulatedSeconds > 31*60 })
	run, listen := startRun(t, p.url, dataDir)
	waitFor(t, "the stale intent to be dropped", 60*time.Second, func() bool { return eventsOf(t, listen, job)["StaleIntentDropped"] == 1 })
	duringJobTime(t, flink, listen, job, 4*time.Minute, nil) // cycles on fresh metrics
	accepted, _ := p.counts()
	checkEveryRescaleRecorded(t, p, listen, flink, job)
	t.Logf("stale PUT dropped: %s; after restart: %d PUTs %q, events %v", stale, len(accepted), accepted, eventsOf(t, listen, job))
	checkDecidedAfterDrop(t, checkHistory(t, p, run, dataDir, job))
}

// checkDecidedAfterDrop: the history has the stale intent dropped, and every rescale applied
// after that was decided by the restarted run (a decided entry of the same parallelism
// right before it). Comparing the PUTs with the stale one instead would fail when the
// fresh decision (the backlog of the step after it ends) happens to take the same parallelism.
func checkDecidedAfterDrop(t *testing.T, hist []store.HistoryEntry) {
	t.Helper()
	i := slices.IndexFunc(hist, func(e store.HistoryEntry) bool { return e.Action == store.ActionDropped })
	if i < 0 {
		t.Errorf("history %s: want the stale intent recorded as dropped", actions(hist))
		return
	}
	for j := i + 1; j < len(hist); j++ {
		if hist[j].Action == store.ActionApplied && (hist[j-1].Action != store.ActionDecided || !maps.Equal(hist[j-1].To, hist[j].To)) {
			t.Errorf("history %s: %v applied after the restart without a decision of its own (the stale one replayed?)", actions(hist), hist[j].To)
		}
	}
}

// TestKillAfterPutAccepted: run is killed after Flink accepted the PUT, before run heard the
// answer (and so before it recorded anything). The restarted run finds the change in Flink
// and records it: a history entry and a Scaling event, without sending it again.
func TestKillAfterPutAccepted(t *testing.T) {
	t.Parallel()
	flink, job := startKillSim(t)
	p := newFlinkProxy(t, flink)
	dataDir := t.TempDir()
	killAtFirstPut(t, p, flink, job, dataDir, &p.afterPut)
	first, _ := p.counts()
	run, listen := startRun(t, p.url, dataDir)
	waitFor(t, "the rescale to be recorded", 60*time.Second, func() bool { return eventsOf(t, listen, job)["Scaling"] >= 1 })
	duringJobTime(t, flink, listen, job, 2*time.Minute, nil)
	accepted, _ := p.counts()
	for _, b := range accepted[1:] {
		if b == first[0] {
			t.Errorf("the accepted PUT was sent again: %s", b)
		}
	}
	checkEveryRescaleRecorded(t, p, listen, flink, job)
	hist := checkHistory(t, p, run, dataDir, job)
	if !strings.Contains(actions(hist), store.ActionReconciled) {
		t.Errorf("history %s: want the rescale recorded as reconciled", actions(hist))
	}
}

// checkHistory stops run and checks that every PUT Flink accepted has a history entry
// (applied, or reconciled after a restart).
func checkHistory(t *testing.T, p *flinkProxy, run *proc, dataDir, job string) []store.HistoryEntry {
	t.Helper()
	hist := historyOf(t, run, dataDir, job)
	n := 0
	for _, e := range hist {
		if e.Action == store.ActionApplied || e.Action == store.ActionReconciled {
			n++
		}
	}
	if accepted, _ := p.counts(); n != len(accepted) {
		t.Errorf("Flink accepted %d PUTs, history records %d applied: %s", len(accepted), n, actions(hist))
	}
	return hist
}

// actions lists the history's actions, in order.
func actions(hist []store.HistoryEntry) string {
	var out []string
	for _, e := range hist {
		out = append(out, e.Action)
	}
	return strings.Join(out, ",")
}

// historyOf stops run (SIGTERM) and reads the job's history from the data directory.
func historyOf(t *testing.T, run *proc, dataDir, job string) []store.HistoryEntry {
	t.Helper()
	run.cmd.Process.Signal(syscall.SIGTERM)
	run.cmd.Wait()
	st, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	var out []store.HistoryEntry
	for _, j := range jobs {
		if j.Key.JobID != job {
			continue
		}
		h, err := st.History(j.Key, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h...)
	}
	return out
}

// TestKillAfterCommit: run is killed right after it recorded an applied rescale. The
// restarted run neither records it again nor re-sends it.
func TestKillAfterCommit(t *testing.T) {
	t.Parallel()
	flink, job := startKillSim(t)
	p := newFlinkProxy(t, flink)
	dataDir := t.TempDir()
	run, listen := startRun(t, p.url, dataDir)
	waitFor(t, "a recorded rescale", 180*time.Second, func() bool { return eventsOf(t, listen, job)["Scaling"] >= 1 })
	run.cmd.Process.Signal(syscall.SIGKILL)
	run.cmd.Wait()
	before, _ := p.counts()
	run, listen = startRun(t, p.url, dataDir)
	duringJobTime(t, flink, listen, job, 3*time.Minute, nil)
	accepted, _ := p.counts()
	for _, b := range accepted[len(before):] {
		for _, old := range before {
			if b == old {
				t.Errorf("re-sent after the restart: %s", b)
			}
		}
	}
	checkEveryRescaleRecorded(t, p, listen, flink, job)
	checkHistory(t, p, run, dataDir, job)
}

// setFileSizeLimit sets RLIMIT_FSIZE of a running process: writes past limit fail (EFBIG),
// as on a full disk, without needing root for a small file system.
func setFileSizeLimit(t *testing.T, pid int, limit uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: limit, Max: ^uint64(0)}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_FSIZE),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0); e != 0 {
		t.Skipf("prlimit: %v", e)
	}
}

func healthz(t *testing.T, listen string) (int, string) {
	t.Helper()
	resp, err := http.Get(listen + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func metricValue(t *testing.T, listen, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(metricsText(t, listen))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestFullDisk: from its first cycle on, run cannot write its data directory (every write
// past 8 KiB fails, as on a full disk). The load step makes the policy decide a scale-up:
// it is not applied, /healthz fails and the error metric rises. Once the disk has room
// again, the job recovers, and every rescale Flink took is recorded.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	flink, job := startKillSim(t)
	p := newFlinkProxy(t, flink)
	dataDir := t.TempDir()
	run, listen := startRun(t, p.url, dataDir)
	waitFor(t, "the first cycle", 30*time.Second, func() bool {
		fi, err := os.Stat(filepath.Join(dataDir, store.FileName))
		return err == nil && fi.Size() > 0 && metricValue(t, listen, "flinktune_jobs_unrecordable") == "0"
	})
	setFileSizeLimit(t, run.cmd.Process.Pid, 8192)
	waitFor(t, "/healthz to fail", 60*time.Second, func() bool { code, _ := healthz(t, listen); return code == 503 })
	// The step load comes at 4 simulated minutes: the policy decides a scale-up, which is
	// not applied, neither in its cycle nor in the next ones.
	waitFor(t, "a scale-up decision", 120*time.Second, func() bool { return jobMetric(t, listen, job, "flinktune_scalings_total") >= 1 })
	duringJobTime(t, flink, listen, job, 2*time.Minute, nil)
	if accepted, _ := p.counts(); len(accepted) != 0 {
		t.Fatalf("rescaled while the store could not record it: %v", accepted)
	}
	code, body := healthz(t, listen)
	if code != 503 || !strings.Contains(body, "write failed") && !strings.Contains(body, "cannot record") {
		t.Errorf("/healthz %d %s", code, body)
	}
	if v := metricValue(t, listen, "flinktune_store_errors_total"); v == "" || v == "0" {
		t.Errorf("flinktune_store_errors_total = %q", v)
	}
	setFileSizeLimit(t, run.cmd.Process.Pid, ^uint64(0))
	waitFor(t, "/healthz to recover", 60*time.Second, func() bool { code, _ := healthz(t, listen); return code == 200 })
	waitFor(t, "a recorded rescale after recovery", 120*time.Second, func() bool { return eventsOf(t, listen, job)["Scaling"] >= 1 })
	t.Logf("rescaled after recovery, %.0f s into the job's time", simStats(t, flink, job).SimulatedSeconds)
	duringJobTime(t, flink, listen, job, time.Minute, nil) // Flink restarts the job on the new parallelism
	checkEveryRescaleRecorded(t, p, listen, flink, job)
	checkHistory(t, p, run, dataDir, job)
}

// TestStoreTruncatedUnderRun: the wedge. The database is cut short under a
// running flinktune (to its first three pages, so that pages in use are gone: bbolt
// reuses freed pages, and the back half of a small file is often all free): /healthz turns 503 (no segfault, no wedge), /api/v1/events answers,
// SIGTERM stops it promptly, and the restart refuses the damaged store with the way out,
// which works.
func TestStoreTruncatedUnderRun(t *testing.T) {
	t.Parallel()
	flink, job := startSim(t)
	dataDir := t.TempDir()
	run, listen := startRun(t, flink, dataDir)
	waitFor(t, "a few events", 120*time.Second, func() bool { return len(eventsOf(t, listen, job)) >= 1 })
	path := filepath.Join(dataDir, store.FileName)
	if err := os.Truncate(path, 3*int64(os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/healthz to fail", 60*time.Second, func() bool { code, _ := healthz(t, listen); return code == 503 })
	resp, err := http.Get(listen + "/api/v1/events")
	if err != nil {
		t.Fatalf("events after damage: %v", err)
	}
	resp.Body.Close()
	if code, body := healthz(t, listen); code != 503 || !strings.Contains(body, "damaged") {
		t.Errorf("/healthz %d %s", code, body)
	}
	run.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { run.cmd.Wait(); close(exited) }()
	waitTimeout(t, exited, "run to stop after SIGTERM", 45*time.Second)

	again := start(t, "run", "--flink", flink, "--all-jobs", "--data-dir", dataDir)
	again.waitLine(t, regexp.MustCompile(`is damaged .*flinktune store repair --data-dir`), 30*time.Second)
	repair := start(t, "store", "repair", "--data-dir", dataDir)
	repair.waitLine(t, regexp.MustCompile(`repaired .*kept`), 60*time.Second)
	_, listen = startRun(t, flink, dataDir)
	if code, body := healthz(t, listen); code != 200 {
		t.Errorf("after repair: /healthz %d %s", code, body)
	}
}

// TestFullDiskTmpfs: the data directory on a real 2 MiB file system (tmpfs; needs root,
// skipped otherwise) that is filled up under a running flinktune, then freed. Whatever bbolt
// manages to commit in free pages of its own file, every change Flink took has a Scaling
// event, run never crashes, and while commits fail /healthz says so.
func TestFullDiskTmpfs(t *testing.T) {
	t.Parallel()
	mnt := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(mnt, 0o755)
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("cannot mount a small tmpfs (not root?): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	flink, job := startKillSim(t)
	p := newFlinkProxy(t, flink)
	run, listen := startRun(t, p.url, mnt)
	waitFor(t, "the first cycle", 30*time.Second, func() bool { return metricValue(t, listen, "flinktune_jobs_unrecordable") == "0" })
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !strings.Contains(err.Error(), "no space") {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	sawFailure := false
	duringJobTime(t, flink, listen, job, 7*time.Minute+30*time.Second, func() {
		if v := metricValue(t, listen, "flinktune_jobs_unrecordable"); v != "" && v != "0" {
			if code, body := healthz(t, listen); code != 503 {
				t.Errorf("a job cannot record, /healthz %d %s", code, body)
			}
			sawFailure = true
		}
	})
	t.Logf("commits failed on the full file system: %v; store errors %s", sawFailure, metricValue(t, listen, "flinktune_store_errors_total"))
	os.Remove(filler)
	waitFor(t, "/healthz to be 200", 60*time.Second, func() bool { code, _ := healthz(t, listen); return code == 200 })
	waitFor(t, "a recorded rescale", 120*time.Second, func() bool { return eventsOf(t, listen, job)["Scaling"] >= 1 })
	t.Logf("rescale recorded, %.0f s into the job's time", simStats(t, flink, job).SimulatedSeconds)
	duringJobTime(t, flink, listen, job, time.Minute, nil) // Flink restarts the job on the new parallelism
	checkEveryRescaleRecorded(t, p, listen, flink, job)
	if run.cmd.ProcessState != nil {
		t.Errorf("run exited: %v", run.cmd.ProcessState)
	}
	checkHistory(t, p, run, mnt, job)
}
