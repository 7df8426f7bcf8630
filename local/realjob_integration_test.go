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
	// Origin is time zero of the scenario's load schedule: with Kafka and LoadWhenRunning, the
	// origin the producer announced once its schedule started.
	Origin time.Time
	// Submitted is when the job's submission began (the client JVM started).
	Submitted time.Time
	// Running is when every vertex was seen running (zero without WaitRunning).
	Running time.Time
	// Announced is when the producer's announcement of Origin was read (Kafka and
	// LoadWhenRunning only).
	Announced time.Time
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
	// after the submission (with WaitRunning; a Kafka producer waits for it too, and the job's
	// Origin is the one it announces). The memory-tuning and realizer tests leave it off: none
	// reads Origin, and their steady load (no backlog, a 100,000 r/s source) turns a late start
	// into a burst drained in under a second, while their state grows by keys, not by records.
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
	job := &realJob{Cluster: c, JobID: id, Submitted: submitted}
	if s.WaitRunning {
		if err := c.WaitJobRunning(ctx, id, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		job.Running = time.Now()
		if s.LoadWhenRunning {
			if _, err := spec.StartLoad(job.Running); err != nil {
				t.Fatal(err)
			}
		}
	}
	job.Origin = time.UnixMilli(spec.OriginMs)
	if s.Kafka && s.LoadWhenRunning {
		job.Origin, job.Announced = producerOrigin(t, ctx, c, job.Origin)
	}
	return job
}

// producerOrigin waits for the Kafka producer of the job just submitted on c to announce that
// its schedule started, and returns the origin it announced (which must be written, want) and
// when the announcement was read. The load phases count from the producer's origin: StartLoad
// only writes the file the producer reads.
func producerOrigin(t *testing.T, ctx context.Context, c *local.Cluster, want time.Time) (origin, announced time.Time) {
	t.Helper()
	load := c.Kafka.Loads[len(c.Kafka.Loads)-1]
	// The producer checks the file every 100 ms: 15 s is a loaded machine's stall, not a wait.
	if err := local.ConfirmLoadOrigin(ctx, load, want, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	return want, time.Now()
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
