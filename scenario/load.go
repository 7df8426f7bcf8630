package scenario

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flinktune/flinktune/flinkconf"
)

// Defaults of the format (FORMAT.md).
const (
	DefaultSeed         = 1
	DefaultTick         = time.Second
	DefaultVersion      = V120
	DefaultStartupDelay = 20 * time.Second
	DefaultIdleTimeout  = 30 * time.Second
	DefaultRestartBase  = 30 * time.Second
	DefaultRestoreRate  = 200 << 20 // 200m per second
	DefaultHeapBase     = 16 << 20
	DefaultMetaspace    = 96 << 20
	DefaultNoise        = 0.02
	DefaultMaxLag       = 60 * time.Second
	DefaultSettle       = 30 * time.Minute
	DefaultSlowDelay    = 5 * time.Second
	DefaultJMDowntime   = 15 * time.Second
	DefaultSSG          = "default"
)

// Load reads and parses the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a scenario. name is the file name used in messages and, without directory and
// extension, as the scenario's default name.
func Parse(data []byte, name string) (*Scenario, error) {
	p := &parser{file: name}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, fmt.Errorf("%s: empty scenario: want a mapping with duration, cluster and jobs", name)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.errf(&extra, "a scenario file holds one YAML document, found another")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, fmt.Errorf("%s: empty scenario: want a mapping with duration, cluster and jobs", name)
		}
		root = root.Content[0]
	}
	sc := &Scenario{
		Source:       name,
		Seed:         DefaultSeed,
		Tick:         DefaultTick,
		FlinkVersion: DefaultVersion,
		SLO:          SLO{MaxLag: DefaultMaxLag, Settle: DefaultSettle},
	}
	if err := p.scenario(root, sc); err != nil {
		return nil, err
	}
	if sc.Name == "" {
		base := filepath.Base(name)
		sc.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	return sc, nil
}

type parser struct {
	file string
}

func (p *parser) errf(n *yaml.Node, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, a...))
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

type fieldFunc func(n *yaml.Node, path string) error

// fields walks a mapping, dispatching each key to its handler. It rejects unknown and
// duplicate keys with the key's line, and reports missing required keys at the mapping.
func (p *parser) fields(n *yaml.Node, where string, fs map[string]fieldFunc, required ...string) error {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping, got %s", where, kindName(n))
	}
	// Unknown and duplicate keys first (a typo of a required key is reported as the typo),
	// then missing required keys, then the values in file order.
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return p.errf(k, "%s: keys must be plain names", where)
		}
		if _, ok := fs[k.Value]; !ok {
			return p.errf(k, "unknown field %q in %s%s", k.Value, where, suggest(k.Value, fs))
		}
		if seen[k.Value] {
			return p.errf(k, "duplicate field %q in %s", k.Value, where)
		}
		seen[k.Value] = true
	}
	for _, r := range required {
		if !seen[r] {
			return p.errf(n, "%s: missing required field %q", where, r)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if err := fs[k.Value](v, join(where, k.Value)); err != nil {
			return err
		}
	}
	return nil
}

func join(where, key string) string {
	if where == "scenario" {
		return key
	}
	return where + "." + key
}

// suggest names the closest known field when the typo is small, else lists the known fields.
func suggest(key string, fs map[string]fieldFunc) string {
	names := make([]string, 0, len(fs))
	for k := range fs {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestD := "", 1<<30
	for _, k := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= 2 || (bestD <= 3 && len(key) > 8) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known fields: " + strings.Join(names, ", ") + ")"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Scalar readers. Each names the field (path) and says what is accepted.

func (p *parser) scalar(n *yaml.Node, path, want string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.errf(n, "%s: want %s, got %s", path, want, kindName(n))
	}
	return strings.TrimSpace(n.Value), nil
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	s, err := p.scalar(n, path, "a string")
	if err == nil && s == "" {
		return "", p.errf(n, "%s: must not be empty", path)
	}
	return s, err
}

func (p *parser) number(n *yaml.Node, path, want string) (float64, error) {
	s, err := p.scalar(n, path, want)
	if err != nil {
		return 0, err
	}
	f, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, p.errf(n, "%s: invalid value %q: want %s", path, s, want)
	}
	return f, nil
}

