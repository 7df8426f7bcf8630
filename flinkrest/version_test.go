package flinkrest

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSupported(t *testing.T) {
	for _, c := range []struct {
		version string
		ok      bool
		want    []string // in the message
	}{
		{"1.18.0", true, nil},
		{"1.20.5", true, nil},
		{"2.0.1", true, nil},
		{"2.2.1", true, nil},
		{"2.9-SNAPSHOT", true, nil},
		{"<unknown>", true, nil},
		{"1.17.2", false, []string{"Flink 1.17.2", "resource-requirements", "1.18 to 2.x", "1.20.5", "upgrade the cluster"}},
		{"1.9.3", false, []string{"Flink 1.9.3", "upgrade"}},
		{"3.0.0", false, []string{"Flink 3.0.0 is newer", "1.18 to 2.x", "3.x"}},
	} {
		v, _ := ParseVersion(c.version)
		err := v.CheckSupported()
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.version, err, c.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("%s: %v does not wrap ErrUnsupportedVersion", c.version, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.version, err, w)
			}
		}
	}
}
