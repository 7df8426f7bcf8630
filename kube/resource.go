package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Resource names a kind of object by its REST path parts.
type Resource struct {
	Group, Version, Resource string
}

// The resources flinktune uses; deploy/rbac.yaml grants exactly these.
var (
	FlinkDeployments = Resource{"flink.apache.org", "v1beta1", "flinkdeployments"}
	FlinkSessionJobs = Resource{"flink.apache.org", "v1beta1", "flinksessionjobs"}
	Deployments      = Resource{"apps", "v1", "deployments"}
	Events           = Resource{"", "v1", "events"}
	Leases           = Resource{"coordination.k8s.io", "v1", "leases"}
)

func (r Resource) path(ns, name string) string {
	p := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		p = "/api/" + r.Version
	}
	if ns != "" {
		p += "/namespaces/" + url.PathEscape(ns)
	}
	p += "/" + r.Resource
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// Object is an unstructured API object.
type Object map[string]any

// Str reads a string at a path of map keys ("" when absent).
func (o Object) Str(path ...string) string {
	s, _ := o.Get(path...).(string)
	return s
}

// Get reads the value at a path of map keys (nil when absent).
func (o Object) Get(path ...string) any {
	var cur any = map[string]any(o)
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// StrMap reads a map of strings at a path (spec.flinkConfiguration, annotations).
func (o Object) StrMap(path ...string) map[string]string {
	m, _ := o.Get(path...).(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		}
	}
	return out
}

func (o Object) Name() string            { return o.Str("metadata", "name") }
func (o Object) Namespace() string       { return o.Str("metadata", "namespace") }
func (o Object) ResourceVersion() string { return o.Str("metadata", "resourceVersion") }
func (o Object) UID() string             { return o.Str("metadata", "uid") }

// Get reads one object.
func (c *Client) Get(ctx context.Context, r Resource, ns, name string) (Object, error) {
	var o Object
	err := c.do(ctx, http.MethodGet, r.path(ns, name), nil, "", nil, &o)
	return o, err
}

// List returns the objects matching selector ("" for all) and the list's resourceVersion,
// from which a watch continues.
func (c *Client) List(ctx context.Context, r Resource, ns, selector string) ([]Object, string, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("labelSelector", selector)
	}
	var l struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
		Items []Object `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, r.path(ns, ""), q, "", nil, &l); err != nil {
		return nil, "", err
	}
	return l.Items, l.Metadata.ResourceVersion, nil
}

// WatchEvent is one change a watch reports: ADDED, MODIFIED, DELETED or BOOKMARK.
type WatchEvent struct {
	Type   string `json:"type"`
	Object Object `json:"object"`
}

// ErrExpired: the watch's resourceVersion is too old; list again.
var ErrExpired = errors.New("kubernetes watch: resourceVersion expired (410 Gone), list again")

// Watch streams changes after resourceVersion rv to fn until ctx ends, the server closes the
// stream (nil: continue from the returned resourceVersion) or rv expires (ErrExpired).
func (c *Client) Watch(ctx context.Context, r Resource, ns, selector, rv string, timeout time.Duration, fn func(WatchEvent)) (string, error) {
	q := url.Values{"watch": {"1"}, "resourceVersion": {rv}, "allowWatchBookmarks": {"true"},
		"timeoutSeconds": {strconv.Itoa(int(timeout.Seconds()))}}
	if selector != "" {
		q.Set("labelSelector", selector)
	}
	resp, err := c.request(ctx, http.MethodGet, r.path(ns, ""), q, "", nil)
	if err != nil {
		return rv, fmt.Errorf("kubernetes watch %s: %w", r.Resource, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusGone {
		return rv, ErrExpired
	}
	if resp.StatusCode/100 != 2 {
		var buf [4096]byte
		n, _ := resp.Body.Read(buf[:])
		return rv, statusError(resp.StatusCode, buf[:n])
	}
	dec := json.NewDecoder(bufio.NewReader(resp.Body))
	for {
		var ev WatchEvent
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil {
				return rv, ctx.Err()
			}
			return rv, nil // the server ended the watch (timeoutSeconds): continue from rv
		}
		if ev.Type == "ERROR" {
			if code, _ := ev.Object.Get("code").(float64); code == http.StatusGone {
				return rv, ErrExpired
			}
			return rv, fmt.Errorf("kubernetes watch %s: %s", r.Resource, ev.Object.Str("message"))
		}
		if v := ev.Object.ResourceVersion(); v != "" {
			rv = v
		}
		if ev.Type != "BOOKMARK" {
			fn(ev)
		}
	}
}

// FieldManager names flinktune's changes in managedFields.
const FieldManager = "flinktune"

// Apply sends a server-side apply of obj (which must carry apiVersion, kind and name) as
// flinktune's field manager, never forced: a field another manager owns is a 409 Conflict
// that names it. With dryRun the server validates and answers without storing.
func (c *Client) Apply(ctx context.Context, r Resource, ns, name string, obj Object, dryRun bool) (Object, error) {
	return c.ApplyAs(ctx, r, ns, name, obj, FieldManager, false, dryRun)
}

// ApplyAs is a server-side apply as any field manager; force takes conflicting fields over
// (what a user does, once, to hand a field to flinktune; flinktune itself never forces).
func (c *Client) ApplyAs(ctx context.Context, r Resource, ns, name string, obj Object, manager string, force, dryRun bool) (Object, error) {
	q := url.Values{"fieldManager": {manager}}
	if force {
		q.Set("force", "true")
	}
	if dryRun {
		q.Set("dryRun", "All")
	}
	var out Object
	// JSON is YAML: the apply-patch+yaml content type takes it.
	err := c.do(ctx, http.MethodPatch, r.path(ns, name), q, "application/apply-patch+yaml", obj, &out)
	return out, err
}

// Create creates obj.
func (c *Client) Create(ctx context.Context, r Resource, ns string, obj any, dryRun bool) (Object, error) {
	q := url.Values{}
	if dryRun {
		q.Set("dryRun", "All")
	}
	var out Object
	err := c.do(ctx, http.MethodPost, r.path(ns, ""), q, "application/json", obj, &out)
	return out, err
}

// Update replaces obj; its metadata.resourceVersion makes it conditional (409 if stale).
func (c *Client) Update(ctx context.Context, r Resource, ns, name string, obj any) (Object, error) {
	var out Object
	err := c.do(ctx, http.MethodPut, r.path(ns, name), nil, "application/json", obj, &out)
	return out, err
}

// MergePatch sends a JSON merge patch.
func (c *Client) MergePatch(ctx context.Context, r Resource, ns, name string, patch any) (Object, error) {
	var out Object
	q := url.Values{}
	if c.cfg.UserAgent == "" {
		q.Set("fieldManager", FieldManager)
	}
	err := c.do(ctx, http.MethodPatch, r.path(ns, name), q, "application/merge-patch+json", patch, &out)
	return out, err
}

// Delete removes an object (used by tests and tools; flinktune itself deletes nothing).
func (c *Client) Delete(ctx context.Context, r Resource, ns, name string) error {
	return c.do(ctx, http.MethodDelete, r.path(ns, name), nil, "", nil, nil)
}

// PatchStatus sends a JSON merge patch to an object's status subresource (tests play the
// operator with it; flinktune never writes status).
func (c *Client) PatchStatus(ctx context.Context, r Resource, ns, name string, patch any) (Object, error) {
	var out Object
	err := c.do(ctx, http.MethodPatch, r.path(ns, name)+"/status", nil, "application/merge-patch+json", patch, &out)
	return out, err
}
