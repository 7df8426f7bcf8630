package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/flinktune/flinktune/internal/testutil"
	"github.com/spf13/cobra"
)

// flinkBenchFlags are bench's flags for --on flink: the full real-Flink matrix as one command.
type flinkBenchFlags struct {
	on        string
	versions  string
	out       string
	run       string
	env       []string
	repo      string
	aggregate string
	lock      string
	timeout   time.Duration
}

// FullMatrixEnv is set to 1 for the tests `bench --on flink` runs: a test with a CI subset
// (one policy, a few tiny budgets, ...) runs its whole matrix when it is set.
const FullMatrixEnv = "FLINKTUNE_FULL_MATRIX"

func (f *flinkBenchFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.on, "on", "sim", "sim (the simulator) or flink: run the real-Flink integration tests that record results (see below)")
	fl.StringVar(&f.versions, "versions", "1.20.5,2.2.1", "with --on flink: Flink versions, comma-separated")
	fl.StringVar(&f.out, "out", "flinktune-bench-flink.json", "with --on flink: the aggregated results file (a .md summary is written beside it)")
	fl.StringVar(&f.run, "run", "", "with --on flink: go test -run pattern (default: every integration test that records a result)")
	fl.StringArrayVar(&f.env, "env", nil, "with --on flink: KEY=VALUE for the tests (repeatable), e.g. FLINKTUNE_AUTOSCALE_POLICY=flinktune")
	fl.StringVar(&f.repo, "repo", "", "with --on flink: the flinktune source tree (default: found from the working directory)")
	fl.StringVar(&f.aggregate, "aggregate", "", "with --on flink: only aggregate the result files under DIR (DIR/<version>/*.json) into --out, keeping the runs it lists")
	fl.DurationVar(&f.timeout, "test-timeout", 90*time.Minute, "with --on flink: go test -timeout per version (with --lock: per test)")
	fl.StringVar(&f.lock, "lock", "", "with --on flink: a lock file held (flock) around each test and released between tests, so that others sharing the machine's real Flink get their turn; each test then runs as its own go test")
}

const benchFlinkHelp = `

With --on flink, bench runs on real Flink instead: for each of --versions it
prepares the cluster classpath (scripts/integration.d/10-real-flink.sh), then runs
the source tree's integration tests that record results (those calling
testutil.WriteResult, found by reading the code; --run overrides) with
FLINKTUNE_RESULTS_DIR, FLINKTUNE_FULL_MATRIX=1 and both policies set, and
aggregates every result file into --out: versions, machine (CPU, cores, memory,
kernel, JDK), date, each test's outcome and time, and the results themselves,
plus a readable summary in the .md beside it. It needs the source tree and Maven.
On a machine shared with other real-Flink users, --lock FILE runs one test at a
time under that lock (the matrix takes over an hour; nobody waits that long).`

