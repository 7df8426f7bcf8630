//go:build integration

package local_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/local"
)

// TestKafkaBrokerAndLoad starts the KRaft broker and a producer of a scenario source's
// schedule (topic created with the source's partitions, backlog written before "ready"; the
// schedule started by StartLoad, not before), then stops both: no JVM and no port is left behind.
func TestKafkaBrokerAndLoad(t *testing.T) {
	dists, err := local.DistsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	d := dists[0]
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()
	b, err := local.StartKafka(ctx, d, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Kafka broker up at %s in %s", b.Bootstrap, time.Since(start).Round(100*time.Millisecond))
	spec := &local.JobSpec{Name: "kafka-smoke", OriginMs: time.Now().UnixMilli(), Vertices: []local.SpecVertex{{
		ID: "src", Name: "Source: log", Parallelism: 1, Partitions: 3,
		Load: &local.SpecLoad{Backlog: 5000, Points: [][2]float64{{0, 200}}}}}}
	spec.UseKafka(b.Bootstrap)
	spec.LoadOnSignal(dir, time.Now())
	start = time.Now()
	load, err := local.StartKafkaLoad(ctx, d, dir, spec, false)
	if err != nil {
		b.Stop()
		t.Fatal(err)
	}
	b.Loads = append(b.Loads, load)
	t.Logf("topic %s created, backlog of 5000 written in %s", spec.Vertices[0].Kafka.Topic, time.Since(start).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second)
	// The producer waits for the origin (LoadOnSignal) and announces it once written.
	if out, _ := os.ReadFile(load.Out); strings.Contains(string(out), "load origin") {
		t.Errorf("the producer started its schedule before StartLoad: %s", out)
	}
	origin, err := spec.StartLoad(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := local.WaitLoadOrigin(ctx, load, 15*time.Second); err != nil {
		t.Errorf("the producer did not start its schedule at %d: %v", origin.UnixMilli(), err)
	} else if !got.Equal(origin) {
		t.Errorf("the producer announced load origin %d, StartLoad wrote %d", got.UnixMilli(), origin.UnixMilli())
	}
	if !load.Alive() || !b.Proc.Alive() {
		t.Errorf("producer alive %v, broker alive %v", load.Alive(), b.Proc.Alive())
	}
	if err := b.Stop(); err != nil {
		t.Error(err)
	}
	for _, p := range []*local.Process{b.Proc, load} {
		if p.Alive() {
			t.Errorf("%s (pid %d) still running after Stop", p.ID, p.PID)
		}
	}
	for _, port := range b.Ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Errorf("port %d still bound: %v", port, err)
			continue
		}
		l.Close()
	}
}
