package local

import (
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// The scenario job flushes its outputs every millisecond unless the scenario says otherwise,
// under both spellings of the key (1.19+ and older).
func TestScenarioSpecBufferTimeout(t *testing.T) {
	base := `
name: b
duration: 1m
cluster: {taskManagers: {initial: 1}}
jobs:
  - name: j
    CONFIG
    vertices:
      - {id: src, capacity: 100}
    load:
      - {source: src, at: 0, rate: 10}
`
	for _, tc := range []struct{ config, want string }{
		{"", "1ms"},
		{"config: {execution.buffer-timeout: 50ms}", "50ms"},
		{"config: {execution.buffer-timeout.interval: 20ms}", "20ms"},
	} {
		sc, err := scenario.Parse([]byte(strings.Replace(base, "CONFIG", tc.config, 1)), "b.yaml")
		if err != nil {
			t.Fatal(err)
		}
		spec, err := ScenarioSpec(sc, 0, time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := spec.Config["execution.buffer-timeout.interval"], spec.Config["execution.buffer-timeout"]; a != tc.want || b != tc.want {
			t.Errorf("config %q: buffer timeout %q / %q, want %q", tc.config, a, b, tc.want)
		}
	}
}
