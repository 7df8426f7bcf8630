// Package openapi validates HTTP response bodies against an OpenAPI 3.0 description, made
// for Flink's generated REST spec (testdata/flink/rest_v1_dispatcher.yml). It is a test
// utility: the simulator's conformance test checks that every body it serves validates.
//
// Supported schema keywords: $ref (local components only), type (object, array, string,
// integer, number, boolean), format int32/int64 ranges, enum, pattern, required,
// properties, additionalProperties (bool or schema), items, allOf, oneOf, anyOf, nullable
// and discriminator (propertyName + mapping), plus minimum/maximum, minItems/maxItems,
// minLength/maxLength when present.
//
// Two deliberate readings: patterns are anchored (Flink's ids are exactly 32 hex
// characters, the generated "[0-9a-f]{32}" lacks anchors), and integers must be written
// without fraction or exponent (Jackson writes Java int/long that way).
//
// Flink's wire format departs from its own spec in known ways; Deviations lists them and
// Load applies them, so callers validate real responses without special cases.
package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Schema is one OpenAPI 3.0 schema object (the subset Flink's spec uses).
type Schema struct {
	Ref                  string             `yaml:"$ref"`
	Type                 string             `yaml:"type"`
	Format               string             `yaml:"format"`
	Pattern              string             `yaml:"pattern"`
	Enum                 []any              `yaml:"enum"`
	Required             []string           `yaml:"required"`
	Properties           map[string]*Schema `yaml:"properties"`
	AdditionalProperties *Additional        `yaml:"additionalProperties"`
	Items                *Schema            `yaml:"items"`
	AllOf                []*Schema          `yaml:"allOf"`
	OneOf                []*Schema          `yaml:"oneOf"`
	AnyOf                []*Schema          `yaml:"anyOf"`
	Nullable             bool               `yaml:"nullable"`
	Discriminator        *Discriminator     `yaml:"discriminator"`
	Minimum              *float64           `yaml:"minimum"`
	Maximum              *float64           `yaml:"maximum"`
	MinItems             *int               `yaml:"minItems"`
	MaxItems             *int               `yaml:"maxItems"`
	MinLength            *int               `yaml:"minLength"`
	MaxLength            *int               `yaml:"maxLength"`

	name    string         // component name, for messages
	pattern *regexp.Regexp // compiled Pattern
	// allowNonFinite accepts "NaN"/"Infinity"/"-Infinity" strings for type number.
	allowNonFinite bool
}

// Additional is additionalProperties: a boolean or a schema.
type Additional struct {
	Allowed bool
	Schema  *Schema
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (a *Additional) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		return n.Decode(&a.Allowed)
	}
	a.Allowed = true
	a.Schema = new(Schema)
	return n.Decode(a.Schema)
}

// Discriminator selects a subtype schema by a property value.
type Discriminator struct {
	PropertyName string            `yaml:"propertyName"`
	Mapping      map[string]string `yaml:"mapping"`
}

type operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema *Schema `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"responses"`
}

type route struct {
	template string
	segs     []string // "{x}" for parameters
	ops      map[string]*operation
}

// Spec is a loaded OpenAPI description with Flink's wire deviations applied.
type Spec struct {
	Version string // info.version, e.g. "v1/1.19-SNAPSHOT"
	schemas map[string]*Schema
	routes  []route
}

// ErrNotInSpec is wrapped by errors for a method and path the spec does not describe.
var ErrNotInSpec = errors.New("not in the OpenAPI spec")

// Load reads an OpenAPI 3.0 YAML (or JSON) file.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse parses an OpenAPI 3.0 document and applies Deviations.
func Parse(data []byte) (*Spec, error) {
	var doc struct {
		OpenAPI string `yaml:"openapi"`
		Info    struct {
			Version string `yaml:"version"`
		} `yaml:"info"`
		Paths      map[string]map[string]yaml.Node `yaml:"paths"`
		Components struct {
			Schemas map[string]*Schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return nil, fmt.Errorf("openapi version %q: only 3.x is supported", doc.OpenAPI)
	}
	s := &Spec{Version: doc.Info.Version, schemas: doc.Components.Schemas}
	if s.schemas == nil {
		s.schemas = map[string]*Schema{}
	}
	for tmpl, item := range doc.Paths {
		r := route{template: tmpl, segs: splitPath(tmpl), ops: map[string]*operation{}}
		for method, node := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
			default:
				continue
			}
			op := new(operation)
			if err := node.Decode(op); err != nil {
				return nil, fmt.Errorf("paths.%s.%s: %w", tmpl, method, err)
			}
			r.ops[strings.ToUpper(method)] = op
		}
		s.routes = append(s.routes, r)
	}
	sort.Slice(s.routes, func(i, j int) bool { return s.routes[i].template < s.routes[j].template })
	for _, d := range deviations {
		if err := d.apply(s); err != nil {
			return nil, fmt.Errorf("applying deviation %s: %w", d.ID, err)
		}
	}
	if err := s.prepare(); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare names components, compiles patterns and checks that every $ref resolves.
