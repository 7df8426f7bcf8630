package planner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scheduler"
)

// The plan input file (YAML). Unknown fields are errors with their line. See
// examples/plan/*.yaml and `flinktune plan --help`.
type inputFile struct {
	Job               string        `yaml:"job"`
	TaskManager       *shapeInput   `yaml:"taskManager"`
	SlotSharingGroups []groupInput  `yaml:"slotSharingGroups"`
	Cluster           *clusterInput `yaml:"cluster"`
	Options           yaml.Node     `yaml:"options"`
	Catalog           []shapeInput  `yaml:"catalog"`
	Search            *searchInput  `yaml:"search"`
}

type shapeInput struct {
	Name          string          `yaml:"name"`
	Config        yaml.Node       `yaml:"config"`
	ConfigFile    string          `yaml:"configFile"`
	Resources     *resourcesInput `yaml:"resources"`
	Slots         int             `yaml:"slots"`
	ProcessMemory memSize         `yaml:"processMemory"`
	Cost          float64         `yaml:"cost"`
	Line          int             `yaml:"-"`
}

func (s *shapeInput) UnmarshalYAML(n *yaml.Node) error {
	type plain shapeInput
	if err := decodeStrict(n, (*plain)(s)); err != nil {
		return err
	}
	s.Line = n.Line
	return nil
}

type resourcesInput struct {
	CPU         *decimalValue           `yaml:"cpu"`
	TaskHeap    memSize                 `yaml:"taskHeap"`
	TaskOffHeap memSize                 `yaml:"taskOffHeap"`
	Managed     memSize                 `yaml:"managed"`
	Network     memSize                 `yaml:"network"`
	Extended    map[string]decimalValue `yaml:"extended"`
	Line        int                     `yaml:"-"`
}

func (r *resourcesInput) UnmarshalYAML(n *yaml.Node) error {
	type plain resourcesInput
	if err := decodeStrict(n, (*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	return nil
}

func (r *resourcesInput) profile() Profile {
	p := Profile{TaskHeap: r.TaskHeap.bytes, TaskOffHeap: r.TaskOffHeap.bytes, Managed: r.Managed.bytes, Network: r.Network.bytes}
	if r.CPU != nil {
		p.CPU = r.CPU.d
	}
	for k, v := range r.Extended {
		if v.d != 0 {
			if p.Extended == nil {
				p.Extended = map[string]Decimal{}
			}
			p.Extended[k] = v.d
		}
	}
	return p
}

type groupInput struct {
	Name        string          `yaml:"name"`
	Parallelism int             `yaml:"parallelism"`
	Vertices    []vertexInput   `yaml:"vertices"`
	Resources   *resourcesInput `yaml:"resources"`
	Line        int             `yaml:"-"`
}

func (g *groupInput) UnmarshalYAML(n *yaml.Node) error {
	type plain groupInput
	if err := decodeStrict(n, (*plain)(g)); err != nil {
		return err
	}
	g.Line = n.Line
	return nil
}

type vertexInput struct {
	Name        string `yaml:"name"`
	Parallelism int    `yaml:"parallelism"`
}

func (v *vertexInput) UnmarshalYAML(n *yaml.Node) error {
	type plain vertexInput
	return decodeStrict(n, (*plain)(v))
}

type clusterInput struct {
	Deployment string            `yaml:"deployment"`
	Registered []registeredInput `yaml:"registered"`
	Pending    int               `yaml:"pending"`
}

type registeredInput struct {
	UsedSlots int             `yaml:"usedSlots"`
	Used      *resourcesInput `yaml:"used"`
	Line      int             `yaml:"-"`
}

func (r *registeredInput) UnmarshalYAML(n *yaml.Node) error {
	type plain registeredInput
	if err := decodeStrict(n, (*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	return nil
}

type searchInput struct {
	Enabled       *bool         `yaml:"enabled"`
	MaxCPU        *decimalValue `yaml:"maxCpu"`
	MaxMemory     memSize       `yaml:"maxMemory"`
	MaxCandidates int           `yaml:"maxCandidates"`
}

// decodeStrict decodes a node rejecting unknown fields: yaml.v3 only checks known fields when
// decoding a document, so the node is re-encoded and decoded through a strict decoder. Line
// numbers in errors are shifted back to the original file.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping, got %s", n.Line, kindName(n))
	}
	known := knownFields(v)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return fmt.Errorf("line %d: unknown field %q (known fields: %s)", k.Line, k.Value, strings.Join(sortedKeys(known), ", "))
		}
	}
	// Decoding through Node.Decode keeps custom unmarshalers and their line numbers.
	return n.Decode(v)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case yaml.MappingNode:
		return "a mapping"
	}
	return "nothing"
}

