package io.flinktune.harness.scenario;

import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Partition k of n of a scheduled source, with the records it has emitted (its offset). */
public final class PartitionSplit implements SourceSplit {
    final int partition;
    final int partitions;
    long emitted;

    PartitionSplit(int partition, int partitions, long emitted) {
        this.partition = partition;
        this.partitions = partitions;
        this.emitted = emitted;
    }

    @Override
    public String splitId() {
        return Integer.toString(partition);
    }

    /** The global index of this partition's next record. */
    long next() {
        return partition + (long) partitions * emitted;
    }

    PartitionSplit copy() {
        return new PartitionSplit(partition, partitions, emitted);
    }

    static final class Serializer implements SimpleVersionedSerializer<PartitionSplit> {
        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(PartitionSplit s) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream(16);
            DataOutputStream o = new DataOutputStream(b);
            o.writeInt(s.partition);
            o.writeInt(s.partitions);
            o.writeLong(s.emitted);
            o.flush();
            return b.toByteArray();
        }

        @Override
        public PartitionSplit deserialize(int version, byte[] bytes) throws IOException {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            return new PartitionSplit(in.readInt(), in.readInt(), in.readLong());
        }
    }

    /** The enumerator's state: the splits not yet assigned to a reader. */
    static final class ListSerializer implements SimpleVersionedSerializer<List<PartitionSplit>> {
        private final Serializer one = new Serializer();

        @Override
        public int getVersion() {
            return 1;
        }

        @Override
        public byte[] serialize(List<PartitionSplit> splits) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            DataOutputStream o = new DataOutputStream(b);
            o.writeInt(splits.size());
            for (PartitionSplit s : splits) {
                byte[] x = one.serialize(s);
                o.writeInt(x.length);
                o.write(x);
            }
            o.flush();
            return b.toByteArray();
        }

        @Override
        public List<PartitionSplit> deserialize(int version, byte[] bytes) throws IOException {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            int n = in.readInt();
            List<PartitionSplit> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                byte[] x = new byte[in.readInt()];
                in.readFully(x);
                out.add(one.deserialize(version, x));
            }
            return out;
        }
    }
}
