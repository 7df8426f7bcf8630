package scheduler

import "testing"

func TestDefaultMaxParallelism(t *testing.T) {
	tests := []struct{ p, want int }{
		{0, 128}, {1, 128}, {85, 128}, {86, 256}, {171, 256}, {172, 512}, {1000, 2048},
		{21845, 32768}, {21846, 32768}, {32768, 32768}, {100000, 32768},
	}
	for _, tc := range tests {
		if got := DefaultMaxParallelism(tc.p); got != tc.want {
			t.Errorf("DefaultMaxParallelism(%d) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

func TestKeyGroupRangeExamples(t *testing.T) {
	tests := []struct {
		maxP, p int
		want    [][2]int
	}{
		{128, 3, [][2]int{{0, 42}, {43, 85}, {86, 127}}},
		{128, 5, [][2]int{{0, 25}, {26, 51}, {52, 76}, {77, 102}, {103, 127}}},
		{128, 1, [][2]int{{0, 127}}},
		{4, 4, [][2]int{{0, 0}, {1, 1}, {2, 2}, {3, 3}}},
	}
	for _, tc := range tests {
		for i, w := range tc.want {
			s, e := KeyGroupRange(tc.maxP, tc.p, i)
			if [2]int{s, e} != w {
				t.Errorf("KeyGroupRange(%d,%d,%d) = [%d,%d], want %v", tc.maxP, tc.p, i, s, e, w)
			}
		}
	}
}

// Every key group is owned by exactly one subtask, ranges are contiguous and ascending, and
// SubtaskForKeyGroup inverts KeyGroupRange.
func TestKeyGroupRangePartition(t *testing.T) {
	for _, maxP := range []int{1, 2, 7, 128, 129, 1000, 32768} {
		for p := 1; p <= maxP && p <= 300; p++ {
			next := 0
			for i := 0; i < p; i++ {
				s, e := KeyGroupRange(maxP, p, i)
				if s != next || e < s {
					t.Fatalf("maxP %d p %d subtask %d: [%d,%d], expected start %d", maxP, p, i, s, e, next)
				}
				for _, k := range []int{s, e} {
					if got := SubtaskForKeyGroup(maxP, p, k); got != i {
						t.Fatalf("maxP %d p %d: key group %d -> subtask %d, want %d", maxP, p, k, got, i)
					}
				}
				next = e + 1
			}
			if next != maxP {
				t.Fatalf("maxP %d p %d: ranges end at %d", maxP, p, next)
			}
		}
	}
}
