package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Recorder posts Kubernetes events on resources, rate-limited per resource like
// client-go's event correlator: a burst of Burst events, then one per Every; the same
// reason and message again within Dedupe is dropped (flinktune's store already dedupes
// its own events; this bounds what reaches the API server).
type Recorder struct {
	Client   *Client
	Identity string
	Burst    int           // default 10
	Every    time.Duration // default 10 s
	Dedupe   time.Duration // default 5 min
	Now      func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	seen    map[string]time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (r *Recorder) allow(ref, sig string) bool {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Burst <= 0 {
		r.Burst = 10
	}
	if r.Every <= 0 {
		r.Every = 10 * time.Second
	}
	if r.Dedupe <= 0 {
		r.Dedupe = 5 * time.Minute
	}
	now := r.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.buckets == nil {
		r.buckets, r.seen = map[string]*bucket{}, map[string]time.Time{}
	}
	if t, ok := r.seen[ref+"\x00"+sig]; ok && now.Sub(t) < r.Dedupe {
		return false
	}
	b := r.buckets[ref]
	if b == nil {
		b = &bucket{tokens: float64(r.Burst), at: now}
		r.buckets[ref] = b
	}
	b.tokens = min(float64(r.Burst), b.tokens+now.Sub(b.at).Seconds()/r.Every.Seconds())
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	r.seen[ref+"\x00"+sig] = now
	for k, t := range r.seen {
		if now.Sub(t) >= r.Dedupe {
			delete(r.seen, k)
		}
	}
	return true
}

// Emit posts one event on the target unless rate-limited (sent false).
func (r *Recorder) Emit(ctx context.Context, t Target, typ, reason, message string) (bool, error) {
	if !r.allow(t.Key(), typ+reason+message) {
		return false, nil
	}
	if len(message) > 1024 {
		message = message[:1024]
	}
	now := r.Now().UTC()
	ev := map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{
			"generateName": strings.ToLower(t.Name) + ".flinktune.",
			"namespace":    t.Namespace,
		},
		"involvedObject": t.Ref(),
		"type":           typ, "reason": reason, "message": message,
		"source":         map[string]any{"component": "flinktune", "host": r.Identity},
		"firstTimestamp": now.Format(time.RFC3339), "lastTimestamp": now.Format(time.RFC3339),
		"count": 1, "reportingComponent": "flinktune", "reportingInstance": r.Identity,
	}
	if _, err := r.Client.Create(ctx, Events, t.Namespace, ev, false); err != nil {
		return false, fmt.Errorf("event %s on %s: %w", reason, t.Key(), err)
	}
	return true, nil
}
