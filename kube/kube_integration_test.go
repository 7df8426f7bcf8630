//go:build integration

package kube_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/kube"
	"github.com/flinktune/flinktune/sim"
)

const rampScenario = `
name: k8s-ramp
seed: 4
duration: 6h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 1, min: 1, max: 8, startupDelay: 5s}
jobs:
  - name: etl
    config:
      pipeline.max-parallelism: 120
      execution.checkpointing.interval: 20s
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 40000, partitions: 12}
      - {id: enrich, name: "Map: enrich", parallelism: 1, capacity: 6000, inputs: [{from: src, ship: HASH}]}
    load:
      - {source: src, at: 0s, rate: 3000}
      - {source: src, at: 2m, rate: 15000}
      - {source: src, at: 12m, rate: 3000}
`

// The options live on the resource, where a user of the operator keeps them.
var etlOptions = map[string]any{
	"job.autoscaler.scale-down.interval": "3m",
	"flinktune.settle":                   "4m",
}

func flinkDeployment(name, restURL string, conf map[string]any, enabled bool) kube.Object {
	ann := map[string]any{kube.AnnRESTURL: restURL}
	if enabled {
		ann[kube.AnnEnabled] = "true"
	}
	return kube.Object{
		"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkDeployment",
		"metadata": map[string]any{"name": name, "namespace": testNS, "annotations": ann},
		"spec": map[string]any{
			"image": "flink:1.20", "flinkVersion": "v1_20", "serviceAccount": "flink",
			"flinkConfiguration": conf,
			"jobManager":         map[string]any{"resource": map[string]any{"memory": "1g", "cpu": 1}},
			"taskManager":        map[string]any{"resource": map[string]any{"memory": "2g", "cpu": 1}},
			"job":                map[string]any{"jarURI": "local:///opt/flink/job.jar", "parallelism": 1, "upgradeMode": "stateless"},
		},
	}
}

func reactiveDeployment(name, restURL string) kube.Object {
	labels := map[string]any{"app": name}
	return kube.Object{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": testNS, "labels": map[string]any{kube.LabelReactive: "true"},
			"annotations": map[string]any{kube.AnnRESTURL: restURL, kube.AnnMin: "1", kube.AnnMax: "6", kube.AnnSlots: "2"}},
		"spec": map[string]any{
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{"containers": []any{map[string]any{
					"name": "taskmanager", "image": "flink:1.20", "args": []any{"taskmanager"},
					"resources": map[string]any{"requests": map[string]any{"cpu": "500m", "memory": "1Gi"}},
				}}},
			},
		},
	}
}

