package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseOverrides(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]int
		bad  bool
	}{
		{"", map[string]int{}, false},
		{"a:1", map[string]int{"a": 1}, false},
		{" a : 2 , b:3,", map[string]int{"a": 2, "b": 3}, false},
		{"a", nil, true},
		{"a:0", nil, true},
		{"a:x", nil, true},
		{":3", nil, true},
	} {
		got, err := ParseOverrides(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if !tc.bad && !maps.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
		if !tc.bad {
			if back, _ := ParseOverrides(FormatOverrides(got)); !maps.Equal(back, got) {
				t.Errorf("%q: round trip %v", tc.in, back)
			}
		}
	}
}

func FuzzParseOverrides(f *testing.F) {
	for _, s := range []string{"a:1", "a:1,b:2", ",,", "x:-1", "a:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseOverrides(s)
		if err != nil {
			return
		}
		back, err := ParseOverrides(FormatOverrides(m))
		if err != nil || !maps.Equal(back, m) {
			t.Fatalf("%q: %v round trips to %v (%v)", s, m, back, err)
		}
	})
}

// owned rebuilds exactly the fields flinktune applied, from the live values.
func TestOwned(t *testing.T) {
	var live Object
	json.Unmarshal([]byte(`{
	  "metadata": {"name": "x", "annotations": {"flinktune.io/history": "[]", "user": "u"},
	    "managedFields": [
	      {"manager": "flinktune", "operation": "Apply", "fieldsV1": {
	        "f:metadata": {"f:annotations": {"f:flinktune.io/history": {}}},
	        "f:spec": {"f:flinkConfiguration": {"f:pipeline.jobvertex-parallelism-overrides": {}, "f:gone": {}},
	                   "f:taskManager": {"f:resource": {"f:memory": {}}}}}},
	      {"manager": "flinktune", "operation": "Update", "fieldsV1": {"f:spec": {"f:image": {}}}},
	      {"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {"f:job": {".": {}, "f:parallelism": {}}}}}
	    ]},
	  "spec": {"image": "i", "job": {"parallelism": 2},
	    "flinkConfiguration": {"pipeline.jobvertex-parallelism-overrides": "a:2", "user.key": "v"},
	    "taskManager": {"resource": {"memory": "2g", "cpu": 1}}}}`), &live)
	got := owned(live)
	want := Object{
		"metadata": map[string]any{"annotations": map[string]any{"flinktune.io/history": "[]"}},
		"spec": map[string]any{"flinkConfiguration": map[string]any{"pipeline.jobvertex-parallelism-overrides": "a:2"},
			"taskManager": map[string]any{"resource": map[string]any{"memory": "2g"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("owned:\n%v\nwant\n%v", got, want)
	}
}

func TestHistoryBounded(t *testing.T) {
	var h []Change
	for i := range 3 * MaxHistory {
		s := appendHistory(h, Change{Kind: "parallelism", To: map[string]string{"v": strconv.Itoa(i), "pad": strings.Repeat("x", 400)}})
		if len(s) > MaxHistoryBytes {
			t.Fatalf("history of %d bytes", len(s))
		}
		json.Unmarshal([]byte(s), &h)
	}
	if len(h) > MaxHistory || h[len(h)-1].Seq != 3*MaxHistory {
		t.Fatalf("%d entries, last seq %d", len(h), h[len(h)-1].Seq)
	}
	for i := 1; i < len(h); i++ {
		if h[i].Seq != h[i-1].Seq+1 {
			t.Fatalf("gap at %d", i)
		}
	}
}

func TestParseKubeconfig(t *testing.T) {
	kc := `apiVersion: v1
current-context: b
clusters:
- {name: c1, cluster: {server: "https://1.2.3.4:6443", certificate-authority-data: "` + "aGVsbG8=" + `"}}
contexts:
- {name: a, context: {cluster: c1, user: u1}}
- {name: b, context: {cluster: c1, user: u2, namespace: flink}}
users:
- {name: u1, user: {token: t1}}
- {name: u2, user: {tokenFile: tok}}
- {name: u3, user: {exec: {command: aws}}}
`
	cfg, err := ParseKubeconfig([]byte(kc), "", "/etc/k")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://1.2.3.4:6443" || string(cfg.CAData) != "hello" || cfg.TokenFile != "/etc/k/tok" || cfg.Namespace != "flink" {
		t.Errorf("%+v", cfg)
	}
	cfg, err = ParseKubeconfig([]byte(kc), "a", "")
	if err != nil || cfg.Token != "t1" || cfg.Namespace != "default" {
		t.Errorf("%+v %v", cfg, err)
	}
	if _, err := ParseKubeconfig([]byte(kc), "nope", ""); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	bad := strings.Replace(kc, "user: u1", "user: u3", 1)
	if _, err := ParseKubeconfig([]byte(bad), "a", ""); err == nil || !strings.Contains(err.Error(), "exec") {
		t.Errorf("exec plugin: %v", err)
	}
}

func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte("current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {server: x}}]"), "")
	f.Fuzz(func(t *testing.T, data []byte, ctx string) {
		ParseKubeconfig(data, ctx, "") // must not panic
	})
}

