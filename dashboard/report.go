package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/flinktune/flinktune/store"
)

// BenchReport is what `flinktune bench --report` draws: per scenario, each policy's run on
// shared time axes, with the summary table and the scoring.
type BenchReport struct {
	Title     string
	Generated time.Time
	Scenarios []ScenarioReport
}

// ScenarioReport is one scenario's runs.
type ScenarioReport struct {
	Name          string
	SLOLagSeconds float64
	Table         string   // the summary table as `flinktune bench` prints it
	Scoring       []string // the verdict lines, when there is a baseline
	Results       any      // the results, embedded as JSON for tools
	Runs          []ReportRun
}

// ReportRun is one policy's run: what its control loop saw (the Recorder, which must hold
// the whole run) and the simulator's truth per job id.
type ReportRun struct {
	Policy   string
	Recorder *Recorder
	Truth    map[string]JobTruth
}

// JobTruth is the simulator's own accounting of a job, tick by tick.
type JobTruth struct {
	T          []float64 // unix seconds
	LagSeconds []float32
	Slots      []float32
}

type reportJob struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	Policies []reportPolicy `json:"policies"`
}

type reportPolicy struct {
	Policy   string       `json:"policy"`
	Vertices []vertexInfo `json:"vertices"`
	Series   Series       `json:"series"`
	Markers  []Marker     `json:"markers"`
	Truth    reportTruth  `json:"truth"`
}

type reportTruth struct {
	T          nums64 `json:"t"`
	LagSeconds nums   `json:"lagSeconds"`
	Slots      nums   `json:"slots"`
}

type reportScenario struct {
	Name          string      `json:"name"`
	SLOLagSeconds float64     `json:"sloLagSeconds"`
	Jobs          []reportJob `json:"jobs"`
}

// maxTruthPoints bounds the simulator's series in a report: a tick per second over hours
// would make files of megabytes; the worst lag and the last slots of each bucket are kept.
const maxTruthPoints = 1500

