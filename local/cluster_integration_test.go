//go:build integration

package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/memory"
)

// liveConfigs are TaskManager memory configurations started for real, one after another:
// every way of sizing a TaskManager (process, Flink, fine-grained, mixes, fractions, ranges,
// legacy heap) at sizes a 2-core machine can hold.
var liveConfigs = []map[string]string{
	// Also the user's JVM options: a collector of their own replaces the launcher's Serial one.
	{"taskmanager.memory.process.size": "1g", "env.java.opts.taskmanager": "-XX:+UseParallelGC -Xss1m"},
	{"taskmanager.memory.flink.size": "700m", "taskmanager.numberOfTaskSlots": "3"},
	{"taskmanager.memory.task.heap.size": "128m", "taskmanager.memory.managed.size": "64m"},
	{"taskmanager.memory.process.size": "1100m", "taskmanager.memory.managed.fraction": "0.2", "taskmanager.memory.network.fraction": "0.15"},
	{"taskmanager.memory.flink.size": "700m", "taskmanager.memory.process.size": "1200m"},
	{"taskmanager.memory.process.size": "900m", "taskmanager.memory.jvm-metaspace.size": "128m", "taskmanager.memory.jvm-overhead.min": "100m"},
	{"taskmanager.memory.process.size": "1000m", "taskmanager.memory.framework.heap.size": "64m", "taskmanager.memory.task.off-heap.size": "32m"},
	{"taskmanager.memory.process.size": "1200m", "taskmanager.memory.managed.size": "100m", "taskmanager.cpu.cores": "2"},
	{"taskmanager.memory.task.heap.size": "200m", "taskmanager.memory.managed.size": "0", "taskmanager.memory.network.min": "32m", "taskmanager.memory.network.max": "32m"},
	{"taskmanager.memory.process.size": "1280m", "taskmanager.memory.jvm-overhead.fraction": "0.2", "taskmanager.numberOfTaskSlots": "4"},
}

// TestLiveTaskManagers starts a real JobManager and TaskManagers with flinktune-derived flags
// and checks, for each TaskManager, that its command line (/proc/<pid>/cmdline) carries
// flinktune's JVM flags and dynamic properties and that the memory configuration it reports in
// /taskmanagers/<id> (which Flink derives again inside the TaskManager) equals flinktune's
// derivation. FLINKTUNE_LIVE_TMS bounds how many configurations run per version (default 3).
func TestLiveTaskManagers(t *testing.T) {
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	n := 3
	if s := os.Getenv("FLINKTUNE_LIVE_TMS"); s != "" {
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("FLINKTUNE_LIVE_TMS=%q: %v", s, err)
		}
	}
	if os.Getenv("FLINKTUNE_FULL_MATRIX") == "1" { // bench --on flink: every configuration
		n = len(liveConfigs)
	}
	n = min(n, len(liveConfigs))
	for _, d := range dists {
		t.Run(d.Version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(2+n)*time.Minute)
			defer cancel()
			start := time.Now()
			c := startCluster(t, ctx, d, 0)
			t.Logf("Flink %s: JobManager up in %s", d.Version, time.Since(start).Round(time.Millisecond))
			var live []liveTM
			for i, conf := range liveConfigs[:n] {
				live = append(live, checkLiveTaskManager(t, ctx, c, i, conf))
			}
			testutil.WriteResult(t, "live-taskmanagers-"+d.Version, map[string]any{
				"flinkVersion": d.Version, "taskManagers": live, "allEqual": !t.Failed()})
		})
	}
}

// liveTM is one live TaskManager's check: its configuration, what flinktune derived, and
// whether the process's command line and Flink's own report agree with it.
type liveTM struct {
	Config       map[string]string `json:"config"`
	PID          int               `json:"pid"`
	ProcessBytes int64             `json:"processBytes"`
	JVMArgs      string            `json:"jvmArgs"`
	CmdlineEqual bool              `json:"cmdlineEqual"`
	RESTEqual    bool              `json:"restEqual"`
	SlotsEqual   bool              `json:"slotsEqual"`
}

// startCluster starts a cluster whose logs go to $FLINKTUNE_FLINK_LOGS (kept for CI) or the
// test's temp dir, and stops it when the test ends, checking that every port is free again.
func startCluster(t *testing.T, ctx context.Context, d *local.Dist, tms int) *local.Cluster {
	t.Helper()
	return startClusterWith(t, ctx, d, tms, nil)
}

// startClusterWith starts a cluster with conf added to the launcher's defaults.
func startClusterWith(t *testing.T, ctx context.Context, d *local.Dist, tms int, conf map[string]string) *local.Cluster {
	t.Helper()
	dir := t.TempDir()
	if logs := os.Getenv("FLINKTUNE_FLINK_LOGS"); logs != "" {
		dir = filepath.Join(logs, strings.ReplaceAll(t.Name(), "/", "_"))
	}
	c, err := local.Start(ctx, local.Spec{Dist: d, Dir: dir, TaskManagers: tms, Config: conf})
	if err != nil {
		// On a heavily loaded machine a JVM can miss Flink's own start-up timeouts (the actor
		// system's 10 s); Start has stopped everything, so one more try is clean.
		t.Logf("cluster start failed, retrying once: %v", err)
		c, err = local.Start(ctx, local.Spec{Dist: d, Dir: dir + "-retry", TaskManagers: tms, Config: conf})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		for _, p := range append([]*local.Process{c.JM}, c.TMs...) {
			if p.Alive() {
				t.Errorf("%s (pid %d) still running after Stop", p.ID, p.PID)
			}
		}
	})
	return c
}