func TestBudget(t *testing.T) {
	b := &Budget{MilliCPU: 4000}
	per := [2]int64{1000, 1 << 30}
	if n := b.grant("a", 3, 1, per); n != 3 {
		t.Errorf("a: %d", n)
	}
	if n := b.grant("b", 3, 1, per); n != 1 { // 3000 used by a: one more fits
		t.Errorf("b: %d, want 1", n)
	}
	if n := b.grant("a", 1, 3, per); n != 1 { // scaling down always fits
		t.Errorf("a down: %d", n)
	}
	if n := b.grant("b", 3, 1, per); n != 3 {
		t.Errorf("b after a scaled down: %d", n)
	}
	var none *Budget
	if none.grant("x", 50, 1, per) != 50 {
		t.Error("nil budget must not bound")
	}
}

func TestReplicas(t *testing.T) {
	r := &ReplicasRealizer{Min: 2, Max: 5, Slots: 4}
	for _, tc := range []struct {
		target map[string]int
		want   int
	}{{map[string]int{"a": 1}, 2}, {map[string]int{"a": 9, "b": 2}, 3}, {map[string]int{"a": 100}, 5}} {
		if got := r.Replicas(nil, tc.target); got != tc.want {
			t.Errorf("%v: %d, want %d", tc.target, got, tc.want)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct {
		q   string
		cpu bool
		v   int64
	}{{"500m", true, 500}, {"2", true, 2000}, {"1.5", true, 1500}, {"1Gi", false, 1 << 30}, {"512M", false, 512e6}, {"2g", false, 2 << 30}} {
		if v, err := ParseQuantity(tc.q, tc.cpu); err != nil || v != tc.v {
			t.Errorf("%s: %d %v, want %d", tc.q, v, err, tc.v)
		}
	}
	for _, tc := range []struct {
		q   string
		cpu bool
	}{{"lots", false}, {"NaN", true}, {"NaN", false}, {"Inf", true}, {"-InfGi", false}, {"-1", true}, {"-5m", true},
		{"-1Gi", false}, {"-1", false}, {"1e30Gi", false}, {"1e17", true}, {"9223372036854775808", false}} {
		if v, err := ParseQuantity(tc.q, tc.cpu); err == nil || !strings.Contains(err.Error(), strconv.Quote(tc.q)) {
			t.Errorf("%s (cpu %t): %d %v, want an error naming it", tc.q, tc.cpu, v, err)
		}
	}
	if v, err := ParseQuantity("9223372036854775807", false); err != nil || v != math.MaxInt64 { // exact, not via float64
		t.Errorf("max int64: %d %v", v, err)
	}
}

// FuzzParseQuantity: a quantity read is never negative (a NaN or huge float converted to
// int64 was), and it reads back the same when written plainly (bytes, millicores).
func FuzzParseQuantity(f *testing.F) {
	for _, q := range []string{"500m", "2", "1.5", "0.25", "1Gi", "512Mi", "512M", "2g", "1e9", "4096k", "1.5Ti", "NaN", "-1", "1e300Gi"} {
		f.Add(q, true)
		f.Add(q, false)
	}
	f.Fuzz(func(t *testing.T, q string, cpu bool) {
		v, err := ParseQuantity(q, cpu)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q (cpu %t): %d", q, cpu, v)
		}
		plain := strconv.FormatInt(v, 10)
		if cpu {
			plain += "m"
		}
		if back, err := ParseQuantity(plain, cpu); err != nil || back != v {
			t.Fatalf("%q (cpu %t) = %d, but %q reads %d %v", q, cpu, v, plain, back, err)
		}
	})
}

func TestRecorderRateLimit(t *testing.T) {
	now := time.Unix(0, 0)
	r := &Recorder{Burst: 2, Every: 10 * time.Second, Dedupe: time.Minute, Now: func() time.Time { return now }}
	if !r.allow("o", "a") || r.allow("o", "a") {
		t.Fatal("a repeated event must be deduplicated")
	}
	if !r.allow("o", "b") || r.allow("o", "c") {
		t.Fatal("burst of 2")
	}
	if !r.allow("other", "c") {
		t.Fatal("buckets are per object")
	}
	now = now.Add(10 * time.Second)
	if !r.allow("o", "c") {
		t.Fatal("one token per 10 s")
	}
}

func TestTargetOf(t *testing.T) {
	fd := func(ann, conf map[string]any) Object {
		return Object{"kind": "FlinkDeployment", "metadata": map[string]any{"name": "j", "namespace": "ns", "annotations": ann},
			"spec": map[string]any{"flinkConfiguration": conf}}
	}
	on := map[string]any{AnnEnabled: "true"}
	tg := TargetOf(FlinkDeployments, fd(on, map[string]any{"job.autoscaler.metrics.window": "5m", "user": "x"}))
	if tg.Skip != "" || tg.URL != "http://j-rest.ns.svc:8081" || !maps.Equal(tg.Options, map[string]string{"job.autoscaler.metrics.window": "5m"}) {
		t.Errorf("%+v", tg)
	}
	if tg := TargetOf(FlinkDeployments, fd(on, map[string]any{"job.autoscaler.enabled": "true"})); !strings.Contains(tg.Skip, "operator") || tg.SkipReason != SkipOperatorAutoscaler {
		t.Errorf("operator autoscaler: %+v", tg)
	}
	if tg := TargetOf(FlinkDeployments, fd(nil, nil)); !strings.Contains(tg.Skip, AnnEnabled) || tg.SkipReason != SkipNotManaged {
		t.Errorf("not enabled: %+v", tg)
	}
	sj := Object{"kind": "FlinkSessionJob", "metadata": map[string]any{"name": "s", "namespace": "ns", "annotations": on},
		"spec": map[string]any{"deploymentName": "session"}, "status": map[string]any{"jobStatus": map[string]any{"jobId": "abc"}}}
	if tg := TargetOf(FlinkSessionJobs, sj); tg.URL != "http://session-rest.ns.svc:8081" || tg.JobID != "abc" || tg.Skip != "" {
		t.Errorf("session job: %+v", tg)
	}
}

// A reactive Deployment's bounds are read from its annotations; one that is not a whole
// number, or a min above the max, leaves the Deployment alone with the annotation and value
// named (read as 0, a mistyped max-replicas meant no bound at all).
func TestTargetOfReactiveBounds(t *testing.T) {
	dep := func(ann map[string]any) Object {
		ann[AnnRESTURL] = "http://jm:8081"
		return Object{"kind": "Deployment", "metadata": map[string]any{"name": "tm", "namespace": "ns", "annotations": ann},
			"spec": map[string]any{"replicas": 2.0}}
	}
	tg := TargetOf(Deployments, dep(map[string]any{AnnMin: "1", AnnMax: " 6 ", AnnSlots: "2"}))
	if tg.Skip != "" || tg.Min != 1 || tg.Max != 6 || tg.Slots != 2 || tg.Replicas != 2 {
		t.Errorf("valid bounds: %+v", tg)
	}
	if tg := TargetOf(Deployments, dep(map[string]any{})); tg.Skip != "" || tg.Min != 0 || tg.Max != 0 || tg.Slots != 0 {
		t.Errorf("no bounds: %+v", tg)
	}
	for _, tc := range []struct {
		ann  map[string]any
		want string
	}{
		{map[string]any{AnnMax: "ten"}, AnnMax + `: "ten"`},
		{map[string]any{AnnMin: "-1"}, AnnMin + `: "-1"`},
		{map[string]any{AnnSlots: "2.5"}, AnnSlots + `: "2.5"`},
		{map[string]any{AnnMin: "8", AnnMax: "4"}, AnnMin + ": 8 above " + AnnMax + ": 4"},
	} {
		if tg := TargetOf(Deployments, dep(tc.ann)); !strings.Contains(tg.Skip, tc.want) || tg.SkipReason != SkipInvalidAnnotation {
			t.Errorf("%v: skip %q (%s), want it to name %s (%s)", tc.ann, tg.Skip, tg.SkipReason, tc.want, SkipInvalidAnnotation)
		}
	}
}

// deploy/rbac.yaml grants exactly Permissions.
func TestRBACMatchesPermissions(t *testing.T) {
	data, err := os.ReadFile("../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role struct {
		Kind  string
		Rules []struct {
			APIGroups []string `yaml:"apiGroups"`
			Resources []string
			Verbs     []string
			Names     []string `yaml:"resourceNames"`
		}
	}
	if err := yaml.Unmarshal(data, &role); err != nil || role.Kind != "Role" {
		t.Fatalf("first document must be the Role: %v", err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					granted[g+"/"+res+":"+v+fmt.Sprint(r.Names)] = true
				}
			}
		}
	}
	used := map[string]bool{}
	for _, p := range Permissions {
		for _, v := range p.Verbs {
			used[p.Resource.Group+"/"+p.Resource.Resource+":"+v+fmt.Sprint(p.Names)] = true
		}
	}
	if !maps.Equal(granted, used) {
		t.Errorf("rbac.yaml grants %v\nflinktune uses %v", slices.Sorted(maps.Keys(granted)), slices.Sorted(maps.Keys(used)))
	}
}