func kubeArgs(dataDir, identity string, extra ...string) []string {
	return append([]string{"run", "--kubernetes", "--kubeconfig", env.kubeconfig, "--namespace", testNS,
		"--data-dir", dataDir, "--identity", identity, "--log-format", "json"}, extra...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func get(t *testing.T, r kube.Resource, name string) kube.Object {
	t.Helper()
	o, err := env.admin.Get(context.Background(), r, testNS, name)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func eventsOn(t *testing.T, name string) map[string]int {
	t.Helper()
	evs, _, err := env.admin.List(context.Background(), kube.Events, testNS, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		if e.Str("involvedObject", "name") == name && e.Str("source", "component") == "flinktune" {
			out[e.Str("reason")]++
		}
	}
	return out
}

// TestEndToEnd: discovery, a parallelism override that the (stand-in) operator applies, a
// reactive Deployment whose replicas follow the load within the budget, events on the
// resources, and a user's concurrent edits that survive flinktune's applies (and the reverse).
func TestEndToEnd(t *testing.T) {
	defer func() { ran["TestEndToEnd"] = !t.Failed() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flinkA := startSim(t, "ramp", rampScenario, 30)
	jobA := sim.JobID("k8s-ramp", "etl")
	reactive := strings.Replace(strings.Replace(rampScenario, "k8s-ramp", "k8s-reactive", 1), "max: 8", "max: 12", 1)
	// A Deployment has no flinkConfiguration: the job's own configuration carries its options.
	reactive = strings.Replace(reactive, "      execution.checkpointing.interval: 20s\n",
		"      execution.checkpointing.interval: 20s\n      job.autoscaler.scale-down.interval: 3m\n      flinktune.settle: 4m\n", 1)
	flinkB := startSim(t, "reactive", reactive, 30)
	jobB := sim.JobID("k8s-reactive", "etl")

	conf := map[string]any{"taskmanager.numberOfTaskSlots": "2", "user.key": "a"}
	for k, v := range etlOptions {
		conf[k] = v
	}
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("etl", flinkA, conf, true))
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("legacy", flinkA, map[string]any{"job.autoscaler.enabled": "true"}, true))
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("other", flinkA, map[string]any{}, false))
	mustCreate(t, kube.Deployments, reactiveDeployment("rx-taskmanager", flinkB))
	// A session job: its session cluster runs two jobs; only the session job's own is managed.
	session := strings.Replace(rampScenario, "k8s-ramp", "k8s-session", 1) + strings.Replace(
		rampScenario[strings.Index(rampScenario, "  - name: etl"):], "name: etl", "name: other", 1)
	flinkD := startSim(t, "session", session, 30)
	jobD, otherD := sim.JobID("k8s-session", "etl"), sim.JobID("k8s-session", "other")
	mustCreate(t, kube.FlinkSessionJobs, kube.Object{
		"apiVersion": "flink.apache.org/v1beta1", "kind": "FlinkSessionJob",
		"metadata": map[string]any{"name": "sj", "namespace": testNS,
			"annotations": map[string]any{kube.AnnEnabled: "true", kube.AnnRESTURL: flinkD}},
		"spec": map[string]any{"deploymentName": "session", "flinkConfiguration": etlOptions,
			"job": map[string]any{"jarURI": "local:///opt/flink/job.jar", "parallelism": 1, "upgradeMode": "stateless"}},
	})
	// The operator reports the job id in the status.
	if _, err := env.admin.PatchStatus(ctx, kube.FlinkSessionJobs, testNS, "sj", map[string]any{
		"status": map[string]any{"jobStatus": map[string]any{"jobId": jobD, "state": "RUNNING"}}}); err != nil {
		t.Fatal(err)
	}
	runStandIn(ctx, kube.FlinkSessionJobs, "sj", flinkD, jobD, 0)

	// The operator policy with memory tuning: its memory changes land in the spec.
	tunedScenario := strings.Replace(rampScenario, "k8s-ramp", "k8s-tuned", 1)
	flinkC := startSim(t, "tuned", tunedScenario, 30)
	jobC := sim.JobID("k8s-tuned", "etl")
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("tuned", flinkC, map[string]any{"flinktune.policy": "operator",
		"job.autoscaler.memory.tuning.enabled": "true", "job.autoscaler.stabilization.interval": "1m",
		"job.autoscaler.metrics.window": "3m"}, true))
	userEdit(t, "tuned", map[string]any{"metadata": map[string]any{"annotations": map[string]any{kube.AnnManageMemory: "true"}}})
	runStandIn(ctx, kube.FlinkDeployments, "tuned", flinkC, jobC, 0)
	operator := runStandIn(ctx, kube.FlinkDeployments, "etl", flinkA, jobA, 0)
	kubelet := runStandIn(ctx, kube.Deployments, "rx-taskmanager", flinkB, jobB, 2)

	start := time.Now()
	ft := env.startFlinktune(t, "e2e", kubeArgs(t.TempDir(), "e2e", "--lease-duration", "5s",
		"--k8s-budget-cpu", "2500m", "--k8s-budget-memory", "16Gi")...)
	ft.waitOutput(t, `"msg":"became leader"`, 60*time.Second)
	ft.waitOutput(t, `"resource":"flink/flinkdeployment/etl"`, 30*time.Second)

	// The user edits another field while flinktune runs.
	userEdit(t, "etl", map[string]any{"spec": map[string]any{"flinkConfiguration": map[string]any{"user.key": "b"}}})

	waitFor(t, "a parallelism override on the FlinkDeployment", 4*time.Minute, func() bool {
		return get(t, kube.FlinkDeployments, "etl").StrMap("spec", "flinkConfiguration")[kube.KeyOverrides] != ""
	})
	t.Logf("first override after %s: %s", time.Since(start).Round(time.Second),
		get(t, kube.FlinkDeployments, "etl").StrMap("spec", "flinkConfiguration")[kube.KeyOverrides])
	waitFor(t, "the job rescaled by the operator stand-in", time.Minute, func() bool { return simStats(t, flinkA, jobA).Rescales >= 1 })

	// flinktune's field survives the user's later edit, and the user's the next apply.
	userEdit(t, "etl", map[string]any{"spec": map[string]any{"flinkConfiguration": map[string]any{"user.key": "c"},
		"job": map[string]any{"parallelism": 2}}})
	h0 := len(kube.History(get(t, kube.FlinkDeployments, "etl")))
	waitFor(t, "another change by flinktune after the user's edit (the load falls)", 4*time.Minute, func() bool {
		return len(kube.History(get(t, kube.FlinkDeployments, "etl"))) > h0
	})
	etl := get(t, kube.FlinkDeployments, "etl")
	if got := etl.StrMap("spec", "flinkConfiguration")["user.key"]; got != "c" {
		t.Errorf("user's flinkConfiguration key = %q after flinktune's applies, want c", got)
	}
	if got, _ := etl.Get("spec", "job", "parallelism").(float64); got != 2 {
		t.Errorf("user's spec.job.parallelism = %v, want 2", got)
	}
	if etl.StrMap("spec", "flinkConfiguration")[kube.KeyOverrides] == "" {
		t.Error("flinktune's override lost")
	}
	for k, v := range etlOptions {
		if etl.StrMap("spec", "flinkConfiguration")[k] != v {
			t.Errorf("%s changed", k)
		}
	}
	hist := kube.History(etl)
	checkHistory(t, hist, operator.values())

	// Reactive mode: replicas follow the load, within the budget (2500m / 500m = 5).
	// The stand-in's record, not the current replicas: the ramp's step may be over (and the
	// replicas back down) by the time the checks above are done.
	peak := 0
	waitFor(t, "the reactive Deployment scaled up", 3*time.Minute, func() bool {
		for _, v := range kubelet.values() {
			n, _ := strconv.Atoi(v)
			peak = max(peak, n)
		}
		return peak > 1
	})
	waitFor(t, "the reactive Deployment scaled down after the load fell", 3*time.Minute, func() bool {
		n, _ := get(t, kube.Deployments, "rx-taskmanager").Get("spec", "replicas").(float64)
		return int(n) < peak
	})
	for _, v := range kubelet.values() {
		if n, _ := strconv.Atoi(v); n > 5 || n < 1 {
			t.Errorf("replicas %d outside [1, budget 5]", n)
		}
	}
	if simStats(t, flinkB, jobB).Rescales < 1 {
		t.Error("the reactive job was not rescaled by its new TaskManagers")
	}
	t.Logf("reactive replicas: %v", kubelet.values())

	// Memory tuning by the operator policy: the change lands in the spec.
	waitFor(t, "a memory change on the resource \"tuned\"", 3*time.Minute, func() bool {
		for _, c := range kube.History(get(t, kube.FlinkDeployments, "tuned")) {
			if c.Kind == "config" {
				return true
			}
		}
		return false
	})
	tuned := get(t, kube.FlinkDeployments, "tuned")
	th := kube.History(tuned)
	for i := len(th) - 1; i >= 0; i-- { // the last memory change is what the spec has
		c := th[i]
		if c.Kind != "config" {
			continue
		}
		t.Logf("memory change: %v -> %v", c.From, c.To)
		for k, v := range c.To {
			got := tuned.StrMap("spec", "flinkConfiguration")[k]
			if k == "taskmanager.memory.process.size" {
				got = tuned.Str("spec", "taskManager", "resource", "memory")
			}
			if got != v && v != "" {
				t.Errorf("%s = %q in the spec, history says %q", k, got, v)
			}
		}
		break
	}

	// The session job: rescaled through its own resource; the cluster's other job untouched.
	waitFor(t, "the session job rescaled", 2*time.Minute, func() bool { return simStats(t, flinkD, jobD).Rescales >= 1 })
	sj := get(t, kube.FlinkSessionJobs, "sj")
	ov, _ := kube.ParseOverrides(sj.StrMap("spec", "flinkConfiguration")[kube.KeyOverrides])
	for v := range ov {
		if v != sim.VertexID("etl", "src") && v != sim.VertexID("etl", "enrich") {
			t.Errorf("session job override for vertex %s, not of its job", v)
		}
	}
	if n := simStats(t, flinkD, otherD).Rescales; n != 0 {
		t.Errorf("the session cluster's other job was rescaled %d times", n)
	}

	// Events on the resources.
	waitFor(t, "events on the resources", time.Minute, func() bool {
		return eventsOn(t, "etl")["ScalingReport"] > 0 && eventsOn(t, "legacy")["OperatorAutoscalerEnabled"] > 0 &&
			eventsOn(t, "rx-taskmanager")["ScalingReport"] > 0
	})
	t.Logf("events on etl: %v", eventsOn(t, "etl"))
	if eventsOn(t, "etl")["Scaling"] == 0 {
		t.Errorf("no Scaling event on etl: %v", eventsOn(t, "etl"))
	}
	if o := get(t, kube.FlinkDeployments, "legacy"); o.StrMap("spec", "flinkConfiguration")[kube.KeyOverrides] != "" {
		t.Error("flinktune changed a resource whose operator autoscaler is enabled")
	}
	if o := get(t, kube.FlinkDeployments, "other"); len(kube.History(o)) > 0 {
		t.Error("flinktune changed a resource not enabled for it")
	}
	if len(operator.errs) > 0 || len(kubelet.errs) > 0 {
		t.Errorf("stand-in errors: %v %v", operator.errs, kubelet.errs)
	}
}

