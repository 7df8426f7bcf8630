package dashboard_test

// Browser tests: headless Chromium (Debian's chromium package; scripts/install-chromium.sh)
// driven through the DevTools protocol (chromedp). They are skipped, saying so, where
// Chromium is absent. Screenshots go to $FLINKTUNE_ARTIFACTS (default: the test's temporary
// directory, removed afterwards).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/store"
)

// chromiumPath finds the browser, or skips the test with the way to get it.
func chromiumPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FLINKTUNE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: Chromium not found (install it with scripts/install-chromium.sh, i.e. apt-get install chromium; .ci/run does; or set FLINKTUNE_CHROMIUM)")
	return ""
}

// artifacts is where screenshots are saved.
func artifacts(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("FLINKTUNE_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser is one headless Chromium with every console error and uncaught exception noted.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	b := &browser{ctx: ctx}
	// Console subscribes (starting the browser) before it returns: nothing the page logs is lost.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.note(m.String() + " " + m.URL)
			}
		}
	}()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

func (b *browser) note(s string) {
	b.mu.Lock()
	b.errors = append(b.errors, s)
	b.mu.Unlock()
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v (console: %v)", what, err, b.consoleErrors())
	}
}

// eval runs an action with a result.
func eval[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatalf("%s: %v (console: %v)", what, err, b.consoleErrors())
	}
	return v
}

func (b *browser) screenshot(t *testing.T, name string) string {
	t.Helper()
	png := eval(t, b, "screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}

// coloredPixels counts, per chart, the saturated pixels of its canvas: the series' lines
// (the grid and axes are grey), so a chart without data counts about zero.
const coloredPixels = `(async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); // redrawn
  const out = {};
  document.querySelectorAll("[data-chart]").forEach(el => {
    const c = el.querySelector("canvas");
    if (!c) { out[el.dataset.chart] = -1; return; }
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i+1], b = d[i+2], a = d[i+3];
      if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) n++;
    }
    out[el.dataset.chart] = n;
  });
  return out;
})()`

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// flinktuneBinary builds cmd/flinktune once per test binary.
func flinktuneBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flinktune-dash-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "flinktune")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/flinktune").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startProc runs flinktune and returns the first submatch of re in its output.
func startProc(t *testing.T, re *regexp.Regexp, args ...string) string {
	t.Helper()
	s, _ := startBin(t, flinktuneBinary(t), re, args...)
	return s
}

// startBin runs bin (killed at the end of the test) and returns the first submatch of re
// in its output.
func startBin(t testing.TB, bin string, re *regexp.Regexp, args ...string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s := <-found:
		return s, cmd
	case <-time.After(60 * time.Second):
		t.Fatalf("flinktune %s: no line matching %s within 60 s", strings.Join(args, " "), re)
	}
	return "", nil
}