// fakeAPI serves one object and records the requests, for the apply path.
type fakeAPI struct {
	mu        sync.Mutex
	obj       Object
	rv        int
	requests  []string
	conflicts int // answer this many applies with a stale-version 409
	applied   []Object
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+r.Header.Get("Content-Type"))
	switch r.Method {
	case http.MethodGet:
		f.obj["metadata"].(map[string]any)["resourceVersion"] = strconv.Itoa(f.rv)
		json.NewEncoder(w).Encode(f.obj)
	case http.MethodPatch:
		body, _ := io.ReadAll(r.Body)
		var o Object
		json.Unmarshal(body, &o)
		if f.conflicts > 0 {
			f.conflicts--
			f.rv++
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(map[string]any{"reason": "Conflict", "message": "the object has been modified"})
			return
		}
		f.applied = append(f.applied, o)
		f.rv++
		f.obj["spec"] = o["spec"]
		f.obj["metadata"].(map[string]any)["annotations"] = o.Get("metadata", "annotations")
		json.NewEncoder(w).Encode(f.obj)
	}
}

func TestSpecRealizerApply(t *testing.T) {
	f := &fakeAPI{obj: Object{"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
		"metadata": map[string]any{"name": "j", "namespace": "ns"},
		"spec":     map[string]any{"flinkConfiguration": map[string]any{KeyOverrides: "a:1"}}}, conflicts: 1}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	c, _ := New(Config{Host: srv.URL, Insecure: true})
	leading := true
	r := &SpecRealizer{Client: c, Resource: FlinkDeployments, Namespace: "ns", Name: "j", Identity: "me", Fence: func() bool { return leading }}
	sent, err := r.Realize(context.Background(), nil, map[string]int{"b": 3})
	if err != nil || !sent {
		t.Fatalf("%v %v", sent, err)
	}
	if len(f.applied) != 1 {
		t.Fatalf("applied %d times: %v", len(f.applied), f.requests)
	}
	a := f.applied[0]
	if a.StrMap("spec", "flinkConfiguration")[KeyOverrides] != "a:1,b:3" || a.Str("metadata", "resourceVersion") != "1" {
		t.Errorf("apply body %v", a)
	}
	if h := History(a); len(h) != 1 || h[0].By != "me" || h[0].To["b"] != "3" {
		t.Errorf("history %+v", h)
	}
	for _, req := range f.requests {
		if strings.HasPrefix(req, "PATCH") && (!strings.Contains(req, "fieldManager=flinktune") || strings.Contains(req, "force") ||
			!strings.HasSuffix(req, "application/apply-patch+yaml")) {
			t.Errorf("apply request %s", req)
		}
	}
	if sent, err := r.Realize(context.Background(), nil, map[string]int{"b": 3}); sent || err != nil {
		t.Errorf("idempotent: %v %v", sent, err)
	}
	leading = false
	if _, err := r.Realize(context.Background(), nil, map[string]int{"b": 4}); err != ErrNotLeader {
		t.Errorf("a replica that lost the lease applied: %v", err)
	}
}

