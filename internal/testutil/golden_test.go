package testutil

import (
	"strings"
	"testing"
)

func TestFirstDifference(t *testing.T) {
	tests := []struct{ want, got, says string }{
		{"a\nb\n", "a\nc\n", "line 2:\n  want: b\n  got:  c"},
		{"a\n", "a\nb\n", "line 2:\n  want: \n  got:  b"},
		{"a\nb\n", "a", "line 2:\n  want: b\n  got:  (end of output)"},
		{"a\nb", "a\nb\nc", "want: (end of output)"},
		{"a\n", "a\n", "no line differs"},
	}
	for _, tc := range tests {
		if got := FirstDifference(tc.want, tc.got); !strings.Contains(got, tc.says) {
			t.Errorf("FirstDifference(%q, %q) = %q, want it to contain %q", tc.want, tc.got, got, tc.says)
		}
	}
}
