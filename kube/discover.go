package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Annotations a user puts on a resource.
const (
	AnnEnabled = "flinktune.io/enabled"  // "true": flinktune manages the resource
	AnnRESTURL = "flinktune.io/rest-url" // the JobManager's REST address, when not <name>-rest:8081
	AnnMin     = "flinktune.io/min-replicas"
	AnnMax     = "flinktune.io/max-replicas"
	AnnSlots   = "flinktune.io/slots-per-taskmanager"
	// AnnManageMemory "true": flinktune may take the memory fields over from the manifest
	// that set them (otherwise its memory changes conflict, and are reported).
	AnnManageMemory = "flinktune.io/manage-memory"
	LabelReactive   = "flinktune.io/reactive" // "true" on a reactive-mode TaskManager Deployment
)

// Target is one resource flinktune acts on: where its job is and how to change it.
type Target struct {
	Resource  Resource
	Kind      string
	Namespace string
	Name      string
	UID       string
	URL       string            // the JobManager's REST API
	JobID     string            // a session job's job (its cluster runs others too)
	Options   map[string]string // job.autoscaler.* and flinktune.* from spec.flinkConfiguration
	// Skip says why the resource is left alone ("" when managed), SkipReason the reason of
	// the event that says so (Skip* constants).
	Skip, SkipReason string
	// Reactive mode: replicas bounds and slots of a TaskManager Deployment.
	Min, Max, Slots int
	PerPod          [2]int64
	Replicas        int
	TakeMemory      bool
}

// Event reasons of a resource left alone (Target.SkipReason): a warning for the resource's own
// settings that are wrong, the others normal.
const (
	SkipNotManaged         = "NotManaged"
	SkipOperatorAutoscaler = "OperatorAutoscalerEnabled"
	SkipInvalidAnnotation  = "InvalidAnnotation"
)

// Key names the target in job keys and logs: namespace/kind/name.
func (t Target) Key() string { return t.Namespace + "/" + strings.ToLower(t.Kind) + "/" + t.Name }

// Ref is the object reference events are attached to.
func (t Target) Ref() map[string]any {
	api := t.Resource.Group + "/" + t.Resource.Version
	if t.Resource.Group == "" {
		api = t.Resource.Version
	}
	return map[string]any{"apiVersion": api, "kind": t.Kind, "namespace": t.Namespace, "name": t.Name, "uid": t.UID}
}

func operatorAutoscaler(conf map[string]string) bool {
	for _, k := range []string{"job.autoscaler.enabled", "kubernetes.operator.job.autoscaler.enabled"} {
		if strings.EqualFold(conf[k], "true") {
			return true
		}
	}
	return false
}

func options(conf map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range conf {
		if (strings.HasPrefix(k, "job.autoscaler.") && k != "job.autoscaler.enabled") || strings.HasPrefix(k, "flinktune.") {
			out[k] = v
		}
	}
	return out
}

// TargetOf reads a FlinkDeployment, FlinkSessionJob or labelled Deployment.
func TargetOf(r Resource, o Object) Target {
	ann := o.StrMap("metadata", "annotations")
	conf := o.StrMap("spec", "flinkConfiguration")
	t := Target{Resource: r, Kind: o.Str("kind"), Namespace: o.Namespace(), Name: o.Name(), UID: o.UID(),
		URL: ann[AnnRESTURL], Options: options(conf), TakeMemory: strings.EqualFold(ann[AnnManageMemory], "true")}
	switch r {
	case FlinkDeployments:
		if t.URL == "" {
			t.URL = "http://" + t.Name + "-rest." + t.Namespace + ".svc:8081"
		}
	case FlinkSessionJobs:
		if t.URL == "" {
			t.URL = "http://" + o.Str("spec", "deploymentName") + "-rest." + t.Namespace + ".svc:8081"
		}
		t.JobID = o.Str("status", "jobStatus", "jobId")
		if t.JobID == "" {
			t.Skip, t.SkipReason = "the session job has no job id in its status yet", SkipNotManaged
		}
	case Deployments:
		t.Kind = "Deployment"
		if t.Skip = reactiveBounds(&t, ann); t.Skip != "" {
			t.SkipReason = SkipInvalidAnnotation
		}
		t.PerPod = PodRequests(o)
		t.Replicas = 1
		if v, ok := o.Get("spec", "replicas").(float64); ok {
			t.Replicas = int(v)
		}
		if t.URL == "" && t.Skip == "" {
			t.Skip = "a reactive-mode TaskManager Deployment needs the " + AnnRESTURL + " annotation (its JobManager's REST address)"
			t.SkipReason = SkipNotManaged
		}
		return t
	}
	switch {
	case !strings.EqualFold(ann[AnnEnabled], "true"):
		t.Skip, t.SkipReason = "not enabled (annotation "+AnnEnabled+": \"true\")", SkipNotManaged
	case operatorAutoscaler(conf):
		t.Skip, t.SkipReason = "the operator's own autoscaler is enabled (job.autoscaler.enabled: true); flinktune leaves it alone", SkipOperatorAutoscaler
	}
	return t
}

