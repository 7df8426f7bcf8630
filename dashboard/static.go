package dashboard

import (
	"embed"
	"io/fs"
	"net"
	"net/http"
	"time"
)

// The page, its script and style, and the vendored chart library (uPlot 1.6.32, MIT; see
// static/uplot/LICENSE). No build step: these files are served as they are.
//
//go:embed static
var staticFS embed.FS

// Static returns the embedded files (the bench and plan reports inline them).
func Static() fs.FS {
	sub, _ := fs.Sub(staticFS, "static")
	return sub
}

func staticHandler() http.Handler {
	files := http.FileServerFS(Static())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page and its script change with the binary: revalidate rather than cache stale.
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// Serve serves the dashboard alone on addr (the demo's), returning the server and its URL.
func Serve(addr string, rec *Recorder, st Store) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: Handler(rec, st), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String() + "/", nil
}
