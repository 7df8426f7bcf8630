package tuning

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/realize"
)

// Event reasons of the rescue.
const (
	ReasonMemoryRescue = "MemoryRescue"     // a failing job's memory remedy, applied or recommended
	ReasonRollback     = "Rollback"         // a rescale that broke the job was undone
	ReasonRollbackHold = "RollbackHold"     // a decision for a layout that broke the job was held back
	ReasonScaleDownOOM = "ScaleDownBlocked" // a scale-down whose heap state would not fit was held back
)

// Failing reports whether a memory failure of the configuration running now holds a pool
// (a floor raised by an out-of-memory error, a container kill or missing network buffers).
func (t *Tuner) Failing(now time.Time) bool {
	for _, e := range t.st.Events {
		if e.Stale || e.Kind == "gc-pressure" || now.Sub(e.Time) > t.o.BumpHold {
			continue
		}
		if _, ok := causeText[e.Kind]; ok && !e.Time.Before(t.st.AppliedAt) {
			return true
		}
	}
	return false
}

// realign returns the changes that take the platform's configuration (the snapshot's) to the
// recommendation: rec's overrides and removals, plus the memory keys someone else changed
// (another tuner, an earlier change of a pool now back at its original) restored to the
// original, since rec derives on the original configuration.
func (t *Tuner) realign(snap *autoscaler.Snapshot, rec *Recommendation) (map[string]string, []string) {
	ov := maps.Clone(rec.Overrides)
	rm := slices.Clone(rec.Removals)
	orig := t.st.Original
	for _, k := range slices.Sorted(maps.Keys(snap.Config)) {
		if !memoryKey(k) || strings.HasPrefix(k, "jobmanager.") || k == "taskmanager.numberOfTaskSlots" {
			continue
		}
		if _, ok := ov[k]; ok || slices.Contains(rm, k) {
			continue
		}
		o, had := orig[k]
		switch {
		case !had:
			rm = append(rm, k)
		case o != snap.Config[k]:
			ov[k] = o
		}
	}
	return ov, rm
}

// rescue handles a job that is not running: a memory failure gets its remedy (applied, or
// recommended with the exact configuration), and a rescale that broke the job is rolled back.
func (p *Policy) rescue(snap *autoscaler.Snapshot, d *autoscaler.Decision) {
	fixed := false
	if p.native && p.rescuing(snap.Time) {
		d.ConfigOverrides, d.ConfigRemovals = nil, nil
	}
	if p.tuner.Failing(snap.Time) {
		rec, err := p.tuner.Recommend(snap, nil)
		if err == nil && !(rec.Worthwhile && rec.Safety) && p.spreadHeap(snap, rec, d) {
			return
		}
		switch {
		case err != nil:
			d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning,
				Reason: ReasonMemoryRescue, Message: "memory tuning: " + err.Error(), Key: "memory-error:" + err.Error()})
		case rec.Worthwhile && rec.Safety && len(rec.Overrides) > 0:
			ov, rm := p.tuner.realign(snap, rec)
			key := "rescue:" + strings.Join(overrideList(ov), ",")
			if last := p.tuner.st.LastException; last.After(p.reported) {
				p.reported = last // one event per new failure
				d.Events = append(d.Events, rescueEvent(snap, rec, ov, rm, key))
			}
			if rec.Apply {
				d.ConfigOverrides, d.ConfigRemovals = ov, rm
				p.tuner.Applied(snap.Time, rec)
				p.holdUntil = snap.Time.Add(p.o().BumpHold)
				fixed = true
			}
		}
	}
	if !fixed {
		p.rb.maybeRollback(snap, d, p.tuner)
	}
}

// spreadHeap is the remedy for a heap that failed and cannot grow within the limits: the
// keyed vertices (those with a HASH input) scale out to spread their heap state over more
// subtasks and TaskManagers, twice as many (within the max parallelism), once per failure.
func (p *Policy) spreadHeap(snap *autoscaler.Snapshot, rec *Recommendation, d *autoscaler.Decision) bool {
	if len(rec.Diagnosis) == 0 || rec.Diagnosis[0].Pool != PoolHeap || !rec.Diagnosis[0].Last.After(p.spreadFor) {
		return false
	}
	target := parallelismOf(snap)
	var parts []string
	for _, v := range snap.Vertices {
		keyed := slices.ContainsFunc(v.Inputs, func(e autoscaler.Edge) bool { return e.Ship == autoscaler.ShipHash })
		cur, ok := target[v.ID]
		if !keyed || !ok || (v.MaxParallelism > 0 && cur >= v.MaxParallelism) {
			continue
		}
		next := 2 * cur
		if v.MaxParallelism > 0 {
			next = min(next, v.MaxParallelism)
		}
		target[v.ID] = next
		parts = append(parts, fmt.Sprintf("%s %d → %d", shortID(v.ID), cur, next))
	}
	if len(parts) == 0 {
		return false
	}
	p.spreadFor = rec.Diagnosis[0].Last
	d.Parallelism, d.Scaled, d.Rollback, d.Ready, d.Reason = target, true, true, true, "spread heap state"
	d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning, Reason: ReasonMemoryRescue,
		Message: fmt.Sprintf("Job is failing (%s): %s; the heap cannot grow within the memory limits (%s): scaling the keyed vertices out to spread their heap state: %s",
			rec.Diagnosis[0].Kind, rec.Diagnosis[0].Cause, rec.Reason, strings.Join(parts, ", ")),
		Key: "spread:" + strings.Join(parts, ",")})
	return true
}

