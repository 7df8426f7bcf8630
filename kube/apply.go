package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// Keys and annotations flinktune reads and writes on a resource.
const (
	KeyOverrides = "pipeline.jobvertex-parallelism-overrides"
	// AnnHistory is the resource's scaling history as flinktune applied it: written in the
	// same server-side apply as the change itself, so a new leader finds every change and
	// never one that did not happen. Bounded to MaxHistory entries and MaxHistoryBytes.
	AnnHistory = "flinktune.io/history"
)

// Bounds of the history annotation (annotations share 256 KiB per object).
const (
	MaxHistory      = 50
	MaxHistoryBytes = 32 << 10
)

// Change is one entry of a resource's history.
type Change struct {
	Seq    int               `json:"seq"`
	Time   time.Time         `json:"time"`
	Kind   string            `json:"kind"` // parallelism, config or replicas
	From   map[string]string `json:"from,omitempty"`
	To     map[string]string `json:"to"`
	By     string            `json:"by,omitempty"` // the replica that applied it
	Reason string            `json:"reason,omitempty"`
}

// History reads a resource's history annotation (nil when absent or unreadable).
func History(o Object) []Change {
	var h []Change
	if s := o.StrMap("metadata", "annotations")[AnnHistory]; s != "" {
		if json.Unmarshal([]byte(s), &h) != nil {
			return nil
		}
	}
	return h
}

func appendHistory(h []Change, c Change) string {
	c.Seq = 1
	if len(h) > 0 {
		c.Seq = h[len(h)-1].Seq + 1
	}
	h = append(h, c)
	for {
		if len(h) > MaxHistory {
			h = h[len(h)-MaxHistory:]
		}
		b, _ := json.Marshal(h)
		if len(b) <= MaxHistoryBytes || len(h) == 1 {
			return string(b)
		}
		h = h[1:]
	}
}

// ParseOverrides reads "v1:4,v2:2".
func ParseOverrides(s string) (map[string]int, error) {
	out := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, ":")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 1 || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s: %q: want vertexId:parallelism", KeyOverrides, part)
		}
		out[strings.TrimSpace(k)] = n
	}
	return out, nil
}

// FormatOverrides writes overrides in a stable order.
func FormatOverrides(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+":"+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ",")
}

// owned rebuilds, from the live object, the fields flinktune's field manager applied last
// time: a server-side apply must repeat all of them, since a field it leaves out is
// removed. Lists (k:/v: entries) are not used by flinktune and are skipped.
func owned(o Object) Object {
	mf, _ := o.Get("metadata", "managedFields").([]any)
	out := Object{}
	for _, e := range mf {
		m, _ := e.(map[string]any)
		if m["manager"] != FieldManager || m["operation"] != "Apply" {
			continue
		}
		fields, _ := m["fieldsV1"].(map[string]any)
		copyOwned(out, fields, map[string]any(o))
	}
	return out
}

func copyOwned(dst map[string]any, fields map[string]any, live map[string]any) {
	for fk, sub := range fields {
		key, ok := strings.CutPrefix(fk, "f:")
		if !ok {
			continue
		}
		lv, present := live[key]
		if !present {
			continue
		}
		subm, _ := sub.(map[string]any)
		lm, isMap := lv.(map[string]any)
		children := len(subm) > 1 || len(subm) == 1 && subm["."] == nil
		if !children || !isMap {
			dst[key] = lv
			continue
		}
		d, _ := dst[key].(map[string]any)
		if d == nil {
			d = map[string]any{}
			dst[key] = d
		}
		copyOwned(d, subm, lm)
	}
}

func setPath(o map[string]any, value any, path ...string) {
	for _, k := range path[:len(path)-1] {
		next, _ := o[k].(map[string]any)
		if next == nil {
			next = map[string]any{}
			o[k] = next
		}
		o = next
	}
	o[path[len(path)-1]] = value
}