// onFlink runs the matrix (or only aggregates) and writes the results.
func (f *flinkBenchFlags) onFlink(cmd *cobra.Command) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd.SetContext(ctx)
	if f.on != "flink" {
		return usagef("--on %q: want sim or flink", f.on)
	}
	versions := splitList(f.versions)
	if len(versions) == 0 {
		return usagef("--versions %q: want versions such as 1.20.5,2.2.1", f.versions)
	}
	for _, kv := range f.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usagef("--env %q: want KEY=VALUE", kv)
		}
	}
	stderr := cmd.ErrOrStderr()
	resultsDir := f.aggregate
	var runs, fresh []flinkTestRun // fresh: this invocation's runs
	if resultsDir != "" {
		runs = earlierRuns(f.out, nil, true) // re-aggregating keeps the runs --out names
	} else {
		repo, err := findRepo(f.repo)
		if err != nil {
			return err
		}
		tests, err := discoverResultTests(repo)
		if err != nil {
			return err
		}
		pattern := f.run
		var pkgs []string
		if pattern == "" {
			if len(tests) == 0 {
				return fmt.Errorf("no integration test in %s calls testutil.WriteResult; give --run", repo)
			}
			pattern, pkgs = testPattern(tests)
		} else {
			pkgs = integrationPackages(tests)
		}
		var units []resultTest // with --lock: the tests run one by one
		if f.lock != "" {
			if units, err = matchingTests(tests, f.run); err != nil {
				return err
			}
			if len(units) == 0 {
				return usagef("--run %q matches no integration test that records results (--lock runs those one by one)", f.run)
			}
		}
		resultsDir = strings.TrimSuffix(f.out, filepath.Ext(f.out)) + ".d"
		runs = earlierRuns(f.out, versions, f.run != "")
		commit := treeCommit(repo)
		for _, v := range versions {
			fmt.Fprintf(stderr, "Flink %s: preparing ...\n", v)
			r := flinkTestRun{Version: v, Pattern: pattern, Packages: pkgs, units: units, Commit: commit,
				Started: time.Now().UTC().Format(time.RFC3339)}
			err := f.runVersion(cmd, repo, filepath.Join(resultsDir, v), &r)
			if err != nil {
				r.Error = err.Error()
				fmt.Fprintf(stderr, "Flink %s: %v\n", v, err)
			}
			fresh = append(fresh, r)
		}
		runs = append(runs, fresh...)
	}
	doc, err := aggregateResults(resultsDir, versions, runs)
	if err != nil {
		return err
	}
	data, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(f.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	md := strings.TrimSuffix(f.out, filepath.Ext(f.out)) + ".md"
	if err := os.WriteFile(md, []byte(doc.markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "results: %s (%d results), summary: %s\n", f.out, len(doc.Results), md)
	for _, r := range fresh {
		if r.Error != "" || r.Failed > 0 {
			return fmt.Errorf("Flink %s: %d tests failed %s", r.Version, r.Failed, r.Error)
		}
	}
	return nil
}

// flinkTestRun is one version's go test run.
type flinkTestRun struct {
	Version string `json:"version"`
	// Started is when the run began; Commit the source tree's commit (+dirty when it had
	// uncommitted changes): a matrix put together from several invocations names each.
	Started  string          `json:"started,omitempty"`
	Commit   string          `json:"commit,omitempty"`
	Pattern  string          `json:"pattern"`
	Packages []string        `json:"packages"`
	Tests    []flinkTestStat `json:"tests"`
	Failed   int             `json:"failed"`
	Seconds  float64         `json:"seconds"`
	Log      string          `json:"log,omitempty"`
	Error    string          `json:"error,omitempty"`
	// units, with --lock, are the tests to run one at a time under the lock.
	units []resultTest
}

type flinkTestStat struct {
	Package string  `json:"package"`
	Test    string  `json:"test"`
	Result  string  `json:"result"` // pass, fail or skip
	Seconds float64 `json:"seconds"`
}

func (f *flinkBenchFlags) runVersion(cmd *cobra.Command, repo, dir string, r *flinkTestRun) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Old results of this version would be mistaken for new ones; a rerun of some tests
	// (--run) replaces only the files those tests write and keeps the rest of the matrix.
	if f.run == "" {
		old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, p := range old {
			os.Remove(p)
		}
	}
	prep := exec.CommandContext(cmd.Context(), "bash", "scripts/integration.d/10-real-flink.sh")
	prep.Dir = repo
	prep.Env = append(os.Environ(), "FLINKTUNE_PREPARE_ONLY=1", "FLINKTUNE_FLINK_VERSIONS="+r.Version)
	prep.Stderr = cmd.ErrOrStderr()
	out, err := prep.Output()
	if err != nil {
		return fmt.Errorf("preparing the classpath: %w", err)
	}
	dists := ""
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "FLINKTUNE_FLINK_DISTS="); ok {
			dists = v
		}
	}
	if dists == "" {
		return fmt.Errorf("preparing the classpath: no FLINKTUNE_FLINK_DISTS in its output:\n%s", out)
	}
	abs, _ := filepath.Abs(dir)
	// Logs go beside the results directory, never into it: every JSON in it is a result.
	logs := filepath.Dir(abs) + "-logs"
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	env := append(os.Environ(), "FLINKTUNE_FLINK_DISTS="+dists, testutil.ResultsDirEnv+"="+abs,
		FullMatrixEnv+"=1", "FLINKTUNE_AUTOSCALE_POLICY=operator flinktune", "FLINKTUNE_FLINK_LOGS="+filepath.Join(logs, r.Version))
	env = append(env, f.env...) // later entries win
	logPath := filepath.Join(logs, r.Version+"-go-test.jsonl")
	// Appended to: the parts of a matrix run in parts keep one log per version.
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	r.Log = logPath
	start := time.Now()
	defer func() { r.Seconds = time.Since(start).Seconds() }()
	if len(r.units) == 0 {
		return f.goTest(cmd, repo, r, env, logf, r.Pattern, r.Packages)
	}
	for _, u := range r.units {
		unlock, err := flock(cmd.Context(), f.lock)
		if err != nil {
			return err
		}
		err = f.goTest(cmd, repo, r, env, logf, "^"+u.Name+"$", []string{u.Package})
		unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// earlierRuns are the runs recorded in the results file out by earlier invocations, kept so
// that a matrix run in parts (one version at a time, a failed test rerun with --run) lists
// every part: a whole run of a version (partial false) replaces that version's earlier runs,
// a rerun of some tests is added to them.
func earlierRuns(out string, versions []string, partial bool) []flinkTestRun {
	b, err := os.ReadFile(out)
	if err != nil {
		return nil
	}
	var doc benchFlinkDoc
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	var kept []flinkTestRun
	for _, r := range doc.Runs {
		replaced := false
		for _, v := range versions {
			replaced = replaced || !partial && r.Version == v
		}
		if !replaced {
			kept = append(kept, r)
		}
	}
	return kept
}

// treeCommit is repo's HEAD commit, with "+dirty" when the tree has uncommitted changes
// ("" when it is not a git tree).
func treeCommit(repo string) string {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		c += "+dirty"
	}
	return c
}

