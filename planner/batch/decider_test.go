package batch

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

type batchVector struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	Config struct {
		Min    int   `json:"min_parallelism"`
		Max    int   `json:"max_parallelism"`
		DV     int64 `json:"data_volume_per_task_bytes"`
		Source int   `json:"default_source_parallelism"`
	} `json:"config"`
	Vertex struct {
		Initial int `json:"initial_parallelism"`
		Max     int `json:"vertex_max_parallelism"`
	} `json:"vertex"`
	Inputs []struct {
		Type          string    `json:"type"`
		Broadcast     bool      `json:"broadcast"`
		Partitions    int       `json:"num_partitions"`
		Subpartitions int       `json:"num_subpartitions"`
		Total         *int64    `json:"total_bytes"`
		Bytes         [][]int64 `json:"subpartition_bytes"`
		Uniform       *int64    `json:"uniform_subpartition_bytes"`
	} `json:"inputs"`
	Expected struct {
		Parallelism int              `json:"parallelism"`
		InputInfos  [][]SubtaskInput `json:"input_infos"`
	} `json:"expected"`
}

func loadBatchVectors(t *testing.T) []batchVector {
	t.Helper()
	f, err := os.Open("../../testdata/vectors/adaptive-batch.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []batchVector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var v batchVector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAdaptiveBatchVectors(t *testing.T) {
	vectors := loadBatchVectors(t)
	if len(vectors) != 15 {
		t.Fatalf("want 15 vectors, got %d", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			c := Config{MinParallelism: v.Config.Min, MaxParallelism: v.Config.Max, DataVolumePerTask: v.Config.DV, DefaultSourceParallelism: v.Config.Source}
			var inputs []Input
			for _, x := range v.Inputs {
				in := Input{Name: x.Type, Broadcast: x.Broadcast, Partitions: x.Partitions, Subpartitions: x.Subpartitions, Bytes: x.Bytes}
				if x.Type == "pointwise" {
					in.Type = Pointwise
				}
				switch {
				case x.Total != nil:
					in.Total = *x.Total
				case x.Uniform != nil:
					in.Uniform, in.HasUniform = *x.Uniform, true
				case x.Bytes == nil:
					t.Fatal("input without bytes")
				}
				inputs = append(inputs, in)
			}
			vx := Vertex{Name: v.ID, InitialParallelism: v.Vertex.Initial, MaxParallelism: v.Vertex.Max, Inputs: inputs}
			switch v.Method {
			case "decideParallelism":
				minP, maxP := c.MinParallelism, min(c.MaxParallelism, vx.MaxParallelism)
				if got := c.DecideParallelism(inputs, minP, maxP); got != v.Expected.Parallelism {
					t.Errorf("DecideParallelism = %d, want %d", got, v.Expected.Parallelism)
				}
			case "decideParallelismAndInputInfosForVertex":
				d, err := DecideVertex(c, vx)
				if err != nil {
					t.Fatal(err)
				}
				if d.Parallelism != v.Expected.Parallelism {
					t.Errorf("parallelism = %d, want %d (path %s)", d.Parallelism, v.Expected.Parallelism, d.Path)
				}
				want := v.Expected.InputInfos
				if want == nil {
					want = [][]SubtaskInput{}
				}
				got := d.InputInfos
				if got == nil {
					got = [][]SubtaskInput{}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("input infos = %v\nwant %v", got, want)
				}
			default:
				t.Fatalf("unknown method %q", v.Method)
			}
		})
	}
}

