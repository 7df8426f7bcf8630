package scheduler

import (
	"errors"
	"maps"
	"slices"
	"testing"
)

func TestValidateRequirements(t *testing.T) {
	job := map[string]int{"a": 128, "b": 4}
	tests := []struct {
		name     string
		req      map[string]Bounds
		want     map[string]Bounds
		wantErrs []string
	}{
		{"valid", map[string]Bounds{"a": {1, 8}, "b": {2, 4}}, map[string]Bounds{"a": {1, 8}, "b": {2, 4}}, nil},
		{"defaults expanded", map[string]Bounds{"a": {-1, -1}, "b": {3, -1}}, map[string]Bounds{"a": {1, 128}, "b": {3, 4}}, nil},
		{"zero bound", map[string]Bounds{"a": {0, 8}, "b": {1, 4}}, nil,
			[]string{"Both, the requested lower bound [0] and upper bound [8] for job vertex [a] must be greater than zero."}},
		{"negative other than -1", map[string]Bounds{"a": {1, -2}, "b": {1, 4}}, nil,
			[]string{"Both, the requested lower bound [1] and upper bound [-2] for job vertex [a] must be greater than zero."}},
		{"lower above upper and above max", map[string]Bounds{"a": {1, 8}, "b": {6, 5}}, nil,
			[]string{"The requested lower bound [6] for job vertex [b] is higher than the upper bound [5].",
				"The newly requested parallelism 5 for the job vertex b exceeds its maximum parallelism 4."}},
		{"lower -1 expanded then above upper", map[string]Bounds{"a": {-1, 8}, "b": {-1, 4}}, map[string]Bounds{"a": {1, 8}, "b": {1, 4}}, nil},
		{"unknown and missing", map[string]Bounds{"a": {1, 2}, "zz": {1, 1}}, nil,
			[]string{"Job vertex [zz] was not found in the JobGraph.",
				"The request is incomplete, missing job vertex [b] resource requirements."}},
		{"empty request", map[string]Bounds{}, nil,
			[]string{"The request is incomplete, missing job vertex [a] resource requirements.",
				"The request is incomplete, missing job vertex [b] resource requirements."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ValidateRequirements(job, tc.req)
			if tc.wantErrs == nil {
				if err != nil || !maps.Equal(got, tc.want) {
					t.Fatalf("got %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			var re *RequirementsError
			if !errors.As(err, &re) || got != nil {
				t.Fatalf("got %v, %v; want errors %q", got, err, tc.wantErrs)
			}
			if !slices.Equal(re.Errors, tc.wantErrs) {
				t.Errorf("errors = %q\nwant     %q", re.Errors, tc.wantErrs)
			}
		})
	}
}

func FuzzValidateRequirements(f *testing.F) {
	f.Add(128, 4, 1, 8, -1, -1, false)
	f.Add(4, 4, 0, 4, 5, 2, true)
	f.Add(1, 1, -1, -1, -1, 2, false)
	f.Fuzz(func(t *testing.T, maxA, maxB, loA, hiA, loB, hiB int, dropB bool) {
		job := map[string]int{"a": maxA, "b": maxB}
		req := map[string]Bounds{"a": {loA, hiA}}
		if !dropB {
			req["b"] = Bounds{loB, hiB}
		}
		got, err := ValidateRequirements(job, req)
		if err != nil {
			var re *RequirementsError
			if !errors.As(err, &re) || len(re.Errors) == 0 || got != nil {
				t.Fatalf("bad error shape: %v %v", got, err)
			}
			return
		}
		if dropB || len(got) != len(job) {
			t.Fatalf("accepted incomplete request %v", req)
		}
		for id, b := range got {
			if b.Lower < 1 || b.Lower > b.Upper || b.Upper > job[id] {
				t.Fatalf("accepted invalid bounds %s=%+v (max %d)", id, b, job[id])
			}
			r := req[id]
			if (r.Lower != -1 && r.Lower != b.Lower) || (r.Upper != -1 && r.Upper != b.Upper) ||
				(r.Lower == -1 && b.Lower != 1) || (r.Upper == -1 && b.Upper != job[id]) {
				t.Fatalf("normalization %+v -> %+v", r, b)
			}
		}
	})
}
