package flinktune

import (
	"encoding/json"
	"reflect"
	"testing"
)

// A sample's vertices are stored as a map by vertex ID (the persisted state's form before
// they became a slice): both directions keep every value, and a stored map reads back.
func TestVsamplesJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   vsamples
		want string
	}{
		{"empty", vsamples{}, `{}`},
		{"two", vsamples{{ID: "b", vsample: vsample{P: 2, InRate: 1.5, Lag: 7}}, {ID: "a", vsample: vsample{P: 1, Ingest: 3}}},
			`{"a":{"p":1,"in":0,"out":0,"busySec":0,"hot":0,"lag":0,"ingest":3},"b":{"p":2,"in":1.5,"out":0,"busySec":0,"hot":0,"lag":7,"ingest":0}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.want {
				t.Fatalf("marshal = %s, want %s", data, tc.want)
			}
			var back vsamples
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.in {
				got, ok := back.get(v.ID)
				if !ok || !reflect.DeepEqual(got, v.vsample) {
					t.Errorf("%s: got %+v (%v), want %+v", v.ID, got, ok, v.vsample)
				}
			}
			if len(back) != len(tc.in) {
				t.Errorf("read back %d vertices, want %d", len(back), len(tc.in))
			}
		})
	}
	var bad vsamples
	if err := json.Unmarshal([]byte(`[1]`), &bad); err == nil {
		t.Error("a list read as a sample's vertices")
	}
	if _, ok := (vsamples{{ID: "a"}}).get("b"); ok {
		t.Error("get found a vertex the sample lacks")
	}
}
