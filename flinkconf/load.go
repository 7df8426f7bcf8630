package flinkconf

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format is a configuration file syntax.
type Format int

const (
	// FormatAuto picks by file name (config.yaml is standard YAML) or by content.
	FormatAuto Format = iota
	// FormatFlat is the legacy flink-conf.yaml: one "key: value" per line, not real YAML.
	FormatFlat
	// FormatYAML is Flink 1.19+/2.x config.yaml: standard YAML, nested keys joined with dots.
	FormatYAML
)

// ParseFormat maps "auto", "flat" (or "flink-conf") and "yaml" (or "config.yaml") to a Format.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, nil
	case "flat", "flink-conf", "flink-conf.yaml", "legacy":
		return FormatFlat, nil
	case "yaml", "config.yaml", "standard":
		return FormatYAML, nil
	}
	return FormatAuto, fmt.Errorf("unknown configuration format %q (want auto, flat or yaml)", s)
}

// Warning is a non-fatal remark about the input, with its position.
type Warning struct {
	Origin  Origin
	Message string
}

func (w Warning) String() string {
	if w.Origin.Source == "" {
		return w.Message
	}
	return w.Origin.String() + ": " + w.Message
}

// LoadFile reads a configuration file; path "-" reads standard input.
func LoadFile(path string, format Format) (*Config, []Warning, error) {
	var data []byte
	var err error
	source := path
	if path == "-" {
		source = "<stdin>"
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, err
	}
	if format == FormatAuto && filepath.Base(path) == "config.yaml" {
		format = FormatYAML
	}
	if format == FormatAuto && filepath.Base(path) == "flink-conf.yaml" {
		format = FormatFlat
	}
	return Parse(data, source, format)
}

// Parse reads configuration text in the given format.
func Parse(data []byte, source string, format Format) (*Config, []Warning, error) {
	if format == FormatAuto {
		format = detectFormat(data)
	}
	if format == FormatYAML {
		return ParseYAML(data, source)
	}
	c, w := ParseFlat(bytes.NewReader(data), source)
	return c, w, nil
}

// detectFormat treats text with nested (indented) keys or YAML documents as standard YAML
// and anything else as the legacy flat format; both read flat files the same way.
func detectFormat(data []byte) Format {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		content := strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
		if content == "" {
			continue
		}
		if content == "---" || (line[0] == ' ' || line[0] == '\t') && strings.Contains(content, ":") {
			return FormatYAML
		}
	}
	return FormatFlat
}

// ParseFlat reads the legacy flink-conf.yaml format exactly as Flink's GlobalConfiguration did:
// text after '#' is dropped, the line splits at the first ": ", key and value are trimmed, and
// lines with an empty key or value are ignored (with a warning).
func ParseFlat(r io.Reader, source string) (*Config, []Warning) {
	c := New()
	var warns []Warning
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		origin := Origin{Source: source, Line: line}
		conf := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0])
		if conf == "" {
			continue
		}
		key, value, found := strings.Cut(conf, ": ")
		if !found {
			warns = append(warns, Warning{origin, fmt.Sprintf("cannot split %q into key and value: Flink expects \"key: value\" (with a space after the colon); line ignored", conf)})
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if key == "" || value == "" {
			warns = append(warns, Warning{origin, fmt.Sprintf("key or value is empty in %q; line ignored", conf)})
			continue
		}
		if c.Has(key) {
			warns = append(warns, Warning{origin, fmt.Sprintf("key %s is set again (first at line %d); the last value wins", key, c.OriginOf(key).Line)})
		}
		c.SetFrom(key, value, origin)
	}
	return c, warns
}

// ParseYAML reads Flink's standard config.yaml: nested mappings flatten to dotted keys, scalars
// keep their literal text, lists become Flink's ';'-separated list strings.
func ParseYAML(data []byte, source string) (*Config, []Warning, error) {
	c := New()
	var warns []Warning
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", source, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("%s:%d: a Flink configuration must be a mapping of keys to values", source, root.Line)
	}
	var walk func(prefix string, n *yaml.Node) error
	walk = func(prefix string, n *yaml.Node) error {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + key
			}
			origin := Origin{Source: source, Line: k.Line}
			switch v.Kind {
			case yaml.MappingNode:
				if err := walk(key, v); err != nil {
					return err
				}
				continue
			case yaml.SequenceNode:
				items := make([]string, 0, len(v.Content))
				for _, it := range v.Content {
					if it.Kind != yaml.ScalarNode {
						out, _ := yaml.Marshal(it)
						items = append(items, strings.TrimSpace(string(out)))
					} else {
						items = append(items, it.Value)
					}
				}
				c.setChecked(key, strings.Join(items, ";"), origin, &warns)
			case yaml.ScalarNode:
				if v.Tag == "!!null" {
					warns = append(warns, Warning{origin, fmt.Sprintf("key %s has no value; ignored", key)})
					continue
				}
				c.setChecked(key, v.Value, origin, &warns)
			case yaml.AliasNode:
				if v.Alias != nil && v.Alias.Kind == yaml.ScalarNode {
					c.setChecked(key, v.Alias.Value, origin, &warns)
				}
			}
		}
		return nil
	}
	if err := walk("", root); err != nil {
		return nil, nil, err
	}
	return c, warns, nil
}

func (c *Config) setChecked(key, value string, origin Origin, warns *[]Warning) {
	if c.Has(key) {
		*warns = append(*warns, Warning{origin, fmt.Sprintf("key %s is set twice (first at %s); the last value wins", key, c.OriginOf(key))})
	}
	c.SetFrom(key, value, origin)
}

// ParseOverride splits a "--set key=value" argument.
func ParseOverride(arg string) (key, value string, err error) {
	key, value, found := strings.Cut(arg, "=")
	key = strings.TrimSpace(key)
	if !found || key == "" {
		return "", "", fmt.Errorf("invalid --set %q: want key=value, e.g. --set taskmanager.memory.process.size=4g", arg)
	}
	return key, strings.TrimSpace(value), nil
}

// ApplyOverrides sets every "key=value" on c, as -D options on Flink's command line.
func (c *Config) ApplyOverrides(args []string) error {
	for _, a := range args {
		k, v, err := ParseOverride(a)
		if err != nil {
			return err
		}
		if v == "" {
			// An empty value cannot be written in a Flink file either: it unsets the key.
			c.Delete(k)
			continue
		}
		c.SetFrom(k, v, Origin{Source: "--set"})
	}
	return nil
}
