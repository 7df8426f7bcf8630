package batch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flinktune/flinktune/flinkconf"
)

// Job is a validated `flinktune plan batch` input: the scheduler settings and the vertices in
// topological order.
type Job struct {
	Config     Config
	LegacyPow2 bool
	Vertices   []JobVertex
}

// JobVertex is a vertex whose inputs may take their partition count from an upstream vertex.
type JobVertex struct {
	Vertex
	// From names, per input, the upstream vertex ("" if partitions are given).
	From []string
	// ExplicitMax reports whether maxParallelism was given.
	ExplicitMax bool
}

type jobFile struct {
	Options    yaml.Node     `yaml:"options"`
	LegacyPow2 bool          `yaml:"legacyPow2"`
	Vertices   []vertexInput `yaml:"vertices"`
}

type vertexInput struct {
	Name           string       `yaml:"name"`
	Parallelism    int          `yaml:"parallelism"`
	MaxParallelism int          `yaml:"maxParallelism"`
	Inputs         []inputInput `yaml:"inputs"`
	Line           int          `yaml:"-"`
}

func (v *vertexInput) UnmarshalYAML(n *yaml.Node) error {
	type plain vertexInput
	if err := decodeStrict(n, (*plain)(v)); err != nil {
		return err
	}
	v.Line = n.Line
	return nil
}

type inputInput struct {
	Name              string    `yaml:"name"`
	From              string    `yaml:"from"`
	Type              string    `yaml:"type"`
	Broadcast         bool      `yaml:"broadcast"`
	Partitions        int       `yaml:"partitions"`
	Subpartitions     int       `yaml:"subpartitions"`
	TotalBytes        *byteSize `yaml:"totalBytes"`
	SubpartitionBytes [][]int64 `yaml:"subpartitionBytes"`
	UniformBytes      *byteSize `yaml:"uniformSubpartitionBytes"`
	Line              int       `yaml:"-"`
}

func (in *inputInput) UnmarshalYAML(n *yaml.Node) error {
	type plain inputInput
	if err := decodeStrict(n, (*plain)(in)); err != nil {
		return err
	}
	in.Line = n.Line
	return nil
}

// byteSize is a byte count: a number or a Flink memory size ("8g").
type byteSize struct{ n int64 }

func (b *byteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a byte count such as 1048576 or 8g", n.Line)
	}
	v, e := flinkconf.ParseMemorySize(n.Value)
	if e != nil {
		return fmt.Errorf("line %d: %q is not a byte count: %s", n.Line, n.Value, e.Message)
	}
	b.n = v
	return nil
}

func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	known := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			keys := make([]string, 0, len(known))
			for k := range known {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return fmt.Errorf("line %d: unknown field %q (known fields: %s)", k.Line, k.Value, strings.Join(keys, ", "))
		}
	}
	return n.Decode(v)
}

// LoadFile reads a batch planning input; path "-" reads stdin.
func LoadFile(path string, stdin io.Reader) (Job, []string, error) {
	var data []byte
	var err error
	source := path
	if path == "-" {
		source = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return Job{}, nil, err
	}
	return Parse(data, source)
}

// Parse reads a batch planning input.
func Parse(data []byte, source string) (Job, []string, error) {
	fail := func(err error) (Job, []string, error) { return Job{}, nil, fmt.Errorf("%s: %w", source, err) }
	var f jobFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(errors.New("empty input: expected vertices"))
		}
		return fail(errors.New(strings.TrimPrefix(strings.ReplaceAll(err.Error(), "yaml: unmarshal errors:\n  ", ""), "yaml: ")))
	}
	cfg := flinkconf.New()
	if f.Options.Kind != 0 {
		if f.Options.Kind != yaml.MappingNode {
			return fail(fmt.Errorf("line %d: options must be a mapping of Flink keys to values", f.Options.Line))
		}
		for i := 0; i+1 < len(f.Options.Content); i += 2 {
			k, v := f.Options.Content[i], f.Options.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fail(fmt.Errorf("line %d: options.%s must be a plain value", k.Line, k.Value))
			}
			cfg.SetFrom(k.Value, v.Value, flinkconf.Origin{Source: source, Line: k.Line})
		}
	}
	var warns []string
	for _, w := range cfg.Misspellings(flinkconf.KnownOptions) {
		warns = append(warns, w.String())
	}
	c, err := ConfigFrom(cfg)
	if err != nil {
		return fail(err)
	}
	job := Job{Config: c, LegacyPow2: f.LegacyPow2}
	if len(f.Vertices) == 0 {
		return fail(errors.New("vertices is required: at least one vertex"))
	}
	names := map[string]int{}
	for vi, vin := range f.Vertices {
		v, err := buildVertex(vin, vi, c, names)
		if err != nil {
			return fail(err)
		}
		names[vin.Name] = vi
		job.Vertices = append(job.Vertices, v)
	}
	return job, warns, nil
}

