package flinkrest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of a Client.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultRetries     = 2
	DefaultBackoffBase = 250 * time.Millisecond
	DefaultBackoffMax  = 4 * time.Second
)

// Client calls one Flink cluster's REST API. It is safe for concurrent use.
//
// Every attempt has a deadline (WithTimeout); GET and PUT calls are retried with
// exponential backoff on connection errors, timeouts, 5xx and 429 (WithRetries); POST and
// PATCH are never retried.
type Client struct {
	base     *url.URL
	hc       *http.Client
	timeout  time.Duration
	retries  int
	backBase time.Duration
	backMax  time.Duration
	auth     func(*http.Request)
	headers  http.Header
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	inFlight chan struct{} // a slot per call in flight (WithMaxInFlight)

	mu         sync.Mutex
	version    *Version
	versionErr error
}

type options struct {
	hc          *http.Client
	timeout     time.Duration
	retries     int
	backBase    time.Duration
	backMax     time.Duration
	auth        func(*http.Request)
	headers     http.Header
	tlsConfig   *tls.Config
	caFile      string
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	maxInFlight int
}

// Option configures a Client.
type Option func(*options) error

// WithHTTPClient makes the client send requests through hc (tests and the in-process
// simulator transport plug in here).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		o.hc = hc
		return nil
	}
}

// WithTimeout sets the deadline of each HTTP attempt (default 10s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %v: want a positive duration", d)
		}
		o.timeout = d
		return nil
	}
}

// WithRetries sets how often an idempotent call is retried (n retries after the first
// attempt) and the backoff: base, doubled per retry, capped at max. n = 0 disables retries.
func WithRetries(n int, base, max time.Duration) Option {
	return func(o *options) error {
		if n < 0 || base < 0 || max < base {
			return fmt.Errorf("WithRetries(%d, %v, %v): want n >= 0 and 0 <= base <= max", n, base, max)
		}
		o.retries, o.backBase, o.backMax = n, base, max
		return nil
	}
}

// WithBasicAuth sends HTTP basic authentication on every request.
func WithBasicAuth(user, password string) Option {
	return func(o *options) error {
		o.auth = func(r *http.Request) { r.SetBasicAuth(user, password) }
		return nil
	}
}

// WithBearerToken sends "Authorization: Bearer <token>" on every request.
func WithBearerToken(token string) Option {
	return func(o *options) error {
		if token == "" {
			return errors.New("WithBearerToken: empty token")
		}
		o.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
		return nil
	}
}

// WithHeader adds a header to every request (e.g. a gateway's routing header).
func WithHeader(key, value string) Option {
	return func(o *options) error {
		if key == "" {
			return errors.New("WithHeader: empty header name")
		}
		o.headers.Add(key, value)
		return nil
	}
}

// WithCAFile trusts the PEM certificates in path for https endpoints. They replace the
// system roots (or extend the roots of a WithTLSConfig config).
func WithCAFile(path string) Option {
	return func(o *options) error {
		o.caFile = path
		return nil
	}
}

// WithTLSConfig uses cfg for https endpoints (cloned; WithCAFile adds its roots to it).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return errors.New("WithTLSConfig: nil config")
		}
		o.tlsConfig = cfg.Clone()
		return nil
	}
}

// WithClock injects the clock (used to interpret Retry-After dates).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		o.now = now
		return nil
	}
}

// WithSleep injects how the client waits between retries, so tests of backoff do not
// sleep for real. sleep must return ctx.Err() if ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) error {
		o.sleep = sleep
		return nil
	}
}

// New returns a client for the REST endpoint baseURL (e.g. "http://jobmanager:8081", a
// path prefix is kept).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		// url.Error repeats the URL, password included: report only its reason.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("flink REST URL %q: %v", RedactURL(baseURL), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("flink REST URL %q: want http://host:port or https://host:port", RedactURL(baseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	u.RawQuery, u.Fragment = "", ""
	var userAuth func(*http.Request)
	if u.User != nil {
		// http://user:password@host: basic auth unless an option says otherwise.
		user := u.User.Username()
		pass, _ := u.User.Password()
		userAuth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
		u.User = nil
	}
	o := options{
		timeout:  DefaultTimeout,
		retries:  DefaultRetries,
		backBase: DefaultBackoffBase,
		backMax:  DefaultBackoffMax,
		headers:  http.Header{},
		now:      time.Now,
		sleep:    sleepCtx,
		auth:     userAuth,

		maxInFlight: DefaultMaxInFlight,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	hc, err := o.httpClient()
	if err != nil {
		return nil, err
	}
	return &Client{
		base: u, hc: withRedirectPolicy(hc, u, o.headers), timeout: o.timeout, retries: o.retries, backBase: o.backBase,
		backMax: o.backMax, auth: o.auth, headers: o.headers, now: o.now, sleep: o.sleep,
		inFlight: make(chan struct{}, o.maxInFlight),
	}, nil
}