// rescueEvent names the cause and the exact fix: the configuration lines for flink-conf.yaml
// or config.yaml, the -D options, and the FlinkDeployment patch.
func rescueEvent(snap *autoscaler.Snapshot, rec *Recommendation, ov map[string]string, rm []string, key string) autoscaler.Event {
	var b strings.Builder
	verb := "Recommended fix (job.autoscaler.memory.tuning.enabled is false)"
	if rec.Apply {
		verb = "Applying"
	}
	fmt.Fprintf(&b, "Job is failing (%s, %d restarts): ", snap.Status, max(0, snap.NumRestarts))
	for i, dg := range rec.Diagnosis {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(dg.Text())
	}
	fmt.Fprintf(&b, ". %s: %s.\n", verb, strings.Join(safetyPools(PoolsOf(rec.Current), PoolsOf(rec.Proposed)), ", "))
	b.WriteString(FixText(snap.Config, ov, rm))
	return autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning, Reason: ReasonMemoryRescue,
		Message: strings.TrimRight(b.String(), "\n"), Key: key}
}

// FixText renders configuration changes in every form a user applies them in.
func FixText(current, ov map[string]string, rm []string) string {
	var b strings.Builder
	b.WriteString("flink-conf.yaml / config.yaml:\n")
	for _, k := range slices.Sorted(maps.Keys(ov)) {
		fmt.Fprintf(&b, "  %s: %s\n", k, ov[k])
	}
	if len(rm) > 0 {
		fmt.Fprintf(&b, "  (remove: %s)\n", strings.Join(rm, ", "))
	}
	fmt.Fprintf(&b, "command line: %s\n", realize.DynamicProperties(ov, rm))
	if patch, err := realize.FlinkDeploymentPatch(ov, rm, nil); err == nil {
		b.WriteString("FlinkDeployment patch:\n" + patch)
	}
	return b.String()
}

// checkScaleDown holds back a scale-down after which the keyed state on the heap of the
// busiest TaskManager would not fit in the largest heap the limits allow (FLINK-34152): the
// live set seen at the running layout, times how much more state each TaskManager would hold.
func (p *Policy) checkScaleDown(snap *autoscaler.Snapshot, d *autoscaler.Decision) {
	running := parallelismOf(snap)
	if len(d.Parallelism) == 0 || maps.Equal(d.Parallelism, running) {
		return
	}
	// The bound below takes the whole live set as keyed state that concentrates on fewer
	// subtasks, far too high for most jobs: it only holds back scale-downs of a job whose
	// heap is known to be tight (a heap failure or GC pressure within bump.hold).
	if _, held := p.tuner.floorAt(PoolHeap, snap.Time); !held && !p.tuner.st.GCPressure {
		return
	}
	need, room, ok := p.tuner.heapAfter(snap, running, d.Parallelism)
	if !ok || need <= room {
		return
	}
	var held []string
	for id, pt := range d.Parallelism {
		if pr, ok := running[id]; ok && pt < pr {
			d.Parallelism[id] = pr
			held = append(held, fmt.Sprintf("%s %d (kept at %d)", shortID(id), pt, pr))
		}
	}
	if len(held) == 0 {
		return
	}
	slices.Sort(held)
	d.Scaled = !maps.Equal(d.Parallelism, running)
	d.Events = append(d.Events, autoscaler.Event{Time: snap.Time, JobID: snap.JobID, Type: autoscaler.EventWarning, Reason: ReasonScaleDownOOM,
		Message: fmt.Sprintf("scale-down held back: the heap state per TaskManager would grow to about %s, more than the %s heap the memory limits allow; vertices: %s",
			hb(need), hb(room), strings.Join(held, ", ")),
		Key: "scale-down-oom:" + strings.Join(held, ",")})
}

// heapAfter estimates the busiest TaskManager's heap need at layout to from the live set at
// the running layout (× the layout factor, plus the margin), and the largest heap the limits
// allow (the running heap plus managed memory a heap state backend does not use).
func (t *Tuner) heapAfter(snap *autoscaler.Snapshot, running, to map[string]int) (need, room int64, ok bool) {
	// The live set of the running layout, or of the most recent layout that has one (a
	// rescale of another vertex just started a new history).
	var h *layoutHeap
	live := 0.0
	for _, c := range t.st.Heaps {
		v, ok := c.Low.percentile(t.o.Percentile)
		if !ok || v <= 0 {
			continue
		}
		if maps.Equal(c.Layout, running) {
			h, live = c, v
			break
		}
		if h == nil || c.LastSeen.After(h.LastSeen) {
			h, live = c, v
		}
	}
	if h == nil {
		return 0, 0, false
	}
	// The target runs on the running slots per TaskManager, or on the balanced count if the
	// tuner changes it with the rescale: the larger bounds the busiest TaskManager.
	n := t.slotsPerTM()
	nt := n
	if t.o.BalanceSlots {
		if o, _, err := flinkconf.FromMap(t.st.Original).Int(flinkconf.TMNumberOfTaskSlots); err == nil {
			nt = max(n, balancedSlots(jobSlots(snap.Vertices, to), int(o), n))
		}
	}
	f := layoutFactor(h.Layout, slotsOr(h.Slots, n), to, nt, keyedVertices(snap))
	if f <= 1 {
		return 0, 0, false
	}
	cur, err := t.running(profileFor(snap.FlinkVersion))
	if err != nil {
		return 0, 0, false
	}
	room = cur.JVMHeap()
	if _, rocks, _, err := stateBackend(flinkconf.FromMap(t.st.Original), max(1, cur.NumSlots)); err == nil && !rocks && t.st.ManagedPeak == 0 {
		room += cur.Managed
	}
	return int64(live * f * (1 + t.o.Margin)), room, true
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
