package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/internal/testutil"
	"gopkg.in/yaml.v3"
)

// Golden files of `flinktune memory tiny` live in testdata/memory/tiny-*.golden; rewrite them with
//
//	go test ./internal/cli -run Tiny -update-tiny
var updateTinyGolden = flag.Bool("update-tiny", false, "rewrite the memory tiny command's golden files")

func runTiny(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"memory", "tiny"}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func checkTinyGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "memory", "tiny-"+name+".golden"), got, *updateTinyGolden, "go test ./internal/cli -run Tiny -update-tiny")
}

// tinySeedArgs are the talk's machine and job submission.
var tinySeedArgs = []string{"--platform", "macos-arm64", "--cpus", "10", "--submit", "rest"}

var tinyNet8 = []string{"--set", "taskmanager.memory.network.min=8m", "--set", "taskmanager.memory.network.max=8m"}

func tinyArgs(parts ...[]string) []string {
	var a []string
	for _, p := range parts {
		a = append(a, p...)
	}
	return a
}

func TestTinyGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"default", nil, 0},
		{"empty", []string{"--connector", "none"}, 0},
		{"throughput-json", []string{"--throughput", "25mb/s", "-o", "json"}, 0},
		{"budget-flags", []string{"--budget", "256m", "-o", "flags"}, 0},
		{"budget-too-small", []string{"--budget", "60m"}, 1},
		{"taskmanager-yaml", []string{"--mode", "taskmanager", "--throughput", "10mb/s", "-o", "yaml"}, 0},
		{"flink117-flags", []string{"--flink-version", "1.17", "--throughput", "5mb/s", "-o", "flags"}, 0},
		{"restricted", []string{"--gc", "g1", "--jit", "tiered", "--threads", "default", "--cpus", "4", "--throughput", "40mb/s"}, 0},
		{"seed-60m", tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx60m"}), 1},
		{"seed-65m", tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx65m"}), 0},
		{"seed-empty-20m", tinyArgs(tinySeedArgs, []string{"--connector", "none", "--jvm", "-Xmx20m"}, tinyNet8), 0},
		{"seed-35m-3mbps", tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx35m", "--throughput", "3mb/s"}, tinyNet8), 1},
		{"seed-100m-json", tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx100m", "-o", "json"}, tinyNet8), 0},
		{"evaluate-taskmanager", []string{"--mode", "taskmanager", "--set", "taskmanager.memory.process.size=1728m",
			"--jvm", "-XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError"}, 0},
		{"evaluate-flags", []string{"--jvm", "-Xmx64m -XX:+UseSerialGC -Xss256k", "--set", "taskmanager.memory.network.max=8m", "-o", "flags"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runTiny(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			got := out
			if errOut != "" {
				got += "--- stderr\n" + errOut
			}
			checkTinyGolden(t, tt.name, got)
		})
	}
}

func TestTinyUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--budget", "lots"}, "--budget \"lots\": not a memory size"},
		{[]string{"--budget", "0"}, "want a positive size"},
		{[]string{"--throughput", "fast"}, "--throughput: throughput \"fast\" does not start with a number"},
		{[]string{"--throughput", "0mb/s"}, "want a positive rate"},
		{[]string{"--throughput", "100rec/s", "--record-size", "x"}, "--record-size"},
		{[]string{"--connector", "none", "--throughput", "1mb/s"}, "needs a job"},
		{[]string{"--connector", "pulsar"}, "want kafka"},
		{[]string{"--platform", "windows"}, "linux-x64, linux-x64-jdk17, linux-arm64, macos-arm64"},
		{[]string{"--cpus", "0"}, "--cpus 0"},
		{[]string{"--mode", "jobmanager"}, "want minicluster or taskmanager"},
		{[]string{"--submit", "email"}, "want local"},
		{[]string{"--gc", "zgc"}, "want auto, serial, g1 or parallel"},
		{[]string{"--jit", "graal"}, "want auto, tiered or c1"},
		{[]string{"--threads", "many"}, "want minimal or default"},
		{[]string{"--headroom", "-1"}, "--headroom"},
		{[]string{"--flink-version", "latest"}, "--flink-version \"latest\""},
		{[]string{"--flink", "1.20"}, "the version is --flink-version 1.20"},
		{[]string{"-o", "xml"}, "want table, json, yaml or flags"},
		{[]string{"--jvm", "-Xmx60x"}, "--jvm: JVM flag -Xmx60x: invalid size"},
		{[]string{"--jvm", "-Xss256k"}, "must give -Xmx"},
		{[]string{"--jvm", "-Xmx64m", "--gc", "serial"}, "give the JVM flag in --jvm"},
		{[]string{"--jvm", "-Xmx64m", "--set", "nonsense"}, "nonsense"},
		{[]string{"--jvm", "-Xmx64m", "--set", "taskmanager.memory.network.min=9m", "--set", "taskmanager.memory.network.max=8m"}, "is larger than"},
		{[]string{"--mode", "taskmanager", "--jvm", "-Xmx64m", "--set", "taskmanager.memory.process.size=1g"}, "Flink sets -Xmx"},
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-rates", "5200"}, "want two numbers"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-rates", "5200,2300,0.7,1"}, "want two numbers"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-rates", "5200,2300,x"}, "want two numbers"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-rates", "5200,2300,0"}, "pair factor 0"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-cache", "-1"}, "--serial-cache -1"},
		{[]string{"--platform", "linux-x64-jdk17", "--serial-cache", "500"}, "want the sweep time"},
		{[]string{"--platform", "linux-x64", "--serial-cache", "5"}, "no Serial cost model"},
	}
	for _, tt := range tests {
		out, errOut, code := runTiny(t, tt.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.args, code, out, errOut, tt.want)
		}
	}
}