func mustCreate(t *testing.T, r kube.Resource, o kube.Object) {
	t.Helper()
	if _, err := env.admin.Create(context.Background(), r, testNS, o, false); err != nil {
		t.Fatal(err)
	}
	// Each test leaves the namespace as it found it: the next test's flinktune sees only its own.
	t.Cleanup(func() { env.admin.Delete(context.Background(), r, testNS, o.Name()) })
}

// userEdit is a user's `kubectl edit`: a merge patch recorded under the manager kubectl-edit.
func userEdit(t *testing.T, name string, patch map[string]any) {
	t.Helper()
	if _, err := env.admin.MergePatch(context.Background(), kube.FlinkDeployments, testNS, name, patch); err != nil {
		t.Fatal(err)
	}
}

// checkHistory: the resource's history has consecutive sequence numbers (no gap), no entry
// repeats the change before it (no double apply), and every override the operator saw is
// one entry of it, in order, exactly once.
func checkHistory(t *testing.T, hist []kube.Change, seen []string) {
	t.Helper()
	var applied []string
	for i, c := range hist {
		if i > 0 && c.Seq != hist[i-1].Seq+1 {
			t.Errorf("history gap: seq %d after %d", c.Seq, hist[i-1].Seq)
		}
		if c.Kind != "parallelism" {
			continue
		}
		to := overridesOf(c.To)
		if len(applied) > 0 && applied[len(applied)-1] == to {
			t.Errorf("change %d applied twice: %s", c.Seq, to)
		}
		applied = append(applied, to)
	}
	if !slices.Equal(applied, seen) {
		t.Errorf("history %v, the operator saw %v", applied, seen)
	}
}

