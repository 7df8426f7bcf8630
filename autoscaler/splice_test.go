package autoscaler

import "testing"

func TestSpliceState(t *testing.T) {
	for _, tc := range []struct {
		name, doc, placeholder string
		parts                  []string
		want, err              string
	}{
		{"one value", `{"v":1,"w":null,"x":2}`, `"w":null`, []string{`"w":`, `[1,2]`}, `{"v":1,"w":[1,2],"x":2}`, ""},
		{"two values", `{"a":null,"b":null}`, `"a":null,"b":null`, []string{`"a":`, `{}`, `,"b":`, `[]`}, `{"a":{},"b":[]}`, ""},
		{"the first occurrence only", `{"s":[0],"t":{"s":[0]}}`, `"s":[0]`, []string{`"s":[`, `7`, `]`}, `{"s":[7],"t":{"s":[0]}}`, ""},
		{"at the end", `{"s":[0]}`, `"s":[0]}`, []string{`"s":[]}`}, `{"s":[]}`, ""},
		{"no placeholder", `{"v":1}`, `"w":null`, nil, "", `"w":null not found in the encoded state`},
	} {
		doc := []byte(tc.doc)
		var parts [][]byte
		for _, p := range tc.parts {
			parts = append(parts, []byte(p))
		}
		got, err := SpliceState(doc, tc.placeholder, parts...)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: %s, %v; want %s", tc.name, got, err, tc.want)
		}
		if string(doc) != tc.doc {
			t.Errorf("%s: the document was changed to %s", tc.name, doc)
		}
	}
}
