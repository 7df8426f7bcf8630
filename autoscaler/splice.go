package autoscaler

import (
	"bytes"
	"fmt"
	"slices"
)

// SpliceState writes raw JSON into an encoded policy state in place of a placeholder. A
// policy's state is saved after every cycle, and most of it (a metric window of samples that
// never change once taken, or an inner policy's state) is already JSON: passed through
// encoding/json it would be encoded or re-validated and re-compacted every time. So the state
// is encoded with that part left at a placeholder (doc), and the first occurrence of
// placeholder, which must come before any value that could hold the same text, is replaced
// by parts, concatenated.
func SpliceState(doc []byte, placeholder string, parts ...[]byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(placeholder))
	if i < 0 {
		return nil, fmt.Errorf("%s not found in the encoded state", placeholder)
	}
	n := len(doc) - len(placeholder)
	for _, p := range parts {
		n += len(p)
	}
	out := slices.Grow(doc[:i:i], n-i)
	for _, p := range parts {
		out = append(out, p...)
	}
	return append(out, doc[i+len(placeholder):]...), nil
}
