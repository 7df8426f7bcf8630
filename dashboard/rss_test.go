package dashboard_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/internal/testutil"
)

// BenchmarkRunRSS200JobsDashboard measures the resident memory of `flinktune run` managing
// 200 simulated jobs with the dashboard served (its history kept, default
// --dashboard-points) and loaded every 2 s (the job list and a job's page), as the
// goal says: under 60 MB. FLINKTUNE_RSS_SECONDS sets how long it runs (default 60; the
// history fills after --dashboard-points cycles of 1 s each at --speed 10);
// FLINKTUNE_RSS_POINTS sets --dashboard-points (1: the same run and load without history).
func BenchmarkRunRSS200JobsDashboard(b *testing.B) {
	bin := flinktuneBinary(b)
	file := filepath.Join(b.TempDir(), "many.yaml")
	if err := os.WriteFile(file, []byte(testutil.ManyJobsScenario(200, "4h")), 0o644); err != nil {
		b.Fatal(err)
	}
	seconds := 60
	if s, err := strconv.Atoi(os.Getenv("FLINKTUNE_RSS_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	points := strconv.Itoa(dashboard.DefaultPoints)
	if s := os.Getenv("FLINKTUNE_RSS_POINTS"); s != "" {
		points = s
	}
	var peak, heap float64
	var samples string
	for b.Loop() {
		simURL, _ := startBin(b, bin, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`),
			"sim", "--scenario", file, "--listen", "127.0.0.1:0", "--speed", "10", "--status-every", "10h")
		dash, run := startBin(b, bin, regexp.MustCompile(`dashboard=(http://\S+)`),
			"run", "--flink", simURL, "--all-jobs", "--interval", "10s", "--listen", "127.0.0.1:0", "--data-dir", b.TempDir(),
			"--dashboard-points", points)
		deadline := time.Now().Add(time.Duration(seconds) * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			body := fetch(b, dash+"api/v1/jobs")
			if m := regexp.MustCompile(`"jobId":"([0-9a-f]+)"`).FindStringSubmatch(body); m != nil {
				fetch(b, dash+"api/v1/job?window=all&cluster="+strings.TrimSuffix(simURL, "/")+"&job="+m[1])
			}
			if m := regexp.MustCompile(`"samples":(\d+)`).FindStringSubmatch(body); m != nil {
				samples = m[1]
			}
			peak = max(peak, testutil.RSSMB(b, run.Process.Pid))
			// The Go heap alone (RSS also counts the store's memory-mapped file).
			if m := regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes (\S+)`).FindStringSubmatch(fetch(b, dash+"metrics")); m != nil {
				v, _ := strconv.ParseFloat(m[1], 64)
				heap = max(heap, v/(1<<20))
			}
		}
	}
	b.ReportMetric(peak, "peak-rss-MB")
	b.ReportMetric(heap, "peak-heap-inuse-MiB")
	n, _ := strconv.Atoi(samples)
	b.ReportMetric(float64(n), "samples/job")
}

func fetch(b *testing.B, u string) string {
	resp, err := http.Get(u)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}
