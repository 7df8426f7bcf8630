package io.flinktune.harness.tiny;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.FilterFunction;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Tiny Flink experiment as one process: a MiniCluster started in this JVM with exactly the
 * Flink options given, running datagen → filter (drops 1%) → discarding sink, chained into one
 * task per slot and submitted with MiniCluster#submitJob (no REST client).
 *
 * <pre>
 * TinyJob [--seconds 30] [--record-size 1024] [--rate 0] -D key=value ...
 * </pre>
 *
 * <p>The -D options are the second line of {@code flinktune memory tiny -o flags}; the JVM is
 * started by the caller with the first line. Local execution fills in defaults for the memory
 * pools left unset (64 MiB network, 128 MiB managed), so the network and managed sizes must be
 * given: the process refuses to start otherwise. --rate caps the records per second of the
 * whole source (0: as fast as it goes). Output on standard output, one fact per line:
 *
 * <pre>
 * TINY-JVM java=17.0.15 vm=OpenJDK 64-Bit Server VM gc=G1 Young Generation,G1 Old Generation maxMemory=...
 * TINY-RUNNING t=...                       the job is running
 * TINY t=ms records=n bytes=n              every 250 ms, counted after the filter
 * TINY-FAILED class: message               the job failed (e.g. java.lang.OutOfMemoryError); exit 3
 * TINY-POOLS metaspace=b code=b direct=b threads=n gcCount=n gcMillis=n   at the end
 * TINY-DONE records=n                      the run ended; exit 0
 * </pre>
 */
public final class TinyJob {
    /** Records and bytes that passed the filter, summed over all subtasks (same JVM). */
    static final AtomicLong RECORDS = new AtomicLong();

    static final AtomicLong BYTES = new AtomicLong();

    /** The pools local execution would otherwise default. */
    static final String[] REQUIRED = {
        "taskmanager.memory.network.min",
        "taskmanager.memory.network.max",
        "taskmanager.memory.managed.size",
    };

    public static void main(String[] args) throws Exception {
        long seconds = 30;
        int recordSize = 1024;
        double rate = 0;
        Configuration conf = new Configuration();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : "";
            switch (a) {
                case "--seconds":
                    seconds = Long.parseLong(v);
                    i++;
                    break;
                case "--record-size":
                    recordSize = Integer.parseInt(v);
                    i++;
                    break;
                case "--rate":
                    rate = Double.parseDouble(v);
                    i++;
                    break;
                case "-D":
                    int eq = v.indexOf('=');
                    if (eq <= 0) {
                        fail(2, "-D " + v + ": want key=value");
                    }
                    conf.setString(v.substring(0, eq), v.substring(eq + 1));
                    keys.add(v.substring(0, eq));
                    i++;
                    break;
                default:
                    fail(2, "unknown argument " + a);
            }
        }
        for (String k : REQUIRED) {
            if (!keys.contains(k)) {
                fail(2, k + " is not set: local execution would use its default for this pool");
            }
        }
        if (recordSize < 8) {
            fail(2, "--record-size must be at least 8 bytes (the record's index)");
        }
        // Plumbing, not memory: an ephemeral REST port on loopback so that runs never collide.
        if (!keys.contains("rest.bind-port")) {
            conf.setString("rest.bind-port", "0");
        }
        if (!keys.contains("rest.bind-address")) {
            conf.setString("rest.bind-address", "127.0.0.1");
            conf.setString("rest.address", "127.0.0.1");
        }
        int slots = conf.get(TaskManagerOptions.NUM_TASK_SLOTS);
        int parallelism = conf.getOptional(CoreOptions.DEFAULT_PARALLELISM).orElse(slots);

