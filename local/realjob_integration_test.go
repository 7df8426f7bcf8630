//go:build integration

package local_test

import (
	"context"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/scenario"
)

// realJob is a scenario's job 0 running on a real cluster started for one test.
type realJob struct {
	Cluster *local.Cluster
	JobID   string
	// Origin is time zero of the scenario's load schedule.
	Origin time.Time
	// Submitted is when the job's submission began (the client JVM started).
	Submitted time.Time
}

// jobSetup says how startScenarioJob starts the cluster and submits the job.
type jobSetup struct {
	// Conf is the cluster's configuration (nil: the scenario's, local.ScenarioClusterConfig).
	Conf map[string]string
	// Attachable: flinktune run --local-dir attaches to the cluster; the TaskManagers the
	// realizer starts belong to that process, so cleanup runs local down on the state file
	// before the cluster's own Stop.
	Attachable bool
	// Kafka starts a broker and feeds the job's sources through a real topic.
	Kafka bool
	// StartIn is the delay from submission to the load's origin (default 2 s).
	StartIn time.Duration
	// WaitRunning waits up to 2 minutes for the job to run (a heap-starved job may never).
	WaitRunning bool
	// LoadWhenRunning starts the load schedule when every vertex runs, instead of StartIn
	// after the submission (with WaitRunning; a Kafka producer waits for it too).
	LoadWhenRunning bool
}

// startScenarioJob starts a cluster for sc on d, submits sc's job 0 and returns both; the
// cluster (and broker) stop when the test ends, and every process is checked gone.
func startScenarioJob(t *testing.T, ctx context.Context, d *local.Dist, sc *scenario.Scenario, s jobSetup) *realJob {
	t.Helper()
	conf := s.Conf
	if conf == nil {
		conf = local.ScenarioClusterConfig(sc)
	}
	var c *local.Cluster
	if s.Kafka {
		t.Cleanup(func() { // registered before the cluster's, so it runs after its Stop
			if c != nil && c.Kafka != nil {
				for _, p := range append([]*local.Process{c.Kafka.Proc}, c.Kafka.Loads...) {
					if p.Alive() {
						t.Errorf("%s (pid %d) still running after Stop", p.ID, p.PID)
					}
				}
			}
		})
	}
	c = startClusterWith(t, ctx, d, sc.Cluster.TaskManagers.Initial, conf)
	if s.Attachable {
		t.Cleanup(func() {
			if _, err := local.Down(c.Spec.Dir, 15*time.Second); err != nil {
				t.Logf("local down: %v", err)
			}
		})
	}
	if s.Kafka {
		if err := c.StartKafka(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s.StartIn == 0 {
		s.StartIn = 2 * time.Second
	}
	spec, err := local.ScenarioSpec(sc, 0, time.Now().Add(s.StartIn))
	if err != nil {
		t.Fatal(err)
	}
	if s.LoadWhenRunning {
		if !s.WaitRunning {
			t.Fatal("LoadWhenRunning needs WaitRunning")
		}
		spec.LoadOnSignal(c.Spec.Dir, time.Now())
	}
	submitted := time.Now()
	submit := c.SubmitScenario
	if s.Kafka {
		submit = c.SubmitKafkaScenario
	}
	id, err := submit(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if s.WaitRunning {
		if err := c.WaitJobRunning(ctx, id, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		if s.LoadWhenRunning {
			if _, err := spec.StartLoad(time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &realJob{Cluster: c, JobID: id, Origin: time.UnixMilli(spec.OriginMs), Submitted: submitted}
}

// firstDist is the first prepared Flink version (FLINKTUNE_FLINK_DISTS).
func firstDist(t *testing.T) *local.Dist {
	t.Helper()
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	return dists[0]
}

// loadScenario loads a scenario of testdata.
func loadScenario(t *testing.T, path string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
