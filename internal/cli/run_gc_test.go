package cli

import "testing"

func TestSetRunGC(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"neither set", nil, true},
		{"GOGC set", map[string]string{"GOGC": "200"}, false},
		{"GOGC off", map[string]string{"GOGC": "off"}, false},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "40MiB"}, false},
		{"both set", map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}, false},
		{"empty GOGC is unset, as for Go", map[string]string{"GOGC": "", "GOMEMLIMIT": ""}, true},
		{"other variables only", map[string]string{"GOMAXPROCS": "2"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			got := -1
			applied := setRunGC(lookup, func(p int) int { got = p; return 100 })
			if applied != tc.want {
				t.Fatalf("applied = %v, want %v", applied, tc.want)
			}
			if tc.want && got != runGCPercent {
				t.Errorf("set GC percent %d, want %d", got, runGCPercent)
			}
			if !tc.want && got != -1 {
				t.Errorf("set GC percent %d although the environment sets it", got)
			}
		})
	}
}
