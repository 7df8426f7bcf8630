package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Violation is one place where a body breaks its schema.
type Violation struct {
	Path    string // JSON path, e.g. $.vertices[0].metrics.read-records
	Message string
}

func (v Violation) String() string { return v.Path + ": " + v.Message }

// ValidationError lists every violation of one response body.
type ValidationError struct {
	Method, Path string // the request
	Template     string // the matched path template
	Status       int
	Schema       string // schema name, when the body schema is a component
	Violations   []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s) %d", e.Method, e.Path, e.Template, e.Status)
	if e.Schema != "" {
		fmt.Fprintf(&b, " [%s]", e.Schema)
	}
	fmt.Fprintf(&b, ": %d violation(s)", len(e.Violations))
	for _, v := range e.Violations {
		b.WriteString("\n  ")
		b.WriteString(v.String())
	}
	return b.String()
}

// ValidateResponse validates the body of a response to method and path (a concrete request
// path such as /jobs/<id>/vertices/<id>/subtasks/metrics; a "/v1" prefix and the query
// string are ignored) with the given status. Non-2xx bodies are checked against Flink's
// error body. It returns nil, a *ValidationError listing every violation, or an error
// wrapping ErrNotInSpec when the spec does not describe the call.
func (s *Spec) ValidateResponse(method, path string, status int, body []byte) error {
	method = strings.ToUpper(method)
	r := s.match(path)
	if r == nil {
		return fmt.Errorf("%s %s: no path template matches: %w", method, path, ErrNotInSpec)
	}
	op, ok := r.ops[method]
	if !ok {
		return fmt.Errorf("%s %s: %s documents %s only: %w", method, path, r.template, strings.Join(sortedKeys(r.ops), ", "), ErrNotInSpec)
	}
	verr := &ValidationError{Method: method, Path: path, Template: r.template, Status: status}
	var schema *Schema
	if status < 200 || status > 299 {
		schema = s.schemas[errorSchemaName]
	} else {
		resp, ok := op.Responses[strconv.Itoa(status)]
		if !ok {
			verr.Violations = append(verr.Violations, Violation{"$", fmt.Sprintf("status %d is not documented (documented: %s)", status, strings.Join(sortedKeys(op.Responses), ", "))})
			return verr
		}
		for _, c := range resp.Content {
			schema = c.Schema
		}
		if schema == nil {
			if !isEmptyBody(body) {
				verr.Violations = append(verr.Violations, Violation{"$", "the spec documents no body; want nothing or {} (EmptyResponseBody)"})
				return verr
			}
			return nil
		}
	}
	if schema.Ref != "" {
		verr.Schema = strings.TrimPrefix(schema.Ref, "#/components/schemas/")
	} else if schema.name != "" {
		verr.Schema = schema.name
	}
	verr.Violations = s.validateBody(schema, body)
	if len(verr.Violations) > 0 {
		return verr
	}
	return nil
}

// ValidateSchema validates a JSON document against a named component schema (after
// deviations), e.g. a request body against "JobResourceRequirementsBody".
func (s *Spec) ValidateSchema(name string, body []byte) error {
	sc, ok := s.schemas[name]
	if !ok {
		return fmt.Errorf("schema %q: %w", name, ErrNotInSpec)
	}
	if v := s.validateBody(sc, body); len(v) > 0 {
		return &ValidationError{Method: "-", Path: "-", Template: "-", Schema: name, Violations: v}
	}
	return nil
}

func (s *Spec) validateBody(schema *Schema, body []byte) []Violation {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []Violation{{"$", "invalid JSON: " + err.Error()}}
	}
	if dec.More() {
		return []Violation{{"$", "invalid JSON: data after the top-level value"}}
	}
	var vs validator
	vs.spec = s
	vs.validate(schema, v, "$", nil)
	return vs.out
}

type validator struct {
	spec *Spec
	out  []Violation
}

func (vs *validator) addf(path, format string, args ...any) {
	vs.out = append(vs.out, Violation{path, fmt.Sprintf(format, args...)})
}

