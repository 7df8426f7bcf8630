package io.flinktune.harness;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * A small DataStream job, datagen → map → sink with operator chaining off (one Flink vertex
 * per operator, fixed uids), submitted to a running session cluster through its REST API:
 *
 * <pre>
 * WorkloadJob --host 127.0.0.1 --port 8081 --jar harness.jar [--rate 200] [--parallelism 2]
 *             [--map-micros 0] [--name flinktune-workload]
 * </pre>
 *
 * <p>--rate is records per second for the whole source; --map-micros is the map's per-record
 * service time as a timed wait (not CPU spinning), so that busy time means what it means on a
 * big machine. Prints the job id on standard output and exits; the job keeps running.
 */
public final class WorkloadJob {
    public static void main(String[] args) throws Exception {
        Map<String, String> a = parse(args);
        String host = a.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(a.getOrDefault("port", "8081"));
        double rate = Double.parseDouble(a.getOrDefault("rate", "200"));
        int parallelism = Integer.parseInt(a.getOrDefault("parallelism", "2"));
        long mapMicros = Long.parseLong(a.getOrDefault("map-micros", "0"));
        String name = a.getOrDefault("name", "flinktune-workload");

        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.createRemoteEnvironment(host, port, a.get("jar"));
        env.disableOperatorChaining();
        env.setParallelism(parallelism);
        env.enableCheckpointing(5000);

        DataGeneratorSource<Long> source =
                new DataGeneratorSource<>(
                        i -> i, Long.MAX_VALUE, RateLimiterStrategy.perSecond(rate), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "Source: datagen")
                .uid("source")
                .map(new ServiceTime(mapMicros))
                .uid("map")
                .name("map")
                .sinkTo(new DiscardingSink<>())
                .uid("sink")
                .name("sink");
        JobClient job = env.executeAsync(name);
        System.out.println(job.getJobID());
        System.out.flush();
        System.exit(0);
    }

    /** Waits the service time per record, then passes it on. */
    static final class ServiceTime extends RichMapFunction<Long, Long> {
        private final long micros;

        ServiceTime(long micros) {
            this.micros = micros;
        }

        @Override
        public Long map(Long v) {
            if (micros > 0) {
                LockSupport.parkNanos(micros * 1000);
            }
            return v;
        }
    }

    static Map<String, String> parse(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --key value, got " + args[i]);
            }
            m.put(args[i].substring(2), args[i + 1]);
        }
        return m;
    }
}
