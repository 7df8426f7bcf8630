package flinkrest

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
)

// This file holds the typed calls. Paths follow flink-rest-api.md §4; ids are path-escaped.

// Config is GET /config.
func (c *Client) Config(ctx context.Context) (*DashboardConfiguration, error) {
	out := new(DashboardConfiguration)
	_, err := c.call(ctx, http.MethodGet, "/config", "", nil, out)
	return out, err
}

// Overview is GET /overview.
func (c *Client) Overview(ctx context.Context) (*ClusterOverview, error) {
	out := new(ClusterOverview)
	_, err := c.call(ctx, http.MethodGet, "/overview", "", nil, out)
	return out, err
}

// Jobs is GET /jobs.
func (c *Client) Jobs(ctx context.Context) (*JobIDsWithStatus, error) {
	out := new(JobIDsWithStatus)
	_, err := c.call(ctx, http.MethodGet, "/jobs", "", nil, out)
	return out, err
}

// JobsOverview is GET /jobs/overview.
func (c *Client) JobsOverview(ctx context.Context) (*MultipleJobsDetails, error) {
	out := new(MultipleJobsDetails)
	_, err := c.call(ctx, http.MethodGet, "/jobs/overview", "", nil, out)
	return out, err
}

// JobDetails is GET /jobs/{jobid}.
func (c *Client) JobDetails(ctx context.Context, jobID string) (*JobDetailsInfo, error) {
	out := new(JobDetailsInfo)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID), "", nil, out)
	return out, err
}

// JobStatus is GET /jobs/{jobid}/status.
func (c *Client) JobStatus(ctx context.Context, jobID string) (string, error) {
	var out JobStatusInfo
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "status"), "", nil, &out)
	return out.Status, err
}

// JobPlan is GET /jobs/{jobid}/plan.
func (c *Client) JobPlan(ctx context.Context, jobID string) (*Plan, error) {
	var out JobPlanInfo
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "plan"), "", nil, &out)
	return &out.Plan, err
}

// JobConfig is GET /jobs/{jobid}/config.
func (c *Client) JobConfig(ctx context.Context, jobID string) (*JobConfigInfo, error) {
	out := new(JobConfigInfo)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "config"), "", nil, out)
	return out, err
}

// VertexDetails is GET /jobs/{jobid}/vertices/{vertexid}.
func (c *Client) VertexDetails(ctx context.Context, jobID, vertexID string) (*JobVertexDetailsInfo, error) {
	out := new(JobVertexDetailsInfo)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "vertices", vertexID), "", nil, out)
	return out, err
}

// VertexMetricNames lists the subtask metric names of a vertex (the union over subtasks):
// GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics without parameters.
func (c *Client) VertexMetricNames(ctx context.Context, jobID, vertexID string) ([]string, error) {
	var out []MetricName
	if _, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "vertices", vertexID, "subtasks", "metrics"), "", nil, &out); err != nil {
		return nil, err
	}
	return metricIDs(out), nil
}

// VertexMetrics aggregates subtask metrics of a vertex:
// GET /jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?get=...&agg=.... No aggs means
// every aggregate Flink computes. Names no subtask has are absent from the answer. No
// names means no call and no result.
func (c *Client) VertexMetrics(ctx context.Context, jobID, vertexID string, names, aggs []string) ([]AggregatedMetric, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []AggregatedMetric
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "vertices", vertexID, "subtasks", "metrics"), metricsQuery(names, aggs), nil, &out)
	return out, err
}

// JobMetrics is GET /jobs/{jobid}/metrics?get=... (JobManager-side job metrics such as
// numRestarts); no names lists the available names as entries without values.
func (c *Client) JobMetrics(ctx context.Context, jobID string, names []string) ([]Metric, error) {
	var out []Metric
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "metrics"), metricsQuery(names, nil), nil, &out)
	return out, err
}

// TaskManagers is GET /taskmanagers.
func (c *Client) TaskManagers(ctx context.Context) (*TaskManagersInfo, error) {
	out := new(TaskManagersInfo)
	_, err := c.call(ctx, http.MethodGet, "/taskmanagers", "", nil, out)
	return out, err
}

// TaskManagerDetails is GET /taskmanagers/{taskmanagerid}.
func (c *Client) TaskManagerDetails(ctx context.Context, tmID string) (*TaskManagerDetailsInfo, error) {
	out := new(TaskManagerDetailsInfo)
	_, err := c.call(ctx, http.MethodGet, p("taskmanagers", tmID), "", nil, out)
	return out, err
}