// validate checks value against sc. dispatched is the discriminator schema whose subtype
// is being validated right now (the subtype's allOf leads back to it; it must not dispatch
// again for the same value).
func (vs *validator) validate(sc *Schema, value any, path string, dispatched *Schema) {
	if sc == nil {
		return
	}
	if value == nil && sc.Nullable {
		return
	}
	if sc.Ref != "" {
		target, err := vs.spec.resolve(sc.Ref)
		if err != nil {
			vs.addf(path, "%v", err)
			return
		}
		vs.validate(target, value, path, dispatched)
		return
	}
	if d := sc.Discriminator; d != nil && sc != dispatched {
		if obj, ok := value.(map[string]any); ok {
			if tag, ok := obj[d.PropertyName].(string); ok {
				ref, ok := d.Mapping[tag]
				if !ok {
					vs.addf(path+"."+d.PropertyName, "%q is not one of %s", tag, strings.Join(sortedKeys(d.Mapping), ", "))
					return
				}
				sub, _ := vs.spec.resolve(ref)
				if sub != sc {
					vs.validate(sub, value, path, sc)
					return
				}
			}
		}
	}
	for _, sub := range sc.AllOf {
		vs.validate(sub, value, path, dispatched)
	}
	if len(sc.OneOf) > 0 {
		matches, firstErr := vs.countMatches(sc.OneOf, value, path)
		switch {
		case matches == 0:
			vs.addf(path, "matches none of the oneOf alternatives (first: %s)", firstErr)
		case matches > 1:
			vs.addf(path, "matches %d oneOf alternatives, want exactly one", matches)
		}
	}
	if len(sc.AnyOf) > 0 {
		if matches, firstErr := vs.countMatches(sc.AnyOf, value, path); matches == 0 {
			vs.addf(path, "matches none of the anyOf alternatives (first: %s)", firstErr)
		}
	}
	if len(sc.Enum) > 0 && value != nil && !inEnum(sc.Enum, value) {
		vs.addf(path, "%s is not one of %s", show(value), showEnum(sc.Enum))
		return
	}
	switch sc.Type {
	case "":
		if obj, ok := value.(map[string]any); ok {
			vs.object(sc, obj, path)
		}
		if arr, ok := value.([]any); ok && sc.Items != nil {
			vs.array(sc, arr, path)
		}
	case "object":
		obj, ok := value.(map[string]any)
		if !ok {
			vs.addf(path, "%s, want an object", describe(value))
			return
		}
		vs.object(sc, obj, path)
	case "array":
		arr, ok := value.([]any)
		if !ok {
			vs.addf(path, "%s, want an array", describe(value))
			return
		}
		vs.array(sc, arr, path)
	case "string":
		str, ok := value.(string)
		if !ok {
			vs.addf(path, "%s, want a string", describe(value))
			return
		}
		if sc.pattern != nil && !sc.pattern.MatchString(str) {
			vs.addf(path, "%q does not match %s", str, sc.Pattern)
		}
		n := len([]rune(str))
		if sc.MinLength != nil && n < *sc.MinLength {
			vs.addf(path, "length %d < minLength %d", n, *sc.MinLength)
		}
		if sc.MaxLength != nil && n > *sc.MaxLength {
			vs.addf(path, "length %d > maxLength %d", n, *sc.MaxLength)
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			vs.addf(path, "%s, want a boolean", describe(value))
		}
	case "integer":
		num, ok := value.(json.Number)
		if !ok {
			vs.addf(path, "%s, want an integer", describe(value))
			return
		}
		vs.integer(sc, num, path)
	case "number":
		if str, ok := value.(string); ok && sc.allowNonFinite && nonFinite(str) {
			return
		}
		num, ok := value.(json.Number)
		if !ok {
			vs.addf(path, "%s, want a number", describe(value))
			return
		}
		f, err := num.Float64()
		if err != nil && !math.IsInf(f, 0) {
			vs.addf(path, "%s is not a number", num)
			return
		}
		if sc.Format == "float" && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
			vs.addf(path, "%s overflows a float", num)
		}
		vs.bounds(sc, f, path)
	default:
		vs.addf(path, "schema has unsupported type %q", sc.Type)
	}
}

func (vs *validator) countMatches(alts []*Schema, value any, path string) (int, string) {
	matches := 0
	first := ""
	for _, alt := range alts {
		sub := validator{spec: vs.spec}
		sub.validate(alt, value, path, nil)
		if len(sub.out) == 0 {
			matches++
		} else if first == "" {
			first = sub.out[0].String()
		}
	}
	return matches, first
}

