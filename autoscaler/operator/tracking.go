package operator

import (
	"sort"
	"time"
)

// ScalingRecord is one applied rescale; RestartDuration is set once the job runs again with
// the decided parallelisms.
type ScalingRecord struct {
	Time            time.Time      `json:"time"`
	RestartDuration *time.Duration `json:"restartDuration,omitempty"`
}

// ScalingTracking is the operator's ScalingTracking: recent rescales and their restart times.
type ScalingTracking struct {
	Records []ScalingRecord `json:"scalingRecords"`
}

func (t *ScalingTracking) add(at time.Time) {
	i := sort.Search(len(t.Records), func(i int) bool { return !t.Records[i].Time.Before(at) })
	if i < len(t.Records) && t.Records[i].Time.Equal(at) {
		t.Records[i] = ScalingRecord{Time: at}
		return
	}
	t.Records = append(t.Records, ScalingRecord{})
	copy(t.Records[i+1:], t.Records[i:])
	t.Records[i] = ScalingRecord{Time: at}
}

// recordRestartDuration sets the restart duration of the newest record (runningSince minus
// the decision time) once every vertex scaled in it runs at its target parallelism.
func (t *ScalingTracking) recordRestartDuration(runningSince time.Time, top *Topology, history map[string][]SummaryEntry) bool {
	if len(t.Records) == 0 {
		return false
	}
	last := &t.Records[len(t.Records)-1]
	if last.RestartDuration != nil {
		return false
	}
	for id, entries := range history {
		for _, e := range entries {
			if !e.Time.Equal(last.Time) {
				continue
			}
			actual := -1
			if v := top.Get(id); v != nil {
				actual = v.Parallelism
			}
			if actual != e.Summary.NewParallelism {
				return false
			}
		}
	}
	d := runningSince.Sub(last.Time)
	last.RestartDuration = &d
	return true
}

// maxRestartTimeOrDefault: with tracking enabled the largest tracked restart time in whole
// seconds, capped by restart.time-tracking.limit; otherwise (or untracked) restart.time.
func (t *ScalingTracking) maxRestartTimeOrDefault(o *Options) time.Duration {
	maxSec := int64(-1)
	if o.TrackRestartTime {
		for _, r := range t.Records {
			if r.RestartDuration != nil {
				maxSec = max(durationSeconds(int64(*r.RestartDuration)), maxSec)
			}
		}
	}
	if maxSec == -1 {
		return o.RestartTime
	}
	return time.Duration(min(maxSec, durationSeconds(int64(o.RestartTimeLimit)))) * time.Second
}

// removeOldRecords drops records older than keep and beyond count, keeping the newest.
func (t *ScalingTracking) removeOldRecords(now time.Time, keep time.Duration, count int) {
	if len(t.Records) == 0 {
		return
	}
	latest := t.Records[len(t.Records)-1]
	cutoff := now.Add(-keep)
	i := sort.Search(len(t.Records), func(i int) bool { return !t.Records[i].Time.Before(cutoff) })
	recs := append([]ScalingRecord(nil), t.Records[i:]...)
	for len(recs) > count && len(recs) > 0 {
		recs = recs[1:]
	}
	t.Records = recs
	found := false
	for _, r := range recs {
		if r.Time.Equal(latest.Time) {
			found = true
		}
	}
	if !found {
		t.Records = append(t.Records, latest)
	}
}

// trimScalingHistory drops entries older than history.max.age and beyond history.max.count
// per vertex (a copy; the stored history is untouched).
func trimScalingHistory(now time.Time, o *Options, h map[string][]SummaryEntry) map[string][]SummaryEntry {
	out := make(map[string][]SummaryEntry, len(h))
	start := now.Add(-o.HistoryMaxAge)
	for id, entries := range h {
		i := sort.Search(len(entries), func(i int) bool { return !entries[i].Time.Before(start) })
		kept := append([]SummaryEntry(nil), entries[i:]...)
		for len(kept) > o.HistoryMaxCount && len(kept) > 0 {
			kept = kept[1:]
		}
		if len(kept) > 0 {
			out[id] = kept
		}
	}
	return out
}

// addSummaries adds the summaries under now to a history.
func addSummaries(h map[string][]SummaryEntry, now time.Time, summaries map[string]ScalingSummary) {
	for id, s := range summaries {
		entries := h[id]
		i := sort.Search(len(entries), func(i int) bool { return !entries[i].Time.Before(now) })
		e := SummaryEntry{Time: now, Summary: ScalingSummary{CurrentParallelism: s.CurrentParallelism, NewParallelism: s.NewParallelism, Metrics: s.Metrics.Clone()}}
		if i < len(entries) && entries[i].Time.Equal(now) {
			entries[i] = e
		} else {
			entries = append(entries, SummaryEntry{})
			copy(entries[i+1:], entries[i:])
			entries[i] = e
		}
		h[id] = entries
	}
}
