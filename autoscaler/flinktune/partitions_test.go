package flinktune

import "testing"

// countPartitions counts distinct Kafka (cluster, topic, partition) and Pulsar (topic,
// partition) triples from currentOffset and numMsgsReceived names only.
func TestCountPartitions(t *testing.T) {
	const k = "Source__orders.KafkaSourceReader.topic."
	for _, tc := range []struct {
		name  string
		names []string
		want  int
	}{
		{"none", []string{"busyTimeMsPerSecond", "Source__orders.pendingRecords"}, 0},
		{"kafka", []string{k + "orders.partition.0.currentOffset", k + "orders.partition.1.currentOffset",
			k + "orders.partition.0.committedOffset", k + "orders.partition.2.committedOffset"}, 2},
		{"kafka repeated", []string{k + "orders.partition.0.currentOffset", k + "orders.partition.0.currentOffset"}, 1},
		{"kafka clusters", []string{"Source__s.kafkaCluster.a.KafkaSourceReader.topic.t.partition.0.currentOffset",
			"Source__s.kafkaCluster.b.KafkaSourceReader.topic.t.partition.0.currentOffset"}, 2},
		{"pulsar", []string{"Source__p.PulsarConsumer.persistent://public/default/t-partition-0.c1.numMsgsReceived",
			"Source__p.PulsarConsumer.persistent://public/default/t-partition-1.c1.numMsgsReceived",
			"Source__p.PulsarConsumer.persistent://public/default/t-partition-1.c1.numBytesReceived"}, 2},
	} {
		if got := countPartitions(tc.names); got != tc.want {
			t.Errorf("%s: %d partitions, want %d", tc.name, got, tc.want)
		}
	}
}
