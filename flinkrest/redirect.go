package flinkrest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// WithMaxInFlight bounds how many calls the client runs at once (default 8); further calls
// wait for a free slot (or their context). With the per-endpoint body bounds it caps the
// memory one cluster's answers can occupy, and a slow cluster cannot pile up requests.
func WithMaxInFlight(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithMaxInFlight(%d): want at least 1", n)
		}
		o.maxInFlight = n
		return nil
	}
}

func (c *Client) acquire(ctx context.Context) error {
	select {
	case c.inFlight <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) release() { <-c.inFlight }

// withRedirectPolicy returns a copy of hc (never the caller's client itself) that follows
// redirects safely:
//
//   - credentials (Authorization, cookies) and the custom headers of WithHeader go only to
//     the endpoint's own origin (scheme, host and port): a redirect elsewhere, even to
//     another port of the same host, gets the request without them;
//   - a request other than GET or HEAD (the PUT of a rescale) follows a redirect only to
//     the same origin and with its method kept (307, 308); otherwise the 3xx is the answer
//     and the call fails with it, so a change is never sent, or turned into a GET, elsewhere;
//   - at most 10 redirects.
func withRedirectPolicy(hc *http.Client, base *url.URL, custom http.Header) *http.Client {
	cp := *hc
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		orig := via[0]
		same := sameOrigin(req.URL, base)
		if orig.Method != http.MethodGet && orig.Method != http.MethodHead && (!same || req.Method != orig.Method) {
			return http.ErrUseLastResponse
		}
		if !same {
			for _, h := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"} {
				req.Header.Del(h)
			}
			for k := range custom {
				req.Header.Del(k)
			}
		}
		return nil
	}
	return &cp
}

// sameOrigin compares scheme, host name and port (default ports filled in).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// RedactURL returns s with the user information (user:password@) of its authority replaced
// by "xxxxx", whether or not s parses: configuration errors print URLs, never passwords.
func RedactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	out := "xxxxx@" + rest[at+1:]
	if ok {
		out = scheme + "://" + out
	}
	return out
}

func redactLocation(loc string) string {
	loc = RedactURL(loc)
	if len(loc) > 200 {
		loc = loc[:200] + "..."
	}
	return fmt.Sprintf("%q", loc)
}
