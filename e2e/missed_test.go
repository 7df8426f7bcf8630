package e2e

import (
	"testing"
	"time"
)

func TestMissedIntervals(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(secs ...float64) []time.Time {
		var ts []time.Time
		for _, s := range secs {
			ts = append(ts, t0.Add(time.Duration(s*float64(time.Second))))
		}
		return ts
	}
	iv := 10 * time.Second
	for _, tc := range []struct {
		name string
		ts   []time.Time
		want int
	}{
		{"every interval, in step with the end", at(0, 10, 20, 30, 40), 0},
		{"every interval, phase 9.9 s", at(-0.1, 9.9, 19.9, 29.9, 39.9), 0},
		{"jitter of milliseconds", at(-0.01, 10.02, 19.99, 30.01, 39.98), 0},
		{"one skipped", at(0, 10, 30, 40), 1},
		{"late by a fraction", at(0, 14, 20, 30, 40), 0},
		{"late by half an interval, in its own interval", at(0, 15.01, 20, 30, 40), 0},
		{"one skipped, the next early in its slot", at(0, 10, 28, 40), 1},
		{"one skipped, the next late in its slot", at(0, 10, 33, 40), 1},
		{"stopped two intervals early", at(0, 10, 20), 2},
		{"first again two intervals late", at(0, 30, 40), 2},
		{"evaluated past the end", at(0, 10, 20, 30, 40, 50), 0},
	} {
		if got := missedIntervals(tc.ts, t0.Add(40*time.Second), iv); got != tc.want {
			t.Errorf("%s: missed %d, want %d", tc.name, got, tc.want)
		}
	}
}
