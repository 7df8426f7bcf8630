// Package policies names the scaling policies flinktune ships and builds them from a job's
// configuration, each with its memory tuner.
package policies

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/autoscaler/operatorjava"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/tuning"
)

// Names lists the policies, the default first.
func Names() []string { return []string{flinktune.Name, "operator", operatorjava.Name} }

// Describe is a one-line description per policy, for help texts.
var Describe = map[string]string{
	flinktune.Name:    "flinktune's policy: true-rate sizing with demand forecasting, even key-group/partition splits, no oscillation",
	"operator":        "a faithful port of the Flink Kubernetes Operator's autoscaler (the baseline)",
	operatorjava.Name: "the real Flink Kubernetes Operator autoscaler (flink-autoscaler from Maven Central) in a JVM; needs the flink-autoscaler/ harness built",
}

// OptTuner selects the memory tuner of a job: "native" is the policy's own (the operator's
// MemoryTuning for the operator policy, flinktune's tuner for the flinktune policy);
// "flinktune" puts flinktune's tuner under any policy (the operator's own is then off), so
// tuners can be compared on the same scaling decisions.
var OptTuner = flinkconf.Option{Key: "flinktune.memory.tuner", Type: flinkconf.TypeString, Default: "native", HasDefault: true,
	Description: "Memory tuner: native (the policy's own) or flinktune (flinktune's tuner under any policy)."}

// New builds the named policy for one job from its effective configuration. A configuration
// with bad values names all of them: the policy's and the memory tuner's, each key once.
func New(name string, cfg *flinkconf.Config) (autoscaler.Policy, error) {
	tuner, _ := cfg.String(OptTuner)
	tuner = strings.ToLower(tuner)
	if tuner != "native" && tuner != "flinktune" {
		return nil, fmt.Errorf("%s: invalid value %q (want native or flinktune)", OptTuner.Key, tuner)
	}
	p, tuner, perr := build(name, tuner, cfg)
	o, terr := tuning.ParseOptions(cfg)
	if err := joinOptionErrors(perr, terr); err != nil {
		return nil, err
	}
	if tuner != "flinktune" {
		// The policy tunes memory itself; flinktune still diagnoses a failing job, remedies
		// memory failures and rolls back a rescale that broke the job.
		return tuning.WithRescue(p, o), nil
	}
	// flinktune's memory tuner rides along: it recommends (events) unless
	// job.autoscaler.memory.tuning.enabled, and then hands changes to the realizer.
	return tuning.WithTuner(p, o), nil
}

// build parses the named policy's options and builds it; tuner comes back as the tuner that
// runs beside it.
func build(name, tuner string, cfg *flinkconf.Config) (autoscaler.Policy, string, error) {
	switch strings.ToLower(name) {
	case flinktune.Name:
		fp, err := flinktune.NewFromConfig(cfg)
		return fp, "flinktune", err // flinktune's own tuner is flinktune's
	case "operator":
		o, err := operator.ParseOptions(cfg)
		if err != nil {
			return nil, tuner, err
		}
		var p autoscaler.Policy = operator.New(o)
		if tuner == "flinktune" {
			p = withoutOwnTuning{p}
		}
		return p, tuner, nil
	case operatorjava.Name:
		// The standalone autoscaler applies no memory changes: its own tuner only recommends.
		jp, err := operatorjava.NewPolicy(cfg)
		return jp, tuner, err
	}
	return nil, tuner, fmt.Errorf("unknown policy %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// withoutOwnTuning runs a policy with its own memory tuning switched off (it re-reads its
// options from every snapshot's configuration).
type withoutOwnTuning struct{ autoscaler.Policy }

func (w withoutOwnTuning) Cycle(snap *autoscaler.Snapshot) (autoscaler.Decision, error) {
	if snap != nil {
		c := *snap
		c.Config = maps.Clone(snap.Config)
		for _, k := range []string{"job.autoscaler.memory.tuning.enabled", "kubernetes.operator.job.autoscaler.memory.tuning.enabled"} {
			delete(c.Config, k)
		}
		snap = &c
	}
	d, err := w.Policy.Cycle(snap)
	d.ConfigOverrides, d.ConfigRemovals = nil, nil
	return d, err
}

func (w withoutOwnTuning) Applied(t time.Time, p map[string]int) { w.Policy.Applied(t, p) }

// Valid reports whether name is a policy.
func Valid(name string) bool {
	for _, n := range Names() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// joinOptionErrors names the policy's bad settings, then the memory tuner's that the policy
// did not already name (both read the job.autoscaler.memory.tuning.* keys), on one line.
func joinOptionErrors(policy, tuner error) error {
	if tuner == nil {
		return policy
	}
	if policy == nil {
		return tuner
	}
	var all flinkconf.OptionErrors
	if !errors.As(tuner, &all) {
		return optionErrors{policy, tuner}
	}
	named := optionKeys(policy)
	var kept flinkconf.OptionErrors
	for _, e := range all {
		if !named[e.Key] {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return policy
	}
	return optionErrors{policy, tuning.InvalidOptions(kept)}
}

// optionKeys are the keys of every bad setting err names.
func optionKeys(err error) map[string]bool {
	keys := map[string]bool{}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *flinkconf.OptionError:
			keys[e.Key] = true
		case *operator.OptionError:
			keys[e.Key] = true
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return keys
}

// optionErrors joins errors with "; " on one line, as each parser does (events and decision
// reasons are one line each).
type optionErrors []error

func (es optionErrors) Error() string { return flinkconf.JoinedText(es) }

func (es optionErrors) Unwrap() []error { return es }
