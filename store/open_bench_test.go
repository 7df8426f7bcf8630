package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/autoscaler"
)

// BenchmarkOpenChecked measures opening (with the full integrity walk) a store at the
// default retention's event limit: 100,000 events and 1,000 history entries for 20 jobs.
func BenchmarkOpenChecked(b *testing.B) {
	dir := b.TempDir()
	s, err := OpenWith(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	msg := strings.Repeat("m", 200)
	for i := 0; i < 1000; i++ {
		c := Cycle{Info: JobInfo{Key: key(fmt.Sprintf("job%d", i%20))}}
		for j := 0; j < 100; j++ {
			c.Events = append(c.Events, Event{Event: autoscaler.Event{Time: t0.Add(time.Duration(i*100+j) * time.Second), Reason: "ScalingReport", Message: msg}})
		}
		c.History = []HistoryEntry{{Time: t0.Add(time.Duration(i) * time.Minute), To: map[string]int{"v": i}}}
		if _, err := s.CommitCycle(c); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
