package flinkconf

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseMemorySize(f *testing.F) {
	for _, s := range []string{"1g", "1728m", " 12 kb", "1.5g", "-1", "99999999999999999999t", "", "0x1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseMemorySize(s)
		if err == nil && v < 0 {
			t.Fatalf("negative size %d from %q", v, s)
		}
		if err == nil {
			// Rendering must round-trip through Flink's toString format.
			back, err2 := ParseMemorySize(FormatMemorySize(v))
			if err2 != nil || back != v {
				t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, v, FormatMemorySize(v), back, err2)
			}
			_ = FormatMemorySizeHuman(v)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30 s", "5min", "1d", "500", "1.5s", "µs", "99999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("negative duration from %q", s)
		}
		if err == nil {
			back, err2 := ParseDuration(FormatDuration(d))
			if err2 != nil || back != d {
				t.Fatalf("round trip %q -> %v -> %q -> %v %v", s, d, FormatDuration(d), back, err2)
			}
		}
	})
}

func FuzzJavaNumbers(f *testing.F) {
	for _, s := range []string{"0.1", "1e5f", "0x1p-3", "NaN", "-Infinity", "1_0", ".", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseJavaDouble(s); err == nil {
			_ = JavaDoubleString(v)
			_ = FormatJavaFixed3(v)
		}
		_, _ = ParseJavaFloat(s)
		_, _ = ParseJavaInt(s)
		_, _ = ParseJavaBool(s)
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("a: 1\nb.c: x # c\n"))
	f.Add([]byte("a:\n  b: [1, 2]\n  c: {d: 1}\n"))
	f.Add([]byte("---\n- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{FormatAuto, FormatFlat, FormatYAML} {
			c, _, err := Parse(data, "fuzz", format)
			if err != nil {
				continue
			}
			for _, k := range c.Keys() {
				if v, _ := c.Get(k); format == FormatFlat && (strings.TrimSpace(v) != v || v == "") {
					t.Fatalf("flat value %q not trimmed", v)
				}
			}
			_ = c.Misspellings(KnownOptions)
		}
		c, _ := ParseFlat(bytes.NewReader(data), "fuzz")
		_ = c.Keys()
	})
}
