package local

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinktune/flinktune/scenario"
)

func TestKafkaSpecCompressed(t *testing.T) {
	full, err := scenario.Load("testdata/autoscale-kafka.yaml")
	if err != nil {
		t.Fatal(err)
	}
	isDur := func(k string) bool { return strings.HasSuffix(k, ".window") || strings.HasSuffix(k, ".interval") }
	sc, err := full.Compress(2, isDur)
	if err != nil {
		t.Fatal(err)
	}
	origin := time.UnixMilli(1_700_000_000_000)
	spec, err := ScenarioSpec(sc, 0, origin)
	if err != nil {
		t.Fatal(err)
	}
	if spec.HasKafka() {
		t.Fatal("a spec reads Kafka before UseKafka")
	}
	spec.UseKafka("127.0.0.1:9092")
	src := spec.Vertices[0]
	if src.Kafka == nil || src.Kafka.Bootstrap != "127.0.0.1:9092" || spec.Vertices[1].Kafka != nil {
		t.Fatalf("kafka: source %+v, work %+v", src.Kafka, spec.Vertices[1].Kafka)
	}
	if want := "autoscale-kafka.src." + "lnp5xx1s"; !strings.HasPrefix(src.Kafka.Topic, "autoscale-kafka.src.") || len(src.Kafka.Topic) != len(want) {
		t.Errorf("topic %q", src.Kafka.Topic)
	}
	if src.Partitions != 4 || src.Load.Backlog != 6000 {
		t.Errorf("partitions %d, backlog %d", src.Partitions, src.Load.Backlog)
	}
	// The full scenario's steps at 60 s and 200 s are at 30 s and 100 s compressed; rates unchanged.
	want := map[float64]float64{29_999: 60, 30_000: 180, 99_999: 180, 100_000: 60}
	seen := 0
	for _, p := range src.Load.Points {
		if r, ok := want[p[0]]; ok {
			seen++
			if p[1] != r {
				t.Errorf("rate at %v ms: %v, want %v", p[0], p[1], r)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d of the load steps' points %v in %v", seen, want, src.Load.Points)
	}
	if got := spec.Config["execution.checkpointing.interval"]; got != "5 s" {
		t.Errorf("checkpoint interval %q, want 5 s", got)
	}
}

func TestKafkaServerProperties(t *testing.T) {
	p := kafkaServerProperties(9092, 9093, "/d")
	for _, want := range []string{"process.roles=broker,controller", "controller.quorum.voters=1@127.0.0.1:9093",
		"listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093", "log.dirs=/d", "offsets.topic.replication.factor=1"} {
		if !strings.Contains(p, want+"\n") {
			t.Errorf("server.properties lacks %q", want)
		}
	}
	id, err := clusterID()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(b) != 16 || len(id) != 22 {
		t.Errorf("cluster id %q: %v", id, err)
	}
	// The first 16 bytes encode to an id starting with '-' (0xf8 = 111110 00...: '-' is 62 in
	// base64url); the format tool would read it as an option, so the next draw is taken.
	dash := append(bytes.Repeat([]byte{0xf8}, 16), bytes.Repeat([]byte{0x01}, 16)...)
	id, err = clusterIDFrom(bytes.NewReader(dash))
	if err != nil || strings.HasPrefix(id, "-") || len(id) != 22 {
		t.Errorf("cluster id from a dash-first draw: %q, %v", id, err)
	}
	if first := base64.RawURLEncoding.EncodeToString(dash[:16]); !strings.HasPrefix(first, "-") {
		t.Fatalf("the test's first draw %q does not start with '-'", first)
	}
}

func TestKafkaClasspathMissing(t *testing.T) {
	dir := t.TempDir()
	d := &Dist{Dir: dir, Version: "1.20.5"}
	if _, err := d.KafkaClasspath(); err == nil || !strings.Contains(err.Error(), "10-real-flink.sh") {
		t.Errorf("err %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, kafkaClasspathFile), []byte(filepath.Join(dir, "gone.jar")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.KafkaClasspath(); err == nil || !strings.Contains(err.Error(), "gone.jar") {
		t.Errorf("err %v", err)
	}
}