// fakeLeases serves Lease get/create/update with resourceVersion checks.
type fakeLeases struct {
	mu    sync.Mutex
	lease Object
	rv    int
}

func (f *fakeLeases) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in Object
	json.NewDecoder(r.Body).Decode(&in)
	switch r.Method {
	case http.MethodGet:
		if f.lease == nil {
			w.WriteHeader(404)
			w.Write([]byte(`{"reason":"NotFound","message":"not found"}`))
			return
		}
	case http.MethodPost:
		if f.lease != nil {
			w.WriteHeader(409)
			return
		}
		f.rv++
		f.lease = in
	case http.MethodPut:
		if in.ResourceVersion() != strconv.Itoa(f.rv) {
			w.WriteHeader(409)
			w.Write([]byte(`{"reason":"Conflict","message":"the object has been modified"}`))
			return
		}
		f.rv++
		f.lease = in
	}
	f.lease["metadata"].(map[string]any)["resourceVersion"] = strconv.Itoa(f.rv)
	json.NewEncoder(w).Encode(f.lease)
}

// Two electors: one leads at a time; when the leader stops renewing (killed), the other
// takes over.
func TestElector(t *testing.T) {
	srv := httptest.NewTLSServer(&fakeLeases{})
	defer srv.Close()
	c, _ := New(Config{Host: srv.URL, Insecure: true})
	var mu sync.Mutex
	leading := map[string]bool{}
	both := false
	run := func(ctx context.Context, id string, rt http.RoundTripper) *Elector {
		cl := &Client{cfg: c.cfg, http: &http.Client{Transport: rt}, base: c.base}
		e := &Elector{Client: cl, Namespace: "ns", Name: "l", Identity: id, Duration: 600 * time.Millisecond}
		go e.Run(ctx, func(ctx context.Context) {
			mu.Lock()
			leading[id] = true
			both = both || len(leading) > 1
			mu.Unlock()
			<-ctx.Done()
			mu.Lock()
			delete(leading, id)
			mu.Unlock()
		})
		return e
	}
	ctxA, killA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	killable := &toggle{rt: c.http.Transport}
	a := run(ctxA, "a", killable)
	time.Sleep(200 * time.Millisecond)
	b := run(ctxB, "b", c.http.Transport)
	deadline := time.Now().Add(5 * time.Second)
	for !a.Leading() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !a.Leading() || b.Leading() {
		t.Fatalf("a %v b %v", a.Leading(), b.Leading())
	}
	// Simulate kill -9: stop a's renewals without releasing the lease.
	killable.dead.Store(true)
	defer killA()
	for !b.Leading() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !b.Leading() {
		t.Fatal("b did not take over")
	}
	if a.Leading() {
		t.Error("a still believes it leads")
	}
	mu.Lock()
	defer mu.Unlock()
	if both {
		t.Error("two leaders at once")
	}
}

