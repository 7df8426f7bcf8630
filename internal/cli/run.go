package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flinktune/flinktune/autoscaler/policies"
	"github.com/flinktune/flinktune/controller"
	"github.com/flinktune/flinktune/dashboard"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/store"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// runConfig is the --config file of flinktune run.
type runConfig struct {
	DataDir     string            `yaml:"dataDir"`
	Interval    string            `yaml:"interval"`
	Policy      string            `yaml:"policy"`
	DryRun      bool              `yaml:"dryRun"`
	AllJobs     bool              `yaml:"allJobs"`
	Listen      string            `yaml:"listen"`
	Parallelism int               `yaml:"parallelism"`
	Config      map[string]string `yaml:"config"`
	Clusters    []clusterConfig   `yaml:"clusters"`
}

type clusterConfig struct {
	URL            string            `yaml:"url"`
	Name           string            `yaml:"name"`
	Timeout        string            `yaml:"timeout"`
	CAFile         string            `yaml:"caFile"`
	Username       string            `yaml:"username"`
	PasswordEnv    string            `yaml:"passwordEnv"`
	BearerTokenEnv string            `yaml:"bearerTokenEnv"`
	Headers        map[string]string `yaml:"headers"`
}

func loadRunConfig(path string) (*runConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rc runConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i, c := range rc.Clusters {
		if c.URL == "" {
			return nil, fmt.Errorf("%s: clusters[%d]: url is required", path, i)
		}
	}
	return &rc, nil
}

// runFlags are flinktune run's flags.
type runFlags struct {
	flinks, sets, headers                         []string
	configFile, dataDir, policy, listen, interval string
	caFile, token, user, timeout                  string
	dryRun, allJobs                               bool
	parallelism                                   int
	retention                                     time.Duration
	compress                                      float64
	retentionEvents, retentionHistory             int
	dashboardPoints                               int
	logFormat, logLevel                           string
	localDir                                      string
	ko                                            kubeOptions
}

const runLong = `Watch one or more Flink clusters through their REST API, find their jobs, and scale
each job's vertices in place through PUT /jobs/<id>/resource-requirements (Flink 1.18+,
jobmanager.scheduler: adaptive).

Each job is managed when its configuration (GET /jobs/<id>/jobmanager/config) has
job.autoscaler.enabled: true, or for every job with --all-jobs. Its job.autoscaler.*
options apply to it; flinktune.policy picks its policy (default: --policy).
With --dry-run, or job.autoscaler.scaling.enabled: false, decisions are only recorded
as events ("flinktune events").

State (metric windows, scaling history, events) lives in --data-dir and survives
restarts and kill -9: a decision is written before it is sent to Flink, so a restarted
flinktune neither loses history nor rescales twice. SIGTERM finishes in-flight work.
Events and history are pruned by age and count (--retention*). A damaged data
directory is refused with the way out (flinktune store check|repair|export).

--interval is time on each cluster's JobManager clock: run measures each cluster's clock rate
at start, so that against a simulator running faster than real time (flinktune sim --speed 60)
every job is still cycled every --interval of its own time (scenarios/FORMAT.md, "Time scale").
At the info log level run says why a job is not acted on: not enabled (without --all-jobs),
collecting metrics (and for how long), stabilizing, or cycles too far apart in the job's time.

Options given with --set or the config file's config: are checked before anything runs
(unknown job.autoscaler.* and flinktune.* keys, with a "did you mean", and bad values exit 2).

--listen serves the dashboard at / (its API: /api/v1/jobs, /api/v1/job; see
dashboard/API.md), /metrics (Prometheus), /healthz and /api/v1/events. The dashboard
keeps the last --dashboard-points samples of each job in memory (360: an hour at a
10 s interval, about 6 MiB for 200 jobs). run sets Go's garbage collector to GOGC=50 (the
heap grows to 1.5 times what is live, not twice: a little more CPU for less memory) unless
the GOGC or GOMEMLIMIT environment variable is set; then yours applies (e.g. GOMEMLIMIT=40MiB,
a soft limit, for 200 jobs). /healthz answers 503 with the reason while the
data directory cannot record (damaged, full disk): no change is applied to a job then.

--kubernetes (in a pod, or with --kubeconfig) watches the namespace's FlinkDeployments and
FlinkSessionJobs annotated flinktune.io/enabled: "true" (their job.autoscaler.* options come
from spec.flinkConfiguration; resources whose operator autoscaler is enabled are left alone)
and TaskManager Deployments labelled flinktune.io/reactive=true (reactive mode; annotations
flinktune.io/rest-url, min-replicas, max-replicas, slots-per-taskmanager). Parallelism is
applied as pipeline.jobvertex-parallelism-overrides and memory as spec.*.resource.memory by
server-side apply (field manager flinktune, never forced: conflicts are reported), replicas
within --k8s-budget-*. Replicas elect a leader through a Lease; the history of applied
changes is kept on each resource (annotation flinktune.io/history). Events go on the
resources. deploy/ has the manifests.`

