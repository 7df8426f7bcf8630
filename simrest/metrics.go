package simrest

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkrest"
	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/sim"
)

// Metric queries (flink-rest-api.md §6.2, §6.3): without "get" an endpoint lists the available
// names [{id}]; with "get" it answers the requested names it has, values as strings, or — for
// the aggregating endpoints — [{id, min, max, avg, sum, skew}] numbers with only the requested
// aggregates. Names no component has are left out.

// getNames parses the comma-separated "get" parameter(s); nil when absent.
func getNames(q map[string][]string) []string {
	vs, ok := q["get"]
	if !ok {
		return nil
	}
	out := []string{}
	for _, v := range vs {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// writeMetrics answers a non-aggregating metric endpoint. prefix is prepended to ids.
func writeMetrics(w http.ResponseWriter, ms []sim.Metric, q map[string][]string, prefix string) {
	names := getNames(q)
	if names == nil {
		out := []flinkrest.MetricName{}
		for _, m := range ms {
			out = append(out, flinkrest.MetricName{ID: prefix + m.ID})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	out := []flinkrest.Metric{}
	for _, n := range names {
		for _, m := range ms {
			if prefix+m.ID == n {
				out = append(out, flinkrest.Metric{ID: n, Value: m.Text})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// vertexMetrics is /jobs/{id}/vertices/{vid}/metrics: every subtask's metrics with the
// subtask index as prefix ("0.busyTimeMsPerSecond").
func (srv *Server) vertexMetrics(w http.ResponseWriter, j sim.JobView, v *sim.VertexView, q map[string][]string) {
	var all []sim.Metric
	for _, st := range v.Subtasks {
		ms, _ := srv.sim.SubtaskMetricList(j.ID, v.ID, st.Index)
		for _, m := range ms {
			m.ID = strconv.Itoa(st.Index) + "." + m.ID
			all = append(all, m)
		}
	}
	writeMetrics(w, all, q, "")
}

// parseAggs reads "agg"; nil means all. skew exists from 1.20.
func (srv *Server) parseAggs(q map[string][]string) ([]string, error) {
	all := []string{"min", "max", "avg", "sum"}
	skew := srv.sim.Version().AtLeast(scenario.V120)
	if skew {
		all = append(all, "skew")
	}
	raw, ok := q["agg"]
	if !ok {
		return all, nil
	}
	var out []string
	for _, v := range raw {
		for _, a := range strings.Split(v, ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if a == "" {
				continue
			}
			if !slices.Contains(all, a) {
				return nil, fmt.Errorf("Cannot resolve query parameter (agg): %q is not a valid aggregation mode (%s).", a, strings.ToUpper(strings.Join(all, ", ")))
			}
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return all, nil
	}
	return out, nil
}

// aggregate answers an aggregating endpoint over components (one metric list each).
func (srv *Server) aggregate(w http.ResponseWriter, comps [][]sim.Metric, q map[string][]string) {
	names := getNames(q)
	if names == nil {
		seen := map[string]bool{}
		var ids []string
		for _, ms := range comps {
			for _, m := range ms {
				if !seen[m.ID] {
					seen[m.ID] = true
					ids = append(ids, m.ID)
				}
			}
		}
		slices.Sort(ids)
		out := []flinkrest.MetricName{}
		for _, id := range ids {
			out = append(out, flinkrest.MetricName{ID: id})
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	aggs, err := srv.parseAggs(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []flinkrest.AggregatedMetric{}
	for _, n := range names {
		var vals []float64
		for _, ms := range comps {
			for _, m := range ms {
				if m.ID == n && !math.IsNaN(m.Value) {
					vals = append(vals, m.Value)
				}
			}
		}
		if len(vals) == 0 {
			continue
		}
		out = append(out, aggregateValues(n, vals, aggs))
	}
	writeJSON(w, http.StatusOK, out)
}

// aggregateValues computes Flink's aggregates: min, max, sum, avg = sum/count and skew =
// min(100, mean absolute deviation / mean × 100), 0 when the mean is 0 (DoubleDataSkew).
func aggregateValues(id string, vals []float64, aggs []string) flinkrest.AggregatedMetric {
	mn, mx, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, v := range vals {
		mn, mx, sum = math.Min(mn, v), math.Max(mx, v), sum+v
	}
	avg := sum / float64(len(vals))
	skew := 0.0
	if avg != 0 {
		dev := 0.0
		for _, v := range vals {
			dev += math.Abs(v - avg)
		}
		skew = math.Min(100, dev/float64(len(vals))/math.Abs(avg)*100)
	}
	m := flinkrest.AggregatedMetric{ID: id}
	for _, a := range aggs {
		switch a {
		case "min":
			m.Min = flinkrest.DoublePtr(mn)
		case "max":
			m.Max = flinkrest.DoublePtr(mx)
		case "avg":
			m.Avg = flinkrest.DoublePtr(avg)
		case "sum":
			m.Sum = flinkrest.DoublePtr(sum)
		case "skew":
			m.Skew = flinkrest.DoublePtr(skew)
		}
	}
	return m
}

// parseSubtasks reads the "subtasks" (spec) or "subtask" (metrics docs) filter: "0,2-3".
func parseSubtasks(s string, n int) ([]int, error) {
	if s == "" {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("Cannot resolve query parameter (subtasks): %q is not a subtask index or range.", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				return nil, fmt.Errorf("Cannot resolve query parameter (subtasks): %q is not a subtask index or range.", part)
			}
		}
		for i := a; i <= b && i < n; i++ {
			if i >= 0 && !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	return out, nil
}

func (srv *Server) subtasksMetrics(w http.ResponseWriter, j sim.JobView, v *sim.VertexView, q map[string][]string) {
	idx, err := parseSubtasks(firstQ(q, "subtasks", "subtask"), len(v.Subtasks))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var comps [][]sim.Metric
	for _, i := range idx {
		ms, _ := srv.sim.SubtaskMetricList(j.ID, v.ID, i)
		comps = append(comps, ms)
	}
	srv.aggregate(w, comps, q)
}

func (srv *Server) taskManagersMetrics(w http.ResponseWriter, q map[string][]string) {
	var want []string
	if s := firstQ(q, "taskmanagers"); s != "" {
		want = strings.Split(s, ",")
	}
	var comps [][]sim.Metric
	for _, tm := range srv.sim.TaskManagers() {
		if want != nil && !slices.Contains(want, tm.ID) {
			continue
		}
		ms, _ := srv.sim.TaskManagerMetricList(tm.ID)
		comps = append(comps, ms)
	}
	srv.aggregate(w, comps, q)
}

func (srv *Server) jobsMetrics(w http.ResponseWriter, q map[string][]string) {
	var want []string
	if s := firstQ(q, "jobs"); s != "" {
		want = strings.Split(s, ",")
	}
	var comps [][]sim.Metric
	for _, id := range srv.sim.JobIDs() {
		if want != nil && !slices.Contains(want, id) {
			continue
		}
		ms, _ := srv.sim.JobMetricList(id)
		comps = append(comps, ms)
	}
	srv.aggregate(w, comps, q)
}