// WriteBenchReport writes a self-contained HTML file: the chart library, the script and
// the data are inlined, so it opens from disk, offline.
func WriteBenchReport(w io.Writer, r BenchReport) error {
	var body strings.Builder
	var data []reportScenario
	for si, sc := range r.Scenarios {
		rs := reportScenario{Name: sc.Name, SLOLagSeconds: sc.SLOLagSeconds}
		rs.Jobs = reportJobs(sc.Runs)
		data = append(data, rs)
		fmt.Fprintf(&body, `<section class="card scenario" data-scenario="%d"><h1>Scenario %s</h1>`, si, html.EscapeString(sc.Name))
		fmt.Fprintf(&body, `<h2>Summary</h2><pre class="table">%s</pre>`, html.EscapeString(sc.Table))
		if len(sc.Scoring) > 0 {
			body.WriteString(`<h2>Scoring</h2><ul class="scoring">`)
			for _, l := range sc.Scoring {
				fmt.Fprintf(&body, "<li>%s</li>", html.EscapeString(l))
			}
			body.WriteString("</ul>")
		}
		body.WriteString(`<div class="jobs"></div>`)
		if sc.Results != nil {
			js, err := json.MarshalIndent(sc.Results, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintf(&body, `<details><summary>Results (JSON)</summary><pre class="small">%s</pre></details>`, html.EscapeString(string(js)))
		}
		body.WriteString("</section>")
	}
	payload, err := json.Marshal(data)
	if err != nil {
		return err
	}
	title := r.Title
	if title == "" {
		title = "flinktune bench report"
	}
	intro := fmt.Sprintf(`<p class="muted">Generated %s by flinktune bench. Each chart shares its time axis (simulated time) across the policies; vertical lines are the policies' rescales (colour of the policy). Drag on a chart to zoom, double-click to reset.</p>`,
		r.Generated.UTC().Format(time.RFC3339))
	return writePage(w, title, intro+body.String(), "report.js", payload)
}

func reportJobs(runs []ReportRun) []reportJob {
	byID := map[string]*reportJob{}
	var order []string
	for _, run := range runs {
		if run.Recorder == nil {
			continue
		}
		run.Recorder.mu.RLock()
		keys := make([]store.JobKey, 0, len(run.Recorder.jobs))
		for k := range run.Recorder.jobs {
			keys = append(keys, k)
		}
		run.Recorder.mu.RUnlock()
		slices.SortFunc(keys, func(a, b store.JobKey) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			d, ok, _ := run.Recorder.Detail(nil, k, 0)
			if !ok {
				continue
			}
			j := byID[k.JobID]
			if j == nil {
				j = &reportJob{ID: k.JobID, Name: d.Name}
				byID[k.JobID] = j
				order = append(order, k.JobID)
			}
			j.Policies = append(j.Policies, reportPolicy{Policy: run.Policy, Vertices: d.Vertices, Series: d.Series,
				Markers: d.Markers, Truth: downsample(run.Truth[k.JobID])})
		}
	}
	out := make([]reportJob, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

// downsample keeps at most maxTruthPoints buckets: the worst lag and the last slot count.
func downsample(tr JobTruth) reportTruth {
	n := len(tr.T)
	if n == 0 {
		return reportTruth{T: nums64{}, LagSeconds: nums{}, Slots: nums{}}
	}
	step := (n + maxTruthPoints - 1) / maxTruthPoints
	var out reportTruth
	for i := 0; i < n; i += step {
		end := min(i+step, n)
		worst := tr.LagSeconds[i]
		for _, v := range tr.LagSeconds[i:end] {
			worst = max(worst, v)
		}
		out.T = append(out.T, tr.T[i])
		out.LagSeconds = append(out.LagSeconds, worst)
		out.Slots = append(out.Slots, tr.Slots[end-1])
	}
	return out
}

// WritePlanReport writes `flinktune plan --html`: the packing picture (SVG) and the plan's
// text, self-contained.
func WritePlanReport(w io.Writer, title string, svg []byte, text string) error {
	var body strings.Builder
	fmt.Fprintf(&body, `<section class="card"><h1>%s</h1><div class="svg">%s</div></section>`, html.EscapeString(title), svg)
	fmt.Fprintf(&body, `<section class="card"><h2>Plan</h2><pre class="table">%s</pre></section>`, html.EscapeString(text))
	return writePage(w, title, body.String(), "", nil)
}

// writePage writes one self-contained HTML page: the styles and scripts of the embedded
// files inlined, and data (JSON) for script.
func writePage(w io.Writer, title, body, script string, data []byte) error {
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(Static(), name)
		return string(b), err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n<link rel=\"icon\" href=\"data:,\">\n", html.EscapeString(title))
	for _, css := range []string{"uplot/uPlot.min.css", "app.css"} {
		s, err := read(css)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "<style>\n%s\n</style>\n", s)
	}
	fmt.Fprintf(&b, "</head><body class=\"report\"><header><span class=\"brand\">flinktune</span><span>%s</span></header><main>\n%s\n</main>\n",
		html.EscapeString(title), body)
	if script != "" {
		// JSON inside <script>: only "</" could end the element early.
		fmt.Fprintf(&b, "<script type=\"application/json\" id=\"report-data\">%s</script>\n", bytes.ReplaceAll(data, []byte("</"), []byte(`<\/`)))
		lic, err := read("uplot/LICENSE")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "<!-- uPlot 1.6.32, https://github.com/leeoniya/uPlot\n%s-->\n", strings.ReplaceAll(lic, "--", "- -"))
		for _, js := range []string{"uplot/uPlot.iife.min.js", "charts.js", script} {
			s, err := read(js)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "<script>\n%s\n</script>\n", s)
		}
	}
	b.WriteString("</body></html>\n")
	_, err := w.Write(b.Bytes())
	return err
}
