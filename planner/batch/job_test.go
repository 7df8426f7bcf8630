package batch

import (
	"os"
	"strings"
	"testing"
)

func TestDecideJob(t *testing.T) {
	in := `options:
  execution.batch.adaptive.auto-parallelism.min-parallelism: 1
  execution.batch.adaptive.auto-parallelism.max-parallelism: 10
  execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task: 60b
vertices:
  - name: src
    parallelism: 1
  - name: agg
    inputs:
      - from: src
        subpartitions: 10
        subpartitionBytes: [[10, 15, 13, 12, 1, 10, 8, 20, 12, 17]]
      - name: other
        partitions: 1
        subpartitions: 10
        subpartitionBytes: [[8, 12, 21, 9, 13, 7, 19, 13, 14, 5]]
  - name: sink
    inputs:
      - {from: agg, type: pointwise, subpartitions: 2, uniformSubpartitionBytes: 4}
`
	job, warns, err := Parse([]byte(in), "job.yaml")
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	r, err := Decide(job)
	if err != nil {
		t.Fatal(err)
	}
	// testAllEdgesAllToAll: 5 ranges; the sink reads agg's 5 partitions pointwise: ceil(5*2*4/60) = 1.
	if r.Vertices[1].Parallelism != 5 || r.Vertices[1].Path != PathData || r.Vertices[2].Parallelism != 1 || r.Vertices[2].Inputs[0].Partitions != 5 {
		t.Fatalf("%+v", r.Vertices)
	}
	if s := r.Vertices[1].BytesPerSubtask; s == nil || s.Min != 22 || s.Max != 59 {
		t.Errorf("bytes per subtask = %+v", s)
	}
	var b strings.Builder
	if err := RenderText(&b, r); err != nil || !strings.Contains(b.String(), "agg ← src") {
		t.Errorf("render: %v\n%s", err, b.String())
	}
}

func TestConfigFromKeys(t *testing.T) {
	for _, tc := range []struct {
		in      string
		maxP    int
		dv      int64
		srcP    int
		wantErr string
	}{
		{"vertices: [{name: a}]\n", 128, 16 << 20, 0, ""},
		{"options: {parallelism.default: 12}\nvertices: [{name: a}]\n", 12, 16 << 20, 0, ""},
		{"options: {parallelism.default: 12, execution.batch.adaptive.auto-parallelism.max-parallelism: 64}\nvertices: [{name: a}]\n", 64, 16 << 20, 0, ""},
		{"options: {jobmanager.adaptive-batch-scheduler.avg-data-volume-per-task: 1g, jobmanager.adaptive-batch-scheduler.default-source-parallelism: 4}\nvertices: [{name: a}]\n", 128, 1 << 30, 4, ""},
		{"options: {execution.batch.adaptive.auto-parallelism.max-parallelism: x}\nvertices: [{name: a}]\n", 0, 0, 0, "Could not parse value 'x'"},
		{"options: {execution.batch.adaptive.auto-parallelism.min-parallelism: 5, execution.batch.adaptive.auto-parallelism.max-parallelism: 4}\nvertices: [{name: a}]\n", 0, 0, 0, "Maximum parallelism should be greater than or equal to the minimum parallelism."},
	} {
		job, _, err := Parse([]byte(tc.in), "j.yaml")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		c := job.Config
		if c.MaxParallelism != tc.maxP || c.DataVolumePerTask != tc.dv || c.DefaultSourceParallelism != tc.srcP {
			t.Errorf("%q: config %+v", tc.in, c)
		}
	}
}

func TestLegacyJob(t *testing.T) {
	in := "options: {execution.batch.adaptive.auto-parallelism.avg-data-volume-per-task: 100b}\nlegacyPow2: true\nvertices:\n  - {name: a, parallelism: 4}\n  - {name: b, inputs: [{from: a, subpartitions: 128, totalBytes: 1000}]}\n"
	job, _, err := Parse([]byte(in), "j.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Decide(job)
	if err != nil {
		t.Fatal(err)
	}
	if r.Vertices[1].Parallelism != 8 || !strings.Contains(r.Vertices[1].Path, "power of two") {
		t.Errorf("%+v", r.Vertices[1])
	}
}

func FuzzParseBatch(f *testing.F) {
	data, err := os.ReadFile("../../examples/plan/batch.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("vertices: [{name: a}, {name: b, inputs: [{from: a, type: pointwise, subpartitions: 3, totalBytes: 7}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		job, _, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		cells := 0
		for _, v := range job.Vertices {
			for _, in := range v.Inputs {
				cells += max(in.Partitions, job.Config.MaxParallelism) * in.Subpartitions
			}
		}
		if cells > 1<<20 || job.Config.MaxParallelism > 1<<12 {
			return // keep each run small
		}
		r, err := Decide(job)
		if err != nil {
			return // Flink's own precondition failures are reported as errors
		}
		for _, v := range r.Vertices {
			if v.Parallelism < 1 {
				t.Fatalf("vertex %s parallelism %d", v.Name, v.Parallelism)
			}
			for _, in := range v.Inputs {
				if len(in.Subtasks) != v.Parallelism && !(in.Type == "pointwise" && len(in.Subtasks) == v.Parallelism) {
					t.Fatalf("vertex %s input %s: %d subtask infos for parallelism %d", v.Name, in.Name, len(in.Subtasks), v.Parallelism)
				}
			}
		}
	})
}
