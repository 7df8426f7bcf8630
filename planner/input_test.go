package planner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tmExplicit = `taskManager:
  resources: {cpu: 4, taskHeap: 4g}
  slots: 4
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"empty", ``, "empty input"},
		{"unknown top-level field", tmExplicit + "slotSharingGroups: [{name: a, parallelism: 1}]\njobs: 3\n", "line 5: unknown field jobs"},
		{"unknown group field", tmExplicit + "slotSharingGroups:\n  - name: a\n    paralelism: 2\n", `line 6: unknown field "paralelism"`},
		{"unknown resources field", tmExplicit + "slotSharingGroups:\n  - name: a\n    parallelism: 1\n    resources: {cpu: 1, heap: 1g}\n", `unknown field "heap"`},
		{"unknown vertex field", tmExplicit + "slotSharingGroups:\n  - name: a\n    vertices: [{name: v, parallelism: 2, slots: 1}]\n", `unknown field "slots"`},
		{"no taskManager", "slotSharingGroups: [{name: a, parallelism: 1}]\n", "taskManager is required"},
		{"no groups", tmExplicit, "slotSharingGroups is required"},
		{"config and resources", "taskManager:\n  config: {taskmanager.numberOfTaskSlots: 2}\n  resources: {cpu: 1, taskHeap: 1g}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "either a Flink configuration"},
		{"bad memory size", "taskManager:\n  resources: {cpu: 1, taskHeap: 4 gigs}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", `line 2: "4 gigs" is not a memory size`},
		{"negative cpu", "taskManager:\n  resources: {cpu: -1, taskHeap: 4g}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", `"-1" is negative`},
		{"zero cpu", "taskManager:\n  resources: {cpu: 0, taskHeap: 4g}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "cpu must be greater than 0"},
		{"group without parallelism", tmExplicit + "slotSharingGroups: [{name: a}]\n", `group "a": parallelism 0 must be at least 1`},
		{"parallelism disagrees with vertices", tmExplicit + "slotSharingGroups:\n  - name: a\n    parallelism: 3\n    vertices: [{name: v, parallelism: 4}]\n", "disagrees with its vertices"},
		{"duplicate group", tmExplicit + "slotSharingGroups: [{name: a, parallelism: 1}, {name: a, parallelism: 2}]\n", `"a" is defined twice`},
		{"profile without heap", tmExplicit + "slotSharingGroups: [{name: a, parallelism: 1, resources: {cpu: 1}}]\n", "The cpu cores and task heap memory are required"},
		{"too many used slots", tmExplicit + "cluster:\n  registered: [{usedSlots: 5}]\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "usedSlots: 5 must be within 0..4"},
		{"used exceeds", tmExplicit + "cluster:\n  registered: [{used: {cpu: 5, taskHeap: 1g}}]\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "exceeds the TaskManager"},
		{"bad deployment", tmExplicit + "cluster: {deployment: yarn}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", `"yarn" is not a deployment`},
		{"bad option", tmExplicit + "options: {cluster.evenly-spread-out-slots: maybe}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "Could not parse value 'maybe' for key 'cluster.evenly-spread-out-slots'."},
		{"missing config file", "taskManager: {configFile: nope.yaml}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "configFile"},
		{"slots with config", "taskManager: {config: {taskmanager.numberOfTaskSlots: 2}, slots: 2}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "slots and processMemory come from the Flink configuration"},
		{"bad slots in config", "taskManager: {config: {taskmanager.numberOfTaskSlots: two}}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "Could not parse value 'two' for key 'taskmanager.numberOfTaskSlots'."},
		{"external resource without amount", "taskManager: {config: {external-resources: gpu, taskmanager.memory.process.size: 2g}}\nslotSharingGroups: [{name: a, parallelism: 1}]\n", "external-resource.gpu.amount is not set"},
		{"catalog name twice", tmExplicit + "slotSharingGroups: [{name: a, parallelism: 1}]\ncatalog:\n  - {name: x, resources: {cpu: 1, taskHeap: 1g}}\n  - {name: x, resources: {cpu: 2, taskHeap: 1g}}\n", `"x" is used twice`},
		{"not a mapping", "- 1\n- 2\n", "cannot unmarshal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tc.input), "plan.yaml", t.TempDir(), LoadOptions{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "plan.yaml: ") {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// A TaskManager from a Flink configuration goes through the memory model: the 4096m, 4-slot
// TaskManager of flink-scheduling.md §B.2.
func TestShapeFromConfigB2(t *testing.T) {
	in := `job: b2
taskManager:
  config:
    taskmanager:
      memory.process.size: 4096m
      numberOfTaskSlots: 4
