package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinktune/flinktune/internal/testutil"
)

// Golden files live in testdata/plan; rewrite them with
//
//	go test ./internal/cli -run Plan -update-plan
//
// (or -update, when another test of this package defines that flag).
var updatePlanGolden = flag.Bool("update-plan", false, "rewrite the plan command's golden files")

func updatingPlanGolden() bool {
	if *updatePlanGolden {
		return true
	}
	if f := flag.Lookup("update"); f != nil {
		return f.Value.String() == "true"
	}
	return false
}

func runPlanCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"plan"}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func planGolden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", "plan", name), got, updatingPlanGolden(), "go test ./internal/cli -run Plan -update-plan")
}

const examplesDir = "../../examples/plan"

func TestPlanGolden(t *testing.T) {
	for _, ex := range []string{"fragmentation", "coarse-4096m", "gpu-catalog"} {
		t.Run(ex, func(t *testing.T) {
			file := filepath.Join(examplesDir, ex+".yaml")
			out, errOut, code := runPlanCLI(t, "", file)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			planGolden(t, ex+".txt", out)

			js, errOut, code := runPlanCLI(t, "", file, "--output", "json")
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			planGolden(t, ex+".json", js)
			var doc struct {
				FlinkDefault struct {
					TaskManagers *int `json:"taskManagers"`
				} `json:"flinkDefault"`
				Recommended *struct {
					TaskManagers *int              `json:"taskManagers"`
					Shapes       []json.RawMessage `json:"shapes"`
				} `json:"recommended"`
				LowerBound *int `json:"lowerBound"`
			}
			if err := json.Unmarshal([]byte(js), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.FlinkDefault.TaskManagers == nil || doc.Recommended == nil || doc.Recommended.TaskManagers == nil ||
				len(doc.Recommended.Shapes) == 0 || doc.LowerBound == nil {
				t.Fatalf("JSON lacks flinkDefault.taskManagers, recommended.taskManagers, recommended.shapes or lowerBound:\n%s", js)
			}
			if *doc.Recommended.TaskManagers > *doc.FlinkDefault.TaskManagers || *doc.Recommended.TaskManagers < *doc.LowerBound {
				t.Errorf("recommended %d, Flink %d, lower bound %d", *doc.Recommended.TaskManagers, *doc.FlinkDefault.TaskManagers, *doc.LowerBound)
			}
		})
	}
}

func TestPlanSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "occupancy.svg")
	_, errOut, code := runPlanCLI(t, "", filepath.Join(examplesDir, "fragmentation.yaml"), "--svg", svg, "--no-search")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("<svg ")) || !bytes.HasSuffix(data, []byte("</svg>\n")) || !bytes.Contains(data, []byte("Recommended: 6 TaskManagers (lower bound 6)")) {
		t.Errorf("unexpected SVG:\n%s", data)
	}
	planGolden(t, "fragmentation.svg", string(data))
}

func TestPlanUnfulfillableExitsOne(t *testing.T) {
	in := `taskManager:
  resources: {cpu: 4, taskHeap: 4g}
slotSharingGroups:
  - {name: huge, parallelism: 1, resources: {cpu: 1, taskHeap: 5g}}
`
	out, errOut, code := runPlanCLI(t, in, "-", "--no-search")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitFailure, out, errOut)
	}
	for _, want := range []string{"THE JOB CANNOT GET ITS SLOTS", "larger than a whole TaskManager", "NoResourceAvailableException: Could not acquire the minimum required resources."} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "Flink cannot give this job its slots") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestPlanUsageErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no file", "", nil, "accepts 1 arg"},
		{"bad output", "", []string{"x.yaml", "--output", "xml"}, `--output "xml"`},
		{"missing file", "", []string{"does-not-exist.yaml"}, "no such file"},
		{"unknown field", "taskManager: {resources: {cpu: 1, taskHeap: 1g}}\nslotSharingGroups: [{name: a, parallelism: 1}]\nfoo: 1\n", []string{"-"}, "<stdin>: line 3: unknown field foo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runPlanCLI(t, tc.stdin, tc.args...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitUsage, tc.want)
			}
		})
	}
}

func TestPlanWarnsAboutMisspeltKeys(t *testing.T) {
	in := "taskManager:\n  config: {taskmanager.memory.process.size: 2g, taskmanager.numberOfTaskSlot: 2}\nslotSharingGroups: [{name: a, parallelism: 1}]\n"
	_, errOut, code := runPlanCLI(t, in, "-", "--no-search")
	if code != ExitOK || !strings.Contains(errOut, "did you mean taskmanager.numberOfTaskSlots") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestPlanBatchGolden(t *testing.T) {
	file := filepath.Join(examplesDir, "batch.yaml")
	out, errOut, code := runPlanCLI(t, "", "batch", file)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	planGolden(t, "batch.txt", out)
	js, errOut, code := runPlanCLI(t, "", "batch", file, "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	planGolden(t, "batch.json", js)
	var doc struct {
		Vertices []struct {
			Name        string `json:"name"`
			Parallelism int    `json:"parallelism"`
		} `json:"vertices"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil || len(doc.Vertices) != 5 || doc.Vertices[2].Parallelism < 1 {
		t.Fatalf("%v %+v", err, doc)
	}
}

func TestPlanBatchErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"vertices: [{name: a, inputs: [{from: b, totalBytes: 1g}]}]\n", `from "b" names no earlier vertex`},
		{"vertices: [{name: a, paralelism: 2}]\n", `unknown field "paralelism"`},
		{"options: {execution.batch.adaptive.auto-parallelism.min-parallelism: 0}\nvertices: [{name: a}]\n", "The minimum parallelism must be larger than 0."},
		{"vertices: [{name: a}, {name: b, inputs: [{from: a, type: hash, totalBytes: 1}]}]\n", `type "hash" is not a distribution pattern`},
		{"vertices: [{name: a}, {name: b, inputs: [{from: a, totalBytes: 1, uniformSubpartitionBytes: 1}]}]\n", "exactly one of totalBytes"},
	}
	for _, tc := range tests {
		_, errOut, code := runPlanCLI(t, tc.in, "batch", "-")
		if code != ExitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("input %q: exit %d, stderr %q; want %q", tc.in, code, errOut, tc.want)
		}
	}
}

func TestPlanHelpTeaches(t *testing.T) {
	out, _, code := runPlanCLI(t, "", "--help")
	if code != ExitOK || !strings.Contains(out, "flinktune plan examples/plan/fragmentation.yaml") || !strings.Contains(out, "--svg") {
		t.Errorf("help:\n%s", out)
	}
	out, _, _ = runPlanCLI(t, "", "batch", "--help")
	if !strings.Contains(out, "avg-data-volume-per-task") {
		t.Errorf("batch help:\n%s", out)
	}
}
