package io.flinktune.harness.scenario;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

import java.io.File;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Executes a flinktune scenario's job graph on a real session cluster: one Flink vertex per
 * scenario vertex (chaining off, each vertex's uid the scenario vertex id, so its JobVertexID
 * is stable), sources that behave like a partitioned log fed at the scenario's rate schedule
 * with its start backlog ({@link ScheduledSource}), each vertex's capacity as a per-record
 * service time (a timed wait), its selectivity, records of its size on the network
 * ({@link Records}: a value keyed vertices key on, and a payload), keyed state of its size behind
 * HASH inputs, ship strategies, slot sharing groups and max parallelism. The Go side (package local) turns
 * a scenario into the JSON spec this reads:
 *
 * <pre>
 * ScenarioJob --host 127.0.0.1 --port 8081 --jar harness.jar --spec job.json
 * </pre>
 *
 * <p>Prints the job id on standard output and exits; the job keeps running.
 */
public final class ScenarioJob {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        JsonNode spec = new ObjectMapper().readTree(new File(required(a, "spec")));
        Configuration conf = new Configuration();
        for (Iterator<Map.Entry<String, JsonNode>> it = spec.path("config").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            conf.setString(e.getKey(), e.getValue().asText());
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createRemoteEnvironment(
                a.getOrDefault("host", "127.0.0.1"), Integer.parseInt(a.getOrDefault("port", "8081")),
                conf, required(a, "jar"));
        env.disableOperatorChaining();
        build(env, spec);
        JobClient job = env.executeAsync(spec.path("name").asText("flinktune-scenario"));
        System.out.println(job.getJobID());
        System.out.flush();
        System.exit(0);
    }