func TestTinyRejectedTaskManager(t *testing.T) {
	_, errOut, code := runTiny(t, "--mode", "taskmanager", "--set", "taskmanager.memory.process.size=100m")
	if code != ExitFailure || !strings.Contains(errOut, "Flink rejects this TaskManager configuration") || !strings.Contains(errOut, "IllegalConfigurationException") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestTinyEvaluateBudget(t *testing.T) {
	out, _, code := runTiny(t, "--jvm", "-Xmx100m", "--set", "taskmanager.memory.network.max=8m", "--budget", "200m")
	if code != ExitFailure || !strings.Contains(out, "exceeds the budget of 200 MiB") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if _, _, code := runTiny(t, "--jvm", "-Xmx100m", "--set", "taskmanager.memory.network.max=8m", "--budget", "300m"); code != 0 {
		t.Errorf("within the budget: exit %d", code)
	}
}

func TestTinyWarnings(t *testing.T) {
	_, errOut, code := runTiny(t, "--jvm", "-Xmx128m -XX:+AlwaysPreTouch", "--set", "taskmanager.memory.network.mx=8m")
	if code != 0 || !strings.Contains(errOut, "-XX:+AlwaysPreTouch is not part of the model") || !strings.Contains(errOut, "taskmanager.memory.network.max") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

// tinyEval runs an evaluation with -o json.
func tinyEval(t *testing.T, wantCode int, a ...string) map[string]any {
	t.Helper()
	out, errOut, code := runTiny(t, append(a, "-o", "json")...)
	if code != wantCode {
		t.Fatalf("%v: exit %d, want %d; stderr %s", a, code, wantCode, errOut)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %v\n%s", a, err, out)
	}
	return doc
}

func tinyNum(t *testing.T, doc map[string]any, path ...string) float64 {
	t.Helper()
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %q", path, p)
		}
		v = m[p]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%v: %v is not a number", path, v)
	}
	return f
}