func (vs *validator) object(sc *Schema, obj map[string]any, path string) {
	for _, req := range sc.Required {
		if _, ok := obj[req]; !ok {
			vs.addf(path, "missing required property %q", req)
		}
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		p := childPath(path, k)
		if ps, ok := sc.Properties[k]; ok {
			vs.property(ps, v, p)
			continue
		}
		if ap := sc.AdditionalProperties; ap != nil {
			if !ap.Allowed {
				vs.addf(p, "property not allowed")
			} else if ap.Schema != nil {
				vs.property(ap.Schema, v, p)
			}
		}
	}
}

// property validates one member value; null is accepted only where the schema (or the
// $ref holder) is nullable.
func (vs *validator) property(ps *Schema, v any, path string) {
	if v == nil && !vs.nullable(ps) {
		vs.addf(path, "null, want %s", vs.describeSchema(ps))
		return
	}
	vs.validate(ps, v, path, nil)
}

func (vs *validator) nullable(sc *Schema) bool {
	for i := 0; sc != nil && i < 32; i++ {
		if sc.Nullable {
			return true
		}
		if sc.Ref == "" {
			return false
		}
		sc, _ = vs.spec.resolve(sc.Ref)
	}
	return false
}

func (vs *validator) describeSchema(sc *Schema) string {
	if sc.Ref != "" {
		return strings.TrimPrefix(sc.Ref, "#/components/schemas/")
	}
	if sc.Type != "" {
		return "a value of type " + sc.Type
	}
	return "a value"
}

func (vs *validator) array(sc *Schema, arr []any, path string) {
	if sc.MinItems != nil && len(arr) < *sc.MinItems {
		vs.addf(path, "%d items < minItems %d", len(arr), *sc.MinItems)
	}
	if sc.MaxItems != nil && len(arr) > *sc.MaxItems {
		vs.addf(path, "%d items > maxItems %d", len(arr), *sc.MaxItems)
	}
	for i, item := range arr {
		vs.property(sc.Items, item, fmt.Sprintf("%s[%d]", path, i))
	}
}

var integerLiteral = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

func (vs *validator) integer(sc *Schema, num json.Number, path string) {
	str := num.String()
	if !integerLiteral.MatchString(str) {
		vs.addf(path, "%s is not an integer", str)
		return
	}
	n, ok := new(big.Int).SetString(str, 10)
	if !ok {
		vs.addf(path, "%s is not an integer", str)
		return
	}
	switch sc.Format {
	case "int32":
		if !n.IsInt64() || n.Int64() < math.MinInt32 || n.Int64() > math.MaxInt32 {
			vs.addf(path, "%s is out of int32 range", str)
			return
		}
	case "int64", "":
		if !n.IsInt64() {
			vs.addf(path, "%s is out of int64 range", str)
			return
		}
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	vs.bounds(sc, f, path)
}

func (vs *validator) bounds(sc *Schema, f float64, path string) {
	if sc.Minimum != nil && f < *sc.Minimum {
		vs.addf(path, "%v < minimum %v", f, *sc.Minimum)
	}
	if sc.Maximum != nil && f > *sc.Maximum {
		vs.addf(path, "%v > maximum %v", f, *sc.Maximum)
	}
}

func nonFinite(s string) bool { return s == "NaN" || s == "Infinity" || s == "-Infinity" }

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func childPath(path, key string) string {
	if plainName.MatchString(key) {
		return path + "." + key
	}
	b, _ := json.Marshal(key)
	return path + "[" + string(b) + "]"
}

func inEnum(enum []any, v any) bool {
	for _, e := range enum {
		switch ev := e.(type) {
		case string:
			if s, ok := v.(string); ok && s == ev {
				return true
			}
		case bool:
			if b, ok := v.(bool); ok && b == ev {
				return true
			}
		case int:
			if n, ok := v.(json.Number); ok && n.String() == strconv.Itoa(ev) {
				return true
			}
		case float64:
			if n, ok := v.(json.Number); ok {
				if f, err := n.Float64(); err == nil && f == ev {
					return true
				}
			}
		}
	}
	return false
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

func showEnum(enum []any) string {
	parts := make([]string, len(enum))
	for i, e := range enum {
		parts[i] = fmt.Sprint(e)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "string " + show(v)
	case bool:
		return "boolean " + show(v)
	case json.Number:
		return "number " + show(v)
	}
	return fmt.Sprintf("%T", v)
}
