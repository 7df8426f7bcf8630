package flinkrest

import (
	"bytes"
	"encoding/json"
)

// Decode unmarshals a Flink response body into v. It tolerates unknown fields and bare
// non-finite number tokens (NaN, Infinity, -Infinity), which a Jackson mapper with
// WRITE_NAN_AS_STRINGS disabled emits and which are not JSON.
func Decode(data []byte, v any) error {
	return json.Unmarshal(QuoteNonFinite(data), v)
}

// QuoteNonFinite returns data with every bare NaN, Infinity, +Infinity and -Infinity token
// outside strings replaced by its quoted form, so that a standard JSON decoder accepts it.
// Data without such tokens is returned unchanged (same slice).
func QuoteNonFinite(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	var out []byte
	last := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		tok := nonFiniteAt(data, i)
		if tok == 0 {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(data)+16)
		}
		out = append(out, data[last:i]...)
		out = append(out, '"')
		out = append(out, data[i:i+tok]...)
		out = append(out, '"')
		i += tok - 1
		last = i + 1
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// nonFiniteAt returns the length of a bare non-finite token starting at data[i], or 0.
func nonFiniteAt(data []byte, i int) int {
	for _, t := range [...]string{"NaN", "Infinity", "-Infinity", "+Infinity", "-NaN"} {
		if bytes.HasPrefix(data[i:], []byte(t)) {
			end := i + len(t)
			if end < len(data) && isIdentByte(data[end]) {
				return 0
			}
			if i > 0 && isIdentByte(data[i-1]) {
				return 0
			}
			return len(t)
		}
	}
	return 0
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