const runExample = `  flinktune run --flink http://localhost:8081 --all-jobs
  flinktune run --flink https://flink-a:8081 --flink https://flink-b:8081 --ca-file ca.pem --token-env FLINK_TOKEN
  flinktune run --config flinktune.yaml --dry-run --listen :9249
  flinktune run --flink http://localhost:8081 --policy operator --set job.autoscaler.metrics.window=10m
  flinktune run --kubernetes --namespace flink --kubeconfig ~/.kube/config
  flinktune run --local-dir ~/.cache/flinktune/local --all-jobs --set job.autoscaler.memory.tuning.enabled=true`

func newRunCmd() *cobra.Command {
	rf := &runFlags{}
	cmd := &cobra.Command{
		Use:     "run (--flink URL [--flink URL...] | --config FILE)",
		Short:   "Autoscale the jobs of one or more Flink clusters in place",
		Long:    runLong + localRunHelp,
		Example: runExample,
		Args:    cobra.NoArgs,
		RunE:    rf.run,
	}
	rf.register(cmd)
	return cmd
}

func (rf *runFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&rf.flinks, "flink", nil, "REST endpoint of a Flink cluster (repeatable)")
	f.StringVar(&rf.configFile, "config", "", "YAML file with clusters and settings (see --help)")
	f.StringVar(&rf.localDir, "local-dir", "", "state directory of a flinktune local up cluster: apply memory tuning by restarting its TaskManagers (see --help)")
	f.StringVar(&rf.dataDir, "data-dir", defaultDataDir(), "directory of the persistent state")
	f.StringVar(&rf.policy, "policy", "flinktune", "default policy: "+strings.Join(policies.Names(), " or "))
	f.StringVar(&rf.interval, "interval", "10s", "time between cycles")
	f.StringVar(&rf.listen, "listen", "", "address of the dashboard, /metrics, /healthz and /api/v1/events (e.g. 127.0.0.1:9249)")
	f.BoolVar(&rf.dryRun, "dry-run", false, "record recommendations, apply nothing")
	f.BoolVar(&rf.allJobs, "all-jobs", false, "manage every job, not only those with job.autoscaler.enabled: true")
	f.IntVar(&rf.parallelism, "parallelism", 16, "jobs cycled concurrently")
	f.Float64Var(&rf.compress, "compress", 1, "divide every job-time window of the policy and the memory tuner (--set value or default) by this factor, for a scenario compressed as much on a real Flink (local submit --compress)")
	f.StringArrayVar(&rf.sets, "set", nil, "key=value under every job's configuration, e.g. job.autoscaler.utilization.target=0.7")
	f.StringVar(&rf.caFile, "ca-file", "", "PEM file of the CA that signed the clusters' TLS certificates")
	f.StringVar(&rf.token, "token-env", "", "environment variable holding a bearer token")
	f.StringVar(&rf.user, "user", "", "basic-auth user (password from $FLINK_PASSWORD)")
	f.StringArrayVar(&rf.headers, "header", nil, "extra HTTP header Name=value (repeatable)")
	f.StringVar(&rf.timeout, "timeout", "5s", "deadline of each REST call")
	f.DurationVar(&rf.retention, "retention", 30*24*time.Hour, "drop events and history older than this (0: keep)")
	f.IntVar(&rf.retentionEvents, "retention-events", 100000, "keep at most this many events (0: no limit)")
	f.IntVar(&rf.retentionHistory, "retention-history", 1000, "keep at most this many history entries per job (0: no limit)")
	f.IntVar(&rf.dashboardPoints, "dashboard-points", dashboard.DefaultPoints, "samples of each job's time series kept in memory for the dashboard")
	f.StringVar(&rf.logFormat, "log-format", "text", "text or json")
	f.StringVar(&rf.logLevel, "log-level", "info", "debug (every job cycle and its reason), info, warn or error")
	f.BoolVar(&rf.ko.enabled, "kubernetes", false, "find jobs as FlinkDeployments, FlinkSessionJobs and reactive TaskManager Deployments (see --help)")
	f.StringVar(&rf.ko.namespace, "namespace", "", "with --kubernetes: the namespace to watch (default: the pod's or the kubeconfig context's)")
	f.StringVar(&rf.ko.kubeconfig, "kubeconfig", "", "with --kubernetes: a kubeconfig file (default: the in-cluster service account)")
	f.StringVar(&rf.ko.context, "context", "", "with --kubeconfig: the context (default: current-context)")
	f.StringVar(&rf.ko.identity, "identity", "", "with --kubernetes: this replica's name in the lease (default: the host name, the pod's name)")
	f.StringVar(&rf.ko.lease, "lease", "flinktune", "with --kubernetes: the coordination.k8s.io Lease replicas elect a leader with")
	f.DurationVar(&rf.ko.leaseDuration, "lease-duration", 15*time.Second, "with --kubernetes: how long a leader's lease lasts without renewal (the takeover time)")
	f.StringVar(&rf.ko.budgetCPU, "k8s-budget-cpu", "", "with --kubernetes: CPU all reactive TaskManager Deployments may request together, e.g. 64 or 64000m")
	f.StringVar(&rf.ko.budgetMemory, "k8s-budget-memory", "", "with --kubernetes: memory they may request together, e.g. 256Gi")
	f.DurationVar(&rf.ko.timeout, "k8s-timeout", 10*time.Second, "with --kubernetes: deadline of each API server call")
}

