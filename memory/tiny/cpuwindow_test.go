package tiny_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The measured side of the Serial model's rate: MiB of records per CPU-second of the threads the
// model prices, the slots' task threads (the pipeline's work) and the collector's (young and full
// collections), read per thread from /proc/<pid>/task/<tid>/schedstat (nanoseconds on the CPU and
// nanoseconds runnable but waiting for it). The JIT's threads, Flink's own (RPC, metrics,
// heartbeats) and the JVM's others are not in the model: on a loaded machine they are a large and
// varying share of the process's CPU (the JIT still compiling when the pipeline has had 3
// CPU-seconds), so the process's CPU time is not the model's quantity.
//
// A run is cut into windows of at least cpuWindowCPU of those CPU-seconds; a window counts only
// if those threads got at least minTaskShare of the time they were runnable, the hypervisor stole
// at most maxSteal of the machine's time in it and the JIT was quiet. The model predicts a job
// that gets the CPUs its slots ask for; a starved one measures something else: at load 20 the
// two slots of the -Xmx80m calibration profile ran at 3,200-4,500 MiB per CPU-second in windows
// where they got 41-59% of their runnable time (taking turns on one CPU) and at 2,700-3,300 in
// windows where they got 64-87% (side by side), and the same run's median moved with the mix.
// The rate is the median over the windows that count.

const (
	cpuWindowCPU = 0.5  // CPU-seconds of task and collector threads per window
	minTaskShare = 0.8  // of the time the task and collector threads were runnable, the share they ran
	maxSteal     = 0.1  // of the machine's time, stolen by the hypervisor
	maxJITShare  = 0.05 // the JIT's CPU beside the pipeline's: still compiling, not steady state
)

// threadRole is a JVM thread's part in the model, from its name (comm, 15 bytes at most).
// Flink names a task's thread after its chain ("Source: datagen -> filter -> sink (1/2)#0");
// Serial's and Parallel's collections run in the "VM Thread", G1's in "GC Thread#n" beside
// "G1 Conc#n", "G1 Refine#n", "G1 Main Marker" and "G1 Service"; the JIT compilers are
// "C1 CompilerThre" and "C2 CompilerThre".
func threadRole(comm string) string {
	switch {
	case strings.HasPrefix(comm, "Source: "):
		return "task"
	case comm == "VM Thread" || strings.HasPrefix(comm, "GC Thread") || strings.HasPrefix(comm, "G1 "):
		return "gc"
	case strings.HasPrefix(comm, "C1 Compiler") || strings.HasPrefix(comm, "C2 Compiler"):
		return "jit"
	}
	return "other"
}

// schedThread is one thread's cumulative scheduler times, seconds.
type schedThread struct {
	role         string
	onCPU, delay float64
}

// schedSnap is a process's threads (by thread id) and the machine's CPU time (/proc/stat,
// jiffies) at one instant.
type schedSnap struct {
	threads          map[string]schedThread
	machine, stolen  float64
	records, jvmMs   int64
	process, wallSec float64 // the process's CPU seconds (utime+stime); wall seconds since start
	// pinned is the CPUs the process was confined to (FLINKTUNE_TINY_CPUS), 0 when not.
	pinned int
}

// readSched reads process pid's threads' schedstat and the machine's steal time.
func readSched(pid int) schedSnap {
	s := schedSnap{threads: map[string]schedThread{}}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return s
	}
	for _, e := range ents {
		comm, err1 := os.ReadFile(filepath.Join(dir, e.Name(), "comm"))
		st, err2 := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err1 != nil || err2 != nil {
			continue // the thread ended
		}
		f := strings.Fields(string(st))
		if len(f) < 2 {
			continue
		}
		on, _ := strconv.ParseFloat(f[0], 64)
		wait, _ := strconv.ParseFloat(f[1], 64)
		s.threads[e.Name()] = schedThread{threadRole(strings.TrimSpace(string(comm))), on / 1e9, wait / 1e9}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		s.machine, s.stolen = parseProcStat(string(b))
	}
	return s
}

