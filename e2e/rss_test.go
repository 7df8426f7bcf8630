package e2e

import (
	"github.com/flinktune/flinktune/internal/testutil"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// BenchmarkRunRSS200Jobs measures the resident memory of `flinktune run` managing 200 jobs
// of a simulated cluster served by `flinktune sim` over HTTP (target: under 60 MB).
func BenchmarkRunRSS200Jobs(b *testing.B) {
	file := filepath.Join(b.TempDir(), "many.yaml")
	if err := os.WriteFile(file, []byte(testutil.ManyJobsScenario(200, "2h")), 0o644); err != nil {
		b.Fatal(err)
	}
	var peak float64
	for i := 0; i < b.N; i++ {
		simProc := start(b, "sim", "--scenario", file, "--listen", "127.0.0.1:0", "--speed", "10", "--status-every", "1h")
		url := simProc.waitLine(b, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`), time.Minute)
		run := start(b, "run", "--flink", url, "--all-jobs", "--interval", "10s", "--data-dir", b.TempDir(), "--parallelism", "16")
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			peak = max(peak, testutil.RSSMB(b, run.cmd.Process.Pid))
		}
		run.cmd.Process.Kill()
		simProc.cmd.Process.Kill()
	}
	b.ReportMetric(peak, "peak-rss-MB")
}
