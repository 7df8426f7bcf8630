//go:build !pprof

package cli

import "net/http"

// debugHandlers adds nothing in a normal build: the profiling endpoints are compiled in
// only with -tags pprof (see debug_pprof.go), so a released binary exposes no /debug/.
func debugHandlers(*http.ServeMux) {}