// Worked examples of flink-scheduling.md §C.3 and §C.4 that the vectors do not pin down.
func TestDeciderWorkedExamples(t *testing.T) {
	a := Input{Partitions: 1, Subpartitions: 10, Bytes: [][]int64{{10, 15, 13, 12, 1, 10, 8, 20, 12, 17}}}
	t.Run("min bisection limit 36", func(t *testing.T) {
		c := Config{MinParallelism: 4, MaxParallelism: 10, DataVolumePerTask: 1000}
		d, err := DecideVertex(c, Vertex{InitialParallelism: -1, MaxParallelism: 10, Inputs: []Input{a}})
		if err != nil || d.Path != PathData {
			t.Fatal(d, err)
		}
		want := []Range{{0, 1}, {2, 5}, {6, 7}, {8, 9}}
		for i, s := range d.InputInfos[0] {
			if s.Subpartitions != want[i] {
				t.Errorf("subtask %d = %v, want %v", i, s.Subpartitions, want[i])
			}
		}
	})
	t.Run("fallback path", func(t *testing.T) {
		in := Input{Partitions: 1, Subpartitions: 10, Bytes: [][]int64{{10, 1, 10, 1, 10, 1, 10, 1, 10, 1}}}
		d, err := DecideVertex(Config{MinParallelism: 8, MaxParallelism: 8, DataVolumePerTask: 10}, Vertex{InitialParallelism: -1, MaxParallelism: 8, Inputs: []Input{in}})
		if err != nil || d.Path != PathFallback || d.Parallelism != 8 {
			t.Fatal(d, err)
		}
	})
	t.Run("pointwise uneven consumers use i mod n", func(t *testing.T) {
		infos, err := pointwiseInfos(2, 5, 6)
		if err != nil {
			t.Fatal(err)
		}
		want := []SubtaskInput{
			{Range{0, 0}, Range{0, 1}}, {Range{0, 0}, Range{2, 3}}, {Range{0, 0}, Range{4, 5}},
			{Range{1, 1}, Range{3, 5}}, {Range{1, 1}, Range{0, 2}},
		}
		if !reflect.DeepEqual(infos, want) {
			t.Errorf("got %v\nwant %v", infos, want)
		}
	})
	t.Run("too few subpartitions is Flink's IllegalArgumentException", func(t *testing.T) {
		_, err := DecideVertex(Config{MinParallelism: 1, MaxParallelism: 10, DataVolumePerTask: 1},
			Vertex{InitialParallelism: 5, MaxParallelism: 10, Inputs: []Input{{Name: "x", Partitions: 1, Subpartitions: 3, Total: 100}}})
		if err == nil {
			t.Fatal("expected an error")
		}
	})
	t.Run("legacy power of two", func(t *testing.T) {
		c := Config{MinParallelism: 1, MaxParallelism: 128, DataVolumePerTask: 100}
		for _, tc := range []struct{ bytes, want int64 }{{1000, 8}, {600, 8}, {1200, 16}, {30000, 128}, {100, 1}, {0, 1}, {400, 4}} {
			got := DecideLegacyPow2(c, []Input{{Partitions: 1, Subpartitions: 1, Total: tc.bytes}})
			if int64(got) != tc.want {
				t.Errorf("p0 from %d bytes: got %d, want %d", tc.bytes, got, tc.want)
			}
		}
		// Broadcast bytes shrink the per-task budget, capped at half of it.
		got := DecideLegacyPow2(c, []Input{{Partitions: 1, Subpartitions: 1, Total: 500}, {Broadcast: true, Partitions: 1, Subpartitions: 1, Total: 1000}})
		if got != 8 { // ceil(500 / (100 − 50)) = 10 → 8
			t.Errorf("with broadcast: got %d, want 8", got)
		}
		if got := DecideLegacyPow2(Config{MinParallelism: 3, MaxParallelism: 100, DataVolumePerTask: 100}, []Input{{Total: 100, Partitions: 1, Subpartitions: 1}}); got != 4 {
			t.Errorf("min rounds up to a power of two: got %d, want 4", got)
		}
	})
}

func TestBisection(t *testing.T) {
	ok := func(th int64) func(int64) bool { return func(v int64) bool { return v >= th } }
	if got := findMinLegalValue(ok(37), 0, 100); got != 37 {
		t.Errorf("findMinLegalValue = %d", got)
	}
	if got := findMinLegalValue(ok(101), 0, 100); got != -1 {
		t.Errorf("findMinLegalValue none = %d", got)
	}
	le := func(th int64) func(int64) bool { return func(v int64) bool { return v <= th } }
	if got := findMaxLegalValue(le(48), 1, 1000); got != 48 {
		t.Errorf("findMaxLegalValue = %d", got)
	}
	if got := findMaxLegalValue(le(0), 1, 1000); got != -1 {
		t.Errorf("findMaxLegalValue none = %d", got)
	}
}