func tinyComponent(t *testing.T, doc map[string]any, name, field string) float64 {
	t.Helper()
	for _, c := range doc["estimate"].(map[string]any)["components"].([]any) {
		if m := c.(map[string]any); m["name"] == name {
			return m[field].(float64)
		}
	}
	t.Fatalf("no component %s", name)
	return 0
}

// TestTinyCLICalibration: the command itself reproduces the talk's figures within 15%
// (thresholds exactly), as its help's examples show.
func TestTinyCLICalibration(t *testing.T) {
	const mib = 1 << 20
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want)/want > 0.15 {
			t.Errorf("%s: %.4g, the talk says %.4g", what, got, want)
		}
	}
	failure := func(doc map[string]any) string {
		f, _ := doc["estimate"].(map[string]any)["failure"].(map[string]any)
		if f == nil {
			return ""
		}
		return f["message"].(string)
	}

	fail := tinyEval(t, 1, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx60m"})...)
	if !strings.Contains(failure(fail), "(required (MB): 64, allocated (MB): 61, missing (MB): 3)") {
		t.Errorf("-Xmx60m: %q", failure(fail))
	}
	if ok := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx65m"})...); failure(ok) != "" {
		t.Errorf("-Xmx65m must start: %s", failure(ok))
	}
	tinyEval(t, 1, tinyArgs(tinySeedArgs, []string{"--connector", "none", "--jvm", "-Xmx20m"})...) // 64 MB of network memory
	empty := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--connector", "none", "--jvm", "-Xmx20m"}, tinyNet8)...)
	near("empty cluster (MB)", tinyNum(t, empty, "estimate", "resident")/mib, 80)
	kafka := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx35m"}, tinyNet8)...)
	near("Kafka job at -Xmx35m (MB)", tinyNum(t, kafka, "estimate", "resident")/mib, 190)
	tinyEval(t, 1, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx35m", "--throughput", "3mb/s"}, tinyNet8)...)
	for _, row := range []struct{ heap, rate, real string }{{"50", "25", "200"}, {"100", "97", "260"}} {
		doc := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx" + row.heap + "m", "--throughput", row.rate + "mb/s"}, tinyNet8)...)
		rate, real := tinyAtof(row.rate), tinyAtof(row.real)
		near("throughput at -Xmx"+row.heap+"m", tinyNum(t, doc, "estimate", "capacity")/mib, rate)
		near("real memory at -Xmx"+row.heap+"m", tinyNum(t, doc, "estimate", "resident")/mib, real)
	}
	nmt := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx100m"}, tinyNet8)...)
	for _, c := range []struct {
		name string
		want float64
	}{{"heap", 106}, {"threads", 27}, {"metaspace", 56}, {"gc", 56}} {
		near("NMT "+c.name+" (thousand KB)", tinyComponent(t, nmt, c.name, "committed")/1024/1000, c.want)
	}
	near("threads", tinyNum(t, nmt, "estimate", "threadCount"), 100)
	serial := tinyEval(t, 0, tinyArgs(tinySeedArgs, []string{"--jvm", "-Xmx100m -XX:+UseSerialGC"}, tinyNet8)...)
	near("NMT GC with Serial (KB)", tinyComponent(t, serial, "gc", "committed")/1024, 390)
}

func tinyAtof(s string) float64 {
	var f float64
	if err := json.Unmarshal([]byte(s), &f); err != nil {
		panic(err)
	}
	return f
}