// run checks everything given (in the order the errors are listed in --help's sections: the
// config file and flags, the jobs' options, headers, clusters, limits) before it opens the
// store, then runs the controllers until SIGTERM.
func (rf *runFlags) run(cmd *cobra.Command, _ []string) error {
	rc, pr, every, err := rf.runConfig(cmd)
	if err != nil {
		return err
	}
	base, err := rf.jobOptions(rc)
	if err != nil {
		return err
	}
	var extra []flinkrest.Option
	for _, h := range rf.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return usagef("--header %q: want Name=value", h)
		}
		extra = append(extra, flinkrest.WithHeader(k, v))
	}
	log, err := newLogger(cmd, rf.logFormat, rf.logLevel)
	if err != nil {
		return err
	}
	clusters, clients, err := buildClusters(rc.Clusters, extra)
	if err != nil {
		return usageError{err}
	}
	withLocalRealizer(clusters, pr, base, log)
	if rf.retention < 0 || rf.retentionEvents < 0 || rf.retentionHistory < 0 {
		return usagef("--retention, --retention-events and --retention-history: want 0 (keep all) or more")
	}
	if rf.dashboardPoints < 1 {
		return usagef("--dashboard-points %d: want at least 1 sample per job", rf.dashboardPoints)
	}
	if defaultRunGC(os.LookupEnv) {
		log.Debug("garbage collector target set", "GOGC", runGCPercent)
	}
	st, err := store.Open(rc.DataDir)
	if err != nil {
		return err // a damaged store's error names the recovery commands
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return rf.serve(ctx, runSetup{rc: rc, every: every, base: base, log: log, st: st, clusters: clusters, clients: clients})
}