func deletePath(o map[string]any, path ...string) {
	for _, k := range path[:len(path)-1] {
		next, _ := o[k].(map[string]any)
		if next == nil {
			return
		}
		o = next
	}
	delete(o, path[len(path)-1])
}

// Fence tells whether this replica may act now (it leads); nil: always.
type Fence func() bool

// ErrNotLeader: a change was refused because this replica no longer holds the lease.
var ErrNotLeader = errors.New("not the leader (lease lost or not renewed in time): change not applied")

// applyChange reads the resource, lets mutate add flinktune's change to the fields it owns,
// and applies them with the history entry, conditional on the resourceVersion read. It
// retries once on a Conflict caused by a concurrent write (another writer's edit does not
// fail it; a field owned by another manager does, and is reported).
//
// With merge, the change is a JSON merge patch of just the changed fields instead (an
// update, like kubectl scale: it takes a field over rather than conflicting).
func applyChange(ctx context.Context, c *Client, fence Fence, r Resource, ns, name, by, kind string, merge bool,
	mayForce func(conflicts []string) bool, mutate func(live, apply Object) (from, to map[string]string, changed bool, err error)) (bool, error) {
	for attempt := 0; ; attempt++ {
		live, err := c.Get(ctx, r, ns, name)
		if err != nil {
			return false, err
		}
		apply := Object{}
		if !merge {
			apply = owned(live)
			apply["apiVersion"], apply["kind"] = live.Str("apiVersion"), live.Str("kind")
			setPath(apply, name, "metadata", "name")
			setPath(apply, ns, "metadata", "namespace")
		}
		from, to, changed, err := mutate(live, apply)
		if err != nil || !changed {
			return false, err
		}
		if fence != nil && !fence() {
			return false, ErrNotLeader
		}
		hist := appendHistory(History(live), Change{Time: time.Now().UTC(), Kind: kind, From: from, To: to, By: by})
		setPath(apply, hist, "metadata", "annotations", AnnHistory)
		// The precondition fences a leader that lost its lease after the check above.
		setPath(apply, live.ResourceVersion(), "metadata", "resourceVersion")
		if merge {
			_, err = c.MergePatch(ctx, r, ns, name, apply)
		} else {
			_, err = c.Apply(ctx, r, ns, name, apply, false)
			if fields := conflictFields(err); len(fields) > 0 && mayForce != nil && mayForce(fields) {
				// The user consented to flinktune taking exactly these fields over.
				_, err = c.ApplyAs(ctx, r, ns, name, apply, FieldManager, true, false)
			}
		}
		if err == nil {
			return true, nil
		}
		var se *StatusError
		if attempt == 0 && errors.As(err, &se) && se.Code == http.StatusConflict && !strings.Contains(se.Message, "conflict with") {
			continue // the object changed since the read (not a field-ownership conflict): read again
		}
		if merge {
			return false, fmt.Errorf("patching %s %s/%s: %w", live.Str("kind"), ns, name, err)
		}
		hint := ""
		if errors.As(err, &se) && se.Code == http.StatusConflict {
			hint = "; another manager owns the field: flinktune does not force it (for memory fields, annotate the resource " + AnnManageMemory + ": \"true\" to let flinktune take them over)"
		}
		return false, fmt.Errorf("server-side apply of %s %s/%s (not forced): %w%s", live.Str("kind"), ns, name, err, hint)
	}
}

// SpecRealizer applies decisions to a FlinkDeployment or FlinkSessionJob's spec; the Flink
// Kubernetes operator then rescales (in place on Flink 1.18+ with the adaptive scheduler)
// or redeploys.
type SpecRealizer struct {
	Client    *Client
	Resource  Resource
	Namespace string
	Name      string
	Identity  string
	Fence     Fence
	// TakeMemory: the resource's annotation flinktune.io/manage-memory is "true", the user's
	// consent that flinktune takes the memory fields over from the manifest that set them.
	TakeMemory bool
}

