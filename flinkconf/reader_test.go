package flinkconf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Options of every type the reader reads, declared in this order.
var (
	rBool     = Option{Key: "t.bool", Type: TypeBool, Default: "true", HasDefault: true, Fallbacks: []FallbackKey{{Key: "old.t.bool", Deprecated: true}}}
	rInt      = Option{Key: "t.int", Type: TypeInt, Default: "3", HasDefault: true}
	rDouble   = Option{Key: "t.double", Type: TypeDouble, Default: "0.5", HasDefault: true}
	rDuration = Option{Key: "t.duration", Type: TypeDuration, Default: "5 min", HasDefault: true}
	rMemory   = Option{Key: "t.memory", Type: TypeMemorySize, Default: "1g", HasDefault: true}
	rString   = Option{Key: "t.string", Type: TypeString, Default: "x", HasDefault: true}
	rNoDef    = Option{Key: "t.nodefault", Type: TypeDouble}
)

type readValues struct {
	b   bool
	i   int
	d   float64
	dur time.Duration
	mem int64
	s   string
	nd  float64
}

// readAll reads every test option in declaration order, then checks one rule.
func readAll(r *Reader) readValues {
	v := readValues{b: r.Bool(rBool), i: r.Int(rInt), d: r.Double(rDouble), dur: r.Duration(rDuration),
		mem: r.MemorySize(rMemory), s: r.String(rString), nd: r.Double(rNoDef)}
	r.Check(v.i >= 1, rInt, "must be at least 1")
	return v
}

func TestReaderDefaults(t *testing.T) {
	for _, cfg := range []*Config{nil, New()} {
		r := NewReader(cfg)
		got := readAll(r)
		want := readValues{b: true, i: 3, d: 0.5, dur: 5 * time.Minute, mem: GiB, s: "x", nd: 0}
		if got != want || r.Err() != nil || len(r.Errors()) != 0 {
			t.Errorf("defaults: %+v, %v; want %+v", got, r.Err(), want)
		}
	}
}

func TestReaderOneBadKeyEachType(t *testing.T) {
	cases := []struct {
		key, value string
		want       string // the whole error
	}{
		{"t.bool", "yes", `t.bool: invalid value "yes" (Could not parse value 'yes' for key 't.bool'. Cause: Unrecognized option for boolean: yes. Expected either true or false(case insensitive))`},
		// A fallback key is named as given; Flink's message names the main key.
		{"old.t.bool", "1", `old.t.bool: invalid value "1" (Could not parse value '1' for key 't.bool'. Cause: Unrecognized option for boolean: 1. Expected either true or false(case insensitive))`},
		{"t.int", "2.5", `t.int: invalid value "2.5" (Could not parse value '2.5' for key 't.int'. Cause: For input string: "2.5")`},
		{"t.double", "high", `t.double: invalid value "high" (Could not parse value 'high' for key 't.double'. Cause: For input string: "high")`},
		{"t.duration", "5 fortnights", `t.duration: invalid value "5 fortnights" (Could not parse value '5 fortnights' for key 't.duration'. Cause: Time interval unit label 'fortnights' does not match any of the recognized units: ` + DurationUnitsHelp + `)`},
		{"t.memory", "1.5g", `t.memory: invalid value "1.5g" (Could not parse value '1.5g' for key 't.memory'. Cause: Memory size unit '.5g' does not match any of the recognized units: ` + MemoryUnitsHelp + `)`},
		{"t.nodefault", "", `t.nodefault: invalid value "" (Could not parse value '' for key 't.nodefault'. Cause: empty String)`},
		// A rule: the value in effect is named.
		{"t.int", "0", `t.int: invalid value "0" (must be at least 1)`},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.value, func(t *testing.T) {
			r := NewReader(FromMap(map[string]string{c.key: c.value}))
			readAll(r)
			err := r.Err()
			var oe *OptionError
			if err == nil || err.Error() != c.want || !errors.As(err, &oe) || oe.Key != c.key || oe.Value != c.value {
				t.Fatalf("error\n %v\nwant\n %s", err, c.want)
			}
			if es := r.Errors(); len(es) != 1 {
				t.Errorf("%d errors, want 1: %v", len(es), es)
			}
		})
	}
}

