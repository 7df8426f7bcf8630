package kube

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Budget bounds the resources all reactive-mode TaskManager Deployments may request
// together (CPU in millicores, memory in bytes; zero: unbounded), so that a mass
// scale-up after an outage cannot exhaust the cluster. It is shared by every
// ReplicasRealizer of one flinktune.
type Budget struct {
	MilliCPU, Memory int64

	mu   sync.Mutex
	used map[string][2]int64 // per Deployment: what its current replicas request
}

// grant returns how many of want replicas of a Deployment (each requesting per) fit the
// budget, given what the other Deployments use; never fewer than have (the budget stops
// growth, it does not shrink what runs).
func (b *Budget) grant(key string, want, have int, per [2]int64) int {
	if b == nil {
		return want
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = map[string][2]int64{}
	}
	var others [2]int64
	for k, u := range b.used {
		if k != key {
			others[0] += u[0]
			others[1] += u[1]
		}
	}
	n := want
	for n > have && (b.MilliCPU > 0 && others[0]+int64(n)*per[0] > b.MilliCPU || b.Memory > 0 && others[1]+int64(n)*per[1] > b.Memory) {
		n--
	}
	b.used[key] = [2]int64{int64(n) * per[0], int64(n) * per[1]}
	return n
}

// Note records a Deployment's current use (at discovery), before it is first scaled.
func (b *Budget) Note(key string, replicas int, per [2]int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used == nil {
		b.used = map[string][2]int64{}
	}
	b.used[key] = [2]int64{int64(replicas) * per[0], int64(replicas) * per[1]}
}

// ReplicasRealizer scales a reactive-mode cluster's TaskManager Deployment: in reactive
// mode Flink runs every job at the parallelism its slots allow, so the decided parallelism
// becomes ceil(max vertex parallelism / slots per TaskManager) replicas, within
// [Min, Max] and the Budget. spec.replicas is written like kubectl scale or the
// HorizontalPodAutoscaler do (an update that takes the field over, not a server-side apply
// that would conflict with the manifest that created the Deployment), in one merge patch
// with the history annotation, conditional on the version read.
type ReplicasRealizer struct {
	Client    *Client
	Namespace string
	Name      string
	Identity  string
	Fence     Fence
	Min, Max  int
	Slots     int      // per TaskManager; 0: taskmanager.numberOfTaskSlots of the job, else 1
	PerPod    [2]int64 // millicores and bytes one TaskManager requests (for the budget)
	Budget    *Budget
}

// Replicas computes the replicas for target.
func (r *ReplicasRealizer) Replicas(snap *autoscaler.Snapshot, target map[string]int) int {
	slots := r.Slots
	if slots <= 0 && snap != nil {
		slots, _ = strconv.Atoi(snap.Config["taskmanager.numberOfTaskSlots"])
	}
	slots = max(slots, 1)
	p := 0
	for _, v := range target {
		p = max(p, v)
	}
	n := (p + slots - 1) / slots
	if r.Min > 0 {
		n = max(n, r.Min)
	}
	if r.Max > 0 {
		n = min(n, r.Max)
	}
	return max(n, 1)
}

// Realize implements controller.Realizer.
func (r *ReplicasRealizer) Realize(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int) (bool, error) {
	want := r.Replicas(snap, target)
	key := r.Namespace + "/" + r.Name
	return applyChange(ctx, r.Client, r.Fence, Deployments, r.Namespace, r.Name, r.Identity, "replicas", true, nil,
		func(live, apply Object) (map[string]string, map[string]string, bool, error) {
			have := 1
			if v, ok := live.Get("spec", "replicas").(float64); ok {
				have = int(v)
			}
			n := r.Budget.grant(key, want, have, r.PerPod)
			if n == have {
				if n < want {
					return nil, nil, false, fmt.Errorf("cluster budget reached: %d TaskManager replicas wanted, %d granted (--k8s-budget-cpu/--k8s-budget-memory)", want, n)
				}
				return nil, nil, false, nil
			}
			setPath(apply, n, "spec", "replicas")
			return map[string]string{"replicas": strconv.Itoa(have)}, map[string]string{"replicas": strconv.Itoa(n)}, true, nil
		})
}

// PodRequests sums a pod template's container requests (limits where no request).
func PodRequests(deploy Object) [2]int64 {
	cs, _ := deploy.Get("spec", "template", "spec", "containers").([]any)
	var out [2]int64
	for _, c := range cs {
		co := Object(asMap(c))
		for i, res := range []string{"cpu", "memory"} {
			q := co.Str("resources", "requests", res)
			if q == "" {
				q = co.Str("resources", "limits", res)
			}
			v, err := ParseQuantity(q, res == "cpu")
			if err == nil {
				out[i] += v
			}
		}
	}
	return out
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// ParseQuantity reads a Kubernetes quantity: CPU in millicores ("500m", "2"), memory in
// bytes ("2Gi", "512M", "1e9"). Flink-style sizes ("2g") are accepted for memory. Negative,
// non-finite ("NaN", "Inf") and out-of-range quantities are errors: a budget or a request is
// never below zero, and converting such a float to int64 has no defined result.
func ParseQuantity(q string, cpu bool) (int64, error) {
	if q == "" {
		return 0, fmt.Errorf("empty quantity")
	}
	if cpu {
		if s, ok := cutSuffix(q, "m"); ok {
			n, err := strconv.ParseInt(s, 10, 64)
			if err == nil && n < 0 {
				err = errNegative
			}
			if err != nil {
				return 0, fmt.Errorf("cpu %q: %w", q, err)
			}
			return n, nil
		}
		return scaledQuantity("cpu", q, q, 1000)
	}
	units := []struct {
		s string
		m float64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}}
	for _, u := range units {
		if s, ok := cutSuffix(q, u.s); ok {
			return scaledQuantity("memory", q, s, u.m)
		}
	}
	if _, err := strconv.ParseFloat(q, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return scaledQuantity("memory", q, q, 1)
	}
	b, ex := flinkconf.ParseMemorySize(q)
	if ex != nil {
		return 0, fmt.Errorf("memory %q: %s", q, ex.Error())
	}
	return b, nil
}

var errNegative = errors.New("negative quantity")

// scaledQuantity is the number s times m, truncated to an int64: the quantity q of the
// resource res, both named in its errors. A plain integer is read exactly (a float64 is
// not exact beyond 2^53 bytes).
func scaledQuantity(res, q, s string, m float64) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && m == 1 {
		if n < 0 {
			return 0, fmt.Errorf("%s %q: %w", res, q, errNegative)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", res, q, err)
	}
	v := f * m
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%s %q: not a finite number", res, q)
	case v < 0:
		return 0, fmt.Errorf("%s %q: %w", res, q, errNegative)
	case v >= 1<<63:
		return 0, fmt.Errorf("%s %q: out of range", res, q)
	}
	return int64(v), nil
}

func cutSuffix(s, suf string) (string, bool) {
	if len(s) > len(suf) && s[len(s)-len(suf):] == suf {
		return s[:len(s)-len(suf)], true
	}
	return s, false
}