        StringBuilder gcs = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.append(gcs.length() > 0 ? "," : "").append(gc.getName());
        }
        System.out.printf(
                "TINY-JVM java=%s vm=%s vendor=%s gc=%s maxMemory=%d cpus=%d%n",
                System.getProperty("java.version"),
                System.getProperty("java.vm.name"),
                System.getProperty("java.vm.vendor"),
                gcs,
                Runtime.getRuntime().maxMemory(),
                Runtime.getRuntime().availableProcessors());
        System.out.flush();

        MiniClusterConfiguration mcc =
                new MiniClusterConfiguration.Builder()
                        .setConfiguration(conf)
                        .setNumTaskManagers(1)
                        .setNumSlotsPerTaskManager(slots)
                        .build();
        MiniCluster cluster = new MiniCluster(mcc);
        try {
            cluster.start();
            JobGraph job = jobGraph(recordSize, rate, parallelism);
            JobID id = cluster.submitJob(job).get().getJobID();
            long start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            boolean running = false;
            while (System.nanoTime() < deadline) {
                JobStatus st = cluster.getJobStatus(id).get();
                if (st.isGloballyTerminalState() || st == JobStatus.FAILING) {
                    JobResult r = cluster.requestJobResult(id).get();
                    Throwable t =
                            r.getSerializedThrowable()
                                    .map(s -> (Throwable) s.deserializeError(TinyJob.class.getClassLoader()))
                                    .orElse(null);
                    fail(3, t == null ? "job ended " + st : rootCause(t));
                }
                if (!running && st == JobStatus.RUNNING) {
                    running = true;
                    System.out.printf("TINY-RUNNING t=%d%n", ms(start));
                }
                System.out.printf("TINY t=%d records=%d bytes=%d%n", ms(start), RECORDS.get(), BYTES.get());
                System.out.flush();
                Thread.sleep(250);
            }
            System.out.println("TINY-POOLS " + pools());
            System.out.printf("TINY-DONE records=%d%n", RECORDS.get());
            System.out.flush();
        } catch (Throwable t) {
            fail(3, rootCause(t));
        }
        // The cluster's non-daemon threads would keep the JVM up; the run is over.
        Runtime.getRuntime().halt(0);
    }

    static JobGraph jobGraph(int recordSize, double rate, int parallelism) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        RateLimiterStrategy limit =
                rate > 0 ? RateLimiterStrategy.perSecond(rate) : RateLimiterStrategy.noOp();
        DataGeneratorSource<byte[]> source =
                new DataGeneratorSource<>(
                        new Records(recordSize),
                        Long.MAX_VALUE,
                        limit,
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "datagen")
                .uid("datagen")
                .filter(new DropOnePercent())
                .uid("filter")
                .name("filter")
                .sinkTo(new DiscardingSink<>())
                .uid("sink")
                .name("sink");
        return env.getStreamGraph().getJobGraph();
    }

    /** A record of recordSize bytes: its index, then filler that varies with it. */
    static final class Records implements GeneratorFunction<Long, byte[]> {
        private final int size;

        Records(int size) {
            this.size = size;
        }

        @Override
        public byte[] map(Long index) {
            byte[] b = new byte[size];
            long v = index;
            for (int i = 0; i < 8; i++) {
                b[i] = (byte) (v >>> (56 - 8 * i));
            }
            b[size - 1] = (byte) v;
            return b;
        }
    }

    /** Drops every hundredth record (the talk's job filters 1%) and counts the rest. */
    static final class DropOnePercent implements FilterFunction<byte[]> {
        private transient long records;
        private transient long bytes;

        @Override
        public boolean filter(byte[] r) {
            long index = 0;
            for (int i = 0; i < 8; i++) {
                index = (index << 8) | (r[i] & 0xff);
            }
            if (index % 100 == 99) {
                return false;
            }
            // Publish in batches: one shared counter update per 256 records.
            records++;
            bytes += r.length;
            if (records == 256) {
                RECORDS.addAndGet(records);
                BYTES.addAndGet(bytes);
                records = 0;
                bytes = 0;
            }
            return true;
        }
    }

    /** The JVM's own view of its non-heap pools (committed bytes), to ground the model's parts. */
    static String pools() {
        long meta = 0, code = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getName().equals("Metaspace")) {
                meta += p.getUsage().getCommitted();
            } else if (p.getName().startsWith("CodeHeap") || p.getName().startsWith("CodeCache")) {
                code += p.getUsage().getCommitted();
            }
        }
        long direct = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                direct = b.getMemoryUsed();
            }
        }
        long gcCount = 0, gcMillis = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcCount += Math.max(gc.getCollectionCount(), 0);
            gcMillis += Math.max(gc.getCollectionTime(), 0);
        }
        return String.format(
                "metaspace=%d code=%d direct=%d threads=%d gcCount=%d gcMillis=%d",
                meta, code, direct, ManagementFactory.getThreadMXBean().getThreadCount(), gcCount, gcMillis);
    }

    static long ms(long start) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        // An OutOfMemoryError anywhere in the chain is the verdict, whatever wraps it.
        for (Throwable x = t; x != null; x = x.getCause() == x ? null : x.getCause()) {
            if (x instanceof OutOfMemoryError) {
                c = x;
                break;
            }
        }
        String m = String.valueOf(c.getMessage()).replace('\n', ' ');
        return c.getClass().getName() + ": " + (m.length() > 400 ? m.substring(0, 400) : m);
    }

    static void fail(int code, String message) {
        System.out.println("TINY-FAILED " + message);
        System.out.flush();
        Runtime.getRuntime().halt(code);
    }
}
