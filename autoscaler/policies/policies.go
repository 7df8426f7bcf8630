// Package policies names the scaling policies flinktune ships and builds them from a job's
// configuration.
package policies

import (
	"fmt"
	"strings"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/autoscaler/flinktune"
	"github.com/flinktune/flinktune/autoscaler/operator"
	"github.com/flinktune/flinktune/flinkconf"
)

// Names lists the policies, the default first.
func Names() []string { return []string{flinktune.Name, "operator"} }

// Describe is a one-line description per policy, for help texts.
var Describe = map[string]string{
	flinktune.Name: "flinktune's policy: true-rate sizing with demand forecasting, even key-group/partition splits, no oscillation",
	"operator":     "a faithful port of the Flink Kubernetes Operator's autoscaler (the baseline)",
}

// New builds the named policy for one job from its effective configuration.
func New(name string, cfg *flinkconf.Config) (autoscaler.Policy, error) {
	switch strings.ToLower(name) {
	case flinktune.Name:
		return flinktune.NewFromConfig(cfg)
	case "operator":
		o, err := operator.ParseOptions(cfg)
		if err != nil {
			return nil, err
		}
		return operator.New(o), nil
	}
	return nil, fmt.Errorf("unknown policy %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// Valid reports whether name is a policy.
func Valid(name string) bool {
	for _, n := range Names() {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