// reactiveBounds reads a reactive Deployment's replica bounds and slots from its annotations
// (absent: 0, unbounded or read from Flink) and says why the Deployment is left alone when one
// is not a whole number or the bounds contradict each other: read as 0, a mistyped
// max-replicas had let the Deployment grow without bound.
func reactiveBounds(t *Target, ann map[string]string) string {
	for _, a := range []struct {
		key  string
		into *int
	}{{AnnMin, &t.Min}, {AnnMax, &t.Max}, {AnnSlots, &t.Slots}} {
		v := strings.TrimSpace(ann[a.key])
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Sprintf("annotation %s: %q is not a whole number of at least 0; fix it to have the Deployment scaled", a.key, ann[a.key])
		}
		*a.into = n
	}
	if t.Max > 0 && t.Min > t.Max {
		return fmt.Sprintf("annotations %s: %d above %s: %d; fix them to have the Deployment scaled", AnnMin, t.Min, AnnMax, t.Max)
	}
	return ""
}

// Watcher keeps the targets of a namespace ("" for all) current through list and watch of
// each resource kind, continuing from the last resourceVersion and re-listing when it expires.
type Watcher struct {
	Client    *Client
	Namespace string
	Log       *slog.Logger
	// Resources to watch; default FlinkDeployments, FlinkSessionJobs and labelled Deployments.
	Resources []Resource

	mu      sync.Mutex
	objects map[string]Target
	changed chan struct{}
}

// Run watches until ctx ends, calling onChange (serially) with the full target list each
// time it changes, after the first complete listing of every kind.
func (w *Watcher) Run(ctx context.Context, onChange func([]Target)) error {
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	rs := w.Resources
	if len(rs) == 0 {
		rs = []Resource{FlinkDeployments, FlinkSessionJobs, Deployments}
	}
	w.objects, w.changed = map[string]Target{}, make(chan struct{}, 1)
	var listed sync.WaitGroup
	listed.Add(len(rs))
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(func() { w.watch(ctx, r, listed.Done) })
	}
	listed.Wait()
	var last []Target
	for ctx.Err() == nil {
		w.mu.Lock()
		cur := slices.SortedFunc(maps.Values(w.objects), func(a, b Target) int { return strings.Compare(a.Key(), b.Key()) })
		w.mu.Unlock()
		if !slices.EqualFunc(cur, last, sameTarget) {
			onChange(cur)
			last = cur
		}
		select {
		case <-ctx.Done():
		case <-w.changed:
			time.Sleep(200 * time.Millisecond) // coalesce bursts
		}
	}
	wg.Wait()
	return ctx.Err()
}

func sameTarget(a, b Target) bool {
	return a.Key() == b.Key() && a.UID == b.UID && a.URL == b.URL && a.JobID == b.JobID && a.Skip == b.Skip &&
		maps.Equal(a.Options, b.Options) && a.TakeMemory == b.TakeMemory && a.Min == b.Min && a.Max == b.Max && a.Slots == b.Slots && a.PerPod == b.PerPod
}

func (w *Watcher) watch(ctx context.Context, r Resource, listed func()) {
	selector := ""
	if r == Deployments {
		selector = LabelReactive + "=true"
	}
	once := sync.OnceFunc(listed)
	defer once()
	backoff := time.Second
	for ctx.Err() == nil {
		items, rv, err := w.Client.List(ctx, r, w.Namespace, selector)
		if err != nil {
			w.Log.Warn("listing", "resource", r.Resource, "err", err)
			if IsStatus(err, 404) || IsStatus(err, 403) {
				once() // a kind not installed (or not granted) must not hold back the others
			}
			sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		w.mu.Lock()
		for k, t := range w.objects {
			if t.Resource == r {
				delete(w.objects, k)
			}
		}
		for _, o := range items {
			t := TargetOf(r, o)
			w.objects[t.Key()] = t
		}
		w.mu.Unlock()
		w.notify()
		once()
		for ctx.Err() == nil {
			rv, err = w.Client.Watch(ctx, r, w.Namespace, selector, rv, 5*time.Minute, func(ev WatchEvent) {
				t := TargetOf(r, ev.Object)
				w.mu.Lock()
				if ev.Type == "DELETED" {
					delete(w.objects, t.Key())
				} else {
					w.objects[t.Key()] = t
				}
				w.mu.Unlock()
				w.notify()
			})
			if errors.Is(err, ErrExpired) {
				break
			}
			if err != nil && ctx.Err() == nil {
				w.Log.Warn("watching", "resource", r.Resource, "err", err)
				sleep(ctx, time.Second)
			}
		}
	}
}

func (w *Watcher) notify() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// String is for logs.
func (t Target) String() string {
	if t.Skip != "" {
		return fmt.Sprintf("%s (left alone: %s)", t.Key(), t.Skip)
	}
	return t.Key() + " at " + t.URL
}
