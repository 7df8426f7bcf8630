package io.flinktune.harness.scenario;

import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;

/**
 * A scenario source that reads a real Kafka topic (filled by KafkaLoad at the scenario's rate
 * schedule) with Flink's Kafka connector, so that the backlog, the lag and the source's
 * pendingRecords metric are Kafka's own. A new job starts from the earliest offset (the start
 * backlog is the topic's content); a restored one from its checkpointed offsets.
 */
final class KafkaSources {
    private KafkaSources() {}

    /** kafka is the vertex's {"bootstrap": "host:port", "topic": "name"}. */
    static KafkaSource<byte[]> of(JsonNode kafka, String vertexId, long serviceNanos, int recordBytes) {
        return KafkaSource.<byte[]>builder()
                .setBootstrapServers(kafka.path("bootstrap").asText())
                .setTopics(kafka.path("topic").asText())
                .setGroupId("flinktune-" + kafka.path("topic").asText() + "-" + vertexId)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setDeserializer(KafkaRecordDeserializationSchema.valueOnly(new LongRecords(serviceNanos, recordBytes)))
                // The topic exists before the job starts; no discovery thread on a 2-core machine.
                .setProperty("partition.discovery.interval.ms", "-1")
                .setProperty("client.id.prefix", "flinktune-" + vertexId)
                // Kafka's lag (pendingRecords) counts from the consumer's position, which moves
                // when a poll returns records, and the split fetcher queues two polls ahead of the
                // task: with 500 records a poll, a back-pressured source would hide about 1000
                // records of a few bytes each. Small polls keep the reported lag the real one.
                .setProperty("max.poll.records", "10")
                .build();
    }
}
