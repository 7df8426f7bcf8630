package flinkconf

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseMemorySize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string // "<SimpleName>: <message>" prefix
	}{
		{"1 GB", GiB, ""},
		{"512 mb", 512 * MiB, ""},
		{"2048k", 2048 * KiB, ""},
		{"2145M", 2145 * MiB, ""},
		{"3 gibibytes", 3 * GiB, ""},
		{"17179869184b", 17179869184, ""},
		{"  64m ", 64 * MiB, ""},
		{"0", 0, ""},
		{"1t", TiB, ""},
		{"1.5g", 0, "IllegalArgumentException: Memory size unit '.5g' does not match any of the recognized units: " + MemoryUnitsHelp},
		{"0.2", 0, "IllegalArgumentException: Memory size unit '.2' does not match"},
		{"0x400", 0, "IllegalArgumentException: Memory size unit 'x400' does not match"},
		{"-1m", 0, "NumberFormatException: text does not start with a number"},
		{"m", 0, "NumberFormatException: text does not start with a number"},
		{"   ", 0, "IllegalArgumentException: argument is an empty- or whitespace-only string"},
		{"99999999999999999999", 0, "IllegalArgumentException: The value '99999999999999999999' cannot be re represented as 64bit number (numeric overflow)."},
		{"9999999999999t", 0, "IllegalArgumentException: The value '9999999999999t' cannot be re represented as 64bit number of bytes (numeric overflow)."},
	}
	for _, tc := range tests {
		got, err := ParseMemorySize(tc.in)
		if tc.err == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseMemorySize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("ParseMemorySize(%q) error = %v; want prefix %q", tc.in, err, tc.err)
		}
	}
}