func checkLiveTaskManager(t *testing.T, ctx context.Context, c *local.Cluster, i int, conf map[string]string) liveTM {
	t.Helper()
	want, err := c.DeriveTaskManager(conf)
	if err != nil {
		t.Fatalf("config %d %v: %v", i, conf, err)
	}
	start := time.Now()
	p, err := c.AddTaskManager(ctx, conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill(10 * time.Second)
	if err := c.WaitTaskManagers(ctx, 3*time.Minute, p.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("config %d %v: %s registered in %s", i, conf, p.ID, time.Since(start).Round(time.Millisecond))
	rec := liveTM{Config: conf, PID: p.PID, ProcessBytes: want.TotalProcess, JVMArgs: want.JVMArgs()}

	cmdline, err := p.Cmdline()
	if err != nil {
		t.Fatal(err)
	}
	rec.CmdlineEqual = containsSeq(cmdline, strings.Fields(want.JVMArgs())) && containsSeq(cmdline, strings.Fields(want.DynamicConfigsString()))
	if !containsSeq(cmdline, strings.Fields(want.JVMArgs())) {
		t.Errorf("config %d: /proc/%d/cmdline lacks flinktune's JVM flags %q:\n%q", i, p.PID, want.JVMArgs(), cmdline)
	}
	if !containsSeq(cmdline, strings.Fields(want.DynamicConfigsString())) {
		t.Errorf("config %d: /proc/%d/cmdline lacks flinktune's dynamic properties %q", i, p.PID, want.DynamicConfigsString())
	}
	if opts := local.JavaOpts(conf, "taskmanager", ""); len(opts) > 0 {
		// Flink's order (flink-daemon.sh): memory flags, then env.java.opts.*, which win.
		at := slices.Index(cmdline, strings.Fields(want.JVMArgs())[0])
		if at < 0 || !containsSeq(cmdline[at:], opts) {
			t.Errorf("config %d: /proc/%d/cmdline lacks env.java.opts %q after the memory flags:\n%q", i, p.PID, opts, cmdline)
		}
		if slices.Contains(opts, "-XX:+UseParallelGC") && slices.Contains(cmdline, "-XX:+UseSerialGC") {
			t.Errorf("config %d: the launcher's Serial collector kept beside the user's: %q", i, cmdline)
		}
	}
	var info struct {
		SlotsNumber int              `json:"slotsNumber"`
		Memory      map[string]int64 `json:"memoryConfiguration"`
	}
	// The slot report follows the registration: wait for it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		if err := c.GetJSON(ctx, "/taskmanagers/"+p.ID, &info); err != nil {
			t.Fatal(err)
		}
		if info.SlotsNumber > 0 || time.Now().After(deadline) {
			break
		}
	}
	diff := memoryDiff(info.Memory, want)
	rec.RESTEqual, rec.SlotsEqual = diff == "", info.SlotsNumber == want.NumSlots
	if diff != "" {
		t.Errorf("config %d %v: /taskmanagers/%s memoryConfiguration differs from flinktune's derivation:\n%s", i, conf, p.ID, diff)
	}
	if info.SlotsNumber != want.NumSlots {
		t.Errorf("config %d: %d slots reported, flinktune derived %d", i, info.SlotsNumber, want.NumSlots)
	}
	return rec
}

// memoryDiff compares the REST memory configuration with a derivation, field by field.
func memoryDiff(got map[string]int64, want *memory.TaskManager) string {
	fields := map[string]int64{
		"frameworkHeap": want.FrameworkHeap, "taskHeap": want.TaskHeap,
		"frameworkOffHeap": want.FrameworkOffHeap, "taskOffHeap": want.TaskOffHeap,
		"networkMemory": want.Network, "managedMemory": want.Managed,
		"jvmMetaspace": want.JVMMetaspace, "jvmOverhead": want.JVMOverhead,
		"totalFlinkMemory": want.TotalFlink, "totalProcessMemory": want.TotalProcess,
	}
	var diffs []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range fields {
			if !yield(k) {
				return
			}
		}
	}) {
		if g, ok := got[k]; !ok || g != fields[k] {
			diffs = append(diffs, fmt.Sprintf("  %s: Flink %d (present %v), flinktune %d", k, g, ok, fields[k]))
		}
	}
	return strings.Join(diffs, "\n")
}

// containsSeq reports whether want occurs in s as a contiguous run.
func containsSeq(s, want []string) bool {
	for i := 0; i+len(want) <= len(s); i++ {
		if slices.Equal(s[i:i+len(want)], want) {
			return true
		}
	}
	return false
}