func overridesOf(m map[string]string) string {
	p := map[string]int{}
	for k, v := range m {
		p[k], _ = strconv.Atoi(v)
	}
	return kube.FormatOverrides(p)
}

// TestMemoryChangeLandsInSpec: the memory realizer against the real API server, as the
// service account: the process size lands in spec.taskManager.resource.memory, the other
// keys in spec.flinkConfiguration; flinktune's later parallelism apply keeps them; a user's
// edit of another field survives; a field the user took over is a reported conflict.
func TestMemoryChangeLandsInSpec(t *testing.T) {
	ctx := context.Background()
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("mem", "http://127.0.0.1:1", map[string]any{"user.key": "a"}, true))
	r := &kube.SpecRealizer{Client: env.sa, Resource: kube.FlinkDeployments, Namespace: testNS, Name: "mem", Identity: "t"}
	// The user's manifest set the memory: flinktune's change conflicts, is reported, not forced.
	_, err := r.RealizeConfig(context.Background(), nil, map[string]string{"taskmanager.memory.process.size": "3g"}, nil)
	if !kube.IsStatus(err, http.StatusConflict) || !strings.Contains(err.Error(), ".spec.taskManager.resource.memory") {
		t.Fatalf("memory the user owns: %v, want a 409 conflict naming the field", err)
	}
	if got := get(t, kube.FlinkDeployments, "mem").Str("spec", "taskManager", "resource", "memory"); got != "2g" {
		t.Fatalf("user's memory overwritten: %q", got)
	}
	// The user consents (annotation flinktune.io/manage-memory: "true"): the memory fields,
	// and only they, are taken over.
	userEdit(t, "mem", map[string]any{"metadata": map[string]any{"annotations": map[string]any{kube.AnnManageMemory: "true"}}})
	r.TakeMemory = kube.TargetOf(kube.FlinkDeployments, get(t, kube.FlinkDeployments, "mem")).TakeMemory
	sent, err := r.RealizeConfig(ctx, nil, map[string]string{"taskmanager.memory.process.size": "3g",
		"taskmanager.memory.managed.fraction": "0.3", "taskmanager.memory.network.fraction": "0.05"}, nil)
	if err != nil || !sent {
		t.Fatalf("RealizeConfig: %v %v", sent, err)
	}
	o := get(t, kube.FlinkDeployments, "mem")
	if got := o.Str("spec", "taskManager", "resource", "memory"); got != "3g" {
		t.Errorf("spec.taskManager.resource.memory = %q", got)
	}
	if got := o.StrMap("spec", "flinkConfiguration")["taskmanager.memory.managed.fraction"]; got != "0.3" {
		t.Errorf("managed.fraction = %q", got)
	}
	if sent, err := r.RealizeConfig(ctx, nil, map[string]string{"taskmanager.memory.process.size": "3g"}, nil); err != nil || sent {
		t.Errorf("the same change again: sent %v, %v (want nothing sent)", sent, err)
	}
	userEdit(t, "mem", map[string]any{"spec": map[string]any{"taskManager": map[string]any{"resource": map[string]any{"cpu": 2}}}})
	if _, err := r.Realize(ctx, nil, map[string]int{"v1": 3}); err != nil {
		t.Fatal(err)
	}
	o = get(t, kube.FlinkDeployments, "mem")
	if o.Str("spec", "taskManager", "resource", "memory") != "3g" || o.StrMap("spec", "flinkConfiguration")["taskmanager.memory.network.fraction"] != "0.05" {
		t.Errorf("the parallelism apply dropped the memory fields: %v", o.Get("spec"))
	}
	if cpu, _ := o.Get("spec", "taskManager", "resource", "cpu").(float64); cpu != 2 {
		t.Errorf("the user's cpu edit was lost: %v", o.Get("spec", "taskManager"))
	}
	// Removal of a key flinktune set.
	if sent, err := r.RealizeConfig(ctx, nil, nil, []string{"taskmanager.memory.network.fraction"}); err != nil || !sent {
		t.Fatalf("removal: %v %v", sent, err)
	}
	if _, ok := get(t, kube.FlinkDeployments, "mem").StrMap("spec", "flinkConfiguration")["taskmanager.memory.network.fraction"]; ok {
		t.Error("removed key still there")
	}
	// The user takes the overrides over (kubectl edit): consent covers memory only, so
	// flinktune's next rescale conflicts, is reported and not forced.
	userEdit(t, "mem", map[string]any{"spec": map[string]any{"flinkConfiguration": map[string]any{kube.KeyOverrides: "v1:7"}}})
	_, err = r.Realize(ctx, nil, map[string]int{"v1": 4})
	var se *kube.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict {
		t.Fatalf("want a 409 conflict, got %v", err)
	}
	t.Logf("conflict reported: %v", err)
	if got := get(t, kube.FlinkDeployments, "mem").StrMap("spec", "flinkConfiguration")[kube.KeyOverrides]; got != "v1:7" {
		t.Errorf("user's value overwritten: %q", got)
	}
	if h := kube.History(get(t, kube.FlinkDeployments, "mem")); len(h) != 3 {
		t.Errorf("history: %+v, want 3 entries (memory, parallelism, removal)", h)
	}
}

