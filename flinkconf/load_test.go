package flinkconf

import (
	"strings"
	"testing"
)

func TestParseFlat(t *testing.T) {
	in := `# Flink's default config
taskmanager.memory.process.size: 1728m   # TM size
jobmanager.rpc.address: localhost
taskmanager.memory.flink.size: "   "
broken-line-without-space:1
empty.value:
taskmanager.numberOfTaskSlots: 2
taskmanager.numberOfTaskSlots: 4
url: http://host:8081/path
`
	c, warns := ParseFlat(strings.NewReader(in), "flink-conf.yaml")
	want := map[string]string{
		"taskmanager.memory.process.size": "1728m",
		"jobmanager.rpc.address":          "localhost",
		"taskmanager.memory.flink.size":   `"   "`,
		"taskmanager.numberOfTaskSlots":   "4",
		"url":                             "http://host:8081/path",
	}
	if got := c.Map(); len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got, _ := c.Get(k); got != v {
			t.Errorf("%s = %q want %q", k, got, v)
		}
	}
	if o := c.OriginOf("taskmanager.numberOfTaskSlots"); o.Line != 8 || o.Source != "flink-conf.yaml" {
		t.Errorf("origin = %v", o)
	}
	if len(warns) != 3 {
		t.Errorf("warnings = %v", warns)
	}
}

func TestParseYAML(t *testing.T) {
	in := `
taskmanager:
  memory:
    process.size: 4g
    network:
      fraction: 0.15
  numberOfTaskSlots: 4
jobmanager.scheduler: adaptive
pipeline.jars: [a.jar, b.jar]
quoted: "1728m"
nothing:
`
	c, warns, err := ParseYAML([]byte(in), "config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"taskmanager.memory.process.size":     "4g",
		"taskmanager.memory.network.fraction": "0.15",
		"taskmanager.numberOfTaskSlots":       "4",
		"jobmanager.scheduler":                "adaptive",
		"pipeline.jars":                       "a.jar;b.jar",
		"quoted":                              "1728m",
	}
	for k, v := range want {
		if got, _ := c.Get(k); got != v {
			t.Errorf("%s = %q want %q", k, got, v)
		}
	}
	if c.Len() != len(want) || len(warns) != 1 {
		t.Errorf("keys %v warnings %v", c.Keys(), warns)
	}
	if o := c.OriginOf("taskmanager.memory.network.fraction"); o.Line != 6 {
		t.Errorf("origin %v", o)
	}
	if _, _, err := ParseYAML([]byte("- a\n- b\n"), "x.yaml"); err == nil {
		t.Error("a list is not a configuration")
	}
	if _, _, err := ParseYAML([]byte("a: [\n"), "x.yaml"); err == nil {
		t.Error("broken YAML must fail")
	}
}

func TestAutoDetect(t *testing.T) {
	flat, _, _ := Parse([]byte("a.b: 1\nc: x: y\n"), "in", FormatAuto)
	if v, _ := flat.Get("c"); v != "x: y" {
		t.Errorf("flat file keeps the rest after the first ': ', got %q", v)
	}
	nested, _, _ := Parse([]byte("a:\n  b: 1\n"), "in", FormatAuto)
	if v, _ := nested.Get("a.b"); v != "1" {
		t.Errorf("nested file read as YAML, got %v", nested.Map())
	}
}

func TestOverrides(t *testing.T) {
	c := FromMap(map[string]string{"a": "1", "b": "2"})
	if err := c.ApplyOverrides([]string{"a=3", "b=", "c = x=y"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("a"); v != "3" || c.Has("b") {
		t.Errorf("got %v", c.Map())
	}
	if v, _ := c.Get("c"); v != "x=y" {
		t.Errorf("c = %q", v)
	}
	if err := c.ApplyOverrides([]string{"novalue"}); err == nil || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("err = %v", err)
	}
}

func TestMisspellings(t *testing.T) {
	c := FromMap(map[string]string{
		"taskmanager.memory.proces.size":      "4g",
		"taskmanager.memory.managed.fractoin": "0.2",
		"taskmanager.memory.process.size":     "4g",
		"state.backend.rocksdb.whatever":      "x",
		"my.user.key":                         "y",
		"taskmanager.host":                    "h",
	})
	warns := c.Misspellings(KnownOptions)
	got := map[string]bool{}
	for _, w := range warns {
		got[w.Message] = true
	}
	for _, want := range []string{
		"unknown key taskmanager.memory.proces.size: did you mean taskmanager.memory.process.size? (the misspelt key is ignored by Flink)",
		"unknown key taskmanager.memory.managed.fractoin: did you mean taskmanager.memory.managed.fraction? (the misspelt key is ignored by Flink)",
	} {
		if !got[want] {
			t.Errorf("missing warning %q in %v", want, warns)
		}
	}
	if len(warns) != 2 {
		t.Errorf("unexpected warnings: %v", warns)
	}
}