// memSize is a memory size in Flink's syntax ("512m", "4 gb", or bytes).
type memSize struct {
	bytes int64
	set   bool
	line  int
}

func (m *memSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a memory size such as 512m or 4g, got %s", n.Line, kindName(n))
	}
	b, e := flinkconf.ParseMemorySize(n.Value)
	if e != nil {
		return fmt.Errorf("line %d: %q is not a memory size: %s (units: %s)", n.Line, n.Value, e.Message, flinkconf.MemoryUnitsHelp)
	}
	m.bytes, m.set, m.line = b, true, n.Line
	return nil
}

// decimalValue is a non-negative number of cores or of an extended resource.
type decimalValue struct {
	d    Decimal
	line int
}

func (d *decimalValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a number, got %s", n.Line, kindName(n))
	}
	v, err := ParseDecimal(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v (want a non-negative number such as 0.5)", n.Line, err)
	}
	d.d, d.line = v, n.Line
	return nil
}

// LoadOptions tune how an input file becomes a Spec.
type LoadOptions struct {
	// Derive computes TaskManager memory from a configuration; nil uses the memory model.
	Derive DeriveFunc
}

// LoadFile reads a plan input file; path "-" reads r instead.
func LoadFile(path string, stdin io.Reader, o LoadOptions) (Spec, []string, error) {
	var data []byte
	var err error
	source, dir := path, filepath.Dir(path)
	if path == "-" {
		source, dir = "<stdin>", "."
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return Spec{}, nil, err
	}
	return Parse(data, source, dir, o)
}

// Parse reads a plan input. dir resolves relative configFile paths. Warnings are returned for
// keys Flink would silently ignore (misspelt options).
func Parse(data []byte, source, dir string, o LoadOptions) (Spec, []string, error) {
	fail := func(err error) (Spec, []string, error) { return Spec{}, nil, fmt.Errorf("%s: %w", source, err) }
	var in inputFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&in); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(fmt.Errorf("empty input: expected taskManager and slotSharingGroups"))
		}
		return fail(cleanYAMLError(err))
	}
	l := &loader{source: source, dir: dir, derive: o.Derive}
	spec, err := l.spec(&in)
	if err != nil {
		return fail(err)
	}
	return spec, l.warnings, nil
}

// cleanYAMLError shortens yaml.v3's messages ("yaml: unmarshal errors:\n  line 3: field x not
// found in type planner.shapeInput") to the line and field.
func cleanYAMLError(err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimPrefix(msg, "yaml: ")
	var lines []string
	for _, s := range strings.Split(msg, "\n") {
		s = strings.TrimSpace(s)
		if i := strings.Index(s, " not found in type "); i >= 0 && strings.Contains(s, "field ") {
			s = strings.Replace(s[:i], "field ", "unknown field ", 1)
		}
		if s != "" {
			lines = append(lines, s)
		}
	}
	return errors.New(strings.Join(lines, "; "))
}

type loader struct {
	source   string
	dir      string
	derive   DeriveFunc
	warnings []string
}