// numberIn reads a number in [lo, hi] (loOpen excludes lo).
func (p *parser) numberIn(n *yaml.Node, path string, lo, hi float64, loOpen bool, want string) (float64, error) {
	f, err := p.number(n, path, want)
	if err != nil {
		return 0, err
	}
	if f < lo || f > hi || (loOpen && f == lo) {
		return 0, p.errf(n, "%s: invalid value %s: want %s", path, n.Value, want)
	}
	return f, nil
}

func (p *parser) integer(n *yaml.Node, path string, lo, hi int64, want string) (int64, error) {
	s, err := p.scalar(n, path, want)
	if err != nil {
		return 0, err
	}
	i, perr := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, 64)
	if perr != nil {
		// Accept integral floats such as 1e6 for record counts.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, p.errf(n, "%s: invalid value %q: want %s", path, s, want)
		}
		i = int64(f)
	}
	if i < lo || i > hi {
		return 0, p.errf(n, "%s: invalid value %s: want %s", path, s, want)
	}
	return i, nil
}

func (p *parser) duration(n *yaml.Node, path string, positive bool) (time.Duration, error) {
	want := "a duration such as 500ms, 30s, 5m, 2h or 1d (a bare number is milliseconds)"
	s, err := p.scalar(n, path, want)
	if err != nil {
		return 0, err
	}
	d, ferr := flinkconf.ParseDuration(s)
	if ferr != nil {
		return 0, p.errf(n, "%s: invalid duration %q: %s; want %s", path, s, ferr.Message, want)
	}
	if d < 0 || (positive && d == 0) {
		qual := "non-negative"
		if positive {
			qual = "positive"
		}
		return 0, p.errf(n, "%s: invalid duration %q: want a %s duration", path, s, qual)
	}
	return d, nil
}

func (p *parser) size(n *yaml.Node, path string) (int64, error) {
	want := "a memory size such as 512m, 4g or 300 mb (a bare number is bytes)"
	s, err := p.scalar(n, path, want)
	if err != nil {
		return 0, err
	}
	b, ferr := flinkconf.ParseMemorySize(s)
	if ferr != nil {
		return 0, p.errf(n, "%s: invalid memory size %q: %s; want %s", path, s, ferr.Message, want)
	}
	return b, nil
}

// bytesPerRate reads heap bytes per record/s: a plain (possibly fractional) number of bytes or
// a memory size.
func (p *parser) bytesPerRate(n *yaml.Node, path string) (float64, error) {
	s, err := p.scalar(n, path, "bytes per record/s")
	if err != nil {
		return 0, err
	}
	if f, perr := strconv.ParseFloat(s, 64); perr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		if f < 0 {
			return 0, p.errf(n, "%s: invalid value %s: want bytes per record/s ≥ 0", path, s)
		}
		return f, nil
	}
	b, ferr := flinkconf.ParseMemorySize(s)
	if ferr != nil {
		return 0, p.errf(n, "%s: invalid value %q: want bytes per record/s, a number or a memory size such as 2k", path, s)
	}
	return float64(b), nil
}

// config reads a Flink configuration mapping; nested mappings are flattened with dots as in
// Flink's config.yaml. Values must be scalars (lists are joined with ';' like Flink does).
func (p *parser) config(n *yaml.Node, path string, out map[string]string, lines map[string]*yaml.Node, prefix string) error {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return p.errf(n, "%s: want a mapping of Flink keys to values, got %s", path, kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value == "" {
			return p.errf(k, "%s: keys must be Flink option names", path)
		}
		key := prefix + k.Value
		switch v.Kind {
		case yaml.MappingNode:
			if err := p.config(v, path, out, lines, key+"."); err != nil {
				return err
			}
			continue
		case yaml.SequenceNode:
			parts := make([]string, 0, len(v.Content))
			for _, it := range v.Content {
				it = deref(it)
				if it.Kind != yaml.ScalarNode {
					return p.errf(it, "%s.%s: list items must be plain values", path, key)
				}
				parts = append(parts, it.Value)
			}
			if _, dup := out[key]; dup {
				return p.errf(k, "duplicate key %q in %s", key, path)
			}
			out[key] = strings.Join(parts, ";")
			lines[key] = v
			continue
		}
		if v.Tag == "!!null" {
			return p.errf(v, "%s.%s: want a value, got null", path, key)
		}
		if _, dup := out[key]; dup {
			return p.errf(k, "duplicate key %q in %s", key, path)
		}
		out[key] = v.Value
		lines[key] = v
	}
	return p.checkConfig(path, out, lines)
}

