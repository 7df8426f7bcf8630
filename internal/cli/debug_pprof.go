//go:build pprof

package cli

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// A finer heap sample than the default (one per 512 KiB) so that small per-job structures
// show up in the profile; this build is for measuring only.
func init() { runtime.MemProfileRate = 4096 }

// debugHandlers serves Go's profiles under /debug/pprof/ on run's --listen address, for
// measuring what holds memory or CPU (go build -tags pprof; go tool pprof URL/debug/pprof/heap).
func debugHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.Handle("/debug/pprof/heap", pprof.Handler("heap"))
}