slotSharingGroups: [{name: default, parallelism: 10}]
`
	spec, warns, err := Parse([]byte(in), "b2.yaml", ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	tot := spec.TaskManager.Total
	if tot.TaskHeap != 1_530_082_070 || tot.Managed != 1_438_814_063 || tot.Network != 359_703_515 || tot.CPU != DecimalInt(4) || spec.TaskManager.ProcessMemory != 4096*testMiB {
		t.Fatalf("total = %+v, process %d", tot, spec.TaskManager.ProcessMemory)
	}
	spec.Search.Disabled = true
	r, err := Plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	// Default slot ≈ {1 core, heap ≈364.8 MiB, managed ≈343.0 MiB, network ≈85.8 MiB}.
	d := r.DefaultSlot
	if d.CPU != DecimalInt(1) || d.TaskHeap != 382_520_517 || d.Managed != 359_703_515 || d.Network != 89_925_878 {
		t.Errorf("default slot = %+v", d)
	}
	if r.FlinkDefault.TaskManagers != 3 || !equalInts(slotsPerTM(r.FlinkDefault.Allocation), []int{4, 4, 2}) {
		t.Errorf("Flink: %d TaskManagers %v", r.FlinkDefault.TaskManagers, slotsPerTM(r.FlinkDefault.Allocation))
	}
}

// 1728m with one slot (§B.2): the default slot is the whole TaskManager.
func TestShapeFromConfig1728m(t *testing.T) {
	in := "taskManager:\n  config: {taskmanager.memory.process.size: 1728m}\nslotSharingGroups: [{name: a, parallelism: 2}]\nsearch: {enabled: false}\n"
	spec, _, err := Parse([]byte(in), "p.yaml", ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Plan(spec)
	if err != nil {
		t.Fatal(err)
	}
	if r.DefaultSlot.TaskHeap != 402_653_174 || r.DefaultSlot.Managed != 536_870_920 || r.DefaultSlot.Network != 134_217_730 || r.DefaultSlot.CPU != DecimalInt(1) {
		t.Errorf("default slot = %+v", r.DefaultSlot)
	}
	if r.FlinkDefault.TaskManagers != 2 || r.BestShape != nil {
		t.Errorf("got %d TaskManagers, best shape %v", r.FlinkDefault.TaskManagers, r.BestShape)
	}
}

func TestConfigFileAndWarnings(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flink-conf.yaml"), []byte("taskmanager.memory.process.size: 2g\ntaskmanager.numberOfTaskSlots: 2\ntaskmanager.memory.managed.fracton: 0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := "taskManager:\n  configFile: flink-conf.yaml\n  config: {taskmanager.numberOfTaskSlots: 4}\nslotSharingGroups: [{name: a, parallelism: 3}]\n"
	spec, warns, err := Parse([]byte(in), "p.yaml", dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.TaskManager.Slots != 4 {
		t.Errorf("config must override the file: slots = %d", spec.TaskManager.Slots)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "did you mean taskmanager.memory.managed.fraction") {
		t.Errorf("warnings = %q", warns)
	}
}

func TestParseFullInput(t *testing.T) {
	in := `job: j
taskManager:
  name: big
  resources: {cpu: 8, taskHeap: 16g, taskOffHeap: 1g, managed: 4g, network: 1g, extended: {gpu: 2}}
  slots: 8
  processMemory: 24g
  cost: 2.5
slotSharingGroups:
  - name: a
    vertices: [{name: v1, parallelism: 3}, {name: v2, parallelism: 5}]
  - name: b
    parallelism: 2
    resources: {cpu: 0.5, taskHeap: 512m, network: 32m, extended: {gpu: 1}}
cluster:
  deployment: standalone
  registered: [{usedSlots: 2}, {used: {cpu: 1, taskHeap: 1g}}]
  pending: 1
options:
  slotmanager.redundant-taskmanager-num: 1
  slotmanager.number-of-slots.max: 64
catalog:
  - {name: small, resources: {cpu: 2, taskHeap: 4g, extended: {gpu: 1}}, slots: 2, cost: 0.7}
search: {maxCpu: 16, maxMemory: 64g, maxCandidates: 100}
`
	spec, _, err := Parse([]byte(in), "p.yaml", ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Groups[0].Slots != 5 || len(spec.Groups[0].Vertices) != 2 || spec.Groups[1].Profile.Extended["gpu"] != DecimalInt(1) {
		t.Errorf("groups = %+v", spec.Groups)
	}
	if !spec.Options.Standalone || spec.Options.RedundantTaskManagers != 1 || spec.Options.MaxSlots != 64 || spec.Pending != 1 || len(spec.Registered) != 2 {
		t.Errorf("options = %+v pending %d registered %d", spec.Options, spec.Pending, len(spec.Registered))
	}
	if spec.Registered[0].CPU != DecimalInt(2) || spec.Registered[0].TaskHeap != 4*testGiB {
		t.Errorf("usedSlots 2 = %+v", spec.Registered[0])
	}
	if spec.Search.MaxCandidates != 100 || spec.Search.MaxMemory != 64*testGiB || spec.Search.MaxCPU != DecimalInt(16) {
		t.Errorf("search = %+v", spec.Search)
	}
	if spec.TaskManager.Cost != 2.5 || spec.TaskManager.ProcessMemory != 24*testGiB || len(spec.Catalog) != 1 {
		t.Errorf("shapes = %+v", spec)
	}
	if _, err := Plan(spec); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"fragmentation.yaml", "coarse-4096m.yaml", "gpu-catalog.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", "plan", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(tmExplicit + "slotSharingGroups: [{name: a, parallelism: 3, resources: {cpu: 0.5, taskHeap: 1g}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, _, err := Parse(data, "fuzz.yaml", t.TempDir(), LoadOptions{})
		if err != nil {
			return
		}
		// Whatever parses must plan without panicking, within small bounds.
		slots := 0
		for _, g := range spec.Groups {
			slots += g.Slots
		}
		if slots > 300 || len(spec.Groups) > 4 || len(spec.Registered)+spec.Pending > 20 || spec.Options.RedundantTaskManagers > 20 ||
			spec.Options.MinSlots > 100 || spec.Options.MinTotalCPU != nil || spec.Options.MinTotalMemory != nil {
			return
		}
		spec.Search.MaxCandidates = 5
		if _, err := Plan(spec); err != nil && !strings.Contains(err.Error(), "TaskManager") {
			t.Fatalf("plan error %v", err)
		}
	})
}
