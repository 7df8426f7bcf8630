package io.flinktune.harness.scenario;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

import java.nio.ByteBuffer;

/**
 * Reads KafkaLoad's records (a big-endian long each) and charges the source vertex's service
 * time per record: the Kafka source deserializes on the task's thread, so the wait counts as
 * the source's busy time, as ScheduledSource's does.
 */
public final class LongRecords implements DeserializationSchema<Long> {
    private static final long serialVersionUID = 1L;
    private final ServiceClock service;

    public LongRecords(long serviceNanos) {
        this.service = new ServiceClock(serviceNanos);
    }

    @Override
    public Long deserialize(byte[] message) {
        service.record();
        return ByteBuffer.wrap(message).getLong();
    }

    @Override
    public boolean isEndOfStream(Long next) {
        return false;
    }

    @Override
    public TypeInformation<Long> getProducedType() {
        return Types.LONG;
    }
}
