package memory

import (
	"maps"
	"slices"

	"github.com/flinktune/flinktune/flinkconf"
)

// ConfigFromStrings builds a configuration from raw values "as written in a flink-conf file",
// with the legacy loader's rules: key and value are trimmed (Java String#trim: characters up to
// ' ') and a key whose value is then empty is dropped, as if it were absent. source names the
// input in origins (e.g. "stdin:3").
func ConfigFromStrings(raw map[string]string, source string) *flinkconf.Config {
	c := flinkconf.New()
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		key, value := javaTrim(k), javaTrim(raw[k])
		if key == "" || value == "" {
			continue
		}
		c.SetFrom(key, value, flinkconf.Origin{Source: source})
	}
	return c
}

// javaTrim removes leading and trailing characters <= ' ', as java.lang.String#trim.
func javaTrim(s string) string {
	start, end := 0, len(s)
	for start < end && s[start] <= ' ' {
		start++
	}
	for end > start && s[end-1] <= ' ' {
		end--
	}
	return s[start:end]
}