func (l *loader) spec(in *inputFile) (Spec, error) {
	s := Spec{Job: in.Job}
	if in.TaskManager == nil {
		return s, fmt.Errorf("taskManager is required: a Flink configuration (config or configFile) or explicit resources with slots")
	}
	tm, cfg, err := l.shape(in.TaskManager, "taskManager", "taskmanager")
	if err != nil {
		return s, err
	}
	s.TaskManager = tm
	if len(in.SlotSharingGroups) == 0 {
		return s, fmt.Errorf("slotSharingGroups is required: at least one group with a name and a parallelism")
	}
	seen := map[string]int{}
	for i, g := range in.SlotSharingGroups {
		grp, err := l.group(g, i)
		if err != nil {
			return s, err
		}
		if prev, dup := seen[grp.Name]; dup {
			return s, fmt.Errorf("line %d: slot-sharing group %q is defined twice (first at line %d)", g.Line, grp.Name, prev)
		}
		seen[grp.Name] = g.Line
		s.Groups = append(s.Groups, grp)
	}
	// Slot-manager options: the TaskManager's configuration, then the options section.
	opts := flinkconf.New()
	if cfg != nil {
		opts.Merge(cfg)
	}
	if in.Options.Kind != 0 {
		oc, err := configFromNode(&in.Options, l.source, "options")
		if err != nil {
			return s, err
		}
		l.warnMisspelt(oc)
		opts.Merge(oc)
	}
	if s.Options, err = slotManagerOptions(opts); err != nil {
		return s, err
	}
	if c := in.Cluster; c != nil {
		switch strings.ToLower(c.Deployment) {
		case "", "active":
		case "standalone":
			s.Options.Standalone = true
		default:
			return s, fmt.Errorf("cluster.deployment: %q is not a deployment (want active or standalone)", c.Deployment)
		}
		if c.Pending < 0 {
			return s, fmt.Errorf("cluster.pending: %d must not be negative", c.Pending)
		}
		s.Pending = c.Pending
		def := divSlots(newSpace(tm.Total).vec(tm.Total), tm.Slots)
		for i, r := range c.Registered {
			used, err := registeredUse(r, i, tm, def)
			if err != nil {
				return s, err
			}
			s.Registered = append(s.Registered, used)
		}
	}
	names := map[string]bool{tm.Name: true}
	for i := range in.Catalog {
		cs, _, err := l.shape(&in.Catalog[i], fmt.Sprintf("catalog[%d]", i), fmt.Sprintf("shape-%d", i+1))
		if err != nil {
			return s, err
		}
		if names[cs.Name] {
			return s, fmt.Errorf("line %d: catalog shape name %q is used twice", in.Catalog[i].Line, cs.Name)
		}
		names[cs.Name] = true
		s.Catalog = append(s.Catalog, cs)
	}
	s.Search.Derive = l.derive
	if se := in.Search; se != nil {
		if se.Enabled != nil && !*se.Enabled {
			s.Search.Disabled = true
		}
		if se.MaxCPU != nil {
			s.Search.MaxCPU = se.MaxCPU.d
		}
		s.Search.MaxMemory = se.MaxMemory.bytes
		if se.MaxCandidates < 0 {
			return s, fmt.Errorf("search.maxCandidates: %d must not be negative", se.MaxCandidates)
		}
		s.Search.MaxCandidates = se.MaxCandidates
	}
	return s, nil
}

// shape resolves a TaskManager shape from exactly one of config/configFile (both may be
// combined, config overriding the file) or resources.
func (l *loader) shape(in *shapeInput, field, defaultName string) (Shape, *flinkconf.Config, error) {
	name := in.Name
	if name == "" {
		name = defaultName
	}
	hasCfg := in.Config.Kind != 0 || in.ConfigFile != ""
	switch {
	case hasCfg && in.Resources != nil:
		return Shape{}, nil, fmt.Errorf("line %d: %s: give either a Flink configuration (config/configFile) or resources, not both", in.Line, field)
	case !hasCfg && in.Resources == nil:
		return Shape{}, nil, fmt.Errorf("line %d: %s: needs a Flink configuration (config or configFile) or resources with slots", in.Line, field)
	case in.Cost < 0:
		return Shape{}, nil, fmt.Errorf("line %d: %s.cost: %v must not be negative", in.Line, field, in.Cost)
	}
	if in.Resources != nil {
		if in.Slots == 0 {
			in.Slots = 1
		}
		if in.Slots < 0 {
			return Shape{}, nil, fmt.Errorf("line %d: %s.slots: %d must be at least 1", in.Line, field, in.Slots)
		}
		s := Shape{Name: name, Total: in.Resources.profile(), Slots: in.Slots, ProcessMemory: in.ProcessMemory.bytes, Cost: in.Cost}
		if in.Resources.CPU == nil || s.Total.CPU <= 0 {
			return Shape{}, nil, fmt.Errorf("line %d: %s.resources.cpu must be greater than 0", in.Resources.Line, field)
		}
		if s.Total.TotalMemory() <= 0 {
			return Shape{}, nil, fmt.Errorf("line %d: %s.resources: taskHeap + taskOffHeap + managed + network must be greater than 0", in.Resources.Line, field)
		}
		return s, nil, nil
	}
	if in.Slots != 0 || in.ProcessMemory.set {
		return Shape{}, nil, fmt.Errorf("line %d: %s: slots and processMemory come from the Flink configuration (taskmanager.numberOfTaskSlots, the memory model); remove them", in.Line, field)
	}
	cfg := flinkconf.New()
	if in.ConfigFile != "" {
		path := in.ConfigFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(l.dir, path)
		}
		fc, warns, err := flinkconf.LoadFile(path, flinkconf.FormatAuto)
		if err != nil {
			return Shape{}, nil, fmt.Errorf("line %d: %s.configFile: %v", in.Line, field, err)
		}
		for _, w := range warns {
			l.warnings = append(l.warnings, w.String())
		}
		cfg.Merge(fc)
	}
	if in.Config.Kind != 0 {
		c, err := configFromNode(&in.Config, l.source, field+".config")
		if err != nil {
			return Shape{}, nil, err
		}
		cfg.Merge(c)
	}
	l.warnMisspelt(cfg)
	s, err := ShapeFromConfig(name, cfg, l.derive)
	if err != nil {
		return Shape{}, nil, fmt.Errorf("line %d: %s: %w", in.Line, field, err)
	}
	s.Cost = in.Cost
	return s, cfg, nil
}

