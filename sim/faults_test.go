package sim

import "testing"

// A metrics-missing fault's names match exactly or as a glob whose only wildcard is '*'
// (any run, dots included); '[' and '?' are literal.
func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"busyTimeMsPerSecond", "busyTimeMsPerSecond", true},
		{"busyTimeMsPerSecond", "idleTimeMsPerSecond", false},
		{"*.pendingRecords", "Source__src.pendingRecords", true},
		{"*pending*", "Source__src.KafkaSourceReader.pendingRecords", true},
		{"*.pendingRecords", "pendingRecords", false},
		{"*a?b", "xa?b", true},
		{"*a?b", "xaxb", false},
		{"*[x", "a[x", true},
		{"*[ab]", "a[ab]", true},
		{"*[ab]", "aa", false},
	} {
		if got := globMatch(tc.pat, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.name, got, tc.want)
		}
	}
}
