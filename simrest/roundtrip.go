package simrest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

// RoundTripper returns an http.RoundTripper that serves requests with h in process, without
// sockets (benchmarks run thousands of calls per simulated hour). It honours the request's
// context: a deadline that passes while the handler sleeps (a slow REST fault) fails the call
// like a network timeout. A handler that aborts (http.ErrAbortHandler, the "unavailable" fault)
// fails the call with a connection-refused error.
func RoundTripper(h http.Handler) http.RoundTripper { return &inProcess{h: h} }

type inProcess struct{ h http.Handler }

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (t *inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Give the handler its own copy of the body, as a server would.
	sreq := req.Clone(ctx)
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sreq.Body = io.NopCloser(bytes.NewReader(b))
		sreq.ContentLength = int64(len(b))
	}
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	sreq.RequestURI = req.URL.RequestURI()
	rec := &recorder{header: http.Header{}}
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		t.h.ServeHTTP(rec, sreq)
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case p := <-done:
		if p == http.ErrAbortHandler {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: fakeAddr(req.URL.Host), Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		if p != nil {
			return nil, fmt.Errorf("simrest: handler panicked: %v", p)
		}
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.body.Bytes()
	resp := &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
	if req.Method == http.MethodHead {
		resp.Body = http.NoBody
	}
	return resp, nil
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