func (l *loader) warnMisspelt(cfg *flinkconf.Config) {
	known := append(slices.Clone(flinkconf.KnownOptions), flinkconf.PlannerOptions...)
	for _, w := range cfg.Misspellings(known) {
		l.warnings = append(l.warnings, w.String())
	}
}

func (l *loader) group(g groupInput, i int) (Group, error) {
	grp := Group{Name: g.Name}
	if g.Name == "" {
		return grp, fmt.Errorf("line %d: slotSharingGroups[%d].name is required", g.Line, i)
	}
	maxV := 0
	vnames := map[string]bool{}
	for j, v := range g.Vertices {
		if v.Name == "" {
			return grp, fmt.Errorf("line %d: group %q: vertices[%d].name is required", g.Line, g.Name, j)
		}
		if vnames[v.Name] {
			return grp, fmt.Errorf("line %d: group %q: vertex %q is listed twice", g.Line, g.Name, v.Name)
		}
		vnames[v.Name] = true
		if v.Parallelism < 1 || v.Parallelism > scheduler.UpperBoundMaxParallelism {
			return grp, fmt.Errorf("line %d: group %q: vertex %q parallelism %d must be between 1 and %d (Flink's maximum parallelism)", g.Line, g.Name, v.Name, v.Parallelism, scheduler.UpperBoundMaxParallelism)
		}
		maxV = max(maxV, v.Parallelism)
		grp.Vertices = append(grp.Vertices, scheduler.VertexParallelism{ID: v.Name, SlotSharingGroup: g.Name, Parallelism: v.Parallelism})
	}
	switch {
	case len(g.Vertices) > 0 && g.Parallelism != 0 && g.Parallelism != maxV:
		return grp, fmt.Errorf("line %d: group %q: parallelism %d disagrees with its vertices (a group needs as many slots as its highest vertex parallelism, %d); drop one of them", g.Line, g.Name, g.Parallelism, maxV)
	case len(g.Vertices) > 0:
		grp.Slots = maxV
	case g.Parallelism < 1:
		return grp, fmt.Errorf("line %d: group %q: parallelism %d must be at least 1 (or list vertices with their parallelism)", g.Line, g.Name, g.Parallelism)
	case g.Parallelism > scheduler.UpperBoundMaxParallelism:
		return grp, fmt.Errorf("line %d: group %q: parallelism %d is above Flink's maximum parallelism %d", g.Line, g.Name, g.Parallelism, scheduler.UpperBoundMaxParallelism)
	default:
		grp.Slots = g.Parallelism
	}
	if g.Resources != nil {
		p := g.Resources.profile()
		// Flink's SlotSharingGroup builder requires both, positive.
		if g.Resources.CPU == nil || p.CPU <= 0 || p.TaskHeap <= 0 {
			return grp, fmt.Errorf("line %d: group %q: resources need cpu and taskHeap greater than 0 (Flink: \"The cpu cores and task heap memory are required when specifying the resource of a slot sharing group.\")", g.Resources.Line, g.Name)
		}
		grp.Profile = &p
	}
	return grp, nil
}