// goTest runs go test on pattern and pkgs, adding each top-level test's outcome to r.
func (f *flinkBenchFlags) goTest(cmd *cobra.Command, repo string, r *flinkTestRun, env []string, logf io.Writer, pattern string, pkgs []string) error {
	args := append([]string{"test", "-tags", "integration", "-count=1", "-p", "1", "-json",
		"-timeout", f.timeout.String(), "-run", pattern}, pkgs...)
	fmt.Fprintf(cmd.ErrOrStderr(), "Flink %s: go %s\n", r.Version, strings.Join(args, " "))
	gt := exec.CommandContext(cmd.Context(), "go", args...)
	// Stopped (Ctrl-C, a timeout), go test gets SIGTERM rather than SIGKILL, so that it can
	// stop its test binary, whose clusters die with it.
	gt.Cancel = func() error { return gt.Process.Signal(syscall.SIGTERM) }
	gt.WaitDelay = 30 * time.Second
	gt.Dir = repo
	gt.Env = env
	pr, pw := io.Pipe()
	gt.Stdout, gt.Stderr = io.MultiWriter(logf, pw), logf
	if err := gt.Start(); err != nil {
		return err
	}
	done := make(chan []flinkTestStat)
	go func() { done <- readTestEvents(pr, cmd.ErrOrStderr(), r.Version) }()
	werr := gt.Wait()
	pw.Close()
	tests := <-done
	r.Tests = append(r.Tests, tests...)
	failed := 0
	for _, t := range tests {
		if t.Result == "fail" {
			failed++
		}
	}
	r.Failed += failed
	if werr != nil && failed == 0 {
		return fmt.Errorf("go test: %v (see %s)", werr, r.Log)
	}
	return nil
}

// flock takes an exclusive lock on path (created if missing), waiting for it; the returned
// function releases it. The wait is the kernel's (a blocking flock, as flock(1) waits), not
// a poll: a poller loses every hand-over to the waiters flock(1) queues in the kernel, and
// on a busy shared lock it would wait for all of them.
func flock(ctx context.Context, path string) (func(), error) {
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--lock: %w", err)
	}
	got := make(chan error, 1)
	go func() { got <- syscall.Flock(int(lf.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			lf.Close()
			return nil, fmt.Errorf("--lock %s: %w", path, err)
		}
		return func() { _ = syscall.Flock(int(lf.Fd()), syscall.LOCK_UN); lf.Close() }, nil
	case <-ctx.Done():
		// The blocked call cannot be interrupted: release the lock as soon as it is granted.
		go func() {
			<-got
			_ = syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
			lf.Close()
		}()
		return nil, ctx.Err()
	}
}