// httpClient builds the HTTP client, applying the TLS options to its transport.
func (o *options) httpClient() (*http.Client, error) {
	if o.caFile == "" && o.tlsConfig == nil {
		if o.hc != nil {
			return o.hc, nil
		}
		return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, nil
	}
	cfg := o.tlsConfig
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if cfg.RootCAs != nil {
			pool = cfg.RootCAs.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate found", o.caFile)
		}
		cfg.RootCAs = pool
	}
	hc := &http.Client{}
	var base http.RoundTripper = http.DefaultTransport
	if o.hc != nil {
		*hc = *o.hc
		if o.hc.Transport != nil {
			base = o.hc.Transport
		}
	}
	t, ok := base.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("TLS options need an *http.Transport, the HTTP client has %T", base)
	}
	t = t.Clone()
	t.TLSClientConfig = cfg
	hc.Transport = t
	return hc, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BaseURL returns the endpoint the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// ---------------------------------------------------------------------------------------
// Errors

// APIError is a non-2xx answer. Errors holds Flink's {"errors": [...]} messages (or the
// start of the body when it is not that shape).
type APIError struct {
	Method string
	Path   string
	Status int
	Errors []string
}

func (e *APIError) Error() string {
	msg := strings.Join(e.Errors, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, msg)
}

// Retryable reports whether the status is worth retrying (5xx, 429).
func (e *APIError) Retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// ErrTimeout is wrapped by errors of attempts that hit the per-call deadline.
var ErrTimeout = errors.New("deadline exceeded")

// RequestError is a failed call: a transport error (connection refused, reset, timeout)
// or the last APIError, after Attempts attempts.
type RequestError struct {
	Method   string
	Path     string
	Attempts int
	Err      error
}

func (e *RequestError) Error() string {
	var apiErr *APIError
	if errors.As(e.Err, &apiErr) {
		if e.Attempts > 1 {
			return fmt.Sprintf("%v (after %d attempts)", e.Err, e.Attempts)
		}
		return e.Err.Error()
	}
	if e.Attempts > 1 {
		return fmt.Sprintf("%s %s: after %d attempts: %v", e.Method, e.Path, e.Attempts, e.Err)
	}
	return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// StatusCode returns the HTTP status of an APIError inside err, or 0.
func StatusCode(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}

// IsNotFound reports whether err is a 404 answer (unknown job, vertex or TaskManager).
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsTimeout reports whether err comes from an attempt that hit its deadline.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// retryable reports whether an attempt's error may succeed when repeated.
func retryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Retryable()
	}
	var decErr *decodeError
	if errors.As(err, &decErr) {
		return false
	}
	// A certificate the client does not trust will not become trusted by asking again.
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return false
	}
	// Other transport errors: refused, reset, EOF, timeouts.
	return true
}

// IsBadResponse reports whether err comes from a 2xx answer that is not what its endpoint
// defines: malformed JSON, numbers that overflow their type, an empty or oversized body.
func IsBadResponse(err error) bool {
	var decErr *decodeError
	return errors.As(err, &decErr)
}

type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decoding response: " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// ---------------------------------------------------------------------------------------
// Transport

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// call performs one REST call with retries and decodes a 2xx body into out (if non-nil).
// It returns the raw 2xx body.
func (c *Client) call(ctx context.Context, method, path string, query string, in, out any) ([]byte, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("%s %s: encoding request: %w", method, path, err)
		}
	}
	// path is already escaped (built by p); the base URL's own path is kept as a prefix.
	target := c.base.Scheme + "://" + c.base.Host + c.base.EscapedPath() + path
	if query != "" {
		target += "?" + query
	}

	if err := c.acquire(ctx); err != nil {
		return nil, &RequestError{method, path, 0, err}
	}
	defer c.release()
	for attempt := 1; ; attempt++ {
		body, retryAfter, err := c.once(ctx, method, target, path, payload, out)
		if err == nil {
			return body, nil
		}
		var decErr *decodeError
		if errors.As(err, &decErr) {
			return nil, &RequestError{method, path, attempt, err}
		}
		if ctx.Err() != nil || !idempotent(method) || attempt > c.retries || !retryable(err) {
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			return nil, &RequestError{method, path, attempt, err}
		}
		if serr := c.sleep(ctx, c.backoff(attempt, retryAfter)); serr != nil {
			return nil, &RequestError{method, path, attempt, fmt.Errorf("%w (last error: %v)", serr, err)}
		}
	}
}

