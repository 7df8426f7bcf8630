package flinkconf

import (
	"strconv"
	"strings"
	"time"
)

// Type is the Java type of an option's value; it selects the parser.
type Type int

const (
	TypeString Type = iota
	TypeMemorySize
	TypeFloat    // java.lang.Float: parsed with Float.parseFloat, used widened to double
	TypeDouble   // java.lang.Double
	TypeInt      // java.lang.Integer
	TypeLong     // java.lang.Long
	TypeBool     // java.lang.Boolean
	TypeDuration // java.time.Duration via TimeUtils.parseDuration
)

func (t Type) String() string {
	return [...]string{"string", "memory size", "float", "double", "int", "long", "boolean", "duration"}[t]
}

// FallbackKey is another key an option is read from when its main key is absent.
type FallbackKey struct {
	Key        string
	Deprecated bool
}

// Option describes one Flink configuration option: key, type, default and fallback keys.
type Option struct {
	Key string
	Type
	// Default is the default value in Flink's syntax; HasDefault is false for options
	// without a default (Java null).
	Default     string
	HasDefault  bool
	Fallbacks   []FallbackKey
	Description string
}

// Keys returns the main key followed by the fallback keys in resolution order.
func (o Option) Keys() []string {
	keys := []string{o.Key}
	for _, f := range o.Fallbacks {
		keys = append(keys, f.Key)
	}
	return keys
}

// String renders the option as Java's ConfigOption#toString, which Flink embeds in errors:
// "Key: 'k' , default: 0.1 (fallback keys: [{key=old.k, isDeprecated=true}])".
func (o Option) String() string {
	fb := make([]string, len(o.Fallbacks))
	for i, f := range o.Fallbacks {
		fb[i] = "{key=" + f.Key + ", isDeprecated=" + strconv.FormatBool(f.Deprecated) + "}"
	}
	return "Key: '" + o.Key + "' , default: " + o.defaultText() + " (fallback keys: [" + strings.Join(fb, ", ") + "])"
}

// defaultText renders the default as the Java object's toString.
func (o Option) defaultText() string {
	if !o.HasDefault {
		return "null"
	}
	switch o.Type {
	case TypeMemorySize:
		return FormatMemorySize(MustMemorySize(o.Default))
	case TypeFloat:
		f, err := ParseJavaFloat(o.Default)
		if err != nil {
			return o.Default
		}
		return JavaFloatString(f)
	case TypeDouble:
		f, err := ParseJavaDouble(o.Default)
		if err != nil {
			return o.Default
		}
		return JavaDoubleString(f)
	case TypeDuration:
		return javaDurationString(MustDuration(o.Default))
	}
	return o.Default
}

// javaDurationString renders d as java.time.Duration#toString ("PT5M", "PT0.5S").
func javaDurationString(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h != 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m != 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	if d != 0 {
		s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		b.WriteString(s + "S")
	}
	return b.String()
}
