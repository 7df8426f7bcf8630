package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// smallStore is the bytes of a store with a few records: the fuzzers mutate it.
func smallStore(f *testing.F) []byte {
	f.Helper()
	dir := f.TempDir()
	s, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		s.CommitCycle(Cycle{Info: JobInfo{Key: key("j")}, PolicyState: []byte(`{"i":1}`),
			Intent:  &Intent{Time: t0, Parallelism: map[string]int{"v": i}},
			History: []HistoryEntry{{Time: t0.Add(time.Duration(i) * time.Minute), To: map[string]int{"v": i}}}})
	}
	s.Close()
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzOpen: whatever bytes the data file holds, Open returns (a store or a typed error)
// without panicking or faulting, and a store it returns can be read and written.
func FuzzOpen(f *testing.F) {
	clean := smallStore(f)
	f.Add(clean, uint32(0), uint8(0))
	f.Add(clean, uint32(5000), uint8(0xff))
	f.Add(clean, uint32(9000), uint8(1))
	f.Add(clean[:len(clean)/2], uint32(0), uint8(0))
	f.Add([]byte{}, uint32(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, at uint32, x uint8) {
		data = append([]byte(nil), data...)
		if len(data) > 0 {
			data[int(at)%len(data)] ^= x
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenWith(dir, Options{OpTimeout: 5 * time.Second, OpenTimeout: 10 * time.Second})
		if err != nil {
			if errors.Is(err, ErrStuck) {
				t.Fatalf("open hung: %v", err)
			}
			return
		}
		s.Events(EventQuery{})
		s.History(key("j"), time.Time{})
		s.Job(key("j"))
		s.CommitCycle(Cycle{Info: JobInfo{Key: key("k")}, History: []HistoryEntry{{Time: t0}}})
		s.Close()
	})
}

// FuzzLeafEvents: the page scanner of a salvage reads any bytes without panicking.
func FuzzLeafEvents(f *testing.F) {
	clean := smallStore(f)
	ps := os.Getpagesize()
	for off := 2 * ps; off+ps <= len(clean); off += ps {
		f.Add(clean[off : off+ps])
	}
	f.Fuzz(func(t *testing.T, page []byte) {
		if len(page) < pageHeader {
			return
		}
		leafEvents(page)
	})
}