func registeredUse(r registeredInput, i int, tm Shape, def vec) (Profile, error) {
	sp := newSpace(tm.Total)
	switch {
	case r.Used != nil && r.UsedSlots != 0:
		return Profile{}, fmt.Errorf("line %d: cluster.registered[%d]: give usedSlots or used, not both", r.Line, i)
	case r.UsedSlots < 0 || r.UsedSlots > tm.Slots:
		return Profile{}, fmt.Errorf("line %d: cluster.registered[%d].usedSlots: %d must be within 0..%d (the TaskManager's slots)", r.Line, i, r.UsedSlots, tm.Slots)
	case r.Used != nil:
		u := r.Used.profile()
		both := newSpace(tm.Total, u)
		if !fits(both.vec(tm.Total), both.vec(u)) {
			return Profile{}, fmt.Errorf("line %d: cluster.registered[%d].used (%s) exceeds the TaskManager (%s)", r.Line, i, u, tm.Total)
		}
		return u, nil
	}
	return sp.profile(scaled(def, r.UsedSlots)), nil
}

// configFromNode flattens a YAML mapping of Flink keys (nested or dotted) into a Config with
// origins in the plan file.
func configFromNode(n *yaml.Node, source, field string) (*flinkconf.Config, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s must be a mapping of Flink keys to values", n.Line, field)
	}
	c := flinkconf.New()
	var walk func(prefix string, n *yaml.Node) error
	walk = func(prefix string, n *yaml.Node) error {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + key
			}
			switch v.Kind {
			case yaml.MappingNode:
				if err := walk(key, v); err != nil {
					return err
				}
			case yaml.SequenceNode:
				items := make([]string, 0, len(v.Content))
				for _, it := range v.Content {
					items = append(items, it.Value)
				}
				c.SetFrom(key, strings.Join(items, ";"), flinkconf.Origin{Source: source, Line: k.Line})
			case yaml.ScalarNode:
				if v.Tag == "!!null" {
					return fmt.Errorf("line %d: %s: key %s has no value", k.Line, field, key)
				}
				c.SetFrom(key, v.Value, flinkconf.Origin{Source: source, Line: k.Line})
			default:
				return fmt.Errorf("line %d: %s: unsupported value for %s", k.Line, field, key)
			}
		}
		return nil
	}
	return c, walk("", n)
}

// slotManagerOptions reads the slot manager's options, failing with Flink's parse errors.
func slotManagerOptions(c *flinkconf.Config) (SlotManagerOptions, error) {
	var o SlotManagerOptions
	var e *flinkconf.Exception
	if o.EvenlySpread, _, e = c.Bool(flinkconf.EvenlySpreadOutSlots); e != nil {
		return o, e
	}
	n, _, e := c.Int(flinkconf.RedundantTaskManagers)
	if e != nil {
		return o, e
	}
	if n < 0 {
		return o, fmt.Errorf("%s: %d must not be negative", flinkconf.RedundantTaskManagers.Key, n)
	}
	o.RedundantTaskManagers = int(n)
	minS, _, e := c.Int(flinkconf.MinSlotNum)
	if e != nil {
		return o, e
	}
	maxS, _, e := c.Int(flinkconf.MaxSlotNum)
	if e != nil {
		return o, e
	}
	if minS < 0 || maxS < 1 || minS > maxS {
		return o, fmt.Errorf("%s (%d) and %s (%d) must satisfy 0 <= min <= max, max >= 1", flinkconf.MinSlotNum.Key, minS, flinkconf.MaxSlotNum.Key, maxS)
	}
	o.MinSlots = int(minS)
	if maxS != 1<<31-1 {
		o.MaxSlots = int(maxS)
	}
	for _, x := range []struct {
		opt flinkconf.Option
		dst **Decimal
	}{{flinkconf.MinTotalCPU, &o.MinTotalCPU}, {flinkconf.MaxTotalCPU, &o.MaxTotalCPU}} {
		if !c.IsConfigured(x.opt) {
			continue
		}
		v, _, e := c.Double(x.opt)
		if e != nil {
			return o, e
		}
		d, err := DecimalFromFloat(v)
		if err != nil {
			return o, fmt.Errorf("%s: %v", x.opt.Key, err)
		}
		*x.dst = &d
	}
	for _, x := range []struct {
		opt flinkconf.Option
		dst **int64
	}{{flinkconf.MinTotalMemory, &o.MinTotalMemory}, {flinkconf.MaxTotalMemory, &o.MaxTotalMemory}} {
		if !c.IsConfigured(x.opt) {
			continue
		}
		v, _, e := c.MemorySize(x.opt)
		if e != nil {
			return o, e
		}
		*x.dst = &v
	}
	return o, nil
}

// knownFields lists the yaml field names of the struct v points to.
func knownFields(v any) map[string]bool {
	out := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