// backoff returns the wait before retry number n (1-based): base·2^(n-1), at least the
// server's Retry-After, capped at max. No jitter: the client stays deterministic.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	d := c.backBase
	for i := 1; i < n && d < c.backMax; i++ {
		d *= 2
	}
	d = max(d, retryAfter)
	return min(d, c.backMax)
}

// once performs a single attempt under the per-attempt deadline. A 2xx body is decoded
// into out as it arrives (out is reset first: an earlier attempt may have half-filled it);
// with out nil it is returned, read up to the endpoint's bound.
func (c *Client) once(ctx context.Context, method, target, path string, payload []byte, out any) ([]byte, time.Duration, error) {
	actx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "flinktune")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, c.attemptError(ctx, actx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, limitError))
		apiErr := &APIError{Method: method, Path: path, Status: resp.StatusCode, Errors: errorMessages(body)}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			apiErr.Errors = append(apiErr.Errors, "redirect to "+redactLocation(resp.Header.Get("Location"))+" not followed (another origin, or a "+method+")")
		}
		return nil, c.retryAfter(resp), apiErr
	}
	limit := bodyLimit(path)
	cr := &capReader{r: resp.Body, n: limit}
	if out == nil {
		body, err := io.ReadAll(cr)
		switch {
		case errors.Is(err, errTooLarge):
			return nil, 0, &decodeError{tooLargeError(limit)}
		case err != nil:
			return nil, 0, c.attemptError(ctx, actx, err)
		}
		return body, 0, nil
	}
	if v := reflect.ValueOf(out); v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().SetZero()
	}
	err = decodeStream(cr, resp.ContentLength, out)
	switch {
	case err == nil:
		return nil, 0, nil
	case errors.Is(err, errTooLarge):
		return nil, 0, &decodeError{tooLargeError(limit)}
	case cr.readErr != nil:
		return nil, 0, c.attemptError(ctx, actx, cr.readErr) // the connection failed, not the JSON
	}
	return nil, 0, &decodeError{err}
}

// attemptError marks an attempt that ran out of its own deadline (not the caller's).
func (c *Client) attemptError(parent, attempt context.Context, err error) error {
	if parent.Err() == nil && errors.Is(context.Cause(attempt), ErrTimeout) {
		return fmt.Errorf("%w after %v: %v", ErrTimeout, c.timeout, err)
	}
	return err
}

func (c *Client) retryAfter(resp *http.Response) time.Duration {
	h := resp.Header.Get("Retry-After")
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(c.now()); d > 0 {
			return d
		}
	}
	return 0
}

// errorMessages extracts Flink's {"errors": [...]}, or the start of a foreign body.
func errorMessages(body []byte) []string {
	var e ErrorResponse
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return e.Errors
	}
	s := strings.TrimSpace(string(body))
	if s == "" {
		return nil
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return []string{s}
}

// p builds an escaped REST path from segments (TaskManager ids are free-form).
func p(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// metricsQuery builds "get=a,b&agg=min,max" with every name escaped (+, /, # and the like
// must not reach Flink raw).
func metricsQuery(names, aggs []string) string {
	var b strings.Builder
	if len(names) > 0 {
		b.WriteString("get=")
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(url.QueryEscape(n))
		}
	}
	if len(aggs) > 0 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString("agg=")
		for i, a := range aggs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(url.QueryEscape(a))
		}
	}
	return b.String()
}

// Get performs a GET of any REST path (escaped, e.g. "/jobs/<id>/status?x=y") and decodes
// the answer into out; for endpoints without a typed method.
func (c *Client) Get(ctx context.Context, path string, out any) error {
	rawPath, query, _ := strings.Cut(path, "?")
	_, err := c.call(ctx, http.MethodGet, rawPath, query, nil, out)
	return err
}