func (s *Spec) prepare() error {
	var errs []string
	seen := map[*Schema]bool{}
	var walk func(sc *Schema, where string)
	walk = func(sc *Schema, where string) {
		if sc == nil || seen[sc] {
			return
		}
		seen[sc] = true
		if sc.Ref != "" {
			if _, err := s.resolve(sc.Ref); err != nil {
				errs = append(errs, where+": "+err.Error())
			}
		}
		if sc.Pattern != "" && sc.pattern == nil {
			re, err := regexp.Compile(`^(?:` + sc.Pattern + `)$`)
			if err != nil {
				errs = append(errs, where+": pattern: "+err.Error())
			}
			sc.pattern = re
		}
		if sc.Discriminator != nil {
			for k, ref := range sc.Discriminator.Mapping {
				if _, err := s.resolve(ref); err != nil {
					errs = append(errs, where+": discriminator mapping "+k+": "+err.Error())
				}
			}
		}
		for k, p := range sc.Properties {
			walk(p, where+".properties."+k)
		}
		if sc.AdditionalProperties != nil {
			walk(sc.AdditionalProperties.Schema, where+".additionalProperties")
		}
		walk(sc.Items, where+".items")
		for i, x := range sc.AllOf {
			walk(x, fmt.Sprintf("%s.allOf[%d]", where, i))
		}
		for i, x := range sc.OneOf {
			walk(x, fmt.Sprintf("%s.oneOf[%d]", where, i))
		}
		for i, x := range sc.AnyOf {
			walk(x, fmt.Sprintf("%s.anyOf[%d]", where, i))
		}
	}
	for _, name := range sortedKeys(s.schemas) {
		s.schemas[name].name = name
		walk(s.schemas[name], "components.schemas."+name)
	}
	for _, r := range s.routes {
		for m, op := range r.ops {
			for code, resp := range op.Responses {
				for ct, c := range resp.Content {
					walk(c.Schema, fmt.Sprintf("%s %s %s %s", m, r.template, code, ct))
				}
			}
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (s *Spec) resolve(ref string) (*Schema, error) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	if !ok {
		return nil, fmt.Errorf("unsupported $ref %q (only #/components/schemas/...)", ref)
	}
	sc, ok := s.schemas[name]
	if !ok {
		return nil, fmt.Errorf("unresolved $ref %q", ref)
	}
	return sc, nil
}

// Schema returns the named component schema (after deviations), or nil.
func (s *Spec) Schema(name string) *Schema { return s.schemas[name] }

// Paths returns the path templates of the spec, sorted.
func (s *Spec) Paths() []string {
	out := make([]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = r.template
	}
	return out
}

// Methods returns the methods the spec documents for a path template, sorted.
func (s *Spec) Methods(template string) []string {
	for _, r := range s.routes {
		if r.template == template {
			return sortedKeys(r.ops)
		}
	}
	return nil
}

// Match returns the path template a concrete request path matches ("/v1" prefix and query
// string ignored). Literal segments win over parameters ("/jobs/overview" is not
// "/jobs/{jobid}").
func (s *Spec) Match(path string) (string, bool) {
	r := s.match(path)
	if r == nil {
		return "", false
	}
	return r.template, true
}

func (s *Spec) match(path string) *route {
	segs := splitPath(normalizePath(path))
	var best *route
	var bestScore []bool
	for i := range s.routes {
		r := &s.routes[i]
		if len(r.segs) != len(segs) {
			continue
		}
		score := make([]bool, len(segs)) // true = literal match at this position
		ok := true
		for j, t := range r.segs {
			if isParam(t) {
				if segs[j] == "" {
					ok = false
					break
				}
				continue
			}
			if t != segs[j] {
				ok = false
				break
			}
			score[j] = true
		}
		if !ok {
			continue
		}
		if best == nil || literalEarlier(score, bestScore) {
			best, bestScore = r, score
		}
	}
	return best
}

// literalEarlier reports whether score a has a literal segment at the first position where
// a and b differ.
func literalEarlier(a, b []bool) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i]
		}
	}
	return false
}

func normalizePath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p == "/v1" || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" {
		p = "/"
	}
	return p
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isEmptyBody reports whether a body is empty or an empty JSON object (EmptyResponseBody).
func isEmptyBody(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return true
	}
	if b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}
