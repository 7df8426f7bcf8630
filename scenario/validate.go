package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
	"github.com/flinktune/flinktune/scheduler"
)

func (p *parser) errAt(line int, format string, a ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, a...))
}

// validate checks what single fields cannot: references, cycles, load segments on sources only
// and in order, forward edges, and resolves max parallelism.
func (p *parser) validate(sc *Scenario) error {
	jobNames := map[string]bool{}
	for ji := range sc.Jobs {
		j := &sc.Jobs[ji]
		where := fmt.Sprintf("jobs[%d]", ji)
		if jobNames[j.Name] {
			return p.errAt(j.Line, "%s: duplicate job name %q", where, j.Name)
		}
		jobNames[j.Name] = true
		cfg := flinkconf.FromMap(sc.JobConfig(j))
		jobMax, _, ferr := cfg.Int(flinkconf.PipelineMaxParallelism)
		if ferr != nil {
			return p.errAt(j.Line, "%s.config: %s", where, flattenException(ferr))
		}
		if jobMax == 0 || jobMax < -1 || jobMax > 32768 {
			return p.errAt(j.Line, "%s.config.%s: invalid value %d: want -1 (Flink's default rule) or 1..32768", where, flinkconf.PipelineMaxParallelism.Key, jobMax)
		}
		ids := map[string]int{}
		for vi := range j.Vertices {
			v := &j.Vertices[vi]
			vw := fmt.Sprintf("%s.vertices[%d]", where, vi)
			if _, dup := ids[v.ID]; dup {
				return p.errAt(v.Line, "%s: duplicate vertex id %q", vw, v.ID)
			}
			ids[v.ID] = vi
			if v.MaxParallelism == 0 {
				if jobMax > 0 {
					v.MaxParallelism = int(jobMax)
				} else {
					v.MaxParallelism = scheduler.DefaultMaxParallelism(v.Parallelism)
				}
			}
			if v.Parallelism > v.MaxParallelism {
				return p.errAt(v.Line, "%s: parallelism %d exceeds the max parallelism %d (set maxParallelism or the job's pipeline.max-parallelism)", vw, v.Parallelism, v.MaxParallelism)
			}
		}
		for vi := range j.Vertices {
			v := &j.Vertices[vi]
			vw := fmt.Sprintf("%s.vertices[%d]", where, vi)
			from := map[string]bool{}
			hasHash := false
			for ii, in := range v.Inputs {
				ui, ok := ids[in.From]
				if !ok {
					return p.errAt(v.Line, "%s.inputs[%d].from: unknown vertex %q (vertices of job %q: %s)", vw, ii, in.From, j.Name, strings.Join(vertexIDs(j), ", "))
				}
				if in.From == v.ID {
					return p.errAt(v.Line, "%s.inputs[%d].from: vertex %q cannot read its own output", vw, ii, v.ID)
				}
				if from[in.From] {
					return p.errAt(v.Line, "%s.inputs[%d].from: duplicate input from %q", vw, ii, in.From)
				}
				from[in.From] = true
				u := &j.Vertices[ui]
				if in.Ship == ShipForward && u.Parallelism != v.Parallelism {
					return p.errAt(v.Line, "%s.inputs[%d]: Forward partitioning does not allow change of parallelism. Upstream operation: %s parallelism: %d, downstream operation: %s parallelism: %d. Use another ship strategy, such as REBALANCE or RESCALE", vw, ii, u.ID, u.Parallelism, v.ID, v.Parallelism)
				}
				if in.Ship == ShipHash {
					hasHash = true
				}
			}
			if v.IsSource() {
				if v.KeySkew > 0 {
					return p.errAt(v.Line, "%s.keySkew: applies to vertices with a HASH input; %q is a source", vw, v.ID)
				}
			} else {
				if v.Partitions > 0 {
					return p.errAt(v.Line, "%s.partitions: applies to sources only; %q has inputs", vw, v.ID)
				}
				if v.Topic != "" {
					return p.errAt(v.Line, "%s.topic: applies to sources only; %q has inputs", vw, v.ID)
				}
				if v.KeySkew > 0 && !hasHash {
					return p.errAt(v.Line, "%s.keySkew: applies to vertices with a HASH input; %q has none", vw, v.ID)
				}
			}
			if v.IsSource() && v.Topic == "" {
				v.Topic = v.ID
			}
		}
		if cyc := findCycle(j); cyc != nil {
			return p.errAt(j.Line, "%s: the inputs form a cycle: %s", where, strings.Join(cyc, " -> "))
		}
		last := map[string]int{}
		for si := range j.Load {
			s := &j.Load[si]
			sw := fmt.Sprintf("%s.load[%d]", where, si)
			vi, ok := ids[s.Source]
			if !ok {
				return p.errAt(s.Line, "%s.source: unknown vertex %q (sources of job %q: %s)", sw, s.Source, j.Name, strings.Join(sourceIDs(j), ", "))
			}
			if !j.Vertices[vi].IsSource() {
				return p.errAt(s.Line, "%s.source: %q has inputs; load segments are for sources only (sources of job %q: %s)", sw, s.Source, j.Name, strings.Join(sourceIDs(j), ", "))
			}
			if prev, ok := last[s.Source]; ok && j.Load[prev].At > s.At {
				return p.errAt(s.Line, "%s.at: segments of source %q must be in time order: %s comes after %s", sw, s.Source, flinkconf.FormatDuration(s.At), flinkconf.FormatDuration(j.Load[prev].At))
			}
			last[s.Source] = si
		}
	}
	for fi, f := range sc.Faults {
		if f.Kind == RESTFault || f.Kind == MetricsMissing || f.Kind == KillJobManager {
			if f.For <= 0 {
				return p.errAt(f.Line, "faults[%d].for: want a positive duration", fi)
			}
		}
	}
	return nil
}

func vertexIDs(j *Job) []string {
	out := make([]string, len(j.Vertices))
	for i, v := range j.Vertices {
		out[i] = strconv.Quote(v.ID)
	}
	return out
}

func sourceIDs(j *Job) []string {
	var out []string
	for _, v := range j.Vertices {
		if v.IsSource() {
			out = append(out, strconv.Quote(v.ID))
		}
	}
	return out
}

// findCycle returns the vertex ids of one cycle, or nil.
func findCycle(j *Job) []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	inputs := map[string][]string{}
	for _, v := range j.Vertices {
		for _, in := range v.Inputs {
			inputs[v.ID] = append(inputs[v.ID], in.From)
		}
	}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		color[id] = grey
		stack = append(stack, id)
		for _, u := range inputs[id] {
			switch color[u] {
			case grey:
				// The stack runs against the data flow (each entry reads from the next).
				cyc := slices.Clone(stack[slices.Index(stack, u):])
				slices.Reverse(cyc)
				return append(cyc, cyc[0])
			case white:
				if c := visit(u); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return nil
	}
	for _, v := range j.Vertices {
		if color[v.ID] == white {
			if c := visit(v.ID); c != nil {
				return c
			}
		}
	}
	return nil
}