// runConfig merges the config file with the flags (flags win) and checks the result: clusters,
// --listen, --parallelism, --policy and --interval. With --local-dir it wires the process
// realizer of that local cluster.
func (rf *runFlags) runConfig(cmd *cobra.Command) (*runConfig, *local.ProcessRealizer, time.Duration, error) {
	rc := &runConfig{}
	if rf.configFile != "" {
		var err error
		if rc, err = loadRunConfig(rf.configFile); err != nil {
			return nil, nil, 0, usageError{err}
		}
	}
	rf.mergeInto(cmd, rc)
	var pr *local.ProcessRealizer
	if rf.localDir != "" {
		var lerr error
		if pr, lerr = wireLocal(rf.localDir, rc); lerr != nil {
			return nil, nil, 0, usageError{lerr}
		}
	}
	if len(rc.Clusters) == 0 && !rf.ko.enabled {
		return nil, nil, 0, usagef("no cluster: pass --flink URL (repeatable), --config FILE or --kubernetes")
	}
	if len(rc.Clusters) > 0 && rf.ko.enabled {
		return nil, nil, 0, usagef("--kubernetes finds its clusters itself: drop --flink and the config file's clusters")
	}
	if rc.Listen != "" {
		if err := checkListen("--listen", rc.Listen); err != nil {
			return nil, nil, 0, err
		}
	}
	if rc.Parallelism < 1 {
		return nil, nil, 0, usagef("--parallelism %d: want at least 1 job cycle at a time", rc.Parallelism)
	}
	if !policies.Valid(rc.Policy) {
		return nil, nil, 0, usagef("--policy %q: want one of %s", rc.Policy, strings.Join(policies.Names(), ", "))
	}
	every, perr := flinkconf.ParseDuration(rc.Interval)
	if perr != nil || every <= 0 {
		return nil, nil, 0, usagef("--interval %q: want a duration such as 10s", rc.Interval)
	}
	return rc, pr, every, nil
}

// mergeInto sets the flags given, and those the file leaves unset, on the config file's settings,
// and adds the --flink clusters to the file's.
func (rf *runFlags) mergeInto(cmd *cobra.Command, rc *runConfig) {
	changed := cmd.Flags().Changed
	if changed("data-dir") || rc.DataDir == "" {
		rc.DataDir = rf.dataDir
	}
	if changed("policy") || rc.Policy == "" {
		rc.Policy = rf.policy
	}
	if changed("interval") || rc.Interval == "" {
		rc.Interval = rf.interval
	}
	if changed("listen") || rc.Listen == "" {
		rc.Listen = rf.listen
	}
	if changed("parallelism") || rc.Parallelism == 0 {
		rc.Parallelism = rf.parallelism
	}
	rc.DryRun = rc.DryRun || rf.dryRun
	rc.AllJobs = rc.AllJobs || rf.allJobs
	for _, u := range rf.flinks {
		rc.Clusters = append(rc.Clusters, clusterConfig{URL: u, Timeout: rf.timeout, CAFile: rf.caFile, Username: rf.user,
			PasswordEnv: "FLINK_PASSWORD", BearerTokenEnv: rf.token})
	}
}

// jobOptions is the configuration under every job: the config file's config, then --set,
// compressed by --compress, checked (unknown keys and bad values name where they came from).
func (rf *runFlags) jobOptions(rc *runConfig) (*flinkconf.Config, error) {
	base, err := withOverrides(rc.Config, rf.sets)
	if err != nil {
		return nil, err
	}
	if rf.compress != 1 {
		// The policy's windows mean the same share of a scenario compressed as much
		// (flinktune local submit --compress; scenarios/FORMAT.md, "Time scale").
		if err := policies.Compress(base, rc.Policy, rf.compress); err != nil {
			return nil, usageError{err}
		}
	}
	where := "--set"
	if rf.configFile != "" {
		where = rf.configFile + " (config) and --set"
	}
	if err := checkOptions(where, base); err != nil {
		return nil, err
	}
	return base, nil
}

