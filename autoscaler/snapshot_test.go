package autoscaler

import (
	"strings"
	"testing"
)

func TestFirstLine(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"java.lang.OutOfMemoryError: Java heap space\n\tat Foo.bar(Foo.java:1)", 300, "java.lang.OutOfMemoryError: Java heap space"},
		{"one line", 300, "one line"},
		{strings.Repeat("x", 250), 200, strings.Repeat("x", 200)},
		{"", 10, ""},
	} {
		if got := FirstLine(tc.in, tc.limit); got != tc.want {
			t.Errorf("FirstLine(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