func TestTinyOutputsParse(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		out, _, code := runTiny(t, "--throughput", "10mb/s", "-o", format)
		if code != 0 {
			t.Fatalf("%s: exit %d", format, code)
		}
		var doc struct {
			Kind        string
			Goal        string
			JVMFlags    []string                      `json:"jvmFlags" yaml:"jvmFlags"`
			FlinkConfig []struct{ Key, Value string } `json:"flinkConfig" yaml:"flinkConfig"`
			Estimate    struct {
				Resident   float64
				Components []struct{ Name string }
			}
		}
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &doc)
		} else {
			err = yaml.Unmarshal([]byte(out), &doc)
		}
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if doc.Kind != "plan" || len(doc.JVMFlags) < 5 || len(doc.FlinkConfig) < 4 || doc.Estimate.Resident <= 0 || len(doc.Estimate.Components) != 7 {
			t.Errorf("%s: unexpected document %+v", format, doc)
		}
	}
	// The flags output's first line is what the plan's JVM runs with; the second its -D options.
	out, _, _ := runTiny(t, "--throughput", "10mb/s", "-o", "flags")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "-Xmx") || !strings.HasPrefix(lines[1], "-D taskmanager.memory.network.min=8m") {
		t.Errorf("flags output:\n%s", out)
	}
}

func TestTinyHelpTeaches(t *testing.T) {
	out, _, code := runTiny(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--budget", "--throughput", "--jvm", "macos-arm64", "Exit status", "-Xmx65m"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// The third value of --serial-rates prices a second slot: a two-slot profile's capacity
// scales with it, a one-slot profile's does not change.
func TestTinySerialPairFactor(t *testing.T) {
	capacity := func(slots, rates string) float64 {
		t.Helper()
		doc := tinyEval(t, 0, "--platform", "linux-x64-jdk17", "--cpus", "2", "--connector", "datagen",
			"--jvm", "-Xmx80m -Xms80m -XX:+UseSerialGC", "--set", "taskmanager.numberOfTaskSlots="+slots,
			"--set", "parallelism.default="+slots, "--serial-rates", rates)
		return tinyNum(t, doc, "estimate", "capacity")
	}
	if a, b := capacity("1", "5200,2300"), capacity("1", "5200,2300,0.5"); a != b {
		t.Errorf("one slot: capacity %v without a pair factor, %v with 0.5", a, b)
	}
	alone, paired := capacity("2", "5200,2300,1"), capacity("2", "5200,2300,0.5")
	if !(paired < alone*0.75 && paired > alone*0.5) {
		t.Errorf("two slots: capacity %v with pair factor 1, %v with 0.5; want the pipeline's part halved", alone, paired)
	}
}

// --serial-cache moves where the eden leaves the cache: a C1 -Xmx64m profile (a 17 MiB eden, a
// 5 ms sweep at these rates) is in the cache with the stored 8.9 ms and on the ramp with 4 ms;
// a heap whose eden is far beyond either (-Xmx400m) does not change.
func TestTinySerialCache(t *testing.T) {
	capacity := func(xmx string, cache ...string) float64 {
		t.Helper()
		args := []string{"--platform", "linux-x64-jdk17", "--cpus", "2", "--connector", "datagen",
			"--jvm", "-Xmx" + xmx + " -Xms" + xmx + " -XX:+UseSerialGC -XX:TieredStopAtLevel=1", "--serial-rates", "5200,2300",
			"--set", "taskmanager.memory.network.min=8m", "--set", "taskmanager.memory.network.max=8m", "--set", "taskmanager.memory.managed.size=0"}
		return tinyNum(t, tinyEval(t, 0, append(args, cache...)...), "estimate", "capacity")
	}
	if stored, edge := capacity("64m"), capacity("64m", "--serial-cache", "4"); !(edge < stored*0.9) {
		t.Errorf("-Xmx64m: capacity %v with the stored cache, %v with a 4 ms one; want it well out of the cache", stored, edge)
	}
	if a, b := capacity("64m"), capacity("64m", "--serial-cache", "8.9"); a != b {
		t.Errorf("-Xmx64m: capacity %v with the stored cache, %v with --serial-cache 8.9 (the same)", a, b)
	}
	if a, b := capacity("400m"), capacity("400m", "--serial-cache", "4"); a != b {
		t.Errorf("-Xmx400m: capacity %v with the stored cache, %v with a 4 ms one; out of either", a, b)
	}
}