// checkConfig parses every option the simulator reads, so a bad value fails at load time with
// the line of the value and Flink's own parse error.
func (p *parser) checkConfig(path string, m map[string]string, lines map[string]*yaml.Node) error {
	cfg := flinkconf.FromMap(m)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		o, ok := knownOption(k)
		if !ok {
			continue
		}
		var ferr *flinkconf.Exception
		switch o.Type {
		case flinkconf.TypeMemorySize:
			_, _, ferr = cfg.MemorySize(o)
		case flinkconf.TypeFloat:
			_, _, ferr = cfg.Float(o)
		case flinkconf.TypeDouble:
			_, _, ferr = cfg.Double(o)
		case flinkconf.TypeInt:
			_, _, ferr = cfg.Int(o)
		case flinkconf.TypeLong:
			_, _, ferr = cfg.Long(o)
		case flinkconf.TypeBool:
			_, _, ferr = cfg.Bool(o)
		case flinkconf.TypeDuration:
			_, _, ferr = cfg.Duration(o)
		}
		if ferr != nil {
			return p.errf(lines[k], "%s.%s: %s", path, k, flattenException(ferr))
		}
	}
	if v, ok := m[flinkconf.Scheduler.Key]; ok {
		if s := strings.ToLower(strings.TrimSpace(v)); s != "default" && s != "adaptive" {
			return p.errf(lines[flinkconf.Scheduler.Key], "%s.%s: invalid value %q: want Default or Adaptive", path, flinkconf.Scheduler.Key, v)
		}
	}
	if v, ok := m[flinkconf.SchedulerMode.Key]; ok {
		if s := strings.ToLower(strings.TrimSpace(v)); s != "reactive" {
			return p.errf(lines[flinkconf.SchedulerMode.Key], "%s.%s: invalid value %q: want reactive (or leave it unset)", path, flinkconf.SchedulerMode.Key, v)
		}
	}
	if v, ok := m[flinkconf.StateBackend.Key]; ok {
		if s := strings.ToLower(strings.TrimSpace(v)); s != "hashmap" && s != "rocksdb" {
			return p.errf(lines[flinkconf.StateBackend.Key], "%s.%s: invalid value %q: want hashmap or rocksdb", path, flinkconf.StateBackend.Key, v)
		}
	}
	return nil
}

func flattenException(e *flinkconf.Exception) string {
	parts := []string{e.Error()}
	for _, c := range e.Causes() {
		parts = append(parts, c.Error())
	}
	return strings.Join(parts, ": caused by ")
}

func knownOption(key string) (flinkconf.Option, bool) {
	for _, o := range flinkconf.KnownOptions {
		if slices.Contains(o.Keys(), key) {
			return o, true
		}
	}
	for _, o := range flinkconf.SimOptions {
		if slices.Contains(o.Keys(), key) {
			return o, true
		}
	}
	return flinkconf.Option{}, false
}

