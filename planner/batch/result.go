package batch

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/flinktune/flinktune/flinkconf"
)

// Result is every vertex's decision; its JSON form is the program interface.
type Result struct {
	Config     ConfigOut   `json:"config"`
	LegacyPow2 bool        `json:"legacyPow2"`
	Vertices   []VertexOut `json:"vertices"`
}

// ConfigOut echoes the effective settings.
type ConfigOut struct {
	MinParallelism           int   `json:"minParallelism"`
	MaxParallelism           int   `json:"maxParallelism"`
	DataVolumePerTask        int64 `json:"dataVolumePerTaskBytes"`
	DefaultSourceParallelism int   `json:"defaultSourceParallelism,omitempty"`
}

// VertexOut is one vertex's decision.
type VertexOut struct {
	Name           string     `json:"name"`
	Parallelism    int        `json:"parallelism"`
	Decided        bool       `json:"decided"`
	MaxParallelism int        `json:"maxParallelism"`
	Path           string     `json:"path"`
	Inputs         []InputOut `json:"inputs,omitempty"`
	// Bytes each subtask reads, over all inputs (broadcast inputs in full).
	BytesPerSubtask *Stats `json:"bytesPerSubtask,omitempty"`
}

// InputOut is one input and what each subtask reads of it.
type InputOut struct {
	Name          string         `json:"name"`
	From          string         `json:"from,omitempty"`
	Type          string         `json:"type"`
	Broadcast     bool           `json:"broadcast"`
	Partitions    int            `json:"partitions"`
	Subpartitions int            `json:"subpartitions"`
	Bytes         int64          `json:"bytes"`
	Subtasks      []SubtaskInput `json:"subtasks"`
}

// Stats summarizes bytes per subtask.
type Stats struct {
	Min int64 `json:"min"`
	Max int64 `json:"max"`
	Avg int64 `json:"avg"`
}

// Decide decides every vertex in order; an input with from takes the upstream vertex's
// decided parallelism as its partition count.
func Decide(job Job) (*Result, error) {
	c := job.Config
	r := &Result{LegacyPow2: job.LegacyPow2, Config: ConfigOut{c.MinParallelism, c.MaxParallelism, c.DataVolumePerTask, c.DefaultSourceParallelism}}
	decided := map[string]int{}
	for _, jv := range job.Vertices {
		v := jv.Vertex
		v.Inputs = append([]Input(nil), v.Inputs...)
		for i, from := range jv.From {
			if from == "" {
				continue
			}
			v.Inputs[i].Partitions = decided[from]
			if b := v.Inputs[i].Bytes; b != nil && len(b) != v.Inputs[i].Partitions {
				return nil, fmt.Errorf("vertex %s input %s: subpartitionBytes has %d rows but %s runs with parallelism %d", v.Name, v.Inputs[i].Name, len(b), from, v.Inputs[i].Partitions)
			}
		}
		var d Decision
		var err error
		if job.LegacyPow2 && v.InitialParallelism == -1 && len(v.Inputs) > 0 {
			p := DecideLegacyPow2(c, v.Inputs)
			p = min(p, v.MaxParallelism)
			var infos [][]SubtaskInput
			if infos, err = computeVertexInputInfos(p, v.Inputs); err == nil {
				d = Decision{Parallelism: p, Path: "power of two (1.15/1.16)", InputInfos: infos}
			}
		} else {
			d, err = DecideVertex(c, v)
		}
		if err != nil {
			return nil, err
		}
		decided[v.Name] = d.Parallelism
		vo := VertexOut{Name: v.Name, Parallelism: d.Parallelism, Decided: v.InitialParallelism == -1, MaxParallelism: v.MaxParallelism, Path: d.Path}
		per := make([]int64, d.Parallelism)
		for i := range v.Inputs {
			in := &v.Inputs[i]
			io := InputOut{Name: in.Name, From: jv.From[i], Type: in.Type.String(), Broadcast: in.Broadcast,
				Partitions: in.Partitions, Subpartitions: in.Subpartitions, Bytes: in.NumBytes(), Subtasks: d.InputInfos[i]}
			for s, si := range d.InputInfos[i] {
				if s < len(per) {
					per[s] += rangeBytes(in, si)
				}
			}
			vo.Inputs = append(vo.Inputs, io)
		}
		if len(v.Inputs) > 0 && len(per) > 0 {
			st := Stats{Min: per[0], Max: per[0]}
			var sum int64
			for _, b := range per {
				st.Min, st.Max = min(st.Min, b), max(st.Max, b)
				sum += b
			}
			st.Avg = sum / int64(len(per))
			vo.BytesPerSubtask = &st
		}
		r.Vertices = append(r.Vertices, vo)
	}
	return r, nil
}

func rangeBytes(in *Input, si SubtaskInput) int64 {
	var n int64
	for p := si.Partitions[0]; p <= si.Partitions[1]; p++ {
		for s := si.Subpartitions[0]; s <= si.Subpartitions[1] && s < in.Subpartitions; s++ {
			n += in.cell(p, s)
		}
	}
	return n
}

// RenderText writes the decisions for people.
func RenderText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Adaptive batch scheduler: parallelism in [%d, %d], %s per task", r.Config.MinParallelism, r.Config.MaxParallelism, flinkconf.FormatMemorySize(r.Config.DataVolumePerTask))
	if r.Config.DefaultSourceParallelism > 0 {
		fmt.Fprintf(&b, ", sources %d", r.Config.DefaultSourceParallelism)
	} else {
		fmt.Fprintf(&b, ", sources up to the max (1.19+: default-source-parallelism unset)")
	}
	if r.LegacyPow2 {
		b.WriteString(", 1.15/1.16 power-of-two decider")
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 2, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "VERTEX\tPARALLELISM\tHOW\tBYTES PER SUBTASK (min / avg / max)\n")
	for _, v := range r.Vertices {
		p := strconv.Itoa(v.Parallelism)
		if !v.Decided {
			p += " (set)"
		}
		stats := "-"
		if s := v.BytesPerSubtask; s != nil {
			stats = fmt.Sprintf("%s / %s / %s", human(s.Min), human(s.Avg), human(s.Max))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Name, p, v.Path, stats)
	}
	tw.Flush()
	for _, v := range r.Vertices {
		for _, in := range v.Inputs {
			fmt.Fprintf(&b, "\n%s ← %s (%s%s, %d partitions × %d subpartitions, %s):\n", v.Name, in.Name, in.Type,
				map[bool]string{true: ", broadcast"}[in.Broadcast], in.Partitions, in.Subpartitions, human(in.Bytes))
			for i, s := range in.Subtasks {
				if i == 8 && len(in.Subtasks) > 10 {
					fmt.Fprintf(&b, "  … %d more subtasks\n", len(in.Subtasks)-9)
					i = len(in.Subtasks) - 1
					s = in.Subtasks[i]
					fmt.Fprintf(&b, "  subtask %d: partitions [%d, %d], subpartitions [%d, %d]\n", i, s.Partitions[0], s.Partitions[1], s.Subpartitions[0], s.Subpartitions[1])
					break
				}
				fmt.Fprintf(&b, "  subtask %d: partitions [%d, %d], subpartitions [%d, %d]\n", i, s.Partitions[0], s.Partitions[1], s.Subpartitions[0], s.Subpartitions[1])
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 2, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
