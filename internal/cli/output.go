package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Every command that reports data takes -o/--output with at least table, json and yaml. JSON
// is one document per call (a list wherever a call can produce several results, even when it
// produced one) with camelCase keys; YAML is the same document with the same keys.

// checkOutput validates --output against a command's formats.
func checkOutput(output string, formats ...string) error {
	if !slices.Contains(formats, output) {
		return usagef("--output %q: want one of %s", output, strings.Join(formats, ", "))
	}
	return nil
}

// writeDoc writes v as one JSON or YAML document. YAML goes through the JSON encoding so that
// both formats have the same keys in the same order.
func writeDoc(w io.Writer, format string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote <placeholders> and -> arrows
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	switch format {
	case "json":
		_, err := w.Write(b)
		return err
	case "yaml":
		var n yaml.Node
		if err := yaml.Unmarshal(b, &n); err != nil {
			return err
		}
		blockStyle(&n)
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(&n); err != nil {
			return err
		}
		return enc.Close()
	}
	return fmt.Errorf("unknown document format %q", format)
}

// blockStyle turns the flow style JSON parses into YAML's block style, keeping strings quoted
// only where YAML needs it.
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		n.Style &^= yaml.DoubleQuotedStyle
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// camelKeys rewrites the object keys of a JSON document from snake_case to camelCase, keeping
// their order and every value as it is: for documents built from records whose field names
// follow Flink's test vectors (framework_heap), which programs reading flinktune's JSON see as
// frameworkHeap like every other key.
func camelKeys(doc []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out bytes.Buffer
	type frame struct {
		object bool
		n      int // tokens so far: keys and values alternate in an object
	}
	var stack []frame
	str := json.NewEncoder(&out)
	str.SetEscapeHTML(false)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			continue
		}
		key := false
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			key = f.object && f.n%2 == 0
			switch {
			case f.object && !key:
				out.WriteByte(':')
			case f.n > 0:
				out.WriteByte(',')
			}
			f.n++
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
		case string:
			if key {
				v = camelCase(v)
			}
			str.Encode(v)
			out.Truncate(out.Len() - 1) // Encode's newline
		case json.Number:
			out.WriteString(v.String())
		case bool:
			fmt.Fprint(&out, v)
		case nil:
			out.WriteString("null")
		}
	}
}

// camelCase turns snake_case into camelCase: jvm_overhead → jvmOverhead.
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// writeCamelDoc is writeDoc for documents with snake_case keys.
func writeCamelDoc(w io.Writer, format string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := camelKeys(b)
	if err != nil {
		return err
	}
	return writeDoc(w, format, doc)
}
