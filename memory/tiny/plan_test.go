package tiny

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/memory"
)

func request(t testing.TB, plat string, cpus int) Request {
	return Request{Machine: Machine{platform(t, plat), cpus}, Connector: ConnectorKafka, Headroom: 0.2}
}

func plan(t testing.TB, r Request) *Plan {
	t.Helper()
	p, err := NewPlan(r)
	if err != nil {
		t.Fatalf("NewPlan(%+v): %v", r, err)
	}
	return p
}

// checkPlan verifies what every plan promises: its setup, evaluated again, starts and sustains
// the target; the flags and options say what the setup is; the size respects the budget.
func checkPlan(t *testing.T, r Request, p *Plan) {
	t.Helper()
	s := p.Setup
	s.Workload.Throughput = r.Target()
	e := evaluate(t, s)
	if e.Failure != nil {
		t.Fatalf("the plan's own setup fails: %s (%s)", e.Failure.Message, e.Failure.Why)
	}
	if r.Target() > 0 && e.Capacity < r.Target() {
		t.Errorf("capacity %s below the target %s", e.Capacity, r.Target())
	}
	if e.Resident != p.Estimate.Resident {
		t.Errorf("re-evaluation differs: %d vs %d", e.Resident, p.Estimate.Resident)
	}
	if r.Budget > 0 && p.Size > r.Budget {
		t.Errorf("size %s exceeds the budget %s", HumanSize(p.Size), HumanSize(r.Budget))
	}
	flags := strings.Join(p.JVMFlags, " ")
	j, err := ParseJVMFlags(flags)
	if err != nil {
		t.Fatalf("the plan's flags do not parse: %v", err)
	}
	if j.GC != s.JVM.GC || j.ThreadStack != s.JVM.ThreadStack || j.JIT == JITC1 != (s.JVM.JIT == JITC1) || len(j.Ignored) > 0 {
		t.Errorf("flags %q do not describe the setup %+v", flags, s.JVM)
	}
	if r.Mode == MiniCluster {
		if j.Heap != s.JVM.Heap || j.MaxDirect != s.JVM.MaxDirect || j.MaxMetaspace != s.JVM.MaxMetaspace {
			t.Errorf("flags %q do not carry the limits of %+v", flags, s.JVM)
		}
		cfg := flinkconf.New()
		for _, kv := range p.FlinkConfig {
			cfg.Set(kv.Key, kv.Value)
		}
		f, err := FlinkFromConfig(cfg)
		if err != nil || f.Network != s.Flink.Network || f.Slots != s.Flink.Slots {
			t.Errorf("Flink options %v do not describe %+v: %v", p.FlinkConfig, s.Flink, err)
		}
		// Evaluating the plan's own output gives the plan's estimate.
		s2 := Setup{Mode: r.Mode, Machine: r.Machine, JVM: j, Flink: f, Workload: s.Workload}
		if e2 := evaluate(t, s2); e2.Resident != e.Resident || e2.Capacity != e.Capacity {
			t.Errorf("evaluating the printed flags and options gives %s / %s, the plan says %s / %s",
				HumanSize(e2.Resident), e2.Capacity, HumanSize(e.Resident), e.Capacity)
		}
	}
	chosen := 0
	for _, c := range p.Considered {
		if c.Chosen {
			chosen++
		}
	}
	if chosen != 1 {
		t.Errorf("%d considered entries are marked chosen", chosen)
	}
}

func TestPlanDefaults(t *testing.T) {
	for _, plat := range PlatformNames() {
		for _, conn := range []Connector{ConnectorKafka, ConnectorNone} {
			r := request(t, plat, 2)
			r.Connector = conn
			p := plan(t, r)
			checkPlan(t, r, p)
			if conn == ConnectorNone && p.Estimate.Resident > p.Estimate.Setup.JVM.Heap+80*MiB {
				t.Errorf("%s: the smallest empty cluster is %s", plat, HumanSize(p.Estimate.Resident))
			}
		}
	}
}

// TestPlanBeatsSeedDefaults: the tuned configuration is smaller than the seed's untuned runs
// at the same throughput.
func TestPlanBeatsSeedDefaults(t *testing.T) {
	for _, row := range []struct{ heapMB, rate float64 }{{50, 25}, {100, 97}} {
		seed := evaluate(t, seedKafka(t, int64(row.heapMB)*MiB, 8*MiB))
		r := Request{Machine: seedMachine(t), Connector: ConnectorKafka, Submit: SubmitREST, Throughput: mibps(row.rate)}
		p := plan(t, r)
		checkPlan(t, r, p)
		if p.Size >= seed.Resident {
			t.Errorf("%v MB/s: plan %s, seed's defaults %s", row.rate, HumanSize(p.Size), HumanSize(seed.Resident))
		}
	}
}