// TestDeployManifests: every file of deploy/ passes a server-side dry run, and the
// service account can do what flinktune does and nothing else.
func TestDeployManifests(t *testing.T) {
	ctx := context.Background()
	files, _ := filepath.Glob("../deploy/*.yaml")
	if len(files) < 5 {
		t.Fatalf("deploy/: %v", files)
	}
	for _, f := range files {
		if err := applyFile(ctx, env.admin, f, true); err != nil {
			t.Errorf("server-side dry run: %v", err)
		}
	}
	check := func(r kube.Resource, ns, verb, name string) bool {
		ok, err := canI(ctx, r, ns, verb, name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, p := range kube.Permissions {
		name := ""
		if len(p.Names) > 0 {
			name = p.Names[0]
			if check(p.Resource, testNS, p.Verbs[0], "other") {
				t.Errorf("service account may %s %s other than %v", p.Verbs[0], p.Resource.Resource, p.Names)
			}
		}
		for _, v := range p.Verbs {
			if !check(p.Resource, testNS, v, name) {
				t.Errorf("service account may not %s %s %s", v, p.Resource.Resource, name)
			}
			if check(p.Resource, "default", v, name) {
				t.Errorf("service account may %s %s in another namespace", v, p.Resource.Resource)
			}
		}
	}
	extra := []struct {
		r    kube.Resource
		verb string
	}{
		{kube.FlinkDeployments, "delete"}, {kube.FlinkDeployments, "update"}, {kube.FlinkDeployments, "create"},
		{kube.Deployments, "delete"}, {kube.Deployments, "create"}, {kube.Events, "list"}, {kube.Events, "delete"},
		{kube.Leases, "delete"}, {kube.Leases, "list"}, {kube.Resource{Version: "v1", Resource: "secrets"}, "get"},
		{kube.Resource{Version: "v1", Resource: "pods"}, "list"}, {kube.Resource{Version: "v1", Resource: "configmaps"}, "get"},
	}
	for _, x := range extra {
		if check(x.r, testNS, x.verb, "") {
			t.Errorf("service account may %s %s: more than flinktune uses", x.verb, x.r.Resource)
		}
	}
	// And for real: a forbidden call is refused.
	if _, _, err := env.sa.List(ctx, kube.Resource{Version: "v1", Resource: "secrets"}, testNS, ""); !kube.IsStatus(err, http.StatusForbidden) {
		t.Errorf("listing secrets as flinktune: %v, want 403", err)
	}
}

// canI asks the API server's RBAC authorizer (a SubjectAccessReview) whether the service
// account may.
func canI(ctx context.Context, r kube.Resource, ns, verb, name string) (bool, error) {
	review := kube.Object{"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
		"spec": map[string]any{"user": saUser, "groups": []any{"system:serviceaccounts", "system:serviceaccounts:flink", "system:authenticated"},
			"resourceAttributes": map[string]any{"namespace": ns, "verb": verb, "group": r.Group, "resource": r.Resource, "name": name}}}
	out, err := env.admin.Create(ctx, kube.Resource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"}, "", review, false)
	if err != nil {
		return false, err
	}
	ok, _ := out.Get("status", "allowed").(bool)
	return ok, nil
}

const haScenario = `
name: k8s-ha
seed: 9
duration: 12h
cluster:
  config:
    jobmanager.scheduler: adaptive
    taskmanager.numberOfTaskSlots: 2
    taskmanager.memory.process.size: 2g
  taskManagers: {initial: 1, min: 1, max: 12, startupDelay: 5s}
jobs:
  - name: ha
    config:
      pipeline.max-parallelism: 120
      execution.checkpointing.interval: 20s
    vertices:
      - {id: src, name: "Source: events", parallelism: 1, capacity: 40000, partitions: 24}
      - {id: work, name: "Map: work", parallelism: 1, capacity: 5000, inputs: [{from: src, ship: HASH}]}
    load:
%s
`

// TestLeaderKilled: two replicas; the leader is killed with SIGKILL at random points ten
// times (a new replica is started in its place each time). Every time the other takes the
// lease over within the lease duration; the resource's history has no gap; every change is
// applied once.
func TestLeaderKilled(t *testing.T) {
	defer func() { ran["TestLeaderKilled"] = !t.Failed() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var load strings.Builder
	for i := range 60 { // the load steps every 6 minutes of job time (12 s here)
		rate := []int{3000, 20000, 6000, 30000}[i%4]
		fmt.Fprintf(&load, "      - {source: src, at: %dm, rate: %d}\n", 6*i, rate)
	}
	flink := startSim(t, "ha", fmt.Sprintf(haScenario, load.String()), 30)
	job := sim.JobID("k8s-ha", "ha")
	// A short metric window (4 s here): a leader lives 5-13 s between kills, and each must
	// get the chance to decide, or the history cannot show changes by successive leaders.
	mustCreate(t, kube.FlinkDeployments, flinkDeployment("ha", flink, map[string]any{
		"job.autoscaler.scale-down.interval": "1m", "flinktune.settle": "1m",
		"job.autoscaler.metrics.window": "2m"}, true))
	operator := runStandIn(ctx, kube.FlinkDeployments, "ha", flink, job, 0)

	const leaseDuration = 3 * time.Second
	rng := rand.New(rand.NewPCG(11, 12))
	procs := map[string]*flinktuneProc{}
	n := 0
	startReplica := func() {
		n++
		id := fmt.Sprintf("replica-%d", n)
		procs[id] = env.startFlinktune(t, "ha-"+id, kubeArgs(t.TempDir(), id, "--lease-duration", leaseDuration.String())...)
	}
	startReplica()
	startReplica()
	holder := func() (string, time.Time) {
		l, err := env.admin.Get(ctx, kube.Leases, testNS, "flinktune")
		if err != nil {
			return "", time.Time{}
		}
		rt, _ := time.Parse("2006-01-02T15:04:05.000000Z07:00", l.Str("spec", "renewTime"))
		return l.Str("spec", "holderIdentity"), rt
	}
	waitFor(t, "a leader", time.Minute, func() bool { h, _ := holder(); return procs[h] != nil })
	waitFor(t, "a first change", 3*time.Minute, func() bool { return len(kube.History(get(t, kube.FlinkDeployments, "ha"))) > 0 })

	var takeovers, fromRenew []time.Duration
	const takeoverSlack = 500 * time.Millisecond
	for i := range 10 {
		if i%2 == 1 {
			// Mid-rescale: right after the leader applied a change, while the job restarts.
			// Waits long enough for a leader that just took over to fill its window and decide.
			h0 := len(kube.History(get(t, kube.FlinkDeployments, "ha")))
			deadline := time.Now().Add(45 * time.Second)
			for len(kube.History(get(t, kube.FlinkDeployments, "ha"))) == h0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		} else {
			// A random point.
			time.Sleep(time.Duration(2000+rng.IntN(8000)) * time.Millisecond)
		}
		leader, renewed := holder()
		p := procs[leader]
		if p == nil {
			t.Fatalf("kill %d: lease held by %q, not a running replica", i, leader)
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		killed := time.Now()
		p.cmd.Wait()
		delete(procs, leader)
		var took, sinceRenew time.Duration
		for {
			h, _ := holder()
			if h != leader && h != "" {
				took, sinceRenew = time.Since(killed), time.Since(renewed)
				break
			}
			if time.Since(killed) > 4*leaseDuration {
				t.Fatalf("kill %d: no takeover within %s", i, 4*leaseDuration)
			}
			time.Sleep(20 * time.Millisecond)
		}
		takeovers = append(takeovers, took.Round(time.Millisecond))
		fromRenew = append(fromRenew, sinceRenew.Round(time.Millisecond))
		// The lease may only change hands once it has not been renewed for its duration: a
		// takeover is due at the dead leader's last renewal + leaseDuration, which is at most
		// leaseDuration after the kill. Slack: the follower's get + update and this poll, and
		// one retry (the elector's Retry, a fifth of the lease): an update that fails (a 409
		// when the killed leader's last renewal lands after the follower's read) is tried
		// again after Retry. Measured: 3.622 s after the last renewal in 1 of 20 kills.
		bound := leaseDuration + leaseDuration/5 + takeoverSlack
		if sinceRenew > bound || took > bound {
			t.Errorf("kill %d of %s: taken over %s after the kill, %s after its last renewal (lease %s)", i, leader, took, sinceRenew, leaseDuration)
		}
		startReplica()
	}
	t.Logf("takeover after kill -9 (lease %s): %v; after the dead leader's last renewal: %v", leaseDuration, takeovers, fromRenew)
	time.Sleep(2 * time.Second) // the stand-in catches up with the last change
	hist := kube.History(get(t, kube.FlinkDeployments, "ha"))
	by := map[string]int{}
	for _, c := range hist {
		by[c.By]++
	}
	t.Logf("history: %d changes, by replica %v; operator saw %d, sim rescales %d", len(hist), by, len(operator.values()),
		simStats(t, flink, job).Rescales)
	checkHistory(t, hist, operator.values())
	if len(by) < 2 {
		t.Errorf("changes by %v: want changes applied by successive leaders", by)
	}
}

// ran records which of the tests that exercise flinktune's every call passed.
var ran = map[string]bool{}

// TestZGrantsUsed (after the end-to-end and failover tests): every rule of deploy/rbac.yaml
// was used by flinktune as its service account, per the API server's audit log, and it made
// no call outside them. With TestDeployManifests (each grant allowed, nothing else) this
// shows RBAC grants exactly what flinktune uses.
func TestZGrantsUsed(t *testing.T) {
	if !ran["TestEndToEnd"] || !ran["TestLeaderKilled"] {
		t.Skip("needs TestEndToEnd and TestLeaderKilled to have run and passed")
	}
	data, err := os.ReadFile(filepath.Join(env.dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		var ev struct {
			Verb      string
			User      struct{ Username string }
			ObjectRef struct {
				Resource, APIGroup, Subresource, Name string
			}
			ResponseStatus struct{ Code int }
			Stage          string
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.User.Username != saUser || ev.Stage != "ResponseComplete" ||
			ev.ResponseStatus.Code >= 400 || ev.ObjectRef.Resource == "" {
			continue
		}
		used[ev.ObjectRef.APIGroup+"/"+ev.ObjectRef.Resource+":"+ev.Verb] = true
	}
	granted := map[string]bool{}
	for _, p := range kube.Permissions {
		for _, v := range p.Verbs {
			granted[p.Resource.Group+"/"+p.Resource.Resource+":"+v] = true
		}
	}
	for g := range granted {
		if !used[g] {
			t.Errorf("granted but never used by flinktune: %s", g)
		}
	}
	for u := range used {
		if !granted[u] {
			t.Errorf("used but not in kube.Permissions: %s", u)
		}
	}
	t.Logf("calls made by flinktune's service account: %v", slices.Sorted(maps.Keys(used)))
}
