package io.flinktune.harness.scenario;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.core.io.InputStatus;
import org.apache.flink.core.io.SimpleVersionedSerializer;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An unbounded source that behaves like a partitioned log (a Kafka topic) fed at a scheduled
 * rate: records arrive by {@link Schedule} over {@code partitions} partitions (record i in
 * partition i mod n), each partition's read position is checkpointed, and a reader emits a
 * record only once it has arrived. When the job cannot keep up, arrived but unread records are
 * lag, reported as the standard {@code pendingRecords} source metric, exactly as a Kafka source
 * reports it; a restart or rescale resumes from the checkpointed positions, so lag builds up
 * while the job is down. Each emitted record costs the vertex's service time (a timed wait) and
 * takes recordBytes on the network ({@link Records}).
 * Partitions are dealt like Kafka's: partition k to reader k mod parallelism.
 */
public final class ScheduledSource
        implements Source<byte[], PartitionSplit, List<PartitionSplit>>, ResultTypeQueryable<byte[]> {
    private static final long serialVersionUID = 1L;

    private final Schedule schedule;
    private final int partitions;
    private final long serviceNanos;
    private final int recordBytes;

    public ScheduledSource(Schedule schedule, int partitions, long serviceNanos, int recordBytes) {
        this.schedule = schedule;
        this.partitions = partitions;
        this.serviceNanos = serviceNanos;
        this.recordBytes = recordBytes;
    }

    @Override
    public Boundedness getBoundedness() {
        return Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SplitEnumerator<PartitionSplit, List<PartitionSplit>> createEnumerator(
            SplitEnumeratorContext<PartitionSplit> ctx) {
        List<PartitionSplit> all = new ArrayList<>(partitions);
        for (int k = 0; k < partitions; k++) {
            all.add(new PartitionSplit(k, partitions, 0));
        }
        return new Enumerator(ctx, all);
    }

    @Override
    public SplitEnumerator<PartitionSplit, List<PartitionSplit>> restoreEnumerator(
            SplitEnumeratorContext<PartitionSplit> ctx, List<PartitionSplit> unassigned) {
        return new Enumerator(ctx, new ArrayList<>(unassigned));
    }

    @Override
    public SimpleVersionedSerializer<PartitionSplit> getSplitSerializer() {
        return new PartitionSplit.Serializer();
    }

    @Override
    public SimpleVersionedSerializer<List<PartitionSplit>> getEnumeratorCheckpointSerializer() {
        return new PartitionSplit.ListSerializer();
    }

    @Override
    public SourceReader<byte[], PartitionSplit> createReader(SourceReaderContext ctx) {
        return new Reader(ctx, schedule, serviceNanos, recordBytes);
    }

    @Override
    public TypeInformation<byte[]> getProducedType() {
        return Records.TYPE;
    }

    /** Deals unassigned partitions to readers, k to reader k mod parallelism. */
    static final class Enumerator implements SplitEnumerator<PartitionSplit, List<PartitionSplit>> {
        private final SplitEnumeratorContext<PartitionSplit> ctx;
        private final List<PartitionSplit> unassigned;

        Enumerator(SplitEnumeratorContext<PartitionSplit> ctx, List<PartitionSplit> unassigned) {
            this.ctx = ctx;
            this.unassigned = unassigned;
        }

        @Override
        public void start() {}

        @Override
        public void handleSplitRequest(int subtaskId, String requesterHostname) {}

        @Override
        public void addSplitsBack(List<PartitionSplit> splits, int subtaskId) {
            unassigned.addAll(splits);
            assign();
        }

        @Override
        public void addReader(int subtaskId) {
            assign();
        }

        private void assign() {
            int n = ctx.currentParallelism();
            for (Iterator<PartitionSplit> it = unassigned.iterator(); it.hasNext(); ) {
                PartitionSplit s = it.next();
                int owner = s.partition % n;
                if (ctx.registeredReaders().containsKey(owner)) {
                    ctx.assignSplit(s, owner);
                    it.remove();
                }
            }
        }

        @Override
        public List<PartitionSplit> snapshotState(long checkpointId) {
            List<PartitionSplit> out = new ArrayList<>(unassigned.size());
            for (PartitionSplit s : unassigned) {
                out.add(s.copy());
            }
            return out;
        }

        @Override
        public void close() {}
    }

    /** Emits arrived records from its partitions, round-robin; idles until the next arrival. */
    static final class Reader implements SourceReader<byte[], PartitionSplit> {
        private final SourceReaderContext ctx;
        private final Schedule schedule;
        private final ServiceClock service;
        private final int recordBytes;
        private final List<PartitionSplit> splits = new ArrayList<>();
        private ScheduledExecutorService timer;
        private CompletableFuture<Void> available = CompletableFuture.completedFuture(null);
        private int cursor;
        private double arrivedCache;
        private long arrivedAtMs = Long.MIN_VALUE;

        Reader(SourceReaderContext ctx, Schedule schedule, long serviceNanos, int recordBytes) {
            this.ctx = ctx;
            this.schedule = schedule;
            this.service = new ServiceClock(serviceNanos);
            this.recordBytes = recordBytes;
        }

        @Override
        public void start() {
            timer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "scheduled-source-timer");
                t.setDaemon(true);
                return t;
            });
            ctx.metricGroup().setPendingRecordsGauge(this::pending);
        }

        /** Arrived but unread records of this reader's partitions (its lag). */
        private synchronized Long pending() {
            double arrived = schedule.arrived(System.currentTimeMillis());
            long p = 0;
            for (PartitionSplit s : splits) {
                long n = s.partitions;
                // Records j of partition k arrived: k + n*j < arrived.
                long arrivedHere = (long) Math.max(0, Math.ceil((arrived - s.partition) / n));
                p += Math.max(0, arrivedHere - s.emitted);
            }
            return p;
        }

        private double arrivedNow() {
            long now = System.currentTimeMillis();
            if (now != arrivedAtMs) {
                arrivedAtMs = now;
                arrivedCache = schedule.arrived(now);
            }
            return arrivedCache;
        }

        @Override
        public InputStatus pollNext(ReaderOutput<byte[]> out) {
            if (splits.isEmpty()) {
                return idle(100);
            }
            double arrived = arrivedNow();
            synchronized (this) {
                for (int i = 0; i < splits.size(); i++) {
                    PartitionSplit s = splits.get((cursor + i) % splits.size());
                    long next = s.next();
                    if (next < arrived) {
                        s.emitted++;
                        cursor = (cursor + i + 1) % splits.size();
                        service.record();
                        out.collect(Records.of(next, recordBytes));
                        return InputStatus.MORE_AVAILABLE;
                    }
                }
            }
            // Nothing arrived: wait about until the next record of the whole topic.
            double r = schedule.rateAt(System.currentTimeMillis());
            long waitMs = r <= 0 ? 100 : (long) Math.ceil(1000.0 / r);
            return idle(Math.max(1, Math.min(100, waitMs)));
        }

        private InputStatus idle(long ms) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            available = f;
            timer.schedule(() -> f.complete(null), ms, TimeUnit.MILLISECONDS);
            return InputStatus.NOTHING_AVAILABLE;
        }

        @Override
        public synchronized List<PartitionSplit> snapshotState(long checkpointId) {
            List<PartitionSplit> out = new ArrayList<>(splits.size());
            for (PartitionSplit s : splits) {
                out.add(s.copy());
            }
            return out;
        }

        /**
         * Available as soon as a record has arrived. The future a wait set up completes on the
         * timer; if Flink asks before that (it re-checks input availability after a
         * back-pressure wait, see StreamTask#processInput), an incomplete future would park the
         * task as idle while records wait, so it is completed here.
         */
        @Override
        public CompletableFuture<Void> isAvailable() {
            if (!available.isDone() && hasArrived()) {
                available.complete(null);
            }
            return available;
        }

        private synchronized boolean hasArrived() {
            double arrived = arrivedNow();
            for (PartitionSplit s : splits) {
                if (s.next() < arrived) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public synchronized void addSplits(List<PartitionSplit> added) {
            splits.addAll(added);
            available.complete(null);
        }

        @Override
        public void notifyNoMoreSplits() {}

        @Override
        public void close() {
            if (timer != null) {
                timer.shutdownNow();
            }
        }
    }
}