func TestReaderBadValueReadsAsDefault(t *testing.T) {
	r := NewReader(FromMap(map[string]string{"t.int": "many", "t.duration": "soon", "t.nodefault": "?"}))
	v := readAll(r)
	if v.i != 3 || v.dur != 5*time.Minute || v.nd != 0 {
		t.Errorf("bad values read as %+v, want the defaults", v)
	}
	// The rule on t.int does not name it again.
	if es := r.Errors(); len(es) != 3 {
		t.Errorf("%d errors, want 3: %v", len(es), es)
	}
}

func TestReaderNamesEveryBadKeyInDeclarationOrder(t *testing.T) {
	cfg := FromMap(map[string]string{
		"t.memory": "lots", "t.bool": "maybe", "t.int": "-1", "t.duration": "1 fortnight", "t.double": "NaN?",
	})
	r := NewReader(cfg)
	readAll(r) // the rule on t.int is checked after every read
	var keys []string
	for _, e := range r.Errors() {
		keys = append(keys, e.Key)
	}
	if got := strings.Join(keys, " "); got != "t.bool t.int t.double t.duration t.memory" {
		t.Errorf("keys %q, want declaration order", got)
	}
	msg := r.Err().Error()
	if strings.Count(msg, "; ") != 4 || strings.Contains(msg, "\n") {
		t.Errorf("one line, five errors: %s", msg)
	}
	for _, v := range []string{`"maybe"`, `"-1" (must be at least 1)`, `"NaN?"`, `"1 fortnight"`, `"lots"`} {
		if !strings.Contains(msg, v) {
			t.Errorf("%s lacks %s", msg, v)
		}
	}
}

func TestReaderExpectWordsParseFailures(t *testing.T) {
	r := NewReader(FromMap(map[string]string{"t.bool": "yes", "t.double": "high"}))
	r.Expect = map[Type]string{TypeBool: "want true or false"}
	readAll(r)
	want := `t.bool: invalid value "yes" (want true or false); t.double: invalid value "high" (Could not parse value 'high' for key 't.double'. Cause: For input string: "high")`
	if err := r.Err(); err == nil || err.Error() != want {
		t.Errorf("error\n %v\nwant\n %s", err, want)
	}
}

func TestReaderInvalidAndFailed(t *testing.T) {
	r := NewReader(FromMap(map[string]string{"t.string": "odd"}))
	readAll(r)
	if r.Failed(rString) {
		t.Fatal("nothing recorded yet")
	}
	r.Invalid(rString, IllegalArgument("Could not parse value 'odd' for key 't.string'.", IllegalArgument("Expected one of: [[A, B]]", nil)))
	if !r.Failed(rInt, rString) || r.Failed(rInt) {
		t.Error("Failed reports the recorded option only")
	}
	if err := r.Err(); err == nil || !strings.HasSuffix(err.Error(), "Cause: Expected one of: [[A, B]])") {
		t.Errorf("error %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("t.bool", "yes", "t.memory", "1.5g")
	f.Add("old.t.bool", "TRUE", "t.int", "0")
	f.Add("t.duration", "1 d", "t.double", "0x1p-3")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		cfg := FromMap(map[string]string{k1: v1, k2: v2})
		r := NewReader(cfg)
		readAll(r)
		es := r.Errors()
		if (len(es) == 0) != (r.Err() == nil) {
			t.Fatalf("Err %v disagrees with Errors %v", r.Err(), es)
		}
		pos := map[string]int{"t.bool": 0, "t.int": 1, "t.double": 2, "t.duration": 3, "t.memory": 4, "t.string": 5, "t.nodefault": 6}
		last := -1
		for _, e := range es {
			// Every error names a key that was set (or the rule's option) and its value.
			if raw, ok := cfg.Get(e.Key); e.Err != nil && (!ok || raw != e.Value) {
				t.Fatalf("%v: names %s=%q, not what was set", e, e.Key, e.Value)
			}
			if !strings.Contains(e.Error(), e.Key) || e.Message() == "" {
				t.Fatalf("%v lacks its key or message", e)
			}
			p := pos[e.Option.Key]
			if p < last {
				t.Fatalf("errors out of declaration order: %v", es)
			}
			last = p
		}
		// A setting the reader accepted parses with Config's own getters.
		if _, _, e := cfg.Duration(rDuration); (e != nil) != r.Failed(rDuration) {
			t.Fatalf("duration: reader and Config disagree (%v)", e)
		}
	})
}
