package simrest

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"

	"github.com/flinktune/flinktune/flinkconf"
)

// Extension endpoints under /flinktune/v1/. They are NOT part of Flink's REST API: they let a
// test, the benchmark or the demo do what a platform does around Flink.
//
//	GET  /flinktune/v1/taskmanager-config          the TaskManager configuration in force {key: value}
//	PUT  /flinktune/v1/taskmanager-config          roll every TaskManager onto a new configuration
//	                                               (body {key: value}; ?mode=merge merges it into the
//	                                               current one, default replaces it); the jobs restart once
//	GET  /flinktune/v1/jobs/{jobid}/stats          the benchmark accounting of a job (sim.Stats)
//	GET  /flinktune/v1/clock                       {"now": epoch ms, "elapsedSeconds": s, "done": bool}
func (srv *Server) extension(w http.ResponseWriter, r *http.Request, path string) {
	s := srv.sim
	seg := strings.Split(strings.TrimPrefix(path, "/flinktune/v1/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "taskmanager-config":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.TaskManagerConfig().Map())
		case http.MethodPut:
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			var m map[string]string
			if err == nil {
				err = json.Unmarshal(body, &m)
			}
			if err != nil || m == nil {
				writeError(w, http.StatusBadRequest, `want a JSON object of Flink configuration keys to string values, e.g. {"taskmanager.memory.process.size": "4g"}`)
				return
			}
			if r.URL.Query().Get("mode") == "merge" {
				cur := s.TaskManagerConfig().Map()
				maps.Copy(cur, m)
				m = cur
			}
			if err := s.SetTaskManagerConfig(flinkconf.FromMap(m)); err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			writeJSON(w, http.StatusOK, s.TaskManagerConfig().Map())
		default:
			writeError(w, http.StatusMethodNotAllowed, "GET or PUT")
		}
	case len(seg) == 3 && seg[0] == "jobs" && seg[2] == "stats" && r.Method == http.MethodGet:
		st, ok := s.Stats(seg[1])
		if !ok {
			writeError(w, http.StatusNotFound, "Job "+seg[1]+" not found")
			return
		}
		writeJSON(w, http.StatusOK, st)
	case len(seg) == 1 && seg[0] == "clock" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"now": s.Now().UnixMilli(), "elapsedSeconds": s.Elapsed().Seconds(), "done": s.Done()})
	default:
		writeError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
	}
}
