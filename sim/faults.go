package sim

import (
	"path"
	"strings"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

// applyFaults fires the kill faults that are due. REST and metric faults are windows queried
// by RESTFault and MetricMissing.
func (s *Sim) applyFaults() {
	el := s.Elapsed()
	for s.nextF < len(s.faults) && s.faults[s.nextF].At <= el {
		f := s.faults[s.nextF]
		s.nextF++
		switch f.Kind {
		case scenario.KillTaskManager:
			for range f.Count {
				tm := s.pickVictim()
				if tm == nil {
					break
				}
				s.killTM(tm, "killed by a fault", s.tmLostMessage(tm))
			}
		case scenario.KillJobManager:
			s.killJobManager(f.For)
		}
	}
}

// pickVictim chooses a TaskManager to kill: a random one among those running tasks, else
// among those holding slots, else any.
func (s *Sim) pickVictim() *taskManager {
	for _, pred := range []func(*taskManager) bool{
		func(tm *taskManager) bool { return len(tm.hosted) > 0 },
		func(tm *taskManager) bool { return !tm.idle() },
		func(*taskManager) bool { return true },
	} {
		var c []*taskManager
		for _, tm := range s.tms {
			if pred(tm) {
				c = append(c, tm)
			}
		}
		if len(c) > 0 {
			return c[s.rng.IntN(len(c))]
		}
	}
	return nil
}

// killJobManager takes the JobManager down for d: REST is unavailable, every job's tasks are
// cancelled and its slots freed; on recovery the jobs restore from their latest checkpoint.
func (s *Sim) killJobManager(d time.Duration) {
	if !s.jobManagerAlive() {
		return
	}
	s.jmDown = s.now.Add(d)
	s.logf("jobmanager", nil, "JobManager killed; down for %s", d)
	for _, j := range s.jobs {
		j.jobManagerLost(s.now)
	}
	s.rebuildHosted()
}

// RESTFault is the REST fault in force now: mode is "" (none), unavailable, slow or errors;
// rate the fraction of calls affected; delay how late slow calls answer. A down JobManager
// makes the endpoint unavailable for every call.
func (s *Sim) RESTFault() (mode string, rate float64, delay time.Duration) {
	if !s.jobManagerAlive() {
		return scenario.RESTUnavailable, 1, 0
	}
	el := s.Elapsed()
	for _, f := range s.faults {
		if f.Kind == scenario.RESTFault && f.Active(el) {
			return f.REST, f.Rate, f.Delay
		}
	}
	return "", 0, 0
}

// MetricMissing reports whether a metric name is hidden by a metrics fault now. Names match
// exactly or as a glob ('*' matches any run of characters, including dots).
func (s *Sim) MetricMissing(name string) bool {
	el := s.Elapsed()
	for _, f := range s.faults {
		if f.Kind != scenario.MetricsMissing || !f.Active(el) {
			continue
		}
		for _, pat := range f.Names {
			if globMatch(pat, name) {
				return true
			}
		}
	}
	return false
}

func globMatch(pat, name string) bool {
	if !strings.Contains(pat, "*") {
		return pat == name
	}
	// path.Match's '*' stops at '/', which metric names never contain; '[' and '?' are
	// literal. (A strings.Replacer built per call was 8% of a benchmark's CPU while a
	// metrics-missing fault was active: every metric of every answer is matched.)
	if strings.ContainsAny(pat, "[?") {
		pat = strings.ReplaceAll(strings.ReplaceAll(pat, "[", "\\["), "?", "\\?")
	}
	ok, err := path.Match(pat, name)
	return err == nil && ok
}