// TestBrowserLiveRunSim loads the dashboard of a live `flinktune run` driving `flinktune sim`
// over loopback, and checks that the job page's charts draw data, that the rescale the policy
// made shows as a marker with its reason, and that the page logs no error.
func TestBrowserLiveRunSim(t *testing.T) {
	chromiumPath(t)
	began := time.Now()
	flinktuneBinary(t)
	t.Logf("flinktune built in %v", time.Since(began).Round(time.Millisecond))
	simURL := startProc(t, regexp.MustCompile(`REST API \(simulated\) at (http://\S+)`),
		"sim", "--scenario", "testdata/busy.yaml", "--listen", "127.0.0.1:0", "--speed", "200", "--status-every", "10h")
	dash := startProc(t, regexp.MustCompile(`dashboard=(http://\S+)`),
		"run", "--flink", simURL, "--all-jobs", "--interval", "20s", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())

	// Wait (through the API the page uses) until the policy has rescaled the job.
	var list struct {
		Jobs []struct {
			JobID   string `json:"jobId"`
			Markers int    `json:"markers"`
			Samples int    `json:"samples"`
		} `json:"jobs"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(dash + "api/v1/jobs")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
		}
		if err == nil && len(list.Jobs) == 1 && list.Jobs[0].Markers > 0 && list.Jobs[0].Samples > 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rescale within 60 s: %+v (err %v)", list, err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	t.Logf("first rescale %v after the start", time.Since(began).Round(time.Millisecond))
	b := newBrowser(t, 90*time.Second)
	start := time.Now()
	b.do(t, "job list", chromedp.Navigate(dash+"?refresh=500"), chromedp.WaitVisible(chromedp.CSS("tr.job a")))
	t.Logf("job list shown in %v", time.Since(start).Round(time.Millisecond))
	b.do(t, "open the job", chromedp.Click(chromedp.CSS("tr.job a")))
	eval(t, b, "job page", chromedp.Poll[bool](`window.__dash.view === "job" && window.__dash.markers > 0 && window.__dash.charts.parallelism > 0`,
		chromedp.WithPollingTimeout(30*time.Second)))

	drawn := eval(t, b, "charts", chromedp.Evaluate[map[string]int](`window.__dash.charts`))
	// The data's own pixels: markers hidden for the count.
	eval(t, b, "markers hidden", chromedp.Evaluate[bool](`window.__hideMarkers = true; window.__dash.redraw(); true`))
	pixels := eval(t, b, "chart pixels", chromedp.Evaluate[map[string]int](coloredPixels, chromedp.EvalAwaitPromise))
	eval(t, b, "markers back", chromedp.Evaluate[bool](`window.__hideMarkers = false; window.__dash.redraw(); true`))
	for _, name := range []string{"parallelism", "busy", "rates", "lag", "taskmanagers", "memory"} {
		if drawn[name] == 0 {
			t.Errorf("chart %s holds no data: %v", name, drawn)
		}
		if pixels[name] < 50 {
			t.Errorf("chart %s draws %d coloured pixels: no line drawn (%v)", name, pixels[name], pixels)
		}
	}

	// The rescale is a marker on the charts' time axis with the decision's reason.
	type markerInfo struct {
		Kind, Reason, Change string
		T                    float64
	}
	marker := eval(t, b, "marker", chromedp.Evaluate[markerInfo](`(() => {
	  const li = document.querySelector('li.marker[data-kind="rescale"]');
	  if (!li) return {};
	  return {Kind: li.dataset.kind, T: parseFloat(li.dataset.t), Reason: li.querySelector(".reason").textContent,
	          Change: li.querySelector(".change").textContent};
	})()`))
	if marker.Kind != "rescale" || !strings.Contains(marker.Reason, "scale") || !strings.Contains(marker.Change, "→") {
		t.Errorf("rescale marker: %+v, want kind rescale with its reason and the parallelism change", marker)
	}
	// Live: the page refreshes by itself, and the series grow as run cycles the job.
	before := drawn["parallelism"]
	eval(t, b, "live update", chromedp.Poll[bool](fmt.Sprintf(`window.__dash.charts.parallelism > %d`, before),
		chromedp.WithPollingTimeout(20*time.Second)))
	b.screenshot(t, "dashboard-job.png")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// TestBrowserFirstLoad200Jobs reports how long the dashboard takes to show 200 jobs with a
// full history each (DefaultPoints samples), and one job's page, on loopback. It reports
// the times (a performance goal, not an assertion: BenchmarkAPI200Jobs has the server side).
func TestBrowserFirstLoad200Jobs(t *testing.T) {
	chromiumPath(t)
	rec := dashboard.NewRecorder(dashboard.DefaultPoints)
	fillJobs(rec, 200)
	srv := httptest.NewServer(dashboard.Handler(rec, nil))
	defer srv.Close()

	b := newBrowser(t, 60*time.Second)
	b.do(t, "job list", chromedp.Navigate(srv.URL+"/"))
	eval(t, b, "200 rows", chromedp.Poll[bool](`window.__dash && window.__dash.view === "list" && document.querySelectorAll("tr.job").length === 200`,
		chromedp.WithPollingTimeout(20*time.Second)))
	// Navigation start to the list drawn, as the page measured it.
	listMs := eval(t, b, "timing", chromedp.Evaluate[float64](`window.__dash.firstRenderMs`))
	if n := eval(t, b, "clusters", chromedp.Evaluate[int](`document.querySelectorAll(".clusters .cluster").length`)); n != 2 {
		t.Errorf("%d clusters summarized, want 2", n)
	}
	// With hundreds of jobs, the filter finds one.
	b.do(t, "filter", chromedp.SendKeys(chromedp.CSS("#filter"), "job-042"))
	eval(t, b, "filtered", chromedp.Poll[bool](`document.querySelectorAll("tr.job").length === 1 && document.querySelector("tr.job a").textContent === "job-042"`,
		chromedp.WithPollingTimeout(10*time.Second)))
	eval(t, b, "unfilter", chromedp.Evaluate[bool](`const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input")); true`))
	eval(t, b, "all rows", chromedp.Poll[bool](`document.querySelectorAll("tr.job").length === 200`, chromedp.WithPollingTimeout(10*time.Second)))

	start := time.Now()
	b.do(t, "open a job", chromedp.Click(chromedp.CSS("tr.job:nth-child(100) a")))
	eval(t, b, "job page", chromedp.Poll[bool](`window.__dash.view === "job" && window.__dash.charts.parallelism > 0`,
		chromedp.WithPollingTimeout(20*time.Second)))
	jobMs := time.Since(start).Milliseconds()
	// Responsiveness: a refresh of the job page (fetch, decode, six charts redrawn).
	eval(t, b, "refresh", chromedp.Poll[bool](`window.__dash.lastRefreshMs > 0`, chromedp.WithPollingTimeout(20*time.Second)))
	refreshMs := eval(t, b, "refresh timing", chromedp.Evaluate[float64](`window.__dash.lastRefreshMs`))
	charts := eval(t, b, "charts", chromedp.Evaluate[map[string]int](`window.__dash.charts`))
	if charts["parallelism"] < dashboard.DefaultPoints {
		t.Errorf("job page draws %v values, want a full history (%d samples per series)", charts, dashboard.DefaultPoints)
	}
	// The pixel count of the other tests must tell an empty chart (these jobs report no
	// memory) from a drawn one.
	eval(t, b, "markers hidden", chromedp.Evaluate[bool](`window.__hideMarkers = true; window.__dash.redraw(); true`))
	pixels := eval(t, b, "pixels", chromedp.Evaluate[map[string]int](coloredPixels, chromedp.EvalAwaitPromise))
	if pixels["memory"] >= 50 || pixels["parallelism"] < 50 {
		t.Errorf("coloured pixels %v: want none in the empty memory chart, lines in the parallelism chart", pixels)
	}
	msg := fmt.Sprintf("200 jobs x %d samples: first load of the job list %.0f ms (navigation start to table drawn); a job page %d ms after the click; its refresh %.0f ms",
		dashboard.DefaultPoints, listMs, jobMs, refreshMs)
	t.Log(msg)
	os.WriteFile(filepath.Join(artifacts(t), "first-load-200-jobs.txt"), []byte(msg+"\n"), 0o644)
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// TestBrowserBenchReport opens `flinktune bench --report`'s file from disk (offline) and
// checks that both policies' charts draw, that the rescales are listed with their reasons,
// and that nothing is fetched from anywhere.
func TestBrowserBenchReport(t *testing.T) {
	chromiumPath(t)
	report := filepath.Join(t.TempDir(), "report.html")
	out, err := exec.Command(flinktuneBinary(t), "bench", "--scenario", "testdata/busy-short.yaml", "--report", report).CombinedOutput()
	if err != nil {
		t.Fatalf("bench --report: %v\n%s", err, out)
	}
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{`src="http`, `href="http`, `<script src=`, `<link rel="stylesheet" href=`} {
		if strings.Contains(string(page), ref) {
			t.Errorf("report refers to an outside file (%s): it must be self-contained", ref)
		}
	}
	b := newBrowser(t, 60*time.Second)
	b.do(t, "report", chromedp.Navigate("file://"+report))
	eval(t, b, "drawn", chromedp.Poll[bool](`window.__report && window.__report.done`, chromedp.WithPollingTimeout(20*time.Second)))
	drawn := eval(t, b, "charts", chromedp.Evaluate[map[string]int](`window.__report.charts`))
	eval(t, b, "markers hidden", chromedp.Evaluate[bool](`window.__hideMarkers = true; window.__report.redraw(); true`))
	pixels := eval(t, b, "pixels", chromedp.Evaluate[map[string]int](coloredPixels, chromedp.EvalAwaitPromise))
	eval(t, b, "markers back", chromedp.Evaluate[bool](`window.__hideMarkers = false; window.__report.redraw(); true`))
	for _, name := range []string{"s0j0-parallelism", "s0j0-lag", "s0j0-slots", "s0j0-taskmanagers", "s0j0-vertices-operator", "s0j0-vertices-flinktune"} {
		if drawn[name] == 0 || pixels[name] < 50 {
			t.Errorf("chart %s: %d values, %d coloured pixels: no data drawn (%v)", name, drawn[name], pixels[name], drawn)
		}
	}
	policies := eval(t, b, "rescales", chromedp.Evaluate[[]string](`[...document.querySelectorAll('tr.marker[data-kind="rescale"]')].map(tr => tr.cells[1].textContent + ": " + tr.cells[4].textContent)`))
	seen := map[string]bool{}
	for _, p := range policies {
		name, reason, _ := strings.Cut(p, ": ")
		seen[name] = true
		if reason == "" {
			t.Errorf("rescale of %s without its reason", name)
		}
	}
	if !seen["operator"] || !seen["flinktune"] {
		t.Errorf("rescales listed: %v, want both policies'", policies)
	}
	text := eval(t, b, "table", chromedp.Evaluate[string](`document.querySelector("pre.table").textContent + document.querySelector("ul.scoring").textContent`))
	if !strings.Contains(text, "lag-violation time") || !strings.Contains(text, "flinktune vs operator") {
		t.Errorf("summary table and scoring missing: %.300s", text)
	}
	b.screenshot(t, "bench-report.png")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// fillJobs gives a recorder n two-vertex jobs with a full history and a few rescales each.
func fillJobs(r *dashboard.Recorder, n int) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for j := range n {
		key := store.JobKey{Cluster: fmt.Sprintf("http://flink-%c:8081", 'a'+j%2), JobID: fmt.Sprintf("%032x", j)}
		for i := range r.Points() {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			p := 1 + i/120
			snap := &autoscaler.Snapshot{Time: at, JobID: key.JobID, JobName: fmt.Sprintf("job-%03d", j), Status: "RUNNING",
				NumTaskManagers: p, SlotsTotal: 4 * p, NumRestarts: i / 120,
				Vertices: []autoscaler.Vertex{{ID: "src", Name: "Source: in", Parallelism: p},
					{ID: "map", Name: "Map: m", Parallelism: 2 * p, Inputs: []autoscaler.Edge{{From: "src"}}}}}
			d := autoscaler.Decision{Ready: true, Reason: "within target utilization", Evaluated: map[string]map[string]float64{
				"src": {"LOAD": 0.5 + 0.1*float64(i%7), "TRUE_PROCESSING_RATE": 2000, "TARGET_DATA_RATE": 1000 + float64(i), "LAG": float64(i % 50)},
				"map": {"LOAD": 0.6, "TRUE_PROCESSING_RATE": 1800, "TARGET_DATA_RATE": 1000 + float64(i)}}}
			if i%120 == 119 {
				d.Scaled, d.Reason = true, "scale up: vertex map at 95% utilization"
				d.Parallelism = map[string]int{"src": p + 1, "map": 2 * (p + 1)}
			}
			r.ObserveCycle(key, "flinktune", snap, d, at)
		}
	}
}
