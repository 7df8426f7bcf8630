package controller

import (
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics exports the controller's view in Prometheus format: per-vertex evaluated metrics,
// current and recommended parallelism, and per-job decision counters. It owns its registry
// (no global state), so several controllers can run in one process.
type Metrics struct {
	reg       *prometheus.Registry
	vertex    *prometheus.GaugeVec
	parallel  *prometheus.GaugeVec
	recommend *prometheus.GaugeVec
	scalings  *prometheus.CounterVec
	balanced  *prometheus.CounterVec
	notReady  *prometheus.CounterVec
	errors    *prometheus.CounterVec
	realizes  *prometheus.CounterVec
	clusters  *prometheus.CounterVec
	badData   *prometheus.CounterVec
	skipped   *prometheus.CounterVec
	cycleDur  *prometheus.GaugeVec
	storeErrs prometheus.Counter
	unrecord  prometheus.Gauge

	mu   sync.Mutex
	seen map[store.JobKey]map[string]bool // vertex series per job, to drop vanished vertices
}

// NewMetrics creates the metrics with a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		vertex: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinktune_vertex_metric",
			Help: "Evaluated per-vertex metric (LOAD, TRUE_PROCESSING_RATE, TARGET_DATA_RATE, LAG, ...) from the job's policy.",
		}, []string{"cluster", "job", "vertex", "metric"}),
		parallel: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinktune_vertex_parallelism", Help: "Parallelism the vertex runs with.",
		}, []string{"cluster", "job", "vertex"}),
		recommend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinktune_vertex_recommended_parallelism", Help: "Parallelism the policy wants for the vertex.",
		}, []string{"cluster", "job", "vertex"}),
		scalings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_scalings_total", Help: "Cycles that produced a new scaling decision.",
		}, []string{"cluster", "job", "policy"}),
		balanced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_balanced_total", Help: "Cycles that evaluated the job and kept its parallelism.",
		}, []string{"cluster", "job", "policy"}),
		notReady: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_not_ready_total", Help: "Cycles without enough metrics to decide (stabilizing, window filling, stale data).",
		}, []string{"cluster", "job", "policy"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_errors_total", Help: "Job cycles that failed (collection, policy or realization).",
		}, []string{"cluster", "job"}),
		realizes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_rescale_requests_total", Help: "Resource-requirement changes sent to Flink.",
		}, []string{"cluster", "job"}),
		clusters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_cluster_errors_total", Help: "Failed job listings per cluster.",
		}, []string{"cluster"}),
		badData: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_bad_data_total", Help: "Job cycles skipped because Flink sent implausible values (non-finite, negative, out of range or malformed).",
		}, []string{"cluster", "job"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinktune_cluster_skipped_jobs_total", Help: "Job cycles not started because the cluster's cycle reached its interval (workers busy with slow calls).",
		}, []string{"cluster"}),
		cycleDur: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinktune_cluster_cycle_duration_seconds", Help: "Duration of the cluster's last cycle (at most the interval: slower jobs finish in the background).",
		}, []string{"cluster"}),
		storeErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flinktune_store_errors_total", Help: "Commits to the data directory that failed (full disk, damaged store).",
		}),
		unrecord: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flinktune_jobs_unrecordable", Help: "Jobs whose last commit failed: nothing is applied to them until the store records again.",
		}),
		seen: map[store.JobKey]map[string]bool{},
	}
	m.reg.MustRegister(m.vertex, m.parallel, m.recommend, m.scalings, m.balanced, m.notReady, m.errors, m.realizes, m.clusters, m.badData,
		m.skipped, m.cycleDur, m.storeErrs, m.unrecord,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry (tests, embedding).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// The methods below are no-ops on a nil *Metrics so the controller can run without them.

func (m *Metrics) observe(key store.JobKey, policy string, snap *autoscaler.Snapshot, d autoscaler.Decision) {
	if m == nil {
		return
	}
	switch {
	case !d.Ready:
		m.notReady.WithLabelValues(key.Cluster, key.JobID, policy).Inc()
	case d.Scaled:
		m.scalings.WithLabelValues(key.Cluster, key.JobID, policy).Inc()
	default:
		m.balanced.WithLabelValues(key.Cluster, key.JobID, policy).Inc()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	for _, v := range snap.Vertices {
		now[v.ID] = true
		m.parallel.WithLabelValues(key.Cluster, key.JobID, v.ID).Set(float64(v.Parallelism))
		if p, ok := d.Parallelism[v.ID]; ok {
			m.recommend.WithLabelValues(key.Cluster, key.JobID, v.ID).Set(float64(p))
		}
		for name, val := range d.Evaluated[v.ID] {
			if !math.IsNaN(val) {
				m.vertex.WithLabelValues(key.Cluster, key.JobID, v.ID, name).Set(val)
			}
		}
	}
	for v := range m.seen[key] {
		if !now[v] {
			labels := prometheus.Labels{"cluster": key.Cluster, "job": key.JobID, "vertex": v}
			m.parallel.Delete(labels)
			m.recommend.Delete(labels)
			m.vertex.DeletePartialMatch(labels)
		}
	}
	m.seen[key] = now
}

func (m *Metrics) jobError(key store.JobKey) {
	if m != nil {
		m.errors.WithLabelValues(key.Cluster, key.JobID).Inc()
	}
}

func (m *Metrics) realized(key store.JobKey) {
	if m != nil {
		m.realizes.WithLabelValues(key.Cluster, key.JobID).Inc()
	}
}

func (m *Metrics) clusterError(cluster string) {
	if m != nil {
		m.clusters.WithLabelValues(cluster).Inc()
	}
}

func (m *Metrics) badDataSeen(key store.JobKey) {
	if m != nil {
		m.badData.WithLabelValues(key.Cluster, key.JobID).Inc()
	}
}

func (m *Metrics) clusterCycle(cluster string, d time.Duration, skipped int) {
	if m != nil {
		m.cycleDur.WithLabelValues(cluster).Set(d.Seconds())
		if skipped > 0 {
			m.skipped.WithLabelValues(cluster).Add(float64(skipped))
		}
	}
}

func (m *Metrics) storeError() {
	if m != nil {
		m.storeErrs.Inc()
	}
}

func (m *Metrics) unrecordable(n int) {
	if m != nil {
		m.unrecord.Set(float64(n))
	}
}
