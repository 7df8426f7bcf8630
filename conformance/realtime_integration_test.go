//go:build integration

package conformance

import (
	"context"
	"fmt"
	"github.com/flinktune/flinktune/internal/testutil"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/operatorjava"
	"github.com/flinktune/flinktune/scenarios"
	"github.com/flinktune/flinktune/sim"
	"github.com/flinktune/flinktune/simrest"
)

// A log line that is a REST or autoscaler error: ERROR level, an AutoscalerError event, or an
// exception the autoscaler caught and logged at WARN.
var errorLine = regexp.MustCompile(`(?m)^.* (ERROR|WARN) .*(Exception|Error|error).*$`)

// TestRealtimeAgainstSimulator is the REST smoke test: the real autoscaler's control loop, over
// real time, against `flinktune sim` at 10x on each example scenario. Its clock follows the
// simulator's (wall clock × 10 from the simulator's start, as the timestamps Flink reports must
// agree with the autoscaler's clock), its loop runs every 1 s of wall time (10 s simulated) and
// its REST timeout stays at its 10 s default. It must read everything it needs
// with no error in its log and rescale every job through the rescale API.
func TestRealtimeAgainstSimulator(t *testing.T) {
	const speed = 10
	limit := 7 * time.Minute
	if v := os.Getenv("FLINKTUNE_REALTIME_LIMIT"); v != "" {
		limit, _ = time.ParseDuration(v)
	}
	names := scenarios.Names()
	if v := os.Getenv("FLINKTUNE_REALTIME_SCENARIOS"); v != "" {
		names = strings.Split(v, ",")
	}
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := realtimeRun(name, speed, limit, t); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func realtimeRun(name string, speed float64, limit time.Duration, t *testing.T) error {
	sc, err := scenarios.Load(name)
	if err != nil {
		return err
	}
	s, err := sim.New(sc, sim.Options{})
	if err != nil {
		return err
	}
	srv := simrest.New(s, simrest.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var origin time.Time
	srv.Do(func(s *sim.Sim) { origin = s.Now() })
	wallOrigin := time.Now()
	go srv.RunRealtime(ctx, speed)

	var log testutil.SyncBuffer
	if dir := os.Getenv("FLINKTUNE_REALTIME_LOGDIR"); dir != "" {
		defer func() { os.WriteFile(dir+"/"+name+".log", []byte(log.String()), 0o644) }()
	}
	wall := time.Now()
	proc, err := operatorjava.Start(operatorjava.Config{RESTAddress: "http://" + ln.Addr().String(), Mode: "realtime", Log: &log,
		Options: map[string]string{
			"job.autoscaler.enabled": "true",
			// taskmanager-loss starts over-provisioned: its first decision is a scale-down,
			// delayed by scale-down.interval (1 h by default, 6 min of wall time here).
			"job.autoscaler.scale-down.interval":             "10m",
			"flinktune.harness.clock-origin":                 fmt.Sprintf("%d@%d", origin.UnixMilli(), wallOrigin.UnixMilli()),
			"flinktune.harness.time-scale":                   fmt.Sprint(speed),
			"autoscaler.standalone.control-loop.interval.ms": fmt.Sprint(int(10_000 / speed)),
		}})
	if err != nil {
		return err
	}
	defer proc.Close()

	rescaled := func() (int, int) {
		var jobs, done int
		srv.Do(func(s *sim.Sim) {
			for _, id := range s.JobIDs() {
				jobs++
				if st, _ := s.Stats(id); st.Rescales > 0 {
					done++
				}
			}
		})
		return jobs, done
	}
	for {
		jobs, done := rescaled()
		if jobs > 0 && done == jobs {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %d of %d jobs rescaled after %s of wall time; JVM log tail:\n%s", name, done, jobs, limit, tail(log.String(), 3000))
		case <-proc.Done():
			return fmt.Errorf("%s: the autoscaler exited; log tail:\n%s", name, tail(log.String(), 3000))
		case <-time.After(time.Second):
		}
	}
	proc.Close()
	var simNow time.Duration
	srv.Do(func(s *sim.Sim) { simNow = s.Elapsed() })
	out := log.String()
	t.Logf("%s: every job rescaled by the real autoscaler after %.0fs of wall time (%s simulated), %d log lines, %d rescale requests",
		name, time.Since(wall).Seconds(), simNow.Round(time.Second), strings.Count(out, "\n"), strings.Count(out, "In-place scaling triggered"))
	if bad := errorLine.FindAllString(out, 5); len(bad) > 0 {
		return fmt.Errorf("%s: errors in the autoscaler's log:\n%s", name, strings.Join(bad, "\n"))
	}
	if strings.Contains(out, "AutoscalerError") {
		return fmt.Errorf("%s: AutoscalerError in the autoscaler's log:\n%s", name, tail(out, 3000))
	}
	return nil
}