// parseProcStat sums the first line's jiffies (all CPUs) and returns them with the steal column.
func parseProcStat(s string) (total, steal float64) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i < 8 { // user nice system idle iowait irq softirq steal; guest is inside user
			total += x
		}
		if i == 7 {
			steal = x
		}
	}
	return total, steal
}

// roleDelta is what a role's threads did from a to b: per thread, so that threads that start or
// end in between (the JIT's come and go) count for the time they ran.
func roleDelta(a, b schedSnap, role string) (onCPU, delay float64) {
	for tid, tb := range b.threads {
		if tb.role != role {
			continue
		}
		ta := a.threads[tid]
		onCPU += tb.onCPU - ta.onCPU
		delay += tb.delay - ta.delay
	}
	return onCPU, delay
}

// pricedThreadsDiffer says whether a and b hold different task and collector threads. Those
// live as long as the job runs, but reading /proc/<pid>/task while other threads start and end
// can skip an entry: a thread missing from a counts its whole life into the window (measured at
// load 37: 9.4 CPU-seconds in a 0.9 s window, 108 MiB per CPU-second for a C1 -Xmx48m run at
// ~1,400), one missing from b none of the window.
func pricedThreadsDiffer(a, b schedSnap) bool {
	priced := func(s schedSnap) int {
		n := 0
		for _, th := range s.threads {
			if th.role == "task" || th.role == "gc" {
				n++
			}
		}
		return n
	}
	for tid, th := range b.threads {
		if _, ok := a.threads[tid]; !ok && (th.role == "task" || th.role == "gc") {
			return true
		}
	}
	return priced(a) != priced(b)
}

// maxReadLag is how far the test's clock may run from the JVM's over a window: the records
// come from a progress line (the JVM's clock when it printed), the CPU times from /proc when the
// test read that line, so a test process that falls behind its pipe (starved, then reading the
// queued lines at once) pairs old records with new CPU times.
const maxReadLag = 0.1

// readLate says whether the window's two clocks, the JVM's and the test's, differ by more than
// maxReadLag of it. Snapshots without the JVM's clock (tests) pass.
func readLate(a, b schedSnap) bool {
	jvm := float64(b.jvmMs-a.jvmMs) / 1000
	if jvm <= 0 || a.wallSec == 0 && b.wallSec == 0 {
		return false
	}
	return math.Abs((b.wallSec-a.wallSec)-jvm) > maxReadLag*jvm
}

// cpuWindow is one window of a run.
type cpuWindow struct {
	MiB     float64 `json:"mib"`
	TaskCPU float64 `json:"taskCpu"` // seconds
	GCCPU   float64 `json:"gcCpu"`
	JITCPU  float64 `json:"jitCpu"`
	// Share is the task and collector threads' time on the CPU over the time they were runnable
	// (pinned: over the pinned CPUs' wall time, since slots sharing a CPU wait for each other).
	Share float64 `json:"share"`
	// CPUs is the task and collector threads' CPU-seconds per wall second: about 1 when the
	// slots take turns, about 2 when two run side by side.
	CPUs  float64 `json:"cpus"`
	Steal float64 `json:"steal"`
	// Skip says why the window does not count ("" when it does).
	Skip string `json:"skip,omitempty"`
}

// rate is the window's MiB per CPU-second of the task and collector threads.
func (w cpuWindow) rate() float64 { return w.MiB / (w.TaskCPU + w.GCCPU) }