func (p *parser) scenario(n *yaml.Node, sc *Scenario) error {
	err := p.fields(n, "scenario", map[string]fieldFunc{
		"name": func(n *yaml.Node, path string) (err error) {
			sc.Name, err = p.str(n, path)
			return err
		},
		"seed": func(n *yaml.Node, path string) error {
			s, err := p.scalar(n, path, "a non-negative integer")
			if err != nil {
				return err
			}
			v, perr := strconv.ParseUint(s, 10, 64)
			if perr != nil {
				return p.errf(n, "%s: invalid value %q: want a non-negative integer", path, s)
			}
			sc.Seed = v
			return nil
		},
		"duration": func(n *yaml.Node, path string) (err error) {
			sc.Duration, err = p.duration(n, path, true)
			return err
		},
		"tick": func(n *yaml.Node, path string) (err error) {
			sc.Tick, err = p.duration(n, path, true)
			return err
		},
		"flinkVersion": func(n *yaml.Node, path string) error {
			s, err := p.scalar(n, path, "a Flink version")
			if err != nil {
				return err
			}
			if !slices.Contains(Versions, Version(s)) {
				return p.errf(n, "%s: unsupported version %q: want 1.18, 1.19, 1.20 or 2.0", path, s)
			}
			sc.FlinkVersion = Version(s)
			return nil
		},
		"cluster": func(n *yaml.Node, path string) error {
			return p.cluster(n, path, &sc.Cluster)
		},
		"jobs": func(n *yaml.Node, path string) error {
			return p.jobs(n, path, sc)
		},
		"faults": func(n *yaml.Node, path string) error { return p.faults(n, path, sc) },
		"slo": func(n *yaml.Node, path string) error {
			return p.fields(n, path, map[string]fieldFunc{
				"maxLag": func(n *yaml.Node, path string) (err error) {
					sc.SLO.MaxLag, err = p.duration(n, path, true)
					return err
				},
				"settle": func(n *yaml.Node, path string) (err error) {
					sc.SLO.Settle, err = p.duration(n, path, false)
					return err
				},
			})
		},
		"autoscaler": func(n *yaml.Node, path string) error {
			m := map[string]string{}
			lines := map[string]*yaml.Node{}
			if err := p.config(n, path, m, lines, ""); err != nil {
				return err
			}
			for _, k := range slices.Sorted(mapKeys(m)) {
				if !strings.HasPrefix(k, "job.autoscaler.") {
					return p.errf(lines[k], "%s: key %q is not a job.autoscaler.* option (put other Flink keys in cluster.config or a job's config)", path, k)
				}
			}
			sc.Autoscaler = m
			return nil
		},
	}, "duration", "cluster", "jobs")
	if err != nil {
		return err
	}
	if sc.Tick > sc.Duration {
		return p.errf(n, "tick (%s) is longer than duration (%s)", flinkconf.FormatDuration(sc.Tick), flinkconf.FormatDuration(sc.Duration))
	}
	if sc.Tick%time.Millisecond != 0 {
		return p.errf(n, "tick %s: want a whole number of milliseconds", sc.Tick)
	}
	return p.validate(sc)
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (p *parser) cluster(n *yaml.Node, where string, c *Cluster) error {
	c.Config = map[string]string{}
	tm := TaskManagers{Initial: 1, Min: -1, Max: -1, StartupDelay: DefaultStartupDelay, IdleTimeout: DefaultIdleTimeout}
	var tmNode *yaml.Node
	err := p.fields(n, where, map[string]fieldFunc{
		"config": func(n *yaml.Node, path string) error {
			return p.config(n, path, c.Config, map[string]*yaml.Node{}, "")
		},
		"taskManagers": func(n *yaml.Node, path string) error {
			tmNode = n
			return p.fields(n, path, map[string]fieldFunc{
				"initial": func(n *yaml.Node, path string) error {
					v, err := p.integer(n, path, 0, 100000, "a whole number of TaskManagers ≥ 0")
					tm.Initial = int(v)
					return err
				},
				"min": func(n *yaml.Node, path string) error {
					v, err := p.integer(n, path, 0, 100000, "a whole number of TaskManagers ≥ 0")
					tm.Min = int(v)
					return err
				},
				"max": func(n *yaml.Node, path string) error {
					v, err := p.integer(n, path, 1, 100000, "a whole number of TaskManagers ≥ 1")
					tm.Max = int(v)
					return err
				},
				"startupDelay": func(n *yaml.Node, path string) (err error) {
					tm.StartupDelay, err = p.duration(n, path, false)
					return err
				},
				"idleTimeout": func(n *yaml.Node, path string) (err error) {
					tm.IdleTimeout, err = p.duration(n, path, false)
					return err
				},
			})
		},
	})
	if err != nil {
		return err
	}
	if tm.Min < 0 {
		tm.Min = tm.Initial
	}
	if tm.Max < 0 {
		tm.Max = max(tm.Initial, 1)
	}
	if tmNode == nil {
		tmNode = deref(n)
	}
	if tm.Min > tm.Initial || tm.Initial > tm.Max {
		return p.errf(tmNode, "%s.taskManagers: want min ≤ initial ≤ max, got min %d, initial %d, max %d", where, tm.Min, tm.Initial, tm.Max)
	}
	c.TaskManagers = tm
	return nil
}

func (p *parser) list(n *yaml.Node, path string, each func(i int, n *yaml.Node, where string) error) error {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return p.errf(n, "%s: want a list, got %s", path, kindName(n))
	}
	for i, it := range n.Content {
		if err := each(i, deref(it), fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) jobs(n *yaml.Node, path string, sc *Scenario) error {
	err := p.list(n, path, func(i int, n *yaml.Node, where string) error {
		j := Job{
			Name:    fmt.Sprintf("job-%d", i+1),
			Config:  map[string]string{},
			Restart: Restart{Base: DefaultRestartBase, RestoreRate: DefaultRestoreRate},
			Line:    n.Line,
		}
		err := p.fields(n, where, map[string]fieldFunc{
			"name": func(n *yaml.Node, path string) (err error) {
				j.Name, err = p.str(n, path)
				return err
			},
			"config": func(n *yaml.Node, path string) error {
				return p.config(n, path, j.Config, map[string]*yaml.Node{}, "")
			},
			"vertices": func(n *yaml.Node, path string) error {
				return p.list(n, path, func(_ int, n *yaml.Node, where string) error {
					v, err := p.vertex(n, where)
					if err == nil {
						j.Vertices = append(j.Vertices, v)
					}
					return err
				})
			},
			"load": func(n *yaml.Node, path string) error {
				return p.list(n, path, func(_ int, n *yaml.Node, where string) error {
					s, err := p.segment(n, where)
					if err == nil {
						j.Load = append(j.Load, s)
					}
					return err
				})
			},
			"restart": func(n *yaml.Node, path string) error {
				return p.fields(n, path, map[string]fieldFunc{
					"base": func(n *yaml.Node, path string) (err error) {
						j.Restart.Base, err = p.duration(n, path, false)
						return err
					},
					"restoreRate": func(n *yaml.Node, path string) error {
						b, err := p.size(n, path)
						if err == nil && b <= 0 {
							return p.errf(n, "%s: invalid value %q: want a positive size per second such as 200m", path, n.Value)
						}
						j.Restart.RestoreRate = b
						return err
					},
				})
			},
		}, "vertices", "load")
		if err != nil {
			return err
		}
		if len(j.Vertices) == 0 {
			return p.errf(n, "%s.vertices: want at least one vertex", where)
		}
		sc.Jobs = append(sc.Jobs, j)
		return nil
	})
	if err != nil {
		return err
	}
	if len(sc.Jobs) == 0 {
		return p.errf(deref(n), "%s: want at least one job", path)
	}
	return nil
}

func (p *parser) vertex(n *yaml.Node, where string) (Vertex, error) {
	v := Vertex{
		Parallelism:       1,
		SlotSharingGroup:  DefaultSSG,
		ScalingEfficiency: 1,
		Selectivity:       1,
		Heap:              Heap{Base: DefaultHeapBase},
		Line:              n.Line,
	}
	var stateNode *yaml.Node
	err := p.fields(n, where, map[string]fieldFunc{
		"id": func(n *yaml.Node, path string) (err error) {
			v.ID, err = p.str(n, path)
			return err
		},
		"name": func(n *yaml.Node, path string) (err error) {
			v.Name, err = p.str(n, path)
			return err
		},
		"parallelism": func(n *yaml.Node, path string) error {
			i, err := p.integer(n, path, 1, 32768, "a parallelism between 1 and 32768")
			v.Parallelism = int(i)
			return err
		},
		"maxParallelism": func(n *yaml.Node, path string) error {
			i, err := p.integer(n, path, 1, 32768, "a max parallelism between 1 and 32768")
			v.MaxParallelism = int(i)
			return err
		},
		"slotSharingGroup": func(n *yaml.Node, path string) (err error) {
			v.SlotSharingGroup, err = p.str(n, path)
			return err
		},
		"resources": func(n *yaml.Node, path string) error {
			r := &Resources{}
			v.Resources = r
			return p.fields(n, path, map[string]fieldFunc{
				"cpu": func(n *yaml.Node, path string) (err error) {
					r.CPU, err = p.numberIn(n, path, 0, 1e6, true, "a positive number of CPU cores")
					return err
				},
				"taskHeap": func(n *yaml.Node, path string) (err error) {
					r.TaskHeap, err = p.size(n, path)
					return err
				},
				"taskOffHeap": func(n *yaml.Node, path string) (err error) {
					r.TaskOffHeap, err = p.size(n, path)
					return err
				},
				"managed": func(n *yaml.Node, path string) (err error) {
					r.Managed, err = p.size(n, path)
					return err
				},
			}, "cpu", "taskHeap")
		},
		"capacity": func(n *yaml.Node, path string) (err error) {
			v.Capacity, err = p.numberIn(n, path, 0, math.MaxFloat64, true, "a positive number of records per second")
			return err
		},
		"scalingEfficiency": func(n *yaml.Node, path string) (err error) {
			v.ScalingEfficiency, err = p.numberIn(n, path, 0, 1, true, "a number in (0, 1] (1.0 = linear scaling)")
			return err
		},
		"selectivity": func(n *yaml.Node, path string) (err error) {
			v.Selectivity, err = p.numberIn(n, path, 0, 1e6, false, "a number ≥ 0 of records emitted per record received")
			return err
		},
		"partitions": func(n *yaml.Node, path string) error {
			i, err := p.integer(n, path, 1, 1<<20, "a whole number of partitions ≥ 1")
			v.Partitions = int(i)
			return err
		},
		"topic": func(n *yaml.Node, path string) (err error) {
			v.Topic, err = p.str(n, path)
			return err
		},
		"inputs": func(n *yaml.Node, path string) error {
			return p.list(n, path, func(_ int, n *yaml.Node, where string) error {
				in := Input{Ship: ShipRebalance}
				err := p.fields(n, where, map[string]fieldFunc{
					"from": func(n *yaml.Node, path string) (err error) {
						in.From, err = p.str(n, path)
						return err
					},
					"ship": func(n *yaml.Node, path string) error {
						s, err := p.str(n, path)
						if err != nil {
							return err
						}
						s = strings.ToUpper(s)
						switch s {
						case ShipForward, ShipHash, ShipRebalance, ShipRescale, ShipBroadcast:
							in.Ship = s
							return nil
						}
						return p.errf(n, "%s: invalid ship strategy %q: want FORWARD, HASH, REBALANCE, RESCALE or BROADCAST", path, n.Value)
					},
				}, "from")
				if err == nil {
					v.Inputs = append(v.Inputs, in)
				}
				return err
			})
		},
		"keySkew": func(n *yaml.Node, path string) (err error) {
			v.KeySkew, err = p.numberIn(n, path, 0, 10, false, "a Zipf exponent between 0 (uniform) and 10")
			return err
		},
		"state": func(n *yaml.Node, path string) error {
			stateNode = n
			return p.fields(n, path, map[string]fieldFunc{
				"bytesPerSubtask": func(n *yaml.Node, path string) (err error) {
					v.State.BytesPerSubtask, err = p.size(n, path)
					return err
				},
				"bytes": func(n *yaml.Node, path string) (err error) {
					v.State.Bytes, err = p.size(n, path)
					return err
				},
				"keys": func(n *yaml.Node, path string) (err error) {
					v.State.Keys, err = p.integer(n, path, 1, 1<<31-1, "a number of keys between 1 and 2147483647")
					return err
				},
			})
		},
		"heap": func(n *yaml.Node, path string) error {
			return p.fields(n, path, map[string]fieldFunc{
				"base": func(n *yaml.Node, path string) (err error) {
					v.Heap.Base, err = p.size(n, path)
					return err
				},
				"perRecordPerSecond": func(n *yaml.Node, path string) (err error) {
					v.Heap.PerRecordPerSecond, err = p.bytesPerRate(n, path)
					return err
				},
			})
		},
		"metaspace": func(n *yaml.Node, path string) (err error) {
			v.Metaspace, err = p.size(n, path)
			return err
		},
		"metaspaceWarmup": func(n *yaml.Node, path string) (err error) {
			v.MetaspaceWarmup, err = p.duration(n, path, false)
			return err
		},
		"directMemory": func(n *yaml.Node, path string) (err error) {
			v.DirectMemory, err = p.size(n, path)
			return err
		},
		"recordBytes": func(n *yaml.Node, path string) error {
			b, err := p.size(n, path)
			if err == nil && (b < MinRecordBytes || b > 16<<20) {
				return p.errf(n, "%s: %s: want a record size from %d bytes (an 8-byte value and Flink's 8 bytes of lengths) to 16m", path, n.Value, MinRecordBytes)
			}
			v.RecordBytes = int(b)
			return err
		},
	}, "id", "capacity")
	if err != nil {
		return v, err
	}
	if v.Name == "" {
		v.Name = v.ID
	}
	if v.State.Bytes > 0 && v.State.BytesPerSubtask > 0 {
		return v, p.errf(stateNode, "%s.state: set bytesPerSubtask or bytes, not both", where)
	}
	if v.MaxParallelism > 0 && v.Parallelism > v.MaxParallelism {
		return v, p.errf(n, "%s: parallelism %d exceeds maxParallelism %d", where, v.Parallelism, v.MaxParallelism)
	}
	return v, nil
}

func (p *parser) segment(n *yaml.Node, where string) (LoadSegment, error) {
	s := LoadSegment{Noise: DefaultNoise, Line: n.Line}
	shapes := 0
	var backlogNode *yaml.Node
	err := p.fields(n, where, map[string]fieldFunc{
		"source": func(n *yaml.Node, path string) (err error) {
			s.Source, err = p.str(n, path)
			return err
		},
		"at": func(n *yaml.Node, path string) (err error) {
			s.At, err = p.duration(n, path, false)
			return err
		},
		"rate": func(n *yaml.Node, path string) (err error) {
			s.Rate, err = p.numberIn(n, path, 0, 1e15, false, "a rate ≥ 0 in records per second")
			return err
		},
		"step": func(n *yaml.Node, path string) error {
			shapes++
			s.Shape = ShapeStep
			if n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == "true") {
				return nil
			}
			return p.errf(n, "%s: want no value (step: ~ or step: true), got %s", path, kindName(n))
		},
		"ramp": func(n *yaml.Node, path string) (err error) {
			shapes++
			s.Shape = ShapeRamp
			s.Ramp, err = p.duration(n, path, false)
			return err
		},
		"sine": func(n *yaml.Node, path string) error {
			shapes++
			s.Shape = ShapeSine
			return p.fields(n, path, map[string]fieldFunc{
				"period": func(n *yaml.Node, path string) (err error) {
					s.SinePeriod, err = p.duration(n, path, true)
					return err
				},
				"amplitude": func(n *yaml.Node, path string) (err error) {
					s.SineAmplitude, err = p.numberIn(n, path, 0, 1, false, "a fraction between 0 and 1")
					return err
				},
			}, "period", "amplitude")
		},
		"spike": func(n *yaml.Node, path string) error {
			shapes++
			s.Shape = ShapeSpike
			return p.fields(n, path, map[string]fieldFunc{
				"for": func(n *yaml.Node, path string) (err error) {
					s.SpikeFor, err = p.duration(n, path, true)
					return err
				},
				"factor": func(n *yaml.Node, path string) (err error) {
					s.SpikeFactor, err = p.numberIn(n, path, 0, 1e6, false, "a factor ≥ 0")
					return err
				},
			}, "for", "factor")
		},
		"noise": func(n *yaml.Node, path string) (err error) {
			s.Noise, err = p.numberIn(n, path, 0, 1, false, "a fraction between 0 and 1")
			return err
		},
		"backlog": func(n *yaml.Node, path string) (err error) {
			backlogNode = n
			s.Backlog, err = p.integer(n, path, 0, 1<<53, "a whole number of records ≥ 0")
			return err
		},
	}, "source", "at", "rate")
	if err != nil {
		return s, err
	}
	if shapes > 1 {
		return s, p.errf(n, "%s: give at most one of step, ramp, sine, spike", where)
	}
	if s.Backlog > 0 && s.At != 0 {
		return s, p.errf(backlogNode, "%s.backlog: a backlog is the lag at the start: only allowed on a segment at 0", where)
	}
	return s, nil
}

func (p *parser) faults(n *yaml.Node, path string, sc *Scenario) error {
	return p.list(n, path, func(_ int, n *yaml.Node, where string) error {
		f := Fault{Rate: 1, Line: n.Line}
		kinds := 0
		set := map[string]bool{}
		mark := func(k string) { set[k] = true }
		err := p.fields(n, where, map[string]fieldFunc{
			"at": func(n *yaml.Node, path string) (err error) {
				mark("at")
				f.At, err = p.duration(n, path, false)
				return err
			},
			"for": func(n *yaml.Node, path string) (err error) {
				mark("for")
				f.For, err = p.duration(n, path, true)
				return err
			},
			"kill": func(n *yaml.Node, path string) error {
				kinds++
				s, err := p.str(n, path)
				if err != nil {
					return err
				}
				switch strings.ToLower(s) {
				case "taskmanager":
					f.Kind = KillTaskManager
				case "jobmanager":
					f.Kind = KillJobManager
				default:
					return p.errf(n, "%s: invalid value %q: want taskmanager or jobmanager", path, s)
				}
				return nil
			},
			"count": func(n *yaml.Node, path string) error {
				mark("count")
				i, err := p.integer(n, path, 1, 100000, "a whole number ≥ 1")
				f.Count = int(i)
				return err
			},
			"rest": func(n *yaml.Node, path string) error {
				kinds++
				f.Kind = RESTFault
				s, err := p.str(n, path)
				if err != nil {
					return err
				}
				switch strings.ToLower(s) {
				case RESTUnavailable, RESTSlow, RESTErrors:
					f.REST = strings.ToLower(s)
					return nil
				}
				return p.errf(n, "%s: invalid value %q: want unavailable, slow or errors", path, s)
			},
			"rate": func(n *yaml.Node, path string) (err error) {
				mark("rate")
				f.Rate, err = p.numberIn(n, path, 0, 1, false, "a fraction of calls between 0 and 1")
				return err
			},
			"delay": func(n *yaml.Node, path string) (err error) {
				mark("delay")
				f.Delay, err = p.duration(n, path, true)
				return err
			},
			"metrics": func(n *yaml.Node, path string) error {
				kinds++
				f.Kind = MetricsMissing
				s, err := p.str(n, path)
				if err != nil {
					return err
				}
				if strings.ToLower(s) != "missing" {
					return p.errf(n, "%s: invalid value %q: want missing", path, s)
				}
				return nil
			},
			"names": func(n *yaml.Node, path string) error {
				mark("names")
				return p.list(n, path, func(_ int, n *yaml.Node, where string) error {
					s, err := p.str(n, where)
					f.Names = append(f.Names, s)
					return err
				})
			},
		}, "at")
		if err != nil {
			return err
		}
		if kinds != 1 {
			return p.errf(n, "%s: give exactly one of kill, rest, metrics", where)
		}
		allowed := map[FaultKind][]string{
			KillTaskManager: {"at", "count"},
			KillJobManager:  {"at", "for"},
			RESTFault:       {"at", "for", "rate", "delay"},
			MetricsMissing:  {"at", "for", "names"},
		}[f.Kind]
		for _, k := range []string{"for", "count", "rate", "delay", "names"} {
			if set[k] && !slices.Contains(allowed, k) {
				return p.errf(n, "%s: field %q does not apply to a %s fault", where, k, f.Kind)
			}
		}
		switch f.Kind {
		case KillTaskManager:
			if f.Count == 0 {
				f.Count = 1
			}
		case KillJobManager:
			if f.For == 0 {
				f.For = DefaultJMDowntime
			}
		case RESTFault:
			if !set["for"] {
				return p.errf(n, "%s: a rest fault needs for: <duration>", where)
			}
			if set["delay"] && f.REST != RESTSlow {
				return p.errf(n, "%s: delay applies to rest: slow only", where)
			}
			if f.REST == RESTSlow && f.Delay == 0 {
				f.Delay = DefaultSlowDelay
			}
		case MetricsMissing:
			if !set["for"] {
				return p.errf(n, "%s: a metrics fault needs for: <duration>", where)
			}
			if len(f.Names) == 0 {
				return p.errf(n, "%s: a metrics fault needs names: [metric names]", where)
			}
		}
		sc.Faults = append(sc.Faults, f)
		return nil
	})
}