// ConfigFrom reads the adaptive batch scheduler options (new keys, then the 1.15/1.16 keys).
// The upper bound is max-parallelism if configured, else parallelism.default if configured,
// else 128.
func ConfigFrom(cfg *flinkconf.Config) (Config, error) {
	var c Config
	minP, _, e := cfg.Int(flinkconf.BatchMinParallelism)
	if e != nil {
		return c, e
	}
	c.MinParallelism = int(minP)
	maxOpt := flinkconf.BatchMaxParallelism
	if !cfg.IsConfigured(maxOpt) && cfg.IsConfigured(flinkconf.ParallelismDefault) {
		maxOpt = flinkconf.ParallelismDefault
	}
	maxP, _, e := cfg.Int(maxOpt)
	if e != nil {
		return c, e
	}
	c.MaxParallelism = int(maxP)
	dv, _, e := cfg.MemorySize(flinkconf.BatchAvgDataVolumePerTask)
	if e != nil {
		return c, e
	}
	c.DataVolumePerTask = dv
	if cfg.IsConfigured(flinkconf.BatchDefaultSourceParallel) {
		s, _, e := cfg.Int(flinkconf.BatchDefaultSourceParallel)
		if e != nil {
			return c, e
		}
		if s <= 0 {
			return c, fmt.Errorf("The default source parallelism must be larger than 0.")
		}
		c.DefaultSourceParallelism = int(s)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// buildVertex validates one vertex of the input and builds it with its inputs; the first
// problem found is the error: the vertex's own fields (name, parallelism, maxParallelism),
// then each input in order, each in buildInput's order (TestVertexErrorOrder pins it).
func buildVertex(in vertexInput, vi int, c Config, names map[string]int) (JobVertex, error) {
	v, err := vertexHeader(in, vi, c, names)
	if err != nil {
		return v, err
	}
	for ii, x := range in.Inputs {
		input, err := buildInput(x, ii, in.Name, v.MaxParallelism, names)
		if err != nil {
			return v, err
		}
		v.Inputs = append(v.Inputs, input)
		v.From = append(v.From, x.From)
	}
	return v, nil
}

// vertexHeader checks a vertex's name and parallelism settings. Its max parallelism, when not
// given, is the scheduler's upper bound, or the vertex's fixed parallelism when that is higher.
func vertexHeader(in vertexInput, vi int, c Config, names map[string]int) (JobVertex, error) {
	v := JobVertex{Vertex: Vertex{Name: in.Name, InitialParallelism: -1, MaxParallelism: in.MaxParallelism}}
	if in.Name == "" {
		return v, fmt.Errorf("line %d: vertices[%d].name is required", in.Line, vi)
	}
	if _, dup := names[in.Name]; dup {
		return v, fmt.Errorf("line %d: vertex %q is defined twice", in.Line, in.Name)
	}
	if in.Parallelism < 0 {
		return v, fmt.Errorf("line %d: vertex %q: parallelism %d must be positive (omit it to let the scheduler decide)", in.Line, in.Name, in.Parallelism)
	}
	if in.Parallelism > 0 {
		v.InitialParallelism = in.Parallelism
	}
	if in.MaxParallelism < 0 {
		return v, fmt.Errorf("line %d: vertex %q: maxParallelism %d must be positive", in.Line, in.Name, in.MaxParallelism)
	}
	if p := max(in.Parallelism, in.MaxParallelism); p > upperBoundParallelism {
		return v, fmt.Errorf("line %d: vertex %q: parallelism %d is above Flink's maximum parallelism %d", in.Line, in.Name, p, upperBoundParallelism)
	}
	v.ExplicitMax = in.MaxParallelism > 0
	if !v.ExplicitMax {
		v.MaxParallelism = max(c.MaxParallelism, v.InitialParallelism)
	}
	return v, nil
}

// buildInput validates input ii of a vertex whose max parallelism is maxParallelism: its
// distribution pattern, where its partitions come from, its subpartitions, then its bytes.
func buildInput(x inputInput, ii int, vertex string, maxParallelism int, names map[string]int) (Input, error) {
	input := Input{Name: x.Name, Broadcast: x.Broadcast, Partitions: x.Partitions, Subpartitions: x.Subpartitions}
	where := fmt.Sprintf("line %d: vertex %q input %d", x.Line, vertex, ii+1)
	if err := x.pattern(&input, where); err != nil {
		return input, err
	}
	if err := x.checkUpstream(names, where); err != nil {
		return input, err
	}
	if input.Name == "" {
		input.Name = x.From
		if input.Name == "" {
			input.Name = fmt.Sprintf("input-%d", ii+1)
		}
	}
	if err := x.subpartitions(&input, maxParallelism, where); err != nil {
		return input, err
	}
	return input, x.dataVolume(&input, where)
}

// pattern sets the input's distribution pattern (all-to-all when not given); a broadcast
// input must be all-to-all.
func (x inputInput) pattern(input *Input, where string) error {
	switch strings.ToLower(x.Type) {
	case "", "all_to_all", "all-to-all", "alltoall":
		input.Type = AllToAll
	case "pointwise":
		input.Type = Pointwise
	default:
		return fmt.Errorf("%s: type %q is not a distribution pattern (want all_to_all or pointwise)", where, x.Type)
	}
	if input.Broadcast && input.Type == Pointwise {
		return fmt.Errorf("%s: a broadcast input is all_to_all", where)
	}
	return nil
}

// checkUpstream checks that the input takes its partitions from exactly one place: an
// earlier vertex (from) or an explicit count.
func (x inputInput) checkUpstream(names map[string]int, where string) error {
	if x.From != "" {
		if _, ok := names[x.From]; !ok {
			return fmt.Errorf("%s: from %q names no earlier vertex (list vertices in topological order)", where, x.From)
		}
		if x.Partitions != 0 {
			return fmt.Errorf("%s: give from or partitions, not both (from takes the upstream's decided parallelism)", where)
		}
	} else if x.Partitions < 1 {
		return fmt.Errorf("%s: partitions %d must be at least 1 (or name the upstream vertex with from)", where, x.Partitions)
	}
	return nil
}

// subpartitions fills in the subpartition count when not given, as Flink's dynamic graph
// sizes a result, and checks it.
func (x inputInput) subpartitions(input *Input, maxParallelism int, where string) error {
	if x.Subpartitions == 0 {
		switch {
		case input.Broadcast:
			input.Subpartitions = 1
		case input.Type == AllToAll:
			// In a dynamic graph an all-to-all result has one subpartition per possible
			// consumer subtask: the consumer's max parallelism.
			input.Subpartitions = maxParallelism
		default:
			return fmt.Errorf("%s: subpartitions is required for a pointwise input", where)
		}
	}
	if input.Subpartitions < 1 {
		return fmt.Errorf("%s: subpartitions %d must be at least 1", where, input.Subpartitions)
	}
	return nil
}

// dataVolume takes the input's bytes from exactly one of its three sources; explicit
// subpartition bytes must match the subpartitions and (without from) the partitions.
func (x inputInput) dataVolume(input *Input, where string) error {
	sources := 0
	for _, set := range []bool{x.TotalBytes != nil, x.SubpartitionBytes != nil, x.UniformBytes != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return fmt.Errorf("%s: give exactly one of totalBytes, subpartitionBytes, uniformSubpartitionBytes", where)
	}
	switch {
	case x.TotalBytes != nil:
		input.Total = x.TotalBytes.n
	case x.UniformBytes != nil:
		input.Uniform, input.HasUniform = x.UniformBytes.n, true
	default:
		for p, row := range x.SubpartitionBytes {
			if len(row) != input.Subpartitions {
				return fmt.Errorf("%s: subpartitionBytes row %d has %d values, want %d (subpartitions)", where, p, len(row), input.Subpartitions)
			}
			for _, b := range row {
				if b < 0 {
					return fmt.Errorf("%s: subpartitionBytes row %d has a negative value", where, p)
				}
			}
		}
		input.Bytes = x.SubpartitionBytes
		if x.From == "" && len(x.SubpartitionBytes) != input.Partitions {
			return fmt.Errorf("%s: subpartitionBytes has %d rows, want %d (partitions)", where, len(x.SubpartitionBytes), input.Partitions)
		}
	}
	return nil
}

// upperBoundParallelism is Flink's largest parallelism (and max parallelism), 2^15.
const upperBoundParallelism = 1 << 15