// cutWindows cuts consecutive snapshots into windows of at least cpuWindowCPU task and collector
// CPU-seconds and judges each.
func cutWindows(snaps []schedSnap, recordSize int) []cpuWindow {
	var out []cpuWindow
	for i := 0; i < len(snaps); {
		j := i + 1
		for ; j < len(snaps); j++ {
			task, _ := roleDelta(snaps[i], snaps[j], "task")
			gc, _ := roleDelta(snaps[i], snaps[j], "gc")
			if task+gc >= cpuWindowCPU {
				break
			}
		}
		if j >= len(snaps) {
			break
		}
		a, b := snaps[i], snaps[j]
		w := cpuWindow{MiB: float64(b.records-a.records) * float64(recordSize) / (1 << 20)}
		var taskDelay, gcDelay float64
		w.TaskCPU, taskDelay = roleDelta(a, b, "task")
		w.GCCPU, gcDelay = roleDelta(a, b, "gc")
		w.JITCPU, _ = roleDelta(a, b, "jit")
		on, wall := w.TaskCPU+w.GCCPU, b.wallSec-a.wallSec
		if wall > 0 {
			w.CPUs = on / wall
		}
		switch {
		case a.pinned > 0 && wall > 0:
			w.Share = math.Min(1, on/(wall*float64(a.pinned)))
		case on+taskDelay+gcDelay > 0:
			w.Share = on / (on + taskDelay + gcDelay)
		}
		if m := b.machine - a.machine; m > 0 {
			w.Steal = (b.stolen - a.stolen) / m
		}
		switch {
		case readLate(a, b):
			w.Skip = fmt.Sprintf("progress read late: %.0f ms of the JVM's clock, %.0f ms of the test's", float64(b.jvmMs-a.jvmMs), (b.wallSec-a.wallSec)*1000)
		case pricedThreadsDiffer(a, b):
			w.Skip = "the task and collector threads differ between its ends (a /proc read missed one, or the job restarted)"
		case w.Share < minTaskShare:
			w.Skip = fmt.Sprintf("starved: the task and collector threads ran %.0f%% of the time they were runnable", w.Share*100)
		case w.Steal > maxSteal:
			w.Skip = fmt.Sprintf("the hypervisor stole %.0f%% of the machine", w.Steal*100)
		case w.JITCPU > maxJITShare*(w.TaskCPU+w.GCCPU):
			w.Skip = fmt.Sprintf("still compiling: the JIT used %.0f%% of the pipeline's CPU", w.JITCPU/(w.TaskCPU+w.GCCPU)*100)
		}
		out = append(out, w)
		i = j
	}
	return out
}

// windowRate is the median rate over the windows that count, and the CPU-seconds they hold.
func windowRate(ws []cpuWindow) (rate, cpu float64, kept int) {
	var rates []float64
	for _, w := range ws {
		if w.Skip == "" {
			rates = append(rates, w.rate())
			cpu += w.TaskCPU + w.GCCPU
		}
	}
	if len(rates) == 0 {
		return 0, 0, 0
	}
	slices.Sort(rates)
	n := len(rates)
	if n%2 == 1 {
		return rates[n/2], cpu, n
	}
	return (rates[n/2-1] + rates[n/2]) / 2, cpu, n
}

