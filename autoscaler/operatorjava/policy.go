package operatorjava

import (
	"fmt"
	"maps"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
)

// Name is the policy's name.
const Name = "operator-java"

// OptRESTAddress tells the policy where the JVM reaches the job's Flink REST API. Without it the
// snapshot's cluster name is used when it is an http(s) URL (flinktune run --flink URL).
var OptRESTAddress = flinkconf.Option{Key: "flinktune.operator-java.rest-address", Type: flinkconf.TypeString,
	Description: "Flink REST address (http://host:port) the operator-java policy's JVM reads and rescales the job through."}

// Policy is the real operator autoscaler as a flinktune policy: one JVM per job, in lockstep
// with the snapshots' clock. The JVM reads the job through the REST API itself and applies its
// decisions through the rescale API like the standalone autoscaler; the Decision carries the
// same parallelism so the controller's realizer sees a no-op. Its state lives in the JVM
// (in memory, like the standalone's default store), so MarshalState is empty.
type Policy struct {
	address string
	options map[string]string
	j       *jvm
}

// jvm is the policy's process, apart from the policy so that a cleanup can stop it once the
// policy is unreachable (the controller has no close hook for policies: a finished bench run's
// JVMs stop at the next garbage collection, and all of them when flinktune exits).
type jvm struct {
	mu   sync.Mutex
	proc *Process
}

// NewPolicy builds the policy from a job's effective configuration.
func NewPolicy(cfg *flinkconf.Config) (*Policy, error) {
	addr, _ := cfg.String(OptRESTAddress)
	opts := map[string]string{}
	for k, v := range cfg.Map() {
		if strings.HasPrefix(k, "job.autoscaler.") || strings.HasPrefix(k, "kubernetes.operator.job.autoscaler.") {
			opts[k] = v
		}
	}
	p := &Policy{address: addr, options: opts, j: &jvm{}}
	runtime.AddCleanup(p, func(j *jvm) { j.close() }, p.j)
	return p, nil
}

// Name is "operator-java".
func (p *Policy) Name() string { return Name }

// Applied is a no-op: the autoscaler applied its decision itself.
func (p *Policy) Applied(time.Time, map[string]int) {}

// MarshalState is empty: the state is the JVM's.
func (p *Policy) MarshalState() ([]byte, error) { return []byte("{}"), nil }

// RestoreState ignores the state (a restarted controller starts a fresh autoscaler, like a
// restarted standalone autoscaler with its in-memory store).
func (p *Policy) RestoreState([]byte) error { return nil }

// Close stops the JVM.
func (p *Policy) Close() error { return p.j.close() }

func (j *jvm) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closeLocked()
}

func (j *jvm) closeLocked() error {
	if j.proc == nil {
		return nil
	}
	err := j.proc.Close()
	j.proc = nil
	return err
}

// Cycle runs one control cycle of the real autoscaler for the snapshot's job at its time.
func (p *Policy) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	j := p.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := p.ensure(snap); err != nil {
		return autoscaler.Decision{}, err
	}
	reply, err := j.proc.Cycle(snap.Time, snap.JobID)
	if err != nil {
		j.closeLocked()
		return autoscaler.Decision{}, err
	}
	if len(reply.FetchErrors) > 0 {
		return autoscaler.Decision{Reason: "the autoscaler could not list the job: " + reply.FetchErrors[0]}, nil
	}
	for _, o := range reply.Jobs {
		if o.JobID == snap.JobID {
			return decision(snap, o), nil
		}
	}
	return autoscaler.Decision{Reason: "job not listed by the autoscaler"}, nil
}

// ensure starts the JVM on first use. Caller holds p.j.mu.
func (p *Policy) ensure(snap *autoscaler.Snapshot) error {
	j := p.j
	if j.proc == nil {
		addr := p.address
		if addr == "" {
			if u, err := url.Parse(snap.Cluster); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				addr = snap.Cluster
			}
		}
		if addr == "" {
			return fmt.Errorf("%s: %s is not set and the cluster %q is not a REST URL", Name, OptRESTAddress.Key, snap.Cluster)
		}
		proc, err := Start(Config{RESTAddress: addr, Options: maps.Clone(p.options), LogLevel: "WARN"})
		if err != nil {
			return err
		}
		j.proc = proc
	}
	return nil
}

// decision maps a job's cycle outcome onto flinktune's Decision.
func decision(snap *autoscaler.Snapshot, o JobOutcome) autoscaler.Decision {
	d := autoscaler.Decision{Ready: true, Scaled: len(o.Decided) > 0}
	if len(o.Overrides) > 0 {
		d.Parallelism = map[string]int{}
		for v, s := range o.Overrides {
			if n, err := strconv.Atoi(s); err == nil && snap.Vertex(v) != nil {
				d.Parallelism[v] = n
			}
		}
	}
	if len(o.ConfigOverrides) > 0 {
		d.ConfigOverrides = maps.Clone(o.ConfigOverrides)
	}
	switch {
	case d.Scaled:
		keys := make([]string, 0, len(o.Decided))
		for v, n := range o.Decided {
			keys = append(keys, fmt.Sprintf("%s=%d", v, n))
		}
		sort.Strings(keys)
		d.Reason = "rescaling " + strings.Join(keys, " ")
	case o.Status != "RUNNING":
		d.Reason = "job is " + o.Status
	default:
		d.Reason = "no new decision"
	}
	for _, e := range o.Events {
		d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: e.Type, Reason: e.Reason, Message: e.Message})
	}
	return d
}
