package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func key(j string) JobKey { return JobKey{Cluster: "http://flink:8081", JobID: j} }

func TestCommitAndRead(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := key("job1")
	id, err := s.CommitCycle(Cycle{
		Info:        JobInfo{Key: k, Name: "wordcount", Policy: "flinktune", FirstSeen: t0, LastSeen: t0},
		PolicyState: []byte(`{"v":1}`),
		Intent:      &Intent{Time: t0, Parallelism: map[string]int{"a": 4}},
		History:     []HistoryEntry{{Time: t0, Policy: "flinktune", From: map[string]int{"a": 2}, To: map[string]int{"a": 4}, Reason: "lag"}},
		Events: []Event{
			{Event: autoscaler.Event{Time: t0, Type: autoscaler.EventNormal, Reason: "ScalingReport", Message: "a 2 -> 4", Key: "k"}},
			{Event: autoscaler.Event{Time: t0.Add(time.Minute), Type: autoscaler.EventNormal, Reason: "ScalingReport", Message: "dup", Key: "k"}},
		},
		DedupeWindow: 30 * time.Minute,
	})
	if err != nil || id == 0 {
		t.Fatalf("commit: %v id %d", err, id)
	}
	st, ok, err := s.Job(k)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if string(st.PolicyState) != `{"v":1}` || st.Intent == nil || st.Intent.Applied || st.Intent.Parallelism["a"] != 4 {
		t.Fatalf("state %+v intent %+v", st, st.Intent)
	}
	if err := s.MarkApplied(k, id, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	st, _, _ = s.Job(k)
	if !st.Intent.Applied {
		t.Error("intent not applied")
	}
	// A later cycle keeps FirstSeen and the state without a new intent.
	if _, err := s.CommitCycle(Cycle{Info: JobInfo{Key: k, FirstSeen: t0.Add(time.Hour), LastSeen: t0.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	st, _, _ = s.Job(k)
	if !st.Info.FirstSeen.Equal(t0) || string(st.PolicyState) != `{"v":1}` || !st.Intent.Applied {
		t.Errorf("after second commit: %+v", st)
	}
	evs, _ := s.Events(EventQuery{JobID: "JOB1"})
	if len(evs) != 1 || evs[0].Cluster != k.Cluster || evs[0].JobID != "job1" {
		t.Errorf("events (dedupe within 30 min): %+v", evs)
	}
	h, _ := s.History(k, time.Time{})
	if len(h) != 1 || h[0].To["a"] != 4 {
		t.Errorf("history %+v", h)
	}
	jobs, _ := s.Jobs()
	if len(jobs) != 1 || jobs[0].Name != "wordcount" {
		t.Errorf("jobs %+v", jobs)
	}
	if n, err := s.Prune(t0.Add(30 * time.Second)); err != nil || n != 2 {
		t.Errorf("prune removed %d, %v", n, err)
	}
}

func TestSchemaAndLock(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open: %v", err)
	}
	s.Close()
	s, _ = Open(dir)
	s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("99")) })
	s.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "newer flinktune (schema 99") {
		t.Errorf("newer schema: %v", err)
	}
}

// TestKillNine commits cycles from a child process, kills it with SIGKILL at an arbitrary
// moment, and checks that every cycle the child reported as committed survived.
func TestKillNine(t *testing.T) {
	if os.Getenv("FLINKTUNE_STORE_CHILD") != "" {
		childCommitLoop(os.Getenv("FLINKTUNE_STORE_CHILD"))
		return
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillNine$")
		cmd.Env = append(os.Environ(), "FLINKTUNE_STORE_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acked := 0
		for sc.Scan() {
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
				acked = n
				if acked >= 20*(round+1) {
					break
				}
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.History(key("crash"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(h) < acked {
			t.Fatalf("round %d: %d cycles acknowledged, only %d in history", round, acked, len(h))
		}
		for i, e := range h {
			if e.To["v"] != i+1 {
				t.Fatalf("history entry %d = %+v: lost or duplicated", i, e)
			}
		}
		st, _, _ := s.Job(key("crash"))
		if string(st.PolicyState) != fmt.Sprintf(`{"n":%d}`, len(h)) {
			t.Fatalf("policy state %s does not match history length %d", st.PolicyState, len(h))
		}
		s.Close()
	}
}

func childCommitLoop(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	h, _ := s.History(key("crash"), time.Time{})
	for n := len(h) + 1; ; n++ {
		_, err := s.CommitCycle(Cycle{
			Info:        JobInfo{Key: key("crash"), LastSeen: t0.Add(time.Duration(n) * time.Second)},
			PolicyState: []byte(fmt.Sprintf(`{"n":%d}`, n)),
			History:     []HistoryEntry{{Time: t0.Add(time.Duration(n) * time.Second), To: map[string]int{"v": n}}},
		})
		if err != nil {
			fmt.Println("commit:", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", n)
	}
}
