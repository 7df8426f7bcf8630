package flinkconf

import (
	"fmt"
	"strings"
)

// Misspellings warns about keys that are not known options but look like one: a typo in a
// memory key (taskmanager.memory.proces.size) is otherwise silently ignored by Flink and the
// default is used instead. Only keys under the prefixes of the known keys are checked, so
// connector and user keys pass untouched.
func (c *Config) Misspellings(known []Option) []Warning {
	knownKeys := map[string]bool{}
	prefixes := map[string]bool{}
	for _, o := range known {
		for _, k := range o.Keys() {
			knownKeys[k] = true
			if i := strings.IndexByte(k, '.'); i > 0 {
				prefixes[k[:i+1]] = true
			}
		}
	}
	var warns []Warning
	for _, key := range c.Keys() {
		if knownKeys[key] {
			continue
		}
		i := strings.IndexByte(key, '.')
		if i <= 0 || !prefixes[key[:i+1]] {
			continue
		}
		if best, ok := closest(key, knownKeys); ok {
			warns = append(warns, Warning{c.OriginOf(key), fmt.Sprintf("unknown key %s: did you mean %s? (the misspelt key is ignored by Flink)", key, best)})
		}
	}
	return warns
}

// Closest returns the candidate nearest to key when it is within a typo or two of it (about
// one edit per eight characters, at least two): the "did you mean" of every key check.
func Closest(key string, candidates []string) (string, bool) {
	set := make(map[string]bool, len(candidates))
	for _, c := range candidates {
		set[c] = true
	}
	return closest(key, set)
}

func closest(key string, known map[string]bool) (string, bool) {
	best, bestDist := "", 1<<30
	for k := range known {
		if d := editDistance(key, k); d < bestDist || d == bestDist && k < best {
			best, bestDist = k, d
		}
	}
	return best, best != "" && bestDist <= max(2, len(key)/8)
}

// editDistance is the optimal-string-alignment distance (Levenshtein plus transpositions).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