func TestFormatMemorySize(t *testing.T) {
	tests := map[int64]string{
		30 * GiB:    "30 gb",
		13760 * KiB: "13760 kb",
		120 * MiB:   "120 mb",
		20108162027: "20108162027 bytes",
		0:           "0 bytes",
		2 * TiB:     "2 tb",
	}
	for in, want := range tests {
		if got := FormatMemorySize(in); got != want {
			t.Errorf("FormatMemorySize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatMemorySizeHuman(t *testing.T) {
	tests := map[int64]string{
		0:             "0 bytes",
		1024:          "1024 bytes",
		1088:          "1.063kb (1088 bytes)",
		GiB:           "1024.000mb (1073741824 bytes)",
		math.MaxInt64: "8388608.000tb (9223372036854775807 bytes)",
		745060636:     "710.545mb (745060636 bytes)",
		2112:          "2.063kb (2112 bytes)",
		134217728:     "128.000mb (134217728 bytes)",
		GiB + 1:       "1.000gb (1073741825 bytes)",
		298024258:     "284.218mb (298024258 bytes)",
	}
	for in, want := range tests {
		if got := FormatMemorySizeHuman(in); got != want {
			t.Errorf("FormatMemorySizeHuman(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestMultiplyFraction(t *testing.T) {
	f04 := float64(float32(0.4))
	f01 := float64(float32(0.1))
	tests := []struct {
		bytes int64
		d     float64
		want  int64
	}{
		{1342177280, f04, 536870920},
		{1342177280, f01, 134217730},
		{30870077440, f04, 12348031160},
		{508081446070, 0.8527200222015381, 433251221972}, // float64 gives ...973
		{2415919104, f01 / (1 - f01), 268435460},
	}
	for _, tc := range tests {
		got, err := MultiplyFraction(tc.bytes, tc.d)
		if err != nil || got != tc.want {
			t.Errorf("MultiplyFraction(%d, %v) = %d, %v; want %d", tc.bytes, tc.d, got, err, tc.want)
		}
	}
	if _, err := MultiplyFraction(math.MaxInt64, 1.5); err == nil || err.Error() != "ArithmeticException: long overflow" {
		t.Errorf("overflow: got %v", err)
	}
}

func TestJavaFloat(t *testing.T) {
	ok := map[string]float32{
		"0.1": 0.1, " 0.4 ": 0.4, "1f": 1, "1D": 1, ".5": 0.5, "5.": 5, "+0.25": 0.25, "-0.1": -0.1,
		"1e-2": 0.01, "0x1p-3": 0.125, "0X1.8P1": 3, "1E+1": 10,
	}
	for in, want := range ok {
		got, err := ParseJavaFloat(in)
		if err != nil || got != want {
			t.Errorf("ParseJavaFloat(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"NaN", "-NaN"} {
		if got, err := ParseJavaFloat(in); err != nil || !math.IsNaN(float64(got)) {
			t.Errorf("ParseJavaFloat(%q) = %v, %v", in, got, err)
		}
	}
	if got, err := ParseJavaFloat("-Infinity"); err != nil || !math.IsInf(float64(got), -1) {
		t.Errorf("-Infinity: %v %v", got, err)
	}
	bad := map[string]string{
		"inf":   `NumberFormatException: For input string: "inf"`,
		"Inf":   `NumberFormatException: For input string: "Inf"`,
		"1_0":   `NumberFormatException: For input string: "1_0"`,
		"50%":   `NumberFormatException: For input string: "50%"`,
		"128m":  `NumberFormatException: For input string: "128m"`,
		"abc":   `NumberFormatException: For input string: "abc"`,
		"1.2.3": "NumberFormatException: multiple points",
		"  ":    "NumberFormatException: empty String",
		".":     `NumberFormatException: For input string: "."`,
		"1e":    `NumberFormatException: For input string: "1e"`,
		"0x1":   `NumberFormatException: For input string: "0x1"`,
		"1ff":   `NumberFormatException: For input string: "1ff"`,
	}
	for in, want := range bad {
		_, err := ParseJavaFloat(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParseJavaFloat(%q) error = %v; want %q", in, err, want)
		}
	}
}

func TestJavaIntBoolDouble(t *testing.T) {
	if v, err := ParseJavaInt("+4"); err != nil || v != 4 {
		t.Errorf("+4: %v %v", v, err)
	}
	for _, in := range []string{" 4", "4 ", "", "2147483648", "1.0", "-"} {
		if _, err := ParseJavaInt(in); err == nil || !strings.HasPrefix(err.Error(), "NumberFormatException: For input string:") {
			t.Errorf("ParseJavaInt(%q) error = %v", in, err)
		}
	}
	for in, want := range map[string]bool{"true": true, "False": false, "TRUE": true} {
		if v, err := ParseJavaBool(in); err != nil || v != want {
			t.Errorf("ParseJavaBool(%q) = %v %v", in, v, err)
		}
	}
	if _, err := ParseJavaBool("on"); err == nil || err.Error() != "IllegalArgumentException: Unrecognized option for boolean: on. Expected either true or false(case insensitive)" {
		t.Errorf("on: %v", err)
	}
	if v, err := ParseJavaDouble(" 2.5 "); err != nil || v != 2.5 {
		t.Errorf("2.5: %v %v", v, err)
	}
}

func TestJavaDoubleString(t *testing.T) {
	tests := map[float64]string{
		1:                      "1.0",
		2.5:                    "2.5",
		4:                      "4.0",
		1e7:                    "1.0E7",
		1e-4:                   "1.0E-4",
		0.001:                  "0.001",
		9999999:                "9999999.0",
		float64(float32(0.1)):  "0.10000000149011612",
		float64(float32(0.4)):  "0.4000000059604645",
		-float64(float32(0.1)): "-0.10000000149011612",
		0:                      "0.0",
		123456789.5:            "1.234567895E8",
		math.Inf(1):            "Infinity",
		0.11111111295076065:    "0.11111111295076065",
		1.0000000000000002:     "1.0000000000000002",
	}
	for in, want := range tests {
		if got := JavaDoubleString(in); got != want {
			t.Errorf("JavaDoubleString(%v) = %q, want %q", in, got, want)
		}
	}
	if got := JavaFloatString(0.1); got != "0.1" {
		t.Errorf("JavaFloatString(0.1) = %q", got)
	}
}

func TestParseDuration(t *testing.T) {
	ok := map[string]time.Duration{
		"500ms": 500 * time.Millisecond, "30s": 30 * time.Second, "5m": 5 * time.Minute, "5 min": 5 * time.Minute,
		"2h": 2 * time.Hour, "1d": 24 * time.Hour, "1000": time.Second, "1 min": time.Minute, "10 SECONDS": 10 * time.Second,
		"3 µs": 3 * time.Microsecond, "7ns": 7,
	}
	for in, want := range ok {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                      "IllegalArgumentException: argument is an empty- or whitespace-only string",
		"s":                     "NumberFormatException: text does not start with a number",
		"5 weeks":               "IllegalArgumentException: Time interval unit label 'weeks' does not match any of the recognized units",
		"1.5s":                  "IllegalArgumentException: Time interval unit label '.5s' does not match",
		"99999999999999999999d": "IllegalArgumentException: The value '99999999999999999999' cannot be represented as java.time.Duration (numeric overflow).",
	}
	for in, want := range bad {
		if _, err := ParseDuration(in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseDuration(%q) error = %v; want prefix %q", in, err, want)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5 min", 30 * time.Second: "30 s", time.Hour: "1 h", 1500 * time.Millisecond: "1500 ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q want %q", d, got, want)
		}
	}
}

func TestOptionString(t *testing.T) {
	if got, want := TMNetworkFraction.String(), "Key: 'taskmanager.memory.network.fraction' , default: 0.1 (fallback keys: [{key=taskmanager.network.memory.fraction, isDeprecated=true}])"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got, want := TMProcessSize.String(), "Key: 'taskmanager.memory.process.size' , default: null (fallback keys: [])"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if got, want := TMOverheadFraction.String(), "Key: 'taskmanager.memory.jvm-overhead.fraction' , default: 0.1 (fallback keys: [])"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestTypedGetters(t *testing.T) {
	c := FromMap(map[string]string{
		"taskmanager.network.memory.fraction": "abc",
		"taskmanager.memory.size":             "1g",
		"taskmanager.numberOfTaskSlots":       " 4",
	})
	if !c.IsConfigured(TMManagedSize) {
		t.Fatal("managed.size configured through its deprecated key")
	}
	if v, ok, err := c.MemorySize(TMManagedSize); err != nil || !ok || v != GiB {
		t.Errorf("managed size = %d %v %v", v, ok, err)
	}
	_, _, err := c.Float(TMNetworkFraction)
	if err == nil || err.Error() != "IllegalArgumentException: Could not parse value 'abc' for key 'taskmanager.memory.network.fraction'." ||
		err.Cause == nil || err.Cause.Error() != `NumberFormatException: For input string: "abc"` {
		t.Errorf("fraction error = %v / %v", err, err.Cause)
	}
	if _, _, err := c.Int(TMNumberOfTaskSlots); err == nil {
		t.Error("Integer.parseInt must reject a leading space")
	}
	if v, ok, err := c.MemorySize(TMFrameworkHeap); err != nil || !ok || v != 128*MiB {
		t.Errorf("default framework heap = %d %v %v", v, ok, err)
	}
	if _, ok, _ := c.MemorySize(TMProcessSize); ok {
		t.Error("process size has no default")
	}
	if f, _, _ := c.Float(TMManagedFraction); f != float64(float32(0.4)) {
		t.Errorf("managed fraction default widened = %v", f)
	}
}