// matchingTests are the tests whose name matches the go test -run pattern (all for "").
// Only the pattern's first level counts, as go test's does for top-level tests.
func matchingTests(tests []resultTest, pattern string) ([]resultTest, error) {
	if pattern == "" {
		return tests, nil
	}
	top, _, _ := strings.Cut(pattern, "/")
	re, err := regexp.Compile(top)
	if err != nil {
		return nil, usagef("--run %q: %v", pattern, err)
	}
	var out []resultTest
	for _, t := range tests {
		if re.MatchString(t.Name) {
			out = append(out, t)
		}
	}
	return out, nil
}

// readTestEvents reads go test -json and keeps each top-level test's outcome, echoing them.
func readTestEvents(r io.Reader, echo io.Writer, version string) []flinkTestStat {
	var out []flinkTestStat
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			Action, Package, Test string
			Elapsed               float64
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Test == "" || strings.Contains(ev.Test, "/") {
			continue
		}
		if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
			out = append(out, flinkTestStat{Package: ev.Package, Test: ev.Test, Result: ev.Action, Seconds: ev.Elapsed})
			fmt.Fprintf(echo, "Flink %s: %s %s (%.0fs)\n", version, ev.Action, ev.Test, ev.Elapsed)
		}
	}
	io.Copy(io.Discard, r)
	return out
}

// findRepo is dir, or the directory above the working directory holding flinktune's go.mod.
func findRepo(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/flinktune/flinktune\n")) {
			if _, err := os.Stat(filepath.Join(d, "scripts/integration.d/10-real-flink.sh")); err == nil {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", usagef("bench --on flink runs the integration tests of flinktune's source tree: run it inside the tree or give --repo (not found from %s)", dir)
		}
	}
}

// resultTest is an integration test that records results.
type resultTest struct {
	Package string // "./local"
	Name    string
}

// discoverResultTests reads the integration-tagged test files of the tree and returns the
// tests whose body calls WriteResult, directly or through functions of their package.
func discoverResultTests(repo string) ([]resultTest, error) {
	byPkg := map[string][]*ast.File{}
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != repo && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules" || n == "target") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ParseComments)
		if err != nil || !hasIntegrationTag(f) {
			return nil
		}
		rel, _ := filepath.Rel(repo, filepath.Dir(p))
		key := "./" + filepath.ToSlash(rel) + "|" + f.Name.Name
		byPkg[key] = append(byPkg[key], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []resultTest
	for key, files := range byPkg {
		pkg, _, _ := strings.Cut(key, "|")
		for _, name := range testsCalling(files, "WriteResult") {
			out = append(out, resultTest{Package: pkg, Name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Package+out[i].Name < out[j].Package+out[j].Name
	})
	return out, nil
}

var integrationTag = regexp.MustCompile(`^//go:build .*\bintegration\b`)

func hasIntegrationTag(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if integrationTag.MatchString(c.Text) {
				return true
			}
		}
	}
	return false
}

// testsCalling lists the Test functions of files that reach a call of target (a function or
// method name) through the files' own functions.
func testsCalling(files []*ast.File, target string) []string {
	calls := map[string]map[string]bool{} // function → names it calls
	var tests []string
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil {
				name = "." + name // methods by name: enough to follow helpers
			}
			if calls[name] == nil {
				calls[name] = map[string]bool{}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					switch fn := x.Fun.(type) {
					case *ast.Ident:
						calls[name][fn.Name] = true
					case *ast.SelectorExpr:
						calls[name][fn.Sel.Name] = true
						calls[name]["."+fn.Sel.Name] = true
					}
				case *ast.Ident: // a function passed as a value (t.Run(name, helper))
					calls[name][x.Name] = true
				}
				return true
			})
			if fd.Recv == nil && strings.HasPrefix(name, "Test") && len(fd.Type.Params.List) == 1 {
				tests = append(tests, name)
			}
		}
	}
	var out []string
	for _, t := range tests {
		seen := map[string]bool{}
		var reaches func(fn string) bool
		reaches = func(fn string) bool {
			if seen[fn] {
				return false
			}
			seen[fn] = true
			for c := range calls[fn] {
				if c == target || c == "."+target || reaches(c) {
					return true
				}
			}
			return false
		}
		if reaches(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// testPattern is a go test -run pattern matching exactly tests, and their packages.
func testPattern(tests []resultTest) (string, []string) {
	names := map[string]bool{}
	for _, t := range tests {
		names["^"+t.Name+"$"] = true
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	return strings.Join(list, "|"), integrationPackages(tests)
}

func integrationPackages(tests []resultTest) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tests {
		if !seen[t.Package] {
			seen[t.Package] = true
			out = append(out, t.Package)
		}
	}
	if len(out) == 0 {
		out = []string{"./..."}
	}
	sort.Strings(out)
	return out
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, x)
	}
	return out
}