// TestPlanMonotoneInThroughput: more throughput never needs less memory.
func TestPlanMonotoneInThroughput(t *testing.T) {
	for _, mode := range []Mode{MiniCluster, TaskManager} {
		for _, plat := range []string{"linux-x64", "macos-arm64"} {
			for _, cpus := range []int{1, 2, 8} {
				r := request(t, plat, cpus)
				r.Mode = mode
				var prev *Plan
				limit := float64(cpus) * slotCPUThroughput / (1 + r.Headroom) // beyond, the machine lacks CPUs
				for rate := 0.5; rate <= min(400, limit); rate *= 1.3 {
					r.Throughput = mibps(rate)
					p := plan(t, r)
					if prev != nil && p.Size < prev.Size {
						t.Fatalf("%s %s %d CPUs: %s needs %s, less than %s for %s", mode, plat, cpus, r.Throughput, HumanSize(p.Size), HumanSize(prev.Size), prev.Request.Throughput)
					}
					if p.Estimate.Capacity < r.Target() {
						t.Fatalf("%s: capacity %s below %s", r.Throughput, p.Estimate.Capacity, r.Target())
					}
					prev = p
				}
			}
		}
	}
}

// TestPlanMonotoneInBudget: more budget never buys less throughput.
func TestPlanMonotoneInBudget(t *testing.T) {
	for _, mode := range []Mode{MiniCluster, TaskManager} {
		for _, cpus := range []int{1, 4} {
			r := request(t, "linux-x64", cpus)
			r.Mode = mode
			var prev *Plan
			for b := int64(150); b <= 800; b += 25 {
				r.Budget = b * MiB
				p, err := NewPlan(r)
				var be *BudgetError
				if errors.As(err, &be) {
					if prev != nil {
						t.Fatalf("%s: budget %s fails after a smaller one fitted: %v", mode, HumanSize(r.Budget), err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				checkPlan(t, r, p)
				if prev != nil && p.Estimate.Capacity < prev.Estimate.Capacity {
					t.Fatalf("%s %d CPUs: budget %s buys %s, less than %s for %s", mode, cpus, HumanSize(r.Budget), p.Estimate.Capacity,
						prev.Estimate.Capacity, HumanSize(prev.Request.Budget))
				}
				prev = p
			}
			if prev == nil {
				t.Fatalf("%s: no budget up to 800m fits", mode)
			}
		}
	}
}

// TestPlanBudgetTooSmall: the error names the smallest feasible budget, and that budget works.
func TestPlanBudgetTooSmall(t *testing.T) {
	for _, conn := range []Connector{ConnectorKafka, ConnectorNone} {
		for _, mode := range []Mode{MiniCluster, TaskManager} {
			r := request(t, "linux-x64", 2)
			r.Connector, r.Mode, r.Budget = conn, mode, 32*MiB
			_, err := NewPlan(r)
			var be *BudgetError
			if !errors.As(err, &be) {
				t.Fatalf("%s %s: want a BudgetError, got %v", conn, mode, err)
			}
			if be.Smallest <= r.Budget || !strings.Contains(be.Error(), "smallest feasible budget is "+HumanSize(be.Smallest)) {
				t.Errorf("%v", be)
			}
			r.Budget = be.Smallest
			p := plan(t, r)
			checkPlan(t, r, p)
			r.Budget = be.Smallest - 1
			if _, err := NewPlan(r); !errors.As(err, &be) {
				t.Errorf("%s %s: one byte below the smallest budget must fail, got %v", conn, mode, err)
			}
		}
	}
	// A throughput and a budget that do not go together.
	r := request(t, "linux-x64", 2)
	r.Throughput, r.Budget = mibps(100), 150*MiB
	_, err := NewPlan(r)
	var be *BudgetError
	if !errors.As(err, &be) || be.Reason != "throughput" || !strings.Contains(err.Error(), "cannot sustain the throughput") {
		t.Errorf("want a throughput BudgetError, got %v", err)
	}
}

func TestPlanRestrictions(t *testing.T) {
	r := request(t, "linux-x64", 4)
	r.Throughput = mibps(30)
	for _, gc := range []GC{GCSerial, GCG1, GCParallel} {
		for _, jit := range []JIT{JITC1, JITTiered} {
			r.GC, r.JIT = gc, jit
			p := plan(t, r)
			checkPlan(t, r, p)
			if p.Setup.JVM.GC != gc || p.Setup.JVM.JIT != jit {
				t.Errorf("asked for %s/%s, got %s/%s", gc, jit, p.Setup.JVM.GC, p.Setup.JVM.JIT)
			}
		}
	}
	r.GC, r.JIT, r.Threads = GCAuto, JITAuto, ThreadsDefault
	p := plan(t, r)
	checkPlan(t, r, p)
	for _, kv := range p.FlinkConfig {
		if kv.Key == OptRESTThreads.Key {
			t.Error("--threads default must not trim Flink's pools")
		}
	}
	if slices.ContainsFunc(p.JVMFlags, func(f string) bool { return strings.HasPrefix(f, "-XX:ActiveProcessorCount") }) {
		t.Error("--threads default must keep the JVM's CPU count")
	}
	minimal := r
	minimal.Threads = ThreadsMinimal
	if pm := plan(t, minimal); pm.Estimate.ThreadCount >= p.Estimate.ThreadCount {
		t.Errorf("minimal threads %d, default %d", pm.Estimate.ThreadCount, p.Estimate.ThreadCount)
	}
}

func TestPlanSlotsFollowThroughput(t *testing.T) {
	r := request(t, "linux-x64", 4)
	r.Throughput, r.Headroom = mibps(250), 0
	p := plan(t, r)
	checkPlan(t, r, p)
	want := slotsFor(r.Machine.Platform.jobCalibration(r.Connector), r.Target(), p.Setup.JVM.JIT, p.Setup.JVM.GC)
	if p.Setup.Flink.Slots != want || want < 3 {
		t.Errorf("250 MiB/s: %d slots, want %d", p.Setup.Flink.Slots, want)
	}
	if !slices.Contains(p.FlinkConfig, KeyValue{"parallelism.default", fmt.Sprint(want)}) {
		t.Errorf("parallelism must follow the slots: %v", p.FlinkConfig)
	}
	r.Throughput = mibps(1000)
	if _, err := NewPlan(r); err == nil || !strings.Contains(err.Error(), "needs 10 slots") || !strings.Contains(err.Error(), "--cpus 10") {
		t.Errorf("a rate beyond the machine's CPUs must be refused naming the CPUs needed: %v", err)
	}
}

// TestPlanTaskManager: in taskmanager mode Flink's own derivation accepts the options, and its
// JVM arguments are the plan's limits.
func TestPlanTaskManager(t *testing.T) {
	for _, v := range []string{"1.17", "1.20", "2.0"} {
		r := request(t, "linux-x64", 2)
		r.Mode, r.FlinkVersion, r.Throughput = TaskManager, v, mibps(20)
		p := plan(t, r)
		checkPlan(t, r, p)
		cfg := flinkconf.New()
		for _, kv := range p.FlinkConfig {
			cfg.Set(kv.Key, kv.Value)
		}
		tm, err := memory.DeriveTaskManager(cfg, nil, profile(v))
		if err != nil {
			t.Fatalf("Flink %s rejects the plan: %v", v, err)
		}
		if tm.TotalProcess != p.Size || tm.JVMHeap() != p.Setup.JVM.Heap || tm.JVMDirect() != p.Setup.JVM.MaxDirect || tm.Managed != 0 {
			t.Errorf("Flink %s derives %+v, plan %+v", v, tm, p.Setup.JVM)
		}
		if tm.TotalProcess < p.Estimate.Resident {
			t.Errorf("Flink's process size %s is below the resident estimate %s", HumanSize(tm.TotalProcess), HumanSize(p.Estimate.Resident))
		}
		akkaKey := slices.ContainsFunc(p.FlinkConfig, func(kv KeyValue) bool { return strings.HasPrefix(kv.Key, "akka.") })
		if akkaKey != (v == "1.17") {
			t.Errorf("Flink %s: akka.* keys = %v", v, akkaKey)
		}
		opts := ""
		for _, kv := range p.FlinkConfig {
			if kv.Key == "env.java.opts.taskmanager" {
				opts = kv.Value
			}
		}
		if !strings.Contains(opts, "-Xss256k") || strings.Contains(opts, "-Xmx") {
			t.Errorf("env.java.opts.taskmanager = %q", opts)
		}
	}
}

func TestPlanValidation(t *testing.T) {
	r := request(t, "linux-x64", 2)
	for _, mut := range []func(*Request){
		func(r *Request) { r.Headroom = -1 },
		func(r *Request) { r.Throughput = -1 },
		func(r *Request) { r.Budget = -1 },
		func(r *Request) { r.Machine.CPUs = 0 },
		func(r *Request) { r.Machine.Platform = Platform{} },
		func(r *Request) { r.Connector, r.Throughput = ConnectorNone, mibps(1) },
	} {
		q := r
		mut(&q)
		if _, err := NewPlan(q); err == nil {
			t.Errorf("NewPlan(%+v) should fail", q)
		}
	}
}

func TestPlanDeterministic(t *testing.T) {
	r := request(t, "macos-arm64", 10)
	r.Budget = 300 * MiB
	a, b := plan(t, r), plan(t, r)
	if fmt.Sprint(a.JVMFlags, a.FlinkConfig, a.Considered) != fmt.Sprint(b.JVMFlags, b.FlinkConfig, b.Considered) {
		t.Error("two identical requests gave different plans")
	}
}