func TestThreadRole(t *testing.T) {
	for comm, want := range map[string]string{
		"Source: datagen": "task", "VM Thread": "gc", "GC Thread#0": "gc", "G1 Conc#0": "gc",
		"C2 CompilerThre": "jit", "C1 CompilerThre": "jit", "flink-pekko.rem": "other", "java": "other",
	} {
		if got := threadRole(comm); got != want {
			t.Errorf("threadRole(%q) = %q, want %q", comm, got, want)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	total, steal := parseProcStat("cpu  100 5 20 800 10 0 5 60 7 0\ncpu0 1 2 3\n")
	if total != 1000 || steal != 60 {
		t.Errorf("parseProcStat = %v, %v; want 1000, 60", total, steal)
	}
	if total, steal := parseProcStat("intr 1 2\n"); total != 0 || steal != 0 {
		t.Errorf("a file without a cpu line gave %v, %v", total, steal)
	}
}

// snap builds a snapshot: one task thread, the VM thread, optionally a JIT thread.
func snap(records int64, task, taskDelay, gc, jit, machine, stolen float64, jitAlive bool) schedSnap {
	s := schedSnap{records: records, machine: machine, stolen: stolen, threads: map[string]schedThread{
		"10": {"task", task, taskDelay}, "11": {"gc", gc, 0}, "12": {"other", 5, 0}}}
	if jitAlive {
		s.threads["13"] = schedThread{"jit", jit, 0}
	}
	return s
}

func TestCutWindows(t *testing.T) {
	const mib = 1 << 20 / 1024 // records of 1 KiB per MiB
	snaps := []schedSnap{
		snap(0, 10, 1, 1, 3, 0, 0, true),
		// 0.4 + 0.1 CPU-seconds, 1000 MiB, the task ran 0.4 of 0.5 runnable; the JIT 0.01.
		snap(1000*mib, 10.4, 1.1, 1.1, 3.01, 100, 0, true),
		// Starved: 0.5 + 0.05 on the CPU, 2 s waiting.
		snap(1600*mib, 10.9, 3.1, 1.15, 3.01, 200, 0, true),
		// Half a window, then the rest: the window spans both; the JIT thread exited (its
		// time does not count negative).
		snap(2100*mib, 11.15, 3.1, 1.15, 0, 300, 0, false),
		snap(2600*mib, 11.4, 3.1, 1.15, 0, 400, 0, false),
		// Steal: 30 of 100 jiffies.
		snap(3600*mib, 11.9, 3.1, 1.15, 0, 500, 30, false),
		// An unfinished window is dropped.
		snap(3700*mib, 11.95, 3.1, 1.15, 0, 600, 30, false),
	}
	ws := cutWindows(snaps, 1024)
	if len(ws) != 4 {
		t.Fatalf("got %d windows, want 4: %+v", len(ws), ws)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if w := ws[0]; w.Skip != "" || !near(w.rate(), 2000) || !near(w.Share, 0.5/0.6) {
		t.Errorf("window 1: %+v, want rate 2000, share 5/6, counted", w)
	}
	if w := ws[1]; !strings.HasPrefix(w.Skip, "starved") {
		t.Errorf("window 2: %+v, want starved", w)
	}
	if w := ws[2]; w.Skip != "" || !near(w.rate(), 1000/0.5) || w.JITCPU != 0 {
		t.Errorf("window 3: %+v, want rate 2000 over two snapshots, no JIT time", w)
	}
	if w := ws[3]; !strings.Contains(w.Skip, "stole 30%") {
		t.Errorf("window 4: %+v, want skipped for steal", w)
	}
	rate, cpu, kept := windowRate(ws)
	if kept != 2 || !near(rate, 2000) || !near(cpu, 1.0) {
		t.Errorf("windowRate = %v, %v, %d; want 2000, 1.0, 2", rate, cpu, kept)
	}
	// Compiling: the JIT's 0.1 s beside 0.5 s of pipeline is 20%.
	ws = cutWindows([]schedSnap{snap(0, 10, 0, 1, 3, 0, 0, true), snap(100*mib, 10.4, 0, 1.1, 3.1, 100, 0, true)}, 1024)
	if len(ws) != 1 || !strings.HasPrefix(ws[0].Skip, "still compiling") {
		t.Errorf("a compiling window: %+v", ws)
	}
	if _, _, kept := windowRate(ws); kept != 0 {
		t.Errorf("no window counts, yet kept %d", kept)
	}
}

// Two slots confined to one CPU wait for each other, so their delay is no sign of starvation:
// the share is the pinned CPU's wall time they used.
func TestCutWindowsPinned(t *testing.T) {
	const mib = 1 << 20 / 1024
	two := func(records int64, each, delay, wall float64, pinned int) schedSnap {
		return schedSnap{records: records, wallSec: wall, pinned: pinned, threads: map[string]schedThread{
			"10": {"task", each, delay}, "11": {"task", each, delay}, "12": {"gc", 0, 0}}}
	}
	for _, tc := range []struct {
		name     string
		pinned   int
		wall     float64 // seconds the window lasted
		wantSkip bool
		wantCPUs float64
	}{
		// 0.3 + 0.3 CPU-seconds in 0.6 s, each waiting 0.3 s for the other.
		{"unpinned: the waiting reads as starved", 0, 0.6, true, 1},
		{"pinned to one CPU, used whole", 1, 0.6, false, 1},
		{"pinned to one CPU, half of it taken by others", 1, 1.2, true, 0.5},
	} {
		ws := cutWindows([]schedSnap{two(0, 0, 0, 0, tc.pinned), two(600*mib, 0.3, 0.3, tc.wall, tc.pinned)}, 1024)
		if len(ws) != 1 {
			t.Fatalf("%s: %d windows", tc.name, len(ws))
		}
		if w := ws[0]; (w.Skip != "") != tc.wantSkip || math.Abs(w.CPUs-tc.wantCPUs) > 1e-9 || math.Abs(w.rate()-1000) > 1e-6 {
			t.Errorf("%s: %+v; want skipped %v, %.1f CPUs, rate 1000", tc.name, w, tc.wantSkip, tc.wantCPUs)
		}
	}
}

// A snapshot whose /proc read missed the task thread: the window starting there would count the
// thread's whole life (a twentieth of the rate), the one ending there none of it; neither counts,
// and the run's rate is that of the windows around them.
func TestCutWindowsMissedThread(t *testing.T) {
	const mib = 1 << 20 / 1024
	missed := snap(1500*mib, 0, 0, 1.15, 0, 150, 0, false)
	delete(missed.threads, "10")
	// The measured part starts at a missed read (later starts are where a window ended, which
	// a read without the task thread never is).
	snaps := []schedSnap{
		missed,
		snap(2000*mib, 10.9, 0, 1.2, 0, 200, 0, false),
		snap(3000*mib, 11.3, 0, 1.3, 0, 300, 0, false), // 0.5 CPU-seconds, 2000 MiB per CPU-second
		snap(4000*mib, 11.7, 0, 1.4, 0, 400, 0, false),
		snap(5000*mib, 12.1, 0, 1.5, 0, 500, 0, false),
	}
	ws := cutWindows(snaps, 1024)
	rate, _, kept := windowRate(ws)
	if len(ws) != 3 || kept != 2 || math.Abs(rate-2000) > 1e-6 {
		t.Errorf("windows %+v: rate %v over %d, want 2000 over the 2 windows after the missed read", ws, rate, kept)
	}
	for _, w := range ws {
		if w.Skip != "" && !strings.Contains(w.Skip, "missed one") {
			t.Errorf("window %+v skipped for another reason", w)
		}
	}
}

// A test process that fell behind its pipe reads queued progress lines at once: the window
// between a line read on time and one read 2 s late pairs 1 s of the JVM's records with 3 s of
// CPU; it does not count.
func TestCutWindowsReadLate(t *testing.T) {
	const mib = 1 << 20 / 1024
	at := func(s schedSnap, jvmMs int64, wall float64) schedSnap { s.jvmMs, s.wallSec = jvmMs, wall; return s }
	snaps := []schedSnap{
		at(snap(0, 10, 0, 1, 0, 0, 0, false), 1000, 1.0),
		at(snap(1000*mib, 10.4, 0, 1.1, 0, 100, 0, false), 2000, 2.02),
		at(snap(2000*mib, 11.9, 0, 1.3, 0, 200, 0, false), 3000, 5.0),
	}
	ws := cutWindows(snaps, 1024)
	if len(ws) != 2 || ws[0].Skip != "" || !strings.HasPrefix(ws[1].Skip, "progress read late") {
		t.Errorf("windows %+v: want the first counted, the second skipped as read late", ws)
	}
}
