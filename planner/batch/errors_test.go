package batch

import (
	"strings"
	"testing"
)

// A vertex with several problems reports one: the first in the documented order (the
// vertex's own fields, then its inputs in order; in an input its type, where its partitions
// come from, its subpartitions, then its bytes). The order between the type and the source
// is a convention; the later steps need the earlier ones' results (a pointwise input needs
// subpartitions, subpartitionBytes rows are as long as the subpartitions). Each case has two
// problems; the other one's message must not be the error.
func TestVertexErrorOrder(t *testing.T) {
	const src = "vertices:\n  - name: src\n    parallelism: 2\n"
	tests := []struct {
		name      string
		vertex    string // the second vertex, after src
		want, not string
	}{
		{
			name:   "the vertex's fields before its inputs",
			vertex: "  - name: v\n    parallelism: -1\n    inputs:\n      - {from: src, type: hash, totalBytes: 1}\n",
			want:   `vertex "v": parallelism -1 must be positive`, not: "distribution pattern",
		},
		{
			name:   "parallelism before maxParallelism",
			vertex: "  - name: v\n    parallelism: -1\n    maxParallelism: -2\n",
			want:   "parallelism -1 must be positive", not: "maxParallelism -2",
		},
		{
			name:   "inputs in order",
			vertex: "  - name: v\n    inputs:\n      - {from: nowhere, totalBytes: 1}\n      - {from: src, type: hash, totalBytes: 1}\n",
			want:   `input 1: from "nowhere" names no earlier vertex`, not: "input 2",
		},
		{
			name:   "the type before the source",
			vertex: "  - name: v\n    inputs:\n      - {from: nowhere, type: hash, totalBytes: 1}\n",
			want:   `input 1: type "hash" is not a distribution pattern`, not: "nowhere",
		},
		{
			name:   "a pointwise broadcast before the missing partitions",
			vertex: "  - name: v\n    inputs:\n      - {type: pointwise, broadcast: true, subpartitions: 1, totalBytes: 1}\n",
			want:   "a broadcast input is all_to_all", not: "partitions 0",
		},
		{
			name:   "the source before the subpartitions",
			vertex: "  - name: v\n    inputs:\n      - {from: src, partitions: 2, type: pointwise, totalBytes: 1}\n",
			want:   "give from or partitions, not both", not: "subpartitions is required",
		},
		{
			name:   "the subpartitions before the bytes",
			vertex: "  - name: v\n    inputs:\n      - {partitions: 2, type: pointwise}\n",
			want:   "subpartitions is required for a pointwise input", not: "exactly one of",
		},
		{
			name:   "a byte row's length before the row count",
			vertex: "  - name: v\n    inputs:\n      - {partitions: 2, subpartitions: 2, subpartitionBytes: [[1, 2, 3]]}\n",
			want:   "subpartitionBytes row 0 has 3 values, want 2 (subpartitions)", not: "rows, want 2 (partitions)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(src+tc.vertex), "j.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.not) {
				t.Errorf("error %q, want the one with %q (not %q)", msg, tc.want, tc.not)
			}
		})
	}
}

// Each check of a vertex rejects its input alone, naming the problem; a duplicate name, a
// negative byte count or a byte table with the wrong number of rows would otherwise plan a
// job that cannot exist.
func TestVertexRejects(t *testing.T) {
	const src = "vertices:\n  - name: src\n    parallelism: 2\n"
	tests := []struct {
		name, vertex, want string
	}{
		{"duplicate name", "  - name: src\n", `line 4: vertex "src" is defined twice`},
		{"no name", "  - parallelism: 1\n", "line 4: vertices[1].name is required"},
		{"max parallelism above Flink's", "  - name: v\n    maxParallelism: 32769\n", "parallelism 32769 is above Flink's maximum parallelism 32768"},
		{"parallelism above Flink's", "  - name: v\n    parallelism: 40000\n", "parallelism 40000 is above Flink's maximum parallelism 32768"},
		{"negative byte count", "  - name: v\n    inputs:\n      - {partitions: 1, subpartitions: 2, subpartitionBytes: [[1, -1]]}\n",
			"subpartitionBytes row 0 has a negative value"},
		{"a row per partition", "  - name: v\n    inputs:\n      - {partitions: 2, subpartitions: 2, subpartitionBytes: [[1, 2]]}\n",
			"subpartitionBytes has 1 rows, want 2 (partitions)"},
		{"two byte sources", "  - name: v\n    inputs:\n      - {partitions: 1, totalBytes: 1, uniformSubpartitionBytes: 1}\n",
			"give exactly one of totalBytes, subpartitionBytes, uniformSubpartitionBytes"},
		{"negative subpartitions", "  - name: v\n    inputs:\n      - {partitions: 1, subpartitions: -1, totalBytes: 1}\n",
			"subpartitions -1 must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(src+tc.vertex), "j.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// A vertex's max parallelism is its own when given; otherwise the scheduler's upper bound, or
// its fixed parallelism when that is higher. An all-to-all input without subpartitions has one
// per possible consumer subtask: the consumer's max parallelism.
func TestVertexMaxParallelism(t *testing.T) {
	const head = "options:\n  execution.batch.adaptive.auto-parallelism.max-parallelism: 10\nvertices:\n  - name: src\n    parallelism: 2\n"
	const input = "    inputs:\n      - {from: src, totalBytes: 1}\n"
	tests := []struct {
		name, vertex      string
		wantMax           int
		wantExplicit      bool
		wantSubpartitions int
	}{
		{"given", "  - name: v\n    maxParallelism: 64\n" + input, 64, true, 64},
		{"given below the scheduler's", "  - name: v\n    maxParallelism: 4\n" + input, 4, true, 4},
		{"the scheduler's upper bound", "  - name: v\n" + input, 10, false, 10},
		{"a higher fixed parallelism", "  - name: v\n    parallelism: 200\n" + input, 200, false, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			job, _, err := Parse([]byte(head+tc.vertex), "j.yaml")
			if err != nil {
				t.Fatal(err)
			}
			v := job.Vertices[1]
			if v.MaxParallelism != tc.wantMax || v.ExplicitMax != tc.wantExplicit || v.Inputs[0].Subpartitions != tc.wantSubpartitions {
				t.Errorf("max parallelism %d (given %v), subpartitions %d; want %d (%v), %d",
					v.MaxParallelism, v.ExplicitMax, v.Inputs[0].Subpartitions, tc.wantMax, tc.wantExplicit, tc.wantSubpartitions)
			}
		})
	}
}
