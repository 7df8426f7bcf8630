package store

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
	bolt "go.etcd.io/bbolt"
)

// populate writes a store with several jobs, their history and many events.
func populate(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < 6; j++ {
		k := key(fmt.Sprintf("job%d", j))
		for i := 0; i < 60; i++ {
			at := t0.Add(time.Duration(i) * time.Minute)
			c := Cycle{Info: JobInfo{Key: k, Name: "n", LastSeen: at}, PolicyState: []byte(fmt.Sprintf(`{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 200))),
				Events: []Event{{Event: autoscaler.Event{Time: at, Type: "Normal", Reason: "ScalingReport", Message: strings.Repeat("m", 150)}}}}
			if i%10 == 0 {
				c.Intent = &Intent{Time: at, Parallelism: map[string]int{"v": i}}
				c.History = []HistoryEntry{{Time: at, To: map[string]int{"v": i}, Action: ActionDecided}}
			}
			if _, err := s.CommitCycle(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// exercise opens a (possibly damaged) store and uses it as the control loop and the CLI
// would. It must return within the deadline, never panic (a fault would kill the test
// binary), and only ever report damage as ErrDamaged or ErrStuck.
func exercise(t *testing.T, dir string) (opened bool, outcome string) {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		s, err := OpenWith(dir, Options{OpTimeout: 5 * time.Second, OpenTimeout: 10 * time.Second})
		if err != nil {
			if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrStuck) {
				done <- "untyped open error: " + err.Error()
				return
			}
			if !strings.Contains(err.Error(), "flinktune store repair") {
				done <- "refusal without recovery hint: " + err.Error()
				return
			}
			done <- "refused"
			return
		}
		opened = true
		var errs []error
		_, err = s.Jobs()
		errs = append(errs, err)
		_, _, err = s.Job(key("job1"))
		errs = append(errs, err)
		_, err = s.Events(EventQuery{})
		errs = append(errs, err)
		_, err = s.History(key("job2"), time.Time{})
		errs = append(errs, err)
		_, err = s.CommitCycle(Cycle{Info: JobInfo{Key: key("job3")}, Events: []Event{{Event: autoscaler.Event{Time: t0, Reason: "x"}}}})
		errs = append(errs, err)
		_, err = s.Retain(t0.Add(time.Hour), Retention{MaxEvents: 10})
		errs = append(errs, err)
		for _, e := range errs {
			if e != nil && !errors.Is(e, ErrDamaged) && !errors.Is(e, ErrStuck) && !errors.Is(e, bolt.ErrTxClosed) {
				done <- "untyped error: " + e.Error()
				return
			}
			if e != nil && s.Health() == nil {
				done <- "error but Health() is nil: " + e.Error()
				return
			}
		}
		s.Close()
		done <- "opened"
	}()
	select {
	case o := <-done:
		return opened, o
	case <-time.After(40 * time.Second):
		t.Fatalf("store wedged on %s", dir)
	}
	return false, ""
}

func damageCases(t *testing.T, clean string) map[string]func(path string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(clean, FileName))
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	page := int64(os.Getpagesize())
	cases := map[string]func(string){
		"truncated-half":     func(p string) { os.Truncate(p, size/2) },
		"truncated-3-pages":  func(p string) { os.Truncate(p, 3*page) },
		"truncated-mid-page": func(p string) { os.Truncate(p, size/2+123) },
		"zeroed-meta-0":      func(p string) { writeAt(p, 0, make([]byte, page)) },
		"zeroed-both-metas":  func(p string) { writeAt(p, 0, make([]byte, 2*page)) },
	}
	for pg := int64(2); pg < size/page; pg++ {
		pg := pg
		cases[fmt.Sprintf("zeroed-page-%d", pg)] = func(p string) { writeAt(p, pg*page, make([]byte, page)) }
	}
	for seed := int64(1); seed <= 40; seed++ {
		seed := seed
		cases[fmt.Sprintf("flipped-bytes-seed-%d", seed)] = func(p string) {
			r := rand.New(rand.NewSource(seed))
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			defer f.Close()
			for i := 0; i < 16; i++ {
				off := r.Int63n(size)
				b := []byte{0}
				f.ReadAt(b, off)
				b[0] ^= byte(1 << r.Intn(8))
				f.WriteAt(b, off)
			}
		}
	}
	return cases
}

func writeAt(p string, off int64, b []byte) {
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	defer f.Close()
	f.WriteAt(b, off)
}

func copyStore(t *testing.T, from string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(from, FileName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDamagedStores damages a populated store in every way the issue lists (truncated,
// flipped bytes, zeroed pages) and checks that opening and using it never panics or
// wedges, that damage is refused with the recovery commands, and that repair always yields
// a store that opens, keeping what was readable.
func TestDamagedStores(t *testing.T) {
	clean := t.TempDir()
	populate(t, clean)
	outcomes := map[string]int{}
	for name, damage := range damageCases(t, clean) {
		t.Run(name, func(t *testing.T) {
			dir := copyStore(t, clean)
			damage(filepath.Join(dir, FileName))
			_, outcome := exercise(t, dir)
			if outcome != "opened" && outcome != "refused" {
				t.Fatal(outcome)
			}
			outcomes[outcome]++
			rep, err := Check(dir, 10*time.Second)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if outcome == "refused" && rep.Healthy {
				t.Errorf("open refused but check reports healthy: %+v", rep)
			}
			res, err := Repair(dir, t0, 10*time.Second)
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			s, err := Open(dir)
			if err != nil {
				t.Fatalf("open after repair: %v", err)
			}
			evs, err := s.Events(EventQuery{})
			if err != nil || len(evs) != res.Events {
				t.Errorf("after repair: %d events (%v), repair reported %d", len(evs), err, res.Events)
			}
			s.Close()
			outcomes["salvaged-events"] += res.Events
		})
	}
	t.Logf("outcomes over %d damaged copies: %v (a clean store has %d events)", len(damageCases(t, clean)), outcomes, 360)
}

// TestCorruptRecordSkipped: one undecodable record costs that record, not the history.
func TestCorruptRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.Update(func(tx *bolt.Tx) error {
		tx.Bucket(bucketEvents).Put(timeKey(t0.Add(90*time.Second), 1<<40), []byte(`{"time": garbage`))
		hb := tx.Bucket(bucketJobs).Bucket(key("job1").bytes()).Bucket(keyHistory)
		hb.Put(timeKey(t0.Add(5*time.Minute), 1<<40), []byte{0xff, 0x00})
		return tx.Bucket(bucketJobs).Bucket(key("job2").bytes()).Put(keyIntent, []byte("{"))
	})
	evs, skipped, err := s.EventsChecked(EventQuery{})
	if err != nil || len(evs) != 360 || len(skipped) != 1 {
		t.Errorf("events %d skipped %v err %v", len(evs), skipped, err)
	}
	h, hs, err := s.HistoryChecked(key("job1"), time.Time{})
	if err != nil || len(h) != 6 || len(hs) != 1 {
		t.Errorf("history %d skipped %v err %v", len(h), hs, err)
	}
	st, ok, err := s.Job(key("job2"))
	if err != nil || !ok || st.Intent != nil || st.PolicyState == nil {
		t.Errorf("job with corrupt intent: %+v ok %v err %v", st, ok, err)
	}
	if s.Skipped() != 3 {
		t.Errorf("skipped count %d, want 3", s.Skipped())
	}
}

// TestTruncatedWhileOpen: the wedge. The file is cut in half under an open store;
// every call returns promptly with ErrDamaged (no SIGBUS, no lock left held), Health says
// so, and Close does not block.
func TestTruncatedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(s.Path())
	os.Truncate(s.Path(), fi.Size()/2)
	done := make(chan error, 1)
	go func() {
		var first error
		for i := 0; i < 20; i++ {
			_, err := s.Events(EventQuery{})
			if err == nil {
				_, err = s.CommitCycle(Cycle{Info: JobInfo{Key: key(fmt.Sprintf("n%d", i))}, PolicyState: []byte(strings.Repeat("y", 5000))})
			}
			if err != nil && first == nil {
				first = err
			}
		}
		s.Close()
		done <- first
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrDamaged) {
			t.Fatalf("want ErrDamaged, got %v", err)
		}
		if h := s.Health(); !errors.Is(h, ErrDamaged) {
			t.Errorf("Health() = %v", h)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wedged")
	}
	if _, err := Open(dir); !errors.Is(err, ErrDamaged) {
		t.Errorf("reopen: %v", err)
	}
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	populate(t, dir) // 6 jobs x 60 events (one a minute), 6 history entries each
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := t0.Add(60 * time.Minute)
	n, err := s.Retain(now, Retention{MaxAge: 30 * time.Minute, MaxHistory: 2})
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := s.Events(EventQuery{})
	if len(evs) != 6*30 {
		t.Errorf("age: %d events left, want %d", len(evs), 6*30)
	}
	h, _ := s.History(key("job0"), time.Time{})
	if len(h) != 2 || h[1].To["v"] != 50 {
		t.Errorf("history %+v", h)
	}
	if n != 6*30+6*4 {
		t.Errorf("removed %d", n)
	}
	if _, err := s.Retain(now, Retention{MaxEvents: 7}); err != nil {
		t.Fatal(err)
	}
	evs, _ = s.Events(EventQuery{})
	if len(evs) != 7 || !evs[6].Time.Equal(t0.Add(59*time.Minute)) {
		t.Errorf("count: %d events, last %v", len(evs), evs[len(evs)-1].Time)
	}
	// Pruning never touches job state or intents.
	st, ok, _ := s.Job(key("job0"))
	if !ok || st.Intent == nil || st.PolicyState == nil {
		t.Errorf("job state pruned: %+v", st)
	}
}