// runSetup is what run has checked and opened before its controllers start.
type runSetup struct {
	rc       *runConfig
	every    time.Duration
	base     *flinkconf.Config
	log      *slog.Logger
	st       *store.Store
	clusters []controller.Cluster
	clients  []*flinkrest.Client
}

// serve runs the controllers (one per group of clusters sharing a clock rate; under
// --kubernetes, the leader's for the resources it finds) and, with --listen, the dashboard,
// /metrics, /healthz and /api/v1/events, until ctx ends.
func (rf *runFlags) serve(ctx context.Context, rs runSetup) error {
	rc, log := rs.rc, rs.log
	metrics := controller.NewMetrics()
	// The dashboard's history is kept only when it is served (--listen).
	rec := dashboard.NewRecorder(rf.dashboardPoints)
	var observer controller.Observer
	if rc.Listen != "" {
		observer = rec
	}
	build := func(ctx context.Context, clusters []controller.Cluster, clients []*flinkrest.Client) []*controller.Controller {
		groups := groupByClock(ctx, log, clusters, clients, rs.every)
		ctls := make([]*controller.Controller, len(groups))
		for i, g := range groups {
			ctls[i] = controller.New(rs.st, g.clusters, policies.New, controller.Options{
				Interval: g.wall, Parallelism: rc.Parallelism, DryRun: rc.DryRun, AllJobs: rc.AllJobs,
				Policy: rc.Policy, Base: rs.base, Logger: log, Metrics: metrics, Observer: observer,
				Retention: store.Retention{MaxAge: rf.retention, MaxEvents: rf.retentionEvents, MaxHistory: rf.retentionHistory},
			})
		}
		return ctls
	}
	// Under --kubernetes the leader builds its controllers as it finds resources; health is
	// then the store's. Otherwise the controllers are built now and health is theirs.
	var (
		health func() error
		ctls   []*controller.Controller
		kr     *kubeRun
	)
	if rf.ko.enabled {
		var err error
		if kr, err = newKubeRun(rf.ko, log, rs.st); err != nil {
			return err
		}
		kr.newControllers = build
		health = rs.st.Health
	} else {
		ctls = build(ctx, rs.clusters, rs.clients)
		health = func() error {
			for _, c := range ctls {
				if err := c.Health(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if rc.Listen != "" {
		srv, addr, err := serveRun(rc.Listen, metrics, rs.st, health, dashboard.Handler(rec, rs.st))
		if err != nil {
			return err
		}
		defer srv.Shutdown(context.Background())
		log.Info("serving", "dashboard", "http://"+addr+"/", "metrics", "http://"+addr+"/metrics", "events", "http://"+addr+"/api/v1/events")
	}
	if kr != nil {
		err := kr.run(ctx)
		if ctx.Err() != nil {
			err = nil // SIGTERM: the lease was released
		}
		log.Info("flinktune run stopped", "err", err)
		return err
	}
	names := make([]string, len(rs.clusters))
	for i, c := range rs.clusters {
		names[i] = c.Name
	}
	log.Info("flinktune run started", "clusters", names, "policy", rc.Policy, "interval", rs.every.String(),
		"dryRun", rc.DryRun, "allJobs", rc.AllJobs, "dataDir", rc.DataDir)
	err := runControllers(ctx, ctls)
	log.Info("flinktune run stopped")
	return err
}

func buildClusters(cfgs []clusterConfig, extra []flinkrest.Option) ([]controller.Cluster, []*flinkrest.Client, error) {
	var out []controller.Cluster
	var clients []*flinkrest.Client
	seen := map[string]bool{}
	for _, c := range cfgs {
		raw := c.URL
		c.URL = flinkrest.RedactURL(raw) // in messages; flinkrest.New gets the original
		opts := append([]flinkrest.Option(nil), extra...)
		perCall := 5 * time.Second
		if c.Timeout != "" {
			d, perr := flinkconf.ParseDuration(c.Timeout)
			if perr != nil || d <= 0 {
				return nil, nil, fmt.Errorf("cluster %s: timeout %q: want a duration such as 5s", c.URL, c.Timeout)
			}
			perCall = d
		}
		opts = append(opts, flinkrest.WithTimeout(perCall))
		if c.CAFile != "" {
			opts = append(opts, flinkrest.WithCAFile(c.CAFile))
		}
		if c.Username != "" {
			// A missing password is a configuration error, never an empty password.
			if c.PasswordEnv == "" {
				return nil, nil, fmt.Errorf("cluster %s: username %q needs passwordEnv, the environment variable holding the password", c.URL, c.Username)
			}
			pass, ok := os.LookupEnv(c.PasswordEnv)
			if !ok || pass == "" {
				return nil, nil, fmt.Errorf("cluster %s: environment variable %s (password of user %q) is not set", c.URL, c.PasswordEnv, c.Username)
			}
			opts = append(opts, flinkrest.WithBasicAuth(c.Username, pass))
		}
		if c.BearerTokenEnv != "" {
			tok, ok := os.LookupEnv(c.BearerTokenEnv)
			if !ok || tok == "" {
				return nil, nil, fmt.Errorf("cluster %s: environment variable %s (bearer token) is not set", c.URL, c.BearerTokenEnv)
			}
			opts = append(opts, flinkrest.WithBearerToken(tok))
		}
		for k, v := range c.Headers {
			opts = append(opts, flinkrest.WithHeader(k, v))
		}
		client, err := flinkrest.New(raw, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster %s: %w", c.URL, err)
		}
		name := c.Name
		if name == "" {
			name = client.BaseURL()
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("cluster %s listed twice", name)
		}
		seen[name] = true
		// The collector's per-call budget covers the client's retries.
		out = append(out, controller.FlinkCluster(name, client, 3*perCall))
		clients = append(clients, client)
	}
	return out, clients, nil
}

func newLogger(cmd *cobra.Command, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// serveRun serves /metrics, /healthz (and /readyz) and /api/v1/events. /healthz fails
// (503, with the reason) while health does: the store is damaged, not responding or
// failing writes, or jobs cannot record their cycles.
func serveRun(addr string, m *controller.Metrics, st *store.Store, health func() error, dash http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	debugHandlers(mux)
	if dash != nil {
		mux.Handle("/", dash) // the dashboard and its API (/api/v1/jobs, /api/v1/job)
	}
	healthz := func(w http.ResponseWriter, _ *http.Request) {
		if err := health(); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	mux.HandleFunc("/healthz", healthz)
	mux.HandleFunc("/readyz", healthz)
	mux.HandleFunc("/api/v1/events", func(w http.ResponseWriter, r *http.Request) {
		q := store.EventQuery{JobID: r.URL.Query().Get("job")}
		if s := r.URL.Query().Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				http.Error(w, "since: want RFC 3339, e.g. 2026-01-01T00:00:00Z", http.StatusBadRequest)
				return
			}
			q.Since = t
		}
		if s := r.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, "limit: want a non-negative integer", http.StatusBadRequest)
				return
			}
			q.Limit = n
		}
		evs, skipped, err := st.EventsChecked(q)
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		if len(skipped) > 0 {
			// Unreadable records are left out, and said so.
			w.Header().Set("X-Flinktune-Skipped-Records", strconv.Itoa(len(skipped)))
		}
		if evs == nil {
			evs = []store.Event{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(evs)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics server", "err", err)
		}
	}()
	return srv, ln.Addr().String(), nil
}
