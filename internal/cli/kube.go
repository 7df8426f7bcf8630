package cli

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/kube"
	"github.com/flinktune/flinktune/store"
)

// kubeOptions are run's --kubernetes flags.
type kubeOptions struct {
	enabled                  bool
	namespace, kubeconfig    string
	context, identity, lease string
	leaseDuration            time.Duration
	budgetCPU, budgetMemory  string
	timeout                  time.Duration
}

// kubeRun is `flinktune run --kubernetes`: campaign for the lease, and while leading,
// keep one controller over the discovered targets (rebuilt when they change), realize
// decisions on the resources and mirror flinktune's events onto them.
type kubeRun struct {
	opts    kubeOptions
	client  *kube.Client
	ns      string
	log     *slog.Logger
	st      *store.Store
	budget  *kube.Budget
	rec     *kube.Recorder
	elector *kube.Elector
	// newControllers builds the controllers for clusters (grouped by clock rate).
	newControllers func(ctx context.Context, clusters []controller.Cluster, clients []*flinkrest.Client) []*controller.Controller

	mu      sync.Mutex
	targets map[string]kube.Target // by cluster name (the target's key)
}

func newKubeRun(o kubeOptions, log *slog.Logger, st *store.Store) (*kubeRun, error) {
	var cfg kube.Config
	var err error
	if o.kubeconfig != "" {
		cfg, err = kube.LoadKubeconfig(o.kubeconfig, o.context)
	} else {
		cfg, err = kube.InCluster()
	}
	if err != nil {
		return nil, err
	}
	cfg.Timeout = o.timeout
	client, err := kube.New(cfg)
	if err != nil {
		return nil, err
	}
	ns := o.namespace
	if ns == "" {
		ns = cfg.Namespace
	}
	id := o.identity
	if id == "" {
		id, _ = os.Hostname()
	}
	b := &kube.Budget{}
	if o.budgetCPU != "" {
		if b.MilliCPU, err = kube.ParseQuantity(o.budgetCPU, true); err != nil {
			return nil, usagef("--k8s-budget-cpu %q: %v", o.budgetCPU, err)
		}
	}
	if o.budgetMemory != "" {
		if b.Memory, err = kube.ParseQuantity(o.budgetMemory, false); err != nil {
			return nil, usagef("--k8s-budget-memory %q: %v", o.budgetMemory, err)
		}
	}
	kr := &kubeRun{opts: o, client: client, ns: ns, log: log, st: st, budget: b,
		rec:     &kube.Recorder{Client: client, Identity: id},
		elector: &kube.Elector{Client: client, Namespace: ns, Name: o.lease, Identity: id, Duration: o.leaseDuration, Log: log},
		targets: map[string]kube.Target{},
	}
	return kr, nil
}

// run campaigns until ctx ends or leadership is lost (an error: the process exits and
// starts over as a follower, with nothing of the old term left in memory).
func (k *kubeRun) run(ctx context.Context) error {
	k.log.Info("flinktune on Kubernetes: campaigning for the lease", "namespace", k.ns, "lease", k.opts.lease,
		"identity", k.elector.Identity, "leaseDuration", k.elector.Duration)
	return k.elector.Run(ctx, k.lead)
}

func (k *kubeRun) lead(ctx context.Context) {
	state := &kube.StateStore{Client: k.client, Namespace: k.ns, Name: k.opts.lease + "-state", Fence: k.elector.Leading}
	k.restoreState(ctx, state)
	var wg sync.WaitGroup
	wg.Go(func() { k.mirrorEvents(ctx) })
	wg.Go(func() { k.saveState(ctx, state) })
	var (
		cancel context.CancelFunc
		done   chan struct{}
	)
	stop := func() {
		if cancel != nil {
			cancel()
			<-done
		}
	}
	w := &kube.Watcher{Client: k.client, Namespace: k.ns, Log: k.log}
	w.Run(ctx, func(ts []kube.Target) {
		stop()
		clusters, clients := k.clusters(ctx, ts)
		var cctx context.Context
		cctx, cancel = context.WithCancel(ctx)
		done = make(chan struct{})
		ctls := k.newControllers(cctx, clusters, clients)
		go func() { defer close(done); runControllers(cctx, ctls) }()
	})
	stop()
	wg.Wait()
}

// clusters turns the managed targets into the controller's clusters.
func (k *kubeRun) clusters(ctx context.Context, ts []kube.Target) ([]controller.Cluster, []*flinkrest.Client) {
	var out []controller.Cluster
	var clients []*flinkrest.Client
	byName := map[string]kube.Target{}
	for _, t := range ts {
		if t.Skip != "" {
			k.log.Info("left alone", "resource", t.Key(), "reason", t.Skip)
			kind, reason := autoscaler.EventNormal, cmp.Or(t.SkipReason, kube.SkipNotManaged)
			if reason == kube.SkipInvalidAnnotation {
				kind = autoscaler.EventWarning
			}
			k.emit(ctx, t, kind, reason, "flinktune leaves this resource alone: "+t.Skip)
			continue
		}
		client, err := flinkrest.New(t.URL, flinkrest.WithTimeout(5*time.Second))
		if err != nil {
			k.emit(ctx, t, autoscaler.EventWarning, "AutoscalerError", fmt.Sprintf("REST address %q: %v", t.URL, err))
			continue
		}
		cl := controller.FlinkCluster(t.Key(), client, 15*time.Second)
		cl.Collector = &kubeCollector{Collector: cl.Collector, target: t}
		fence := kube.Fence(k.elector.Leading)
		switch t.Resource {
		case kube.Deployments:
			k.budget.Note(t.Key(), t.Replicas, t.PerPod)
			cl.Realizer = &kube.ReplicasRealizer{Client: k.client, Namespace: t.Namespace, Name: t.Name, Identity: k.elector.Identity,
				Fence: fence, Min: t.Min, Max: t.Max, Slots: t.Slots, PerPod: t.PerPod, Budget: k.budget}
		default:
			sr := &kube.SpecRealizer{Client: k.client, Resource: t.Resource, Namespace: t.Namespace, Name: t.Name,
				Identity: k.elector.Identity, Fence: fence, TakeMemory: t.TakeMemory}
			cl.Realizer = sr
			if t.Resource == kube.FlinkDeployments {
				cl.Config = sr // a session job's memory is its session cluster's: recommended only
			}
		}
		k.log.Info("managing", "resource", t.Key(), "rest", t.URL)
		byName[t.Key()] = t
		out = append(out, cl)
		clients = append(clients, client)
	}
	k.mu.Lock()
	k.targets = byName
	k.mu.Unlock()
	return out, clients
}

