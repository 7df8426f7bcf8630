package cli

import (
	"bytes"
	"testing"
)

func TestWriteDoc(t *testing.T) {
	v := []struct {
		JobID string            `json:"jobId"`
		Lag   float64           `json:"lagSeconds"`
		Tags  map[string]string `json:"tags"`
		Empty []int             `json:"empty"`
	}{{"a1", 1.5, map[string]string{"b": "true", "a": "x: y"}, []int{}}}
	for format, want := range map[string]string{
		"json": "[\n  {\n    \"jobId\": \"a1\",\n    \"lagSeconds\": 1.5,\n    \"tags\": {\n      \"a\": \"x: y\",\n      \"b\": \"true\"\n    },\n    \"empty\": []\n  }\n]\n",
		"yaml": "- jobId: a1\n  lagSeconds: 1.5\n  tags:\n    a: 'x: y'\n    b: \"true\"\n  empty: []\n",
	} {
		var b bytes.Buffer
		if err := writeDoc(&b, format, v); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s:\n%s\nwant:\n%s", format, b.String(), want)
		}
	}
	if err := checkOutput("xml", "table", "json", "yaml"); err == nil {
		t.Error("xml accepted")
	}
}

func TestCamelKeys(t *testing.T) {
	in := `{"profile":"flink1","task_manager":{"framework_heap":134217728,"cpu_cores":"4.0","x_y":[{"a_b":null,"c":true}],"sources":{"jvm_heap":"Framework Heap + Task Heap <1>"}},"big":12345678901234567890,"empty":{},"list":[]}`
	got, err := camelKeys([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"profile":"flink1","taskManager":{"frameworkHeap":134217728,"cpuCores":"4.0","xY":[{"aB":null,"c":true}],"sources":{"jvmHeap":"Framework Heap + Task Heap <1>"}},"big":12345678901234567890,"empty":{},"list":[]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