// toggle is a transport that fails every request once dead (a killed process).
type toggle struct {
	rt   http.RoundTripper
	dead atomic.Bool
}

func (t *toggle) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.dead.Load() {
		return nil, io.ErrUnexpectedEOF
	}
	return t.rt.RoundTrip(r)
}

func TestReplicasRealizerPatch(t *testing.T) {
	f := &fakeAPI{obj: Object{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "tm", "namespace": "ns"}, "spec": map[string]any{"replicas": 1}}}
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	c, _ := New(Config{Host: srv.URL, Insecure: true})
	r := &ReplicasRealizer{Client: c, Namespace: "ns", Name: "tm", Identity: "me", Min: 1, Max: 10, Slots: 2,
		PerPod: [2]int64{1000, 1 << 30}, Budget: &Budget{MilliCPU: 2000}}
	sent, err := r.Realize(context.Background(), nil, map[string]int{"a": 5})
	if err != nil || !sent {
		t.Fatalf("%v %v", sent, err)
	}
	a := f.applied[0]
	if n, _ := a.Get("spec", "replicas").(float64); n != 2 { // 3 wanted, the budget grants 2
		t.Errorf("replicas %v, want 2 (budget)", a.Get("spec", "replicas"))
	}
	if a.Str("metadata", "resourceVersion") == "" || len(History(a)) != 1 {
		t.Errorf("patch %v: want the resourceVersion precondition and the history", a)
	}
	if !strings.HasSuffix(f.requests[len(f.requests)-1], "application/merge-patch+json") {
		t.Errorf("request %s", f.requests[len(f.requests)-1])
	}
	if _, err := r.Realize(context.Background(), nil, map[string]int{"a": 6}); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("at the budget: %v", err)
	}
}
