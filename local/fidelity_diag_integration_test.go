//go:build integration

package local_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
	"github.com/flinktune/flinktune/scenario"
)

// TestFidelityDiagnose (FLINKTUNE_FIDELITY_DIAG=1 only: a tool, not a check) runs the fidelity
// scenario on real Flink and dumps every task metric of every subtask during the overload,
// to find where busy, idle and back-pressured time go (sim/CALIBRATION.md).
func TestFidelityDiagnose(t *testing.T) {
	if os.Getenv("FLINKTUNE_FIDELITY_DIAG") != "1" {
		t.Skip("FLINKTUNE_FIDELITY_DIAG=1 runs this diagnostic")
	}
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("FLINKTUNE_FIDELITY_DIAG_SCENARIO")
	if path == "" {
		path = "testdata/fidelity-pipeline.yaml"
	}
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c := startClusterWith(t, ctx, dists[0], sc.Cluster.TaskManagers.Initial, local.ScenarioClusterConfig(sc))
	spec, err := local.ScenarioSpec(sc, 0, time.Now().Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	jobID, err := c.SubmitScenario(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	origin := time.UnixMilli(spec.OriginMs)
	var jd struct {
		Vertices []struct {
			ID, Name    string
			Parallelism int
		} `json:"vertices"`
	}
	if err := c.GetJSON(ctx, "/jobs/"+jobID, &jd); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Duration{40 * time.Second, 85 * time.Second, 95 * time.Second} {
		time.Sleep(time.Until(origin.Add(at)))
		for _, v := range jd.Vertices {
			for i := 0; i < v.Parallelism; i++ {
				base := fmt.Sprintf("/jobs/%s/vertices/%s/subtasks/%d/metrics", jobID, v.ID, i)
				var names []struct{ ID string }
				if err := c.GetJSON(ctx, base, &names); err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, n := range names {
					if interesting(n.ID) {
						want = append(want, url.QueryEscape(n.ID))
					}
				}
				var vals []struct{ ID, Value string }
				if err := c.GetJSON(ctx, base+"?get="+strings.Join(want, ","), &vals); err != nil {
					t.Fatal(err)
				}
				sort.Slice(vals, func(a, b int) bool { return vals[a].ID < vals[b].ID })
				var b strings.Builder
				for _, x := range vals {
					fmt.Fprintf(&b, " %s=%s", x.ID, x.Value)
				}
				t.Logf("t=%s %s[%d] (%d names):%s", at, v.Name, i, len(names), b.String())
			}
		}
	}
}

func interesting(id string) bool {
	if strings.Contains(id, "Latency") || strings.Contains(id, "Netty") {
		return false
	}
	for _, k := range []string{"Time", "Pool", "numRecords", "flinktune", "ending", "BackPressured", "Buffers"} {
		if strings.Contains(id, k) {
			return true
		}
	}
	return false
}
