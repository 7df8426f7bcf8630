package io.flinktune.harness.scenario;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;

import java.nio.ByteBuffer;

/**
 * Reads KafkaLoad's records (a big-endian long each) and charges the source vertex's service
 * time per record: the Kafka source deserializes on the task's thread, so the wait counts as
 * the source's busy time, as ScheduledSource's does. Each becomes a scenario record of the
 * vertex's recordBytes ({@link Records}).
 */
public final class LongRecords implements DeserializationSchema<byte[]> {
    private static final long serialVersionUID = 1L;
    private final ServiceClock service;
    private final int recordBytes;

    public LongRecords(long serviceNanos, int recordBytes) {
        this.service = new ServiceClock(serviceNanos);
        this.recordBytes = recordBytes;
    }

    @Override
    public byte[] deserialize(byte[] message) {
        service.record();
        return Records.of(ByteBuffer.wrap(message).getLong(), recordBytes);
    }

    @Override
    public boolean isEndOfStream(byte[] next) {
        return false;
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return Records.TYPE;
    }
}
