package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
	"github.com/flinktune/flinktune/scheduler"
)

type slotVector struct {
	ID       string `json:"id"`
	Vertices []struct {
		ID    string `json:"id"`
		SSG   string `json:"ssg"`
		Lower int    `json:"lower"`
		Upper int    `json:"upper"`
	} `json:"vertices"`
	FreeSlots *int `json:"free_slots"`
	Expected  struct {
		Parallelism map[string]int `json:"parallelism"`
		Legacy      map[string]int `json:"legacy_le_1_18_parallelism"`
	} `json:"expected"`
}

// TestSlotVectorsThroughSimulator shows that the simulator applies the adaptive scheduler's
// slot distribution (testdata/vectors/adaptive-scheduler-slots.jsonl): a fixed cluster with
// exactly the vector's free slots, the vector's bounds PUT as resource requirements, and the
// parallelism the job is deployed with (or the job not starting when the vector says "not
// runnable").
func TestSlotVectorsThroughSimulator(t *testing.T) {
	f, err := os.Open("../testdata/vectors/adaptive-scheduler-slots.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var vec slotVector
		if err := json.Unmarshal(sc.Bytes(), &vec); err != nil {
			t.Fatal(err)
		}
		if vec.FreeSlots == nil {
			continue // the required-slots case has no deployment
		}
		n++
		versions := []string{"1.20"}
		if vec.Expected.Legacy != nil {
			versions = append(versions, "1.18")
		}
		for _, ver := range versions {
			t.Run(vec.ID+"/"+ver, func(t *testing.T) {
				want := vec.Expected.Parallelism
				if ver == "1.18" {
					want = vec.Expected.Legacy
				}
				runSlotVector(t, vec, ver, want)
			})
		}
	}
	if n != 11 {
		t.Errorf("%d deployment vectors, want 11", n)
	}
}

func runSlotVector(t *testing.T, vec slotVector, ver string, want map[string]int) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: vec\nduration: 1h\nflinkVersion: \"%s\"\ncluster:\n  config:\n    jobmanager.scheduler: adaptive\n    jobmanager.adaptive-scheduler.resource-wait-timeout: 1h\n", ver)
	fmt.Fprintf(&b, "  taskManagers: {initial: %d, min: %d, max: %d}\njobs:\n  - name: j\n    restart: {base: 0s}\n    vertices:\n", *vec.FreeSlots, *vec.FreeSlots, *vec.FreeSlots)
	for _, v := range vec.Vertices {
		fmt.Fprintf(&b, "      - {id: %s, parallelism: %d, maxParallelism: 256, slotSharingGroup: %s, capacity: 10}\n", v.ID, v.Upper, v.SSG)
	}
	fmt.Fprintf(&b, "    load: [{source: %s, at: 0s, rate: 0}]\n", vec.Vertices[0].ID)
	scn, err := scenario.Parse([]byte(b.String()), "vec.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s, err := New(scn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	jid := s.JobIDs()[0]
	req := map[string]scheduler.Bounds{}
	for _, v := range vec.Vertices {
		req[VertexID("j", v.ID)] = scheduler.Bounds{Lower: v.Lower, Upper: v.Upper}
	}
	if _, err := s.SetRequirements(jid, req); err != nil {
		t.Fatal(err)
	}
	s.AdvanceTo(s.Now().Add(30 * time.Second))
	j, _ := s.Job(jid)
	if want == nil {
		if j.DeployedAt != 0 || j.Status == StatusRunning {
			t.Fatalf("not runnable per the vector, but the job is %s with %+v", j.Status, j.Vertices)
		}
		return
	}
	if j.Status != StatusRunning {
		t.Fatalf("job %s, want RUNNING", j.Status)
	}
	for _, v := range j.Vertices {
		if v.Parallelism != want[v.ScenarioID] {
			t.Errorf("vertex %s: parallelism %d, want %d", v.ScenarioID, v.Parallelism, want[v.ScenarioID])
		}
	}
}