// machineInfo names the machine the numbers were measured on.
type machineInfo struct {
	CPUModel    string `json:"cpuModel"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memoryBytes"`
	Kernel      string `json:"kernel"`
	JDK         string `json:"jdk"`
	Go          string `json:"go"`
}

func readMachine() machineInfo {
	m := machineInfo{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, line := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryBytes = kb << 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	java := "java"
	if h := os.Getenv("JAVA_HOME"); h != "" {
		java = filepath.Join(h, "bin", "java")
	}
	if out, err := exec.Command(java, "-version").CombinedOutput(); err == nil {
		m.JDK = strings.TrimSuffix(strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " ; ")), " "), " ;")
	}
	return m
}

func cpuModel(cpuinfo string) string {
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// benchFlinkDoc is the aggregated results file.
type benchFlinkDoc struct {
	Date     string            `json:"date"`
	Versions []string          `json:"versions"`
	Machine  machineInfo       `json:"machine"`
	Runs     []flinkTestRun    `json:"runs,omitempty"`
	Results  []benchFlinkEntry `json:"results"`
}

type benchFlinkEntry struct {
	Version string          `json:"version"`
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value"`
}

// aggregateResults gathers dir/<version>/*.json (and dir/*.json, version "") into one document
// (deeper files, such as logs, are not results);
// any JSON is a result, whatever test wrote it. A file that is not JSON is an error naming it.
func aggregateResults(dir string, versions []string, runs []flinkTestRun) (*benchFlinkDoc, error) {
	doc := &benchFlinkDoc{Date: time.Now().UTC().Format(time.RFC3339), Versions: versions, Machine: readMachine(), Runs: runs,
		Results: []benchFlinkEntry{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Results are dir/*.json and dir/<version>/*.json; anything deeper (logs) is not.
			if rel, _ := filepath.Rel(dir, p); rel != "." && strings.Count(filepath.ToSlash(rel), "/") >= 1 {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(p) != ".json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !json.Valid(b) {
			return fmt.Errorf("result file %s is not JSON", p)
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		v := ""
		if rel != "." {
			v = filepath.ToSlash(rel)
		}
		var compact bytes.Buffer
		json.Compact(&compact, b)
		doc.Results = append(doc.Results, benchFlinkEntry{Version: v, Name: strings.TrimSuffix(d.Name(), ".json"), Value: compact.Bytes()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("aggregating results: %w", err)
	}
	sort.Slice(doc.Results, func(i, j int) bool {
		a, b := doc.Results[i], doc.Results[j]
		return a.Version+"\x00"+a.Name < b.Version+"\x00"+b.Name
	})
	return doc, nil
}

// markdown is a person's summary: the machine, each run's tests, and every result as tables.
func (d *benchFlinkDoc) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# flinktune on real Flink (%s)\n\n", strings.Join(d.Versions, ", "))
	m := d.Machine
	fmt.Fprintf(&b, "Measured %s on %s, %d cores, %.1f GiB, Linux %s, %s, %s.\n\n", d.Date, orDash(m.CPUModel), m.Cores,
		float64(m.MemoryBytes)/(1<<30), orDash(m.Kernel), orDash(m.JDK), m.Go)
	for _, r := range d.Runs {
		fmt.Fprintf(&b, "## Flink %s: %d tests, %d failed, %.0f s\n\n", r.Version, len(r.Tests), r.Failed, r.Seconds)
		if r.Started != "" || r.Commit != "" {
			fmt.Fprintf(&b, "Started %s at commit %s, tests %s.\n\n", orDash(r.Started), orDash(r.Commit), orDash(r.Pattern))
		}
		if r.Error != "" {
			fmt.Fprintf(&b, "Error: %s\n\n", r.Error)
		}
		if len(r.Tests) > 0 {
			b.WriteString("| test | package | result | s |\n|---|---|---|---|\n")
			for _, t := range r.Tests {
				fmt.Fprintf(&b, "| %s | %s | %s | %.0f |\n", t.Test, t.Package, t.Result, t.Seconds)
			}
			b.WriteString("\n")
		}
	}
	for _, e := range d.Results {
		title := e.Name
		if e.Version != "" {
			title = "Flink " + e.Version + ": " + e.Name
		}
		fmt.Fprintf(&b, "## %s\n\n", title)
		var v any
		json.Unmarshal(e.Value, &v)
		writeValueMarkdown(&b, v)
		b.WriteString("\n")
	}
	return b.String()
}

// writeValueMarkdown renders any JSON value: a list of objects as one table (their scalar
// fields as columns); an object as a key/value table of its other fields, flattened, followed
// by a table for each of its fields that is a list of objects.
func writeValueMarkdown(b *strings.Builder, v any) {
	if list, ok := v.([]any); ok && len(list) > 0 {
		if table := objectTable(list); table != "" {
			b.WriteString(table)
			return
		}
	}
	var rows [][2]string
	var lists []string
	obj, isObj := v.(map[string]any)
	if isObj {
		for _, k := range sortedKeys(obj) {
			if list, ok := obj[k].([]any); ok && len(list) > 0 && objectTable(list) != "" {
				lists = append(lists, k)
				continue
			}
			rows = append(rows, flattenScalars(k, obj[k])...)
		}
	} else {
		rows = flattenScalars("", v)
	}
	if len(rows) == 0 && len(lists) == 0 {
		b.WriteString("(empty)\n")
		return
	}
	if len(rows) > 0 {
		b.WriteString("| key | value |\n|---|---|\n")
		const maxRows = 200
		for i, r := range rows {
			if i == maxRows {
				fmt.Fprintf(b, "| … | %d more |\n", len(rows)-maxRows)
				break
			}
			fmt.Fprintf(b, "| %s | %s |\n", r[0], r[1])
		}
	}
	for _, k := range lists {
		fmt.Fprintf(b, "\n%s:\n\n%s", k, objectTable(obj[k].([]any)))
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// objectTable is a markdown table of a list of objects, "" if the list is not all objects.
func objectTable(list []any) string {
	cols := map[string]bool{}
	var rows []map[string]string
	for _, x := range list {
		o, ok := x.(map[string]any)
		if !ok {
			return ""
		}
		row := map[string]string{}
		for _, kv := range flattenScalars("", o) {
			row[kv[0]] = kv[1]
			cols[kv[0]] = true
		}
		rows = append(rows, row)
	}
	var names []string
	for c := range cols {
		names = append(names, c)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| " + strings.Join(names, " | ") + " |\n|" + strings.Repeat("---|", len(names)) + "\n")
	for _, r := range rows {
		var cells []string
		for _, c := range names {
			cells = append(cells, r[c])
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// flattenScalars lists v's scalar leaves as (dotted path, formatted value), keys sorted.
func flattenScalars(prefix string, v any) [][2]string {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case map[string]any:
		var keys []string
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out [][2]string
		for _, k := range keys {
			out = append(out, flattenScalars(join(k), x[k])...)
		}
		return out
	case []any:
		var out [][2]string
		for i, e := range x {
			out = append(out, flattenScalars(join(fmt.Sprint(i)), e)...)
		}
		return out
	case float64:
		return [][2]string{{prefix, formatNumber(x)}}
	case nil:
		return [][2]string{{prefix, "–"}}
	default:
		s := fmt.Sprint(x)
		if len(s) > 160 || strings.Contains(s, "\n") { // a document (a YAML, a log): the JSON has it
			s = fmt.Sprintf("(%d characters, in the JSON)", len(s))
		}
		return [][2]string{{prefix, strings.ReplaceAll(s, "|", "\\|")}}
	}
}

func formatNumber(x float64) string {
	if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
		return fmt.Sprintf("%d", int64(x))
	}
	return fmt.Sprintf("%.4g", x)
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
