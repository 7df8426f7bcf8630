package generate

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML shape of a generated scenario: a subset of scenarios/FORMAT.md written with the
// format's own field names, so the output is a scenario a user could have typed.

type fileSpec struct {
	Name         string            `yaml:"name"`
	Seed         uint64            `yaml:"seed"`
	Duration     string            `yaml:"duration"`
	FlinkVersion string            `yaml:"flinkVersion"`
	Cluster      clusterSpec       `yaml:"cluster"`
	Jobs         []jobSpec         `yaml:"jobs"`
	Faults       []faultSpec       `yaml:"faults,omitempty"`
	SLO          sloSpec           `yaml:"slo"`
	Autoscaler   map[string]string `yaml:"autoscaler,omitempty"`
}

type clusterSpec struct {
	Config       map[string]string `yaml:"config"`
	TaskManagers tmSpec            `yaml:"taskManagers"`
}

type tmSpec struct {
	Initial      int    `yaml:"initial"`
	Min          int    `yaml:"min"`
	Max          int    `yaml:"max"`
	StartupDelay string `yaml:"startupDelay"`
}

type jobSpec struct {
	Name     string            `yaml:"name"`
	Config   map[string]string `yaml:"config"`
	Vertices []vertexSpec      `yaml:"vertices"`
	Load     []segmentSpec     `yaml:"load"`
	Restart  restartSpec       `yaml:"restart"`
}

type restartSpec struct {
	Base        string `yaml:"base"`
	RestoreRate string `yaml:"restoreRate"`
}

type vertexSpec struct {
	ID                string      `yaml:"id"`
	Name              string      `yaml:"name"`
	Parallelism       int         `yaml:"parallelism"`
	Capacity          float64     `yaml:"capacity"`
	ScalingEfficiency float64     `yaml:"scalingEfficiency,omitempty"`
	Selectivity       *float64    `yaml:"selectivity,omitempty"`
	Partitions        int         `yaml:"partitions,omitempty"`
	Inputs            []inputSpec `yaml:"inputs,omitempty,flow"`
	KeySkew           float64     `yaml:"keySkew,omitempty"`
	State             *stateSpec  `yaml:"state,omitempty,flow"`
	Heap              *heapSpec   `yaml:"heap,omitempty,flow"`
}

type inputSpec struct {
	From string `yaml:"from"`
	Ship string `yaml:"ship"`
}

type stateSpec struct {
	Bytes           string `yaml:"bytes,omitempty"`
	BytesPerSubtask string `yaml:"bytesPerSubtask,omitempty"`
}

type heapSpec struct {
	Base               string  `yaml:"base"`
	PerRecordPerSecond float64 `yaml:"perRecordPerSecond,omitempty"`
}

type segmentSpec struct {
	Source  string     `yaml:"source"`
	At      string     `yaml:"at"`
	Rate    float64    `yaml:"rate"`
	Ramp    string     `yaml:"ramp,omitempty"`
	Sine    *sineSpec  `yaml:"sine,omitempty,flow"`
	Spike   *spikeSpec `yaml:"spike,omitempty,flow"`
	Noise   *float64   `yaml:"noise,omitempty"`
	Backlog int64      `yaml:"backlog,omitempty"`
}

type sineSpec struct {
	Period    string  `yaml:"period"`
	Amplitude float64 `yaml:"amplitude"`
}

type spikeSpec struct {
	For    string  `yaml:"for"`
	Factor float64 `yaml:"factor"`
}

type faultSpec struct {
	At      string   `yaml:"at"`
	For     string   `yaml:"for,omitempty"`
	Kill    string   `yaml:"kill,omitempty"`
	Count   int      `yaml:"count,omitempty"`
	REST    string   `yaml:"rest,omitempty"`
	Rate    float64  `yaml:"rate,omitempty"`
	Metrics string   `yaml:"metrics,omitempty"`
	Names   []string `yaml:"names,omitempty,flow"`
}

type sloSpec struct {
	MaxLag string `yaml:"maxLag"`
}

// marshal writes the spec as YAML with a comment line describing it on top.
func (f *fileSpec) marshal(comment string) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# " + comment + "\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	return buf.Bytes(), nil
}

// dur writes a duration in the format's short syntax ("90s", "5m", "2h", "1d").
func dur(d time.Duration) string {
	d = d.Round(time.Second)
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d >= u.d && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// mebibytes writes a size in Flink's syntax, in whole MiB ("300m").
func mebibytes(b int64) string { return strconv.FormatInt(max(b>>20, 1), 10) + "m" }

func ptr[T any](v T) *T { return &v }