func (k *kubeRun) emit(ctx context.Context, t kube.Target, typ, reason, msg string) {
	if _, err := k.rec.Emit(ctx, t, typ, reason, msg); err != nil {
		k.log.Warn("posting an event", "err", err)
	}
}

// mirrorEvents posts the events flinktune records (scaling reports, recommendations,
// memory changes, rollbacks, errors) on the resources they are about, rate-limited.
func (k *kubeRun) mirrorEvents(ctx context.Context) {
	since := time.Now().Add(-time.Minute)
	sent := map[string]time.Time{}
	for ctx.Err() == nil {
		evs, err := k.st.Events(store.EventQuery{Since: since})
		if err == nil {
			k.mu.Lock()
			targets := maps.Clone(k.targets)
			k.mu.Unlock()
			for _, e := range evs {
				sig := e.Time.String() + e.Cluster + e.JobID + e.Reason + e.Message
				t, ok := targets[e.Cluster]
				if !ok || !sent[sig].IsZero() {
					continue
				}
				sent[sig] = e.Time
				k.emit(ctx, t, e.Type, e.Reason, e.Message)
				if e.Time.After(since) {
					since = e.Time
				}
			}
			for s, at := range sent {
				if at.Before(since.Add(-time.Minute)) {
					delete(sent, s)
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}

// kubeCollector gives a resource's job its job.autoscaler.* options from the resource's
// spec.flinkConfiguration (the annotation enabled it), and narrows a session cluster to
// the session job's own job.
type kubeCollector struct {
	controller.Collector
	target kube.Target
}

func (c *kubeCollector) ListJobs(ctx context.Context) ([]controller.JobRef, error) {
	jobs, err := c.Collector.ListJobs(ctx)
	if err != nil || c.target.JobID == "" {
		return jobs, err
	}
	var out []controller.JobRef
	for _, j := range jobs {
		if j.ID == c.target.JobID {
			out = append(out, j)
		}
	}
	return out, nil
}

func (c *kubeCollector) Collect(ctx context.Context, job controller.JobRef, now time.Time) (*autoscaler.Snapshot, error) {
	snap, err := c.Collector.Collect(ctx, job, now)
	if err != nil {
		return nil, err
	}
	if snap.Config == nil {
		snap.Config = map[string]string{}
	}
	maps.Copy(snap.Config, c.target.Options)
	snap.Config[controller.KeyEnabled] = "true"
	return snap, nil
}

// restoreState seeds the local store with the policy states the previous leader saved,
// before any controller starts: each job's policy continues from them.
func (k *kubeRun) restoreState(ctx context.Context, state *kube.StateStore) {
	states, err := state.Load(ctx)
	if err != nil {
		k.log.Warn("no decision state restored; policies start afresh", "err", err)
		return
	}
	now := time.Now()
	for _, js := range states {
		_, err := k.st.CommitCycle(store.Cycle{Info: store.JobInfo{Key: store.JobKey{Cluster: js.Cluster, JobID: js.JobID},
			Name: js.Name, Policy: js.Policy, FirstSeen: now, LastSeen: now}, PolicyState: js.State})
		if err != nil {
			k.log.Warn("restoring a job's decision state", "job", js.Cluster+"|"+js.JobID, "err", err)
		}
	}
	k.log.Info("decision state restored", "jobs", len(states), "configMap", k.ns+"/"+state.Name)
}

// saveState saves the managed jobs' policy states every 2 s while leading.
func (k *kubeRun) saveState(ctx context.Context, state *kube.StateStore) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		k.mu.Lock()
		targets := maps.Clone(k.targets)
		k.mu.Unlock()
		jobs, err := k.st.Jobs()
		if err != nil {
			continue
		}
		var states []kube.JobState
		for _, info := range jobs {
			if _, ok := targets[info.Key.Cluster]; !ok {
				continue
			}
			js, ok, err := k.st.Job(info.Key)
			if err != nil || !ok || len(js.PolicyState) == 0 {
				continue
			}
			states = append(states, kube.JobState{Cluster: info.Key.Cluster, JobID: info.Key.JobID, Name: info.Name,
				Policy: info.Policy, Saved: info.LastSeen, State: js.PolicyState})
		}
		if len(states) == 0 {
			continue
		}
		if err := state.Save(ctx, states); err != nil && ctx.Err() == nil {
			k.log.Warn("saving the decision state", "err", err)
		}
	}
}
