//go:build integration

package operatorjava_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler/operatorjava"
	"github.com/flinktune/flinktune/bench"
	"github.com/flinktune/flinktune/scenarios"
)

// TestOperatorJavaInBench scores the real autoscaler as a bench policy, the same way as the
// port: on taskmanager-loss, with the port as release 1.10 (the real one's version), both must
// make the same rescales with the same outcome.
func TestOperatorJavaInBench(t *testing.T) {
	sc, err := scenarios.Load("taskmanager-loss")
	if err != nil {
		t.Fatal(err)
	}
	opts := bench.Options{Set: []string{"flinktune.operator.variant=1.10"}}
	res, err := bench.RunAll(context.Background(), sc, []string{"operator", operatorjava.Name}, opts)
	if err != nil {
		t.Fatal(err)
	}
	port, java := res[0], res[1]
	t.Logf("operator: %d rescales, %.0f parallelism-seconds, %.0fs lag violation; operator-java: %d rescales, %.0f parallelism-seconds, %.0fs lag violation (%.1fs wall)",
		port.Rescales, port.ParallelismSeconds, port.LagViolationSeconds, java.Rescales, java.ParallelismSeconds, java.LagViolationSeconds, java.WallSeconds)
	if java.Rescales == 0 {
		t.Fatal("the real autoscaler never rescaled")
	}
	if java.Rescales != port.Rescales || java.ParallelismSeconds != port.ParallelismSeconds {
		t.Errorf("the port (1.10) and the real autoscaler differ on taskmanager-loss")
	}
}

// TestOperatorJavaInSweep: the real autoscaler is a baseline of the Pareto sweep like the port;
// each setting reaches its configuration (a lower target utilization buys more parallelism).
func TestOperatorJavaInSweep(t *testing.T) {
	sc, err := scenarios.Load("taskmanager-loss")
	if err != nil {
		t.Fatal(err)
	}
	sw, err := bench.RunSweep(context.Background(), []bench.Case{{Scenario: sc}}, "job.autoscaler.target.utilization",
		[]string{"0.5", "0.9"}, bench.CorpusOptions{Baseline: operatorjava.Name, Candidate: "flinktune", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if sw.Baseline != operatorjava.Name || len(sw.Points) != 2 {
		t.Fatalf("sweep %+v", sw)
	}
	low, high := sw.Points[0], sw.Points[1]
	t.Logf("flinktune defaults: %.0f lag-violation s, %.0f parallelism-seconds; operator-java 0.5: %.0f s, %.0f; 0.9: %.0f s, %.0f",
		sw.CandidateLagViolationSeconds, sw.CandidateParallelismSeconds, low.LagViolationSeconds, low.ParallelismSeconds, high.LagViolationSeconds, high.ParallelismSeconds)
	if low.Rescales == 0 || high.Rescales == 0 {
		t.Fatalf("the real autoscaler never rescaled in the sweep: %+v", sw.Points)
	}
	if low.ParallelismSeconds <= high.ParallelismSeconds {
		t.Errorf("target utilization 0.5 used %.0f parallelism-seconds, not more than 0.9's %.0f: the setting did not reach the real autoscaler",
			low.ParallelismSeconds, high.ParallelismSeconds)
	}
}

// TestOperatorJavaProcessGroup: Close leaves no JVM behind, even one stuck in a cycle.
func TestOperatorJavaProcessGroup(t *testing.T) {
	// A REST endpoint that accepts connections and never answers: the cycle hangs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p, err := operatorjava.Start(operatorjava.Config{RESTAddress: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	go p.Cycle(time.Now(), "")
	time.Sleep(time.Second)
	start := time.Now()
	p.Close()
	if err := syscall.Kill(-pid, 0); err == nil {
		t.Errorf("process group %d still alive after Close", pid)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %s", d)
	}
}
