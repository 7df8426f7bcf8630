package local

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Workload is the harness's datagen → map → sink job (chaining off, fixed uids).
type Workload struct {
	Name        string
	Rate        float64 // records per second for the whole source
	Parallelism int
	// MapService is the map's per-record service time (a timed wait).
	MapService time.Duration
}

var jobIDPattern = regexp.MustCompile(`(?m)^([0-9a-f]{32})$`)

// SubmitWorkload submits w to the cluster through its REST API (a short-lived client JVM) and
// returns the job id once Flink has accepted the job.
func (c *Cluster) SubmitWorkload(ctx context.Context, w Workload) (string, error) {
	port := strings.TrimPrefix(c.RESTURL[strings.LastIndex(c.RESTURL, ":"):], ":")
	args := []string{"--host", "127.0.0.1", "--port", port, "--jar", c.Spec.Dist.Harness,
		"--rate", strconv.FormatFloat(w.Rate, 'f', -1, 64),
		"--parallelism", strconv.Itoa(max(1, w.Parallelism)),
		"--map-micros", strconv.FormatInt(w.MapService.Microseconds(), 10)}
	if w.Name != "" {
		args = append(args, "--name", w.Name)
	}
	cmd := c.Spec.Dist.JavaCommand(ctx, []string{"-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dlog4j2.level=WARN"}, "io.flinktune.harness.WorkloadJob", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("submit workload: %w\n%s", err, tail(errb.Bytes(), 3000))
	}
	m := jobIDPattern.FindStringSubmatch(out.String())
	if m == nil {
		return "", fmt.Errorf("submit workload: no job id in output %q\n%s", out.String(), tail(errb.Bytes(), 3000))
	}
	return m[1], nil
}

// WaitJobRunning waits until every vertex of the job is RUNNING.
func (c *Cluster) WaitJobRunning(ctx context.Context, jobID string, timeout time.Duration) error {
	return WaitJobRunning(ctx, c.RESTURL, jobID, timeout)
}

// WaitJobRunning waits until every vertex of the job at the REST API restURL is RUNNING.
func WaitJobRunning(ctx context.Context, restURL, jobID string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var d struct {
			State    string `json:"state"`
			Vertices []struct {
				Status string `json:"status"`
			} `json:"vertices"`
		}
		err := getJSON(ctx, restURL, "/jobs/"+jobID, &d)
		if err == nil && d.State == "RUNNING" && len(d.Vertices) > 0 {
			all := true
			for _, v := range d.Vertices {
				all = all && v.Status == "RUNNING"
			}
			if all {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %s not running after %s (state %q, %v)", jobID, timeout, d.State, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