// mayForceMemory allows a forced apply when the user consented and every conflicting
// field is a memory field.
func (s *SpecRealizer) mayForceMemory(fields []string) bool {
	if !s.TakeMemory {
		return false
	}
	for _, f := range fields {
		if f != ".spec.taskManager.resource.memory" && f != ".spec.jobManager.resource.memory" &&
			!strings.HasPrefix(f, ".spec.flinkConfiguration.taskmanager.memory.") && !strings.HasPrefix(f, ".spec.flinkConfiguration.jobmanager.memory.") {
			return false
		}
	}
	return true
}

// conflictFields reads the field paths of a server-side apply conflict ("conflict with
// \"m\" using v: .spec.x" per line).
func conflictFields(err error) []string {
	var se *StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict {
		return nil
	}
	var out []string
	for line := range strings.SplitSeq(se.Message, "\n") {
		if i := strings.Index(line, "conflict with "); i >= 0 {
			if j := strings.LastIndex(line, ": ."); j > i {
				out = append(out, strings.TrimSpace(line[j+2:]))
			}
		}
	}
	return out
}

// Realize implements controller.Realizer: the target goes into
// pipeline.jobvertex-parallelism-overrides, merged with the overrides already there.
func (s *SpecRealizer) Realize(ctx context.Context, snap *autoscaler.Snapshot, target map[string]int) (bool, error) {
	return applyChange(ctx, s.Client, s.Fence, s.Resource, s.Namespace, s.Name, s.Identity, "parallelism", false, nil,
		func(live, apply Object) (map[string]string, map[string]string, bool, error) {
			cur, err := ParseOverrides(live.StrMap("spec", "flinkConfiguration")[KeyOverrides])
			if err != nil {
				return nil, nil, false, err
			}
			next := maps.Clone(cur)
			maps.Copy(next, target)
			if maps.Equal(cur, next) {
				return nil, nil, false, nil
			}
			setPath(apply, FormatOverrides(next), "spec", "flinkConfiguration", KeyOverrides)
			return intStrings(cur), intStrings(next), true, nil
		})
}

// memoryFields maps the process sizes to the spec fields the operator derives them from.
var memoryFields = map[string][]string{
	"taskmanager.memory.process.size": {"spec", "taskManager", "resource", "memory"},
	"jobmanager.memory.process.size":  {"spec", "jobManager", "resource", "memory"},
}

// RealizeConfig implements controller.ConfigRealizer for a FlinkDeployment: the process
// sizes go to spec.{taskManager,jobManager}.resource.memory, the other memory keys to
// spec.flinkConfiguration; removals drop keys flinktune set.
func (s *SpecRealizer) RealizeConfig(ctx context.Context, snap *autoscaler.Snapshot, overrides map[string]string, removals []string) (bool, error) {
	for k := range overrides {
		if !strings.Contains(k, ".memory.") && k != "taskmanager.numberOfTaskSlots" {
			return false, fmt.Errorf("configuration key %q: only memory keys and slots are applied to a %s", k, s.Resource.Resource)
		}
	}
	return applyChange(ctx, s.Client, s.Fence, s.Resource, s.Namespace, s.Name, s.Identity, "config", false, s.mayForceMemory,
		func(live, apply Object) (map[string]string, map[string]string, bool, error) {
			conf := live.StrMap("spec", "flinkConfiguration")
			from, to := map[string]string{}, map[string]string{}
			for _, k := range slices.Sorted(maps.Keys(overrides)) {
				v := overrides[k]
				path, ok := memoryFields[k]
				if !ok {
					path = []string{"spec", "flinkConfiguration", k}
				}
				old, _ := live.Get(path...).(string)
				if ok && old == "" {
					old = conf[k]
				}
				if old != v {
					from[k], to[k] = old, v
				}
				setPath(apply, v, path...)
			}
			for _, k := range removals {
				if _, ok := conf[k]; ok {
					from[k], to[k] = conf[k], ""
					deletePath(apply, "spec", "flinkConfiguration", k)
				}
			}
			return from, to, len(to) > 0, nil
		})
}

func intStrings(m map[string]int) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = strconv.Itoa(v)
	}
	return out
}
