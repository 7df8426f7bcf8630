// Package kube makes Kubernetes a platform for flinktune: it discovers FlinkDeployments,
// FlinkSessionJobs and reactive-mode TaskManager Deployments as targets, realizes decisions
// on them (parallelism overrides and memory by server-side apply, Deployment replicas through
// the scale subresource), mirrors flinktune's events onto the resources, and elects one
// leader among replicas with a coordination.k8s.io Lease. What a new leader needs lives in
// the cluster: each resource's change history in its flinktune.io/history annotation
// (written in the same request as the change) and the policies' state in a size-bounded
// ConfigMap (StateStore).
//
// The API client is a small one over net/http rather than client-go: flinktune makes a
// handful of plain-JSON calls (get, list, watch, server-side apply, merge patch, create,
// update; rbac.go lists them as RBAC rules), while client-go and its apimachinery would add
// dozens of modules and most of a minute of compile time to a fast test tier that has
// 3 minutes on 2 cores. Objects are handled as unstructured maps (the operator's CRDs have
// no Go types here anyway).
package kube

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
	"strings"
	"time"
)

// Config says how to reach an API server.
type Config struct {
	Host      string // https://host:port
	CAData    []byte // PEM; empty: system roots
	Token     string
	TokenFile string // re-read on each request (projected service account tokens rotate)
	CertData  []byte // client certificate (PEM), with KeyData
	KeyData   []byte
	Insecure  bool // skip TLS verification (kubeconfig insecure-skip-tls-verify)
	Namespace string
	Timeout   time.Duration // per request, not for watches; default 30 s
	// UserAgent names the writer of non-apply changes in managedFields; default "flinktune".
	UserAgent string
}

// Client talks to one API server.
type Client struct {
	cfg  Config
	http *http.Client
	base *url.URL
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("kubernetes server %q: want a URL such as https://10.0.0.1:6443", cfg.Host)
	}
	tc := &tls.Config{InsecureSkipVerify: cfg.Insecure, MinVersion: tls.VersionTLS12}
	if len(cfg.CAData) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAData) {
			return nil, errors.New("kubernetes CA: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	if len(cfg.CertData) > 0 {
		cert, err := tls.X509KeyPair(cfg.CertData, cfg.KeyData)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &Client{cfg: cfg, http: &http.Client{Transport: tr}, base: u}, nil
}

// Namespace is the namespace of the configuration (kubeconfig context or the pod's own).
func (c *Client) Namespace() string { return c.cfg.Namespace }

// StatusError is an API server's refusal, with its Status reason (Conflict, NotFound, ...).
type StatusError struct {
	Code    int
	Reason  string
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("kubernetes API: %d %s: %s", e.Code, e.Reason, e.Message)
}

// IsStatus reports whether err is an API refusal with HTTP code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

func (c *Client) token() (string, error) {
	if c.cfg.TokenFile != "" {
		b, err := os.ReadFile(c.cfg.TokenFile)
		if err != nil {
			return "", fmt.Errorf("service account token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return c.cfg.Token, nil
}

func (c *Client) request(ctx context.Context, method, path string, q url.Values, ctype string, body []byte) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	ua := c.cfg.UserAgent
	if ua == "" {
		ua = "flinktune"
	}
	req.Header.Set("User-Agent", ua)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	tok, err := c.token()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return c.http.Do(req)
}

// do sends one request and decodes a 2xx answer into out (unless nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := c.request(ctx, method, path, q, ctype, body)
	if err != nil {
		return fmt.Errorf("kubernetes API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("kubernetes API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return statusError(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("kubernetes API %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

func statusError(code int, data []byte) error {
	var st struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &st) != nil || st.Message == "" {
		st.Message = strings.TrimSpace(string(data))
		if len(st.Message) > 512 {
			st.Message = st.Message[:512]
		}
	}
	if st.Reason == "" {
		st.Reason = http.StatusText(code)
	}
	return &StatusError{Code: code, Reason: st.Reason, Message: st.Message}
}
