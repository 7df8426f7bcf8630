package flinkconf

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Origin says where a configuration value came from, for explanations and error messages.
type Origin struct {
	Source string // file name, "--set", "env", "scenario", ...
	Line   int    // 1-based line in Source, 0 when not from a file
}

func (o Origin) String() string {
	if o.Line > 0 {
		return fmt.Sprintf("%s:%d", o.Source, o.Line)
	}
	return o.Source
}

// Config is a Flink configuration: string values by key, as Flink holds a flink-conf.yaml or
// -D options, read through typed options on demand. A Config is not safe for concurrent writes.
type Config struct {
	values  map[string]string
	origins map[string]Origin
}

// New returns an empty configuration.
func New() *Config {
	return &Config{values: map[string]string{}, origins: map[string]Origin{}}
}

// FromMap returns a configuration holding a copy of m.
func FromMap(m map[string]string) *Config {
	c := New()
	for k, v := range m {
		c.Set(k, v)
	}
	return c
}

// Set stores value under key.
func (c *Config) Set(key, value string) { c.SetFrom(key, value, Origin{}) }

// SetFrom stores value under key and remembers where it came from.
func (c *Config) SetFrom(key, value string, origin Origin) {
	c.values[key] = value
	c.origins[key] = origin
}

// Delete removes key.
func (c *Config) Delete(key string) {
	delete(c.values, key)
	delete(c.origins, key)
}

// Get returns the raw value of key.
func (c *Config) Get(key string) (string, bool) {
	v, ok := c.values[key]
	return v, ok
}

// Has reports whether key is present.
func (c *Config) Has(key string) bool {
	_, ok := c.values[key]
	return ok
}

// OriginOf returns where key's value came from.
func (c *Config) OriginOf(key string) Origin { return c.origins[key] }

// Keys returns all keys in sorted order.
func (c *Config) Keys() []string { return slices.Sorted(maps.Keys(c.values)) }

// Len returns the number of keys.
func (c *Config) Len() int { return len(c.values) }

// Map returns a copy of the values.
func (c *Config) Map() map[string]string { return maps.Clone(c.values) }

// Clone returns an independent copy.
func (c *Config) Clone() *Config {
	return &Config{values: maps.Clone(c.values), origins: maps.Clone(c.origins)}
}

// Merge copies every value of other into c; other wins.
func (c *Config) Merge(other *Config) {
	if other == nil {
		return
	}
	for k, v := range other.values {
		c.SetFrom(k, v, other.origins[k])
	}
}

// IsConfigured reports whether the option's main key or any fallback key is present,
// whatever its value (Flink's Configuration#contains).
func (c *Config) IsConfigured(o Option) bool {
	for _, k := range o.Keys() {
		if c.Has(k) {
			return true
		}
	}
	return false
}

// Lookup resolves the option's raw value: main key first, then fallback keys in order.
// It returns the key the value was found under.
func (c *Config) Lookup(o Option) (raw, key string, found bool) {
	for _, k := range o.Keys() {
		if v, ok := c.values[k]; ok {
			return v, k, true
		}
	}
	return "", "", false
}

// couldNotParse is Flink's Configuration wrapper around every conversion failure; it always
// names the option's main key, even when the value came from a fallback key.
func couldNotParse(o Option, raw string, cause *Exception) *Exception {
	return IllegalArgument("Could not parse value '"+raw+"' for key '"+o.Key+"'.", cause)
}

// rawOrDefault returns the configured raw value or the default; ok is false when neither exists.
func (c *Config) rawOrDefault(o Option) (raw string, configured, ok bool) {
	if v, _, found := c.Lookup(o); found {
		return v, true, true
	}
	if o.HasDefault {
		return o.Default, false, true
	}
	return "", false, false
}

// MemorySize reads a memory-size option in bytes. ok is false when it is neither configured
// nor defaulted.
func (c *Config) MemorySize(o Option) (bytes int64, ok bool, err *Exception) {
	raw, configured, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	v, perr := ParseMemorySize(raw)
	if perr != nil {
		if !configured {
			panic("invalid default for " + o.Key)
		}
		return 0, true, couldNotParse(o, raw, perr)
	}
	return v, true, nil
}

// Float reads a float option and returns it widened to float64, as Flink's code uses it.
func (c *Config) Float(o Option) (v float64, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	f, perr := ParseJavaFloat(raw)
	if perr != nil {
		return 0, true, couldNotParse(o, raw, perr)
	}
	return float64(f), true, nil
}

// Double reads a double option.
func (c *Config) Double(o Option) (v float64, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	f, perr := ParseJavaDouble(raw)
	if perr != nil {
		return 0, true, couldNotParse(o, raw, perr)
	}
	return f, true, nil
}

// Int reads an int option.
func (c *Config) Int(o Option) (v int32, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	i, perr := ParseJavaInt(raw)
	if perr != nil {
		return 0, true, couldNotParse(o, raw, perr)
	}
	return i, true, nil
}

// Long reads a long option.
func (c *Config) Long(o Option) (v int64, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	i, perr := ParseJavaLong(raw)
	if perr != nil {
		return 0, true, couldNotParse(o, raw, perr)
	}
	return i, true, nil
}

// Bool reads a boolean option.
func (c *Config) Bool(o Option) (v bool, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return false, false, nil
	}
	b, perr := ParseJavaBool(raw)
	if perr != nil {
		return false, true, couldNotParse(o, raw, perr)
	}
	return b, true, nil
}

// Duration reads a duration option.
func (c *Config) Duration(o Option) (v time.Duration, ok bool, err *Exception) {
	raw, _, ok := c.rawOrDefault(o)
	if !ok {
		return 0, false, nil
	}
	d, perr := ParseDuration(raw)
	if perr != nil {
		return 0, true, couldNotParse(o, raw, perr)
	}
	return d, true, nil
}

// String reads a string option.
func (c *Config) String(o Option) (v string, ok bool) {
	raw, _, ok := c.rawOrDefault(o)
	return raw, ok
}