// TaskManagerMetrics aggregates metrics over all TaskManagers:
// GET /taskmanagers/metrics?get=...&agg=.... No names means no call and no result.
func (c *Client) TaskManagerMetrics(ctx context.Context, names, aggs []string) ([]AggregatedMetric, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var out []AggregatedMetric
	_, err := c.call(ctx, http.MethodGet, "/taskmanagers/metrics", metricsQuery(names, aggs), nil, &out)
	return out, err
}

// JobManagerConfig is GET /jobmanager/config (the cluster configuration).
func (c *Client) JobManagerConfig(ctx context.Context) (ConfigurationInfo, error) {
	var out ConfigurationInfo
	_, err := c.call(ctx, http.MethodGet, "/jobmanager/config", "", nil, &out)
	return out, err
}

// JobManagerConfigForJob is GET /jobs/{jobid}/jobmanager/config (the job's effective
// configuration, where job.autoscaler.* and jobmanager.scheduler come from).
func (c *Client) JobManagerConfigForJob(ctx context.Context, jobID string) (ConfigurationInfo, error) {
	var out ConfigurationInfo
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "jobmanager", "config"), "", nil, &out)
	return out, err
}

// JobManagerMetrics is GET /jobmanager/metrics?get=... (values are strings).
func (c *Client) JobManagerMetrics(ctx context.Context, names []string) ([]Metric, error) {
	var out []Metric
	_, err := c.call(ctx, http.MethodGet, "/jobmanager/metrics", metricsQuery(names, nil), nil, &out)
	return out, err
}

// Checkpoints is GET /jobs/{jobid}/checkpoints.
func (c *Client) Checkpoints(ctx context.Context, jobID string) (*CheckpointingStatistics, error) {
	out := new(CheckpointingStatistics)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "checkpoints"), "", nil, out)
	return out, err
}

// Exceptions is GET /jobs/{jobid}/exceptions; maxExceptions > 0 limits the history.
func (c *Client) Exceptions(ctx context.Context, jobID string, maxExceptions int) (*JobExceptionsInfoWithHistory, error) {
	q := ""
	if maxExceptions > 0 {
		q = "maxExceptions=" + strconv.Itoa(maxExceptions)
	}
	out := new(JobExceptionsInfoWithHistory)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "exceptions"), q, nil, out)
	return out, err
}

// ResourceRequirements is GET /jobs/{jobid}/resource-requirements (adaptive scheduler,
// 1.18+). An empty body (FLINK-32341, a 1.18 pre-release) yields nil requirements and no
// error; "{}" yields an empty, non-nil map.
func (c *Client) ResourceRequirements(ctx context.Context, jobID string) (JobResourceRequirements, error) {
	body, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "resource-requirements"), "", nil, nil)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var out JobResourceRequirements
	if err := Decode(body, &out); err != nil {
		return nil, &RequestError{http.MethodGet, p("jobs", jobID, "resource-requirements"), 1, &decodeError{err}}
	}
	if out == nil {
		out = JobResourceRequirements{}
	}
	return out, nil
}

// SetResourceRequirements is PUT /jobs/{jobid}/resource-requirements. The call is
// idempotent and therefore retried like a GET.
func (c *Client) SetResourceRequirements(ctx context.Context, jobID string, req JobResourceRequirements) error {
	if req == nil {
		req = JobResourceRequirements{}
	}
	_, err := c.call(ctx, http.MethodPut, p("jobs", jobID, "resource-requirements"), "", req, nil)
	return err
}

// TriggerSavepoint is POST /jobs/{jobid}/savepoints; it returns the trigger id to poll with
// SavepointStatus. Never retried (a retry could take a second savepoint).
func (c *Client) TriggerSavepoint(ctx context.Context, jobID string, req SavepointTriggerRequest) (string, error) {
	var out TriggerResponse
	_, err := c.call(ctx, http.MethodPost, p("jobs", jobID, "savepoints"), "", req, &out)
	return out.RequestID, err
}

// SavepointStatus is GET /jobs/{jobid}/savepoints/{triggerid}.
func (c *Client) SavepointStatus(ctx context.Context, jobID, triggerID string) (*SavepointStatus, error) {
	out := new(SavepointStatus)
	_, err := c.call(ctx, http.MethodGet, p("jobs", jobID, "savepoints", triggerID), "", nil, out)
	return out, err
}

func metricIDs(ms []MetricName) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}
