package cli

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/tuning"
)

// localRunHelp is run's --help paragraph on --local-dir.
const localRunHelp = `
--local-dir DIR applies memory tuning to the cluster flinktune local up recorded in DIR (its
REST endpoint is the --flink URL, which may then be left out): a tuned TaskManager memory is
applied by restarting the TaskManagers one at a time with the JVM flags and dynamic
properties flinktune derives; the adaptive scheduler scales the job down and back up, and the
job resumes from its checkpoint. A TaskManager that does not register, or a job that is not
RUNNING again (and for 20 s), rolls the TaskManagers back to the previous memory, with an
error event saying so. JobManager memory is not tuned there (a restart would lose the
session's jobs): flinktune.memory.tuning.jobmanager.enabled defaults to false.`

// wireLocal attaches to the local cluster in dir and adds it to the clusters when no --flink
// names its REST URL.
func wireLocal(dir string, rc *runConfig) (*local.ProcessRealizer, error) {
	c, err := local.Attach(dir)
	if err != nil {
		return nil, fmt.Errorf("--local-dir %s: %w", dir, err)
	}
	found := false
	for _, cc := range rc.Clusters {
		found = found || strings.TrimRight(cc.URL, "/") == c.RESTURL
	}
	if !found {
		if len(rc.Clusters) > 0 {
			return nil, fmt.Errorf("--local-dir %s: its cluster's REST endpoint %s is not among --flink %s", dir, c.RESTURL, rc.Clusters[0].URL)
		}
		rc.Clusters = append(rc.Clusters, clusterConfig{URL: c.RESTURL, Timeout: "5s"})
	}
	return &local.ProcessRealizer{Cluster: c}, nil
}

// withLocalRealizer sets the process realizer on the cluster it belongs to, and the local
// defaults under the jobs' configuration.
func withLocalRealizer(clusters []controller.Cluster, pr *local.ProcessRealizer, base *flinkconf.Config, log *slog.Logger) {
	if pr == nil {
		return
	}
	pr.Logger = log
	if !base.Has(tuning.OptJobManager.Key) {
		base.Set(tuning.OptJobManager.Key, "false")
	}
	for i := range clusters {
		if strings.TrimRight(clusters[i].Name, "/") == pr.Cluster.RESTURL {
			clusters[i].Config = pr
		}
	}
}
