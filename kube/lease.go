package kube

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// microTime is the Lease's timestamp format (metav1.MicroTime).
const microTime = "2006-01-02T15:04:05.000000Z07:00"

// Elector elects one leader among replicas through a coordination.k8s.io Lease, like
// client-go's leaderelection: the holder renews it every Retry; another replica takes it
// once it has not been renewed for Duration. A leader that cannot renew within
// RenewDeadline (< Duration) stops acting (Leading turns false) before anyone else may
// take over, so two replicas never act at once.
type Elector struct {
	Client        *Client
	Namespace     string
	Name          string // the Lease's name
	Identity      string // this replica (pod name)
	Duration      time.Duration
	RenewDeadline time.Duration
	Retry         time.Duration
	Now           func() time.Time
	Log           *slog.Logger

	mu          sync.Mutex
	lastRenewed time.Time // when this replica last renewed (or acquired) the lease
	observed    string    // holder and renewTime last seen
	observedAt  time.Time // when they were first seen
}

func (e *Elector) defaults() {
	if e.Duration <= 0 {
		e.Duration = 15 * time.Second
	}
	if e.RenewDeadline <= 0 || e.RenewDeadline >= e.Duration {
		e.RenewDeadline = e.Duration * 2 / 3
	}
	if e.Retry <= 0 {
		e.Retry = e.Duration / 5
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
}

// Leading reports whether this replica holds the lease now: renewed within RenewDeadline.
// Realizers check it right before each change (fencing).
func (e *Elector) Leading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.lastRenewed.IsZero() && e.Now().Sub(e.lastRenewed) < e.RenewDeadline
}

// Run campaigns until ctx ends. While this replica leads, lead runs with a context that is
// cancelled when leadership is lost; Run then returns (the process should exit and start
// over, as client-go's users do, so that no state of the old term lingers).
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context)) error {
	e.defaults()
	for {
		ok, wait, err := e.tryAcquireOrRenew(ctx)
		if err != nil {
			e.Log.Warn("leader election", "lease", e.Namespace+"/"+e.Name, "err", err)
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	e.Log.Info("became leader", "lease", e.Namespace+"/"+e.Name, "identity", e.Identity)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lead(lctx) }()
	defer func() { cancel(); <-done }()
	for {
		select {
		case <-ctx.Done():
			e.release()
			return ctx.Err()
		case <-done:
			return nil
		case <-time.After(e.Retry):
		}
		ok, _, err := e.tryAcquireOrRenew(ctx)
		if err != nil {
			e.Log.Warn("renewing the lease", "err", err)
		}
		if !ok && !e.Leading() {
			cancel()
			return fmt.Errorf("lost the lease %s/%s", e.Namespace, e.Name)
		}
	}
}

// tryAcquireOrRenew takes or renews the lease; when another holds it, wait is how long
// until it expires (or Retry, whichever is sooner).
func (e *Elector) tryAcquireOrRenew(ctx context.Context) (bool, time.Duration, error) {
	now := e.Now()
	lease, err := e.Client.Get(ctx, Leases, e.Namespace, e.Name)
	if IsStatus(err, http.StatusNotFound) {
		_, err = e.Client.Create(ctx, Leases, e.Namespace, e.leaseObject(nil, now, 0), false)
		if err != nil {
			return false, e.Retry, err
		}
		e.renewed(now)
		return true, 0, nil
	}
	if err != nil {
		return false, e.Retry, err
	}
	holder := lease.Str("spec", "holderIdentity")
	renew := lease.Str("spec", "renewTime")
	if holder != "" && holder != e.Identity {
		if expiry := e.expiry(lease, holder+"@"+renew, now); now.Before(expiry) {
			e.mu.Lock()
			e.lastRenewed = time.Time{} // another holds it: this replica does not lead, whatever it thought
			e.mu.Unlock()
			return false, min(e.Retry, expiry.Sub(now)+time.Millisecond), nil
		}
	}
	transitions, _ := lease.Get("spec", "leaseTransitions").(float64)
	acquire := now
	if holder == e.Identity {
		if t, err := time.Parse(microTime, lease.Str("spec", "acquireTime")); err == nil {
			acquire = t
		}
	} else {
		transitions++
	}
	// The update carries the resourceVersion read: of two replicas taking an expired lease
	// at once, one gets 409 Conflict.
	if _, err := e.Client.Update(ctx, Leases, e.Namespace, e.Name, e.leaseObject(lease, acquire, int(transitions))); err != nil {
		return false, e.Retry, err
	}
	e.renewed(now)
	return true, 0, nil
}

// expiry: the holder's renewTime plus Duration, but never later than when this replica
// first saw that renewal plus Duration (a holder whose clock runs ahead cannot keep it).
func (e *Elector) expiry(lease Object, record string, now time.Time) time.Time {
	e.mu.Lock()
	if record != e.observed {
		e.observed, e.observedAt = record, now
	}
	seen := e.observedAt
	e.mu.Unlock()
	at := seen
	if t, err := time.Parse(microTime, lease.Str("spec", "renewTime")); err == nil && t.Before(seen) {
		at = t
	}
	d := e.Duration
	if s, ok := lease.Get("spec", "leaseDurationSeconds").(float64); ok && s > 0 {
		d = time.Duration(s * float64(time.Second))
	}
	return at.Add(d)
}

func (e *Elector) renewed(now time.Time) {
	e.mu.Lock()
	e.lastRenewed = now
	e.mu.Unlock()
}

func (e *Elector) leaseObject(old Object, acquire time.Time, transitions int) Object {
	meta := map[string]any{"name": e.Name, "namespace": e.Namespace}
	if old != nil {
		meta["resourceVersion"] = old.ResourceVersion()
	}
	secs := int((e.Duration + time.Second - 1) / time.Second)
	return Object{
		"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
		"spec": map[string]any{
			"holderIdentity": e.Identity, "leaseDurationSeconds": secs,
			"acquireTime": acquire.UTC().Format(microTime), "renewTime": e.Now().UTC().Format(microTime),
			"leaseTransitions": transitions,
		},
	}
}

// release gives the lease up on a clean shutdown so that a successor need not wait.
func (e *Elector) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lease, err := e.Client.Get(ctx, Leases, e.Namespace, e.Name)
	if err != nil || lease.Str("spec", "holderIdentity") != e.Identity {
		return
	}
	spec, _ := lease["spec"].(map[string]any)
	spec["holderIdentity"] = ""
	spec["renewTime"] = time.Unix(0, 0).UTC().Format(microTime)
	e.Client.Update(ctx, Leases, e.Namespace, e.Name, lease)
	e.mu.Lock()
	e.lastRenewed = time.Time{}
	e.mu.Unlock()
}
