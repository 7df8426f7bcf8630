package sim

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scheduler"
	"github.com/flinktune/flinktune/sim/adaptive"
)

// ErrJobNotFound is returned for an unknown job id.
var ErrJobNotFound = errors.New("job not found")

// ErrJobManagerDown is returned while the JobManager is down.
var ErrJobManagerDown = errors.New("the JobManager is not available")

// RequestError is a rejected request: the messages go into Flink's {"errors": [...]} body.
type RequestError struct {
	Status   int // HTTP status Flink answers with
	Messages []string
}

func (e *RequestError) Error() string {
	if len(e.Messages) == 1 {
		return e.Messages[0]
	}
	return fmt.Sprint(e.Messages)
}

// Requirements returns the job's resource requirements by REST vertex id.
func (s *Sim) Requirements(jobID string) (map[string]scheduler.Bounds, error) {
	j := s.job(jobID)
	if j == nil {
		return nil, ErrJobNotFound
	}
	out := make(map[string]scheduler.Bounds, len(j.vs))
	for i, v := range j.vs {
		out[v.id] = scheduler.Bounds{Lower: j.req[i].Lower, Upper: j.req[i].Upper}
	}
	return out, nil
}

// SetRequirements is PUT /jobs/:jobid/resource-requirements: validated as Flink's
// JobResourceRequirements.validate (−1 bounds expanded, bounds ≥ 1, lower ≤ upper, upper ≤
// max parallelism, every vertex present, no unknown ids), then handed to the adaptive
// scheduler, which rescales per its version's rules. Vertex ids are REST ids. The default
// scheduler rejects the request.
func (s *Sim) SetRequirements(jobID string, req map[string]scheduler.Bounds) (map[string]scheduler.Bounds, error) {
	j := s.job(jobID)
	if j == nil {
		return nil, ErrJobNotFound
	}
	if !s.jobManagerAlive() {
		return nil, ErrJobManagerDown
	}
	if !j.opts.Adaptive {
		return nil, &RequestError{Status: 500, Messages: []string{
			"org.apache.flink.runtime.rest.handler.RestHandlerException: Failed to update job resource requirements.",
			"java.lang.UnsupportedOperationException: The DefaultScheduler does not support changing the parallelism without a job restart. This feature is currently only expected to work with the AdaptiveScheduler (jobmanager.scheduler: adaptive).",
		}}
	}
	if j.terminal() {
		return nil, &RequestError{Status: 409, Messages: []string{fmt.Sprintf("Job %s is in state %s and cannot be rescaled.", j.id, j.status)}}
	}
	maxP := make(map[string]int, len(j.vs))
	for _, v := range j.vs {
		maxP[v.id] = v.maxP
	}
	norm, err := scheduler.ValidateRequirements(maxP, req)
	if err != nil {
		var re *scheduler.RequirementsError
		if errors.As(err, &re) {
			return nil, &RequestError{Status: 400, Messages: slices.Clone(re.Errors)}
		}
		return nil, &RequestError{Status: 400, Messages: []string{err.Error()}}
	}
	changed := false
	for i, v := range j.vs {
		b := norm[v.id]
		if j.req[i].Lower != b.Lower || j.req[i].Upper != b.Upper {
			changed = true
		}
		j.req[i].Lower, j.req[i].Upper = b.Lower, b.Upper
	}
	j.desired = scheduler.RequiredSlots(j.req)
	if changed {
		s.logf("requirements", j, "new resource requirements: %s", formatBounds(j))
		if j.sched != nil {
			j.sched.OnNewRequirements(s.now)
		}
	}
	return norm, nil
}

func formatBounds(j *job) string {
	out := ""
	for i, v := range j.vs {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s [%d..%d]", v.sv.ID, j.req[i].Lower, j.req[i].Upper)
	}
	return out
}

// SetTaskManagerConfig rolls the cluster onto a new TaskManager configuration, as a platform
// redeploy does when memory tuning is applied: the configuration is validated with the memory
// model (nothing changes on error), every TaskManager is replaced by one running the new
// configuration (after the start-up delay), and every job restarts once from its latest
// checkpoint. cfg is the complete TaskManager configuration.
func (s *Sim) SetTaskManagerConfig(cfg *flinkconf.Config) error {
	if !s.jobManagerAlive() {
		return ErrJobManagerDown
	}
	cfg = withFlinkDefaults(cfg)
	if err := s.setTMConfig(cfg.Clone()); err != nil {
		return err
	}
	s.logf("taskmanager-config", nil, "rolling TaskManagers onto a new configuration (%d slots, %s process)",
		s.tmMem.NumSlots, flinkconf.FormatMemorySize(s.tmMem.TotalProcess))
	for _, j := range s.jobs {
		j.reconfigure(s.now)
	}
	s.tms = nil
	s.pending = nil
	s.rebuildHosted()
	s.manageResources()
	return nil
}

// reconfigure restarts the job because its TaskManagers are being replaced.
func (j *job) reconfigure(now time.Time) {
	if j.terminal() || j.sched == nil {
		return
	}
	j.cancelExecution(now, "tm-config")
	for _, tm := range j.s.tms {
		for i := range tm.slots {
			if tm.slots[i].job == j {
				tm.slots[i] = slotState{}
			}
		}
	}
	j.numRestart++
	j.st.Restarts++
	j.st.TMConfig++
	j.cause = causeTMConfig
	j.setStatus(now, StatusRestarting)
	if j.sched.State() == adaptive.Executing || j.sched.State() == adaptive.Restarting || j.sched.State() == adaptive.WaitingForResources {
		j.sched.OnFailure(now, 0)
	}
}

// TaskManagerConfig returns a copy of the TaskManager configuration in force.
func (s *Sim) TaskManagerConfig() *flinkconf.Config { return s.tmCfg.Clone() }

// ClusterConfig returns the cluster configuration (scenario cluster.config with Flink's
// shipped defaults for memory), with the TaskManager keys in force.
func (s *Sim) ClusterConfig() map[string]string {
	m := s.clusterCfg.Map()
	maps.Copy(m, s.tmCfg.Map())
	return m
}

// JobConfig returns the job's effective configuration (cluster, autoscaler options, job).
func (s *Sim) JobConfig(jobID string) (map[string]string, error) {
	j := s.job(jobID)
	if j == nil {
		return nil, ErrJobNotFound
	}
	return j.cfg.Map(), nil
}

// Cancel cancels a job (PATCH /jobs/:jobid?mode=cancel): its tasks stop, its slots are
// returned and it ends CANCELED.
func (s *Sim) Cancel(jobID string) error {
	j := s.job(jobID)
	if j == nil {
		return ErrJobNotFound
	}
	if j.terminal() {
		return nil
	}
	j.cancelExecution(s.now, "cancel")
	if j.sched != nil {
		j.sched.Finish()
	}
	j.setStatus(s.now, "CANCELLING")
	j.setStatus(s.now, StatusCanceled)
	j.endTime = s.now
	s.logf("job", j, "job canceled")
	return nil
}
