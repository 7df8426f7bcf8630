package bench

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// Reason is how often a policy gave one reason for its decision in a run.
type Reason struct {
	Reason string `json:"reason"`
	Cycles int    `json:"cycles"`
}

// reasonLog is a slog handler that counts the reasons of the controller's "job cycle" records
// (what a policy said it did, or why it did nothing), so that a corpus run says why a policy
// failed without a rerun. Numbers are replaced by N and vertex ids by scenario vertex ids, so
// that the same reason counts once.
type reasonLog struct {
	mu     *sync.Mutex
	counts map[string]int
	ids    *strings.Replacer
	next   slog.Handler
}

// numbers matches numbers outside the <vertex> names put in for ids.
var numbers = regexp.MustCompile(`<[^>]*>|\d+(\.\d+)?`)

func newReasonLog(sc *scenario.Scenario, next slog.Handler) *reasonLog {
	pairs := vertexIDPairs(sc, func(_, vertex string) string { return "<" + vertex + ">" })
	return &reasonLog{mu: &sync.Mutex{}, counts: map[string]int{}, ids: strings.NewReplacer(pairs...), next: next}
}

// vertexIDPairs lists, for strings.NewReplacer, each scenario vertex's REST id as policies
// write it, in full and by its first 8 characters, each followed by name(job, vertex). The
// full id comes first: a replacer tries its pairs in argument order.
func vertexIDPairs(sc *scenario.Scenario, name func(job, vertex string) string) []string {
	var pairs []string
	for _, j := range sc.Jobs {
		for _, v := range j.Vertices {
			id, n := sim.VertexID(j.Name, v.ID), name(j.Name, v.ID)
			pairs = append(pairs, id, n, id[:8], n)
		}
	}
	return pairs
}

func (h *reasonLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelDebug || h.next != nil && h.next.Enabled(ctx, l)
}

func (h *reasonLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "job cycle" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				s := h.ids.Replace(a.Value.String())
				s = numbers.ReplaceAllStringFunc(s, func(n string) string {
					if strings.HasPrefix(n, "<") {
						return n
					}
					return "N"
				})
				h.mu.Lock()
				h.counts[s]++
				h.mu.Unlock()
				return false
			}
			return true
		})
	}
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *reasonLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	if h.next != nil {
		c.next = h.next.WithAttrs(as)
	}
	return &c
}

func (h *reasonLog) WithGroup(name string) slog.Handler {
	c := *h
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}

// top returns the n most frequent reasons, most frequent first.
func (h *reasonLog) top(n int) []Reason {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Reason, 0, len(h.counts))
	for r, c := range h.counts {
		out = append(out, Reason{r, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cycles != out[j].Cycles {
			return out[i].Cycles > out[j].Cycles
		}
		return out[i].Reason < out[j].Reason
	})
	return out[:min(n, len(out))]
}