    private static String required(Map<String, String> a, String k) {
        String v = a.get(k);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + k);
        }
        return v;
    }

    /** Adds the spec's vertices (in topological order) to env. */
    static void build(StreamExecutionEnvironment env, JsonNode spec) {
        long origin = spec.path("originMs").asLong(System.currentTimeMillis());
        // With an origin file the schedule starts when the harness writes it (the job runs).
        String originFile = spec.path("originFile").asText("");
        Map<String, DataStream<byte[]>> built = new HashMap<>();
        for (JsonNode v : spec.path("vertices")) {
            String id = v.path("id").asText();
            long serviceNanos = v.path("serviceNanos").asLong(0);
            int recordBytes = v.path("recordBytes").asInt(Records.MIN_BYTES);
            SingleOutputStreamOperator<byte[]> op;
            if (v.path("inputs").size() == 0) {
                JsonNode load = v.path("load");
                int n = load.path("points").size();
                long[] t = new long[Math.max(1, n)];
                double[] r = new double[Math.max(1, n)];
                for (int k = 0; k < n; k++) {
                    t[k] = load.path("points").get(k).get(0).asLong();
                    r[k] = load.path("points").get(k).get(1).asDouble();
                }
                long backlog = load.path("backlog").asLong(0);
                Schedule sch = originFile.isEmpty() ? new Schedule(origin, backlog, t, r)
                        : Schedule.startedBy(originFile, backlog, t, r);
                String name = v.path("name").asText(id).replaceFirst("^Source: ", "");
                if (v.has("kafka")) {
                    op = env.fromSource(KafkaSources.of(v.path("kafka"), id, serviceNanos, recordBytes),
                            WatermarkStrategy.noWatermarks(), name);
                } else {
                    op = env.fromSource(new ScheduledSource(sch, v.path("partitions").asInt(1), serviceNanos, recordBytes),
                            WatermarkStrategy.noWatermarks(), name);
                }
            } else {
                op = processor(v, built, serviceNanos, recordBytes);
                op.name(v.path("name").asText(id));
            }
            op.uid(id);
            op.setParallelism(v.path("parallelism").asInt(1));
            if (v.path("maxParallelism").asInt(0) > 0) {
                op.setMaxParallelism(v.path("maxParallelism").asInt());
            }
            op.slotSharingGroup(v.path("slotSharingGroup").asText("default"));
            built.put(id, op);
        }
    }

    private static SingleOutputStreamOperator<byte[]> processor(
            JsonNode v, Map<String, DataStream<byte[]>> built, long serviceNanos, int recordBytes) {
        double selectivity = v.path("selectivity").asDouble(1);
        List<DataStream<byte[]>> ins = new ArrayList<>();
        boolean keyed = false;
        for (JsonNode in : v.path("inputs")) {
            DataStream<byte[]> from = built.get(in.path("from").asText());
            if (from == null) {
                throw new IllegalArgumentException("vertex " + v.path("id").asText() + ": input "
                        + in.path("from").asText() + " is not defined before it");
            }
            String ship = in.path("ship").asText("REBALANCE");
            switch (ship) {
                case "HASH":
                    keyed = true;
                    ins.add(from);
                    break;
                case "FORWARD":
                    ins.add(from.forward());
                    break;
                case "RESCALE":
                    ins.add(from.rescale());
                    break;
                case "BROADCAST":
                    ins.add(from.broadcast());
                    break;
                default:
                    ins.add(from.rebalance());
            }
        }
        DataStream<byte[]> in = ins.get(0);
        for (int i = 1; i < ins.size(); i++) {
            in = in.union(ins.get(i));
        }
        if (keyed) {
            // A vertex with a HASH input is keyed on all its inputs (a union is then re-keyed).
            long keys = Math.max(1, v.path("keys").asLong(1024));
            return in.keyBy(new ModKey(keys), Types.LONG).process(new KeyedWork(serviceNanos,
                    selectivity, recordBytes, v.path("stateBytesPerKey").asInt(0)), Records.TYPE);
        }
        return in.process(new Work(serviceNanos, selectivity, recordBytes), Records.TYPE);
    }

    /** Keys a record by its value (not its payload). */
    static final class ModKey implements KeySelector<byte[], Long> {
        private static final long serialVersionUID = 1L;
        private final long keys;

        ModKey(long keys) {
            this.keys = keys;
        }

        @Override
        public Long getKey(byte[] r) {
            return Math.floorMod(Records.value(r) * 0x9E3779B97F4A7C15L, keys);
        }
    }

    /**
     * Emits selectivity records per record on average (a deterministic carry), distinct values,
     * each recordBytes on the network.
     */
    static final class Emitter implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final double selectivity;
        private final int recordBytes;
        private double carry;

        Emitter(double selectivity, int recordBytes) {
            this.selectivity = selectivity;
            this.recordBytes = recordBytes;
        }

        void emit(byte[] in, Collector<byte[]> out) {
            carry += selectivity;
            long v = Records.value(in);
            for (long j = 0; carry >= 1; j++, carry -= 1) {
                out.collect(Records.of(v * 31 + j, recordBytes));
            }
        }
    }

    static final class Work extends ProcessFunction<byte[], byte[]> {
        private static final long serialVersionUID = 1L;
        private final ServiceClock service;
        private final Emitter emitter;

        Work(long serviceNanos, double selectivity, int recordBytes) {
            this.service = new ServiceClock(serviceNanos);
            this.emitter = new Emitter(selectivity, recordBytes);
        }

        @Override
        public void processElement(byte[] v, Context ctx, Collector<byte[]> out) {
            service.record();
            emitter.emit(v, out);
        }
    }

    /** Keyed work: each key holds stateBytesPerKey bytes of keyed state once seen. */
    static final class KeyedWork extends KeyedProcessFunction<Long, byte[], byte[]> {
        private static final long serialVersionUID = 1L;
        private final ServiceClock service;
        private final Emitter emitter;
        private final int stateBytesPerKey;
        private transient ValueState<byte[]> state;

        KeyedWork(long serviceNanos, double selectivity, int recordBytes, int stateBytesPerKey) {
            this.service = new ServiceClock(serviceNanos);
            this.emitter = new Emitter(selectivity, recordBytes);
            this.stateBytesPerKey = stateBytesPerKey;
        }

        @Override
        public void open(OpenContext ctx) {
            if (stateBytesPerKey > 0) {
                state = getRuntimeContext().getState(new ValueStateDescriptor<>(
                        "state", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            }
        }

        @Override
        public void processElement(byte[] v, Context ctx, Collector<byte[]> out) throws Exception {
            service.record();
            if (state != null && state.value() == null) {
                state.update(new byte[stateBytesPerKey]);
            }
            emitter.emit(v, out);
        }
    }

}
