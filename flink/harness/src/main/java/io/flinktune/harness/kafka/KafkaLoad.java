package io.flinktune.harness.kafka;

import io.flinktune.harness.scenario.Schedule;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.LongSerializer;

import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;

/**
 * The load of a scenario's Kafka sources: for every source vertex of a ScenarioJob spec that
 * names a topic, creates the topic with the source's partition count and produces into it by
 * the source's {@link Schedule}: the start backlog at once, then each record when it arrives
 * (record i, value i, to partition i mod partitions, as ScheduledSource deals them). Prints
 * "ready" once every topic holds its backlog, then produces until killed.
 *
 * <pre>
 * KafkaLoad --spec job.json
 * </pre>
 */
public final class KafkaLoad {
    /** Sends at most this often: arrivals are batched per tick, as a producer's linger does. */
    private static final long TICK_MS = 20;

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String specFile = a.get("spec");
        if (specFile == null) {
            throw new IllegalArgumentException("missing --spec");
        }
        JsonNode spec = new ObjectMapper().readTree(new File(specFile));
        long origin = spec.path("originMs").asLong(System.currentTimeMillis());
        // A spec with an origin file (flinktune's LoadOnSignal) produces only the backlog until
        // the file holds the origin, as the scheduled sources do: the schedule then starts when
        // the job runs, not when the producer did.
        String originFile = spec.path("originFile").asText("");
        List<Topic> topics = new ArrayList<>();
        for (JsonNode v : spec.path("vertices")) {
            if (v.path("kafka").isMissingNode()) {
                continue;
            }
            topics.add(new Topic(v.path("kafka").path("bootstrap").asText(), v.path("kafka").path("topic").asText(),
                    v.path("partitions").asInt(1), schedule(origin, originFile, v.path("load"))));
        }
        if (topics.isEmpty()) {
            throw new IllegalArgumentException(specFile + ": no source vertex names a Kafka topic");
        }
        for (Topic t : topics) {
            t.open();
        }
        for (Topic t : topics) {
            t.produceUntil(System.currentTimeMillis());
            t.producer.flush();
        }
        System.out.println("ready");
        System.out.flush();
        boolean announced = false;
        while (true) {
            long now = System.currentTimeMillis();
            for (Topic t : topics) {
                t.produceUntil(now);
            }
            long started = announced ? -1 : topics.get(0).schedule.originAt(now);
            if (started >= 0) {
                // flinktune waits for this line to know the schedule runs (TestKafkaBrokerAndLoad).
                System.out.println("load origin " + started);
                System.out.flush();
                announced = true;
            }
            Thread.sleep(TICK_MS);
        }
    }

    static Schedule schedule(long origin, String originFile, JsonNode load) {
        int n = load.path("points").size();
        long[] t = new long[Math.max(1, n)];
        double[] r = new double[Math.max(1, n)];
        for (int k = 0; k < n; k++) {
            t[k] = load.path("points").get(k).get(0).asLong();
            r[k] = load.path("points").get(k).get(1).asDouble();
        }
        long backlog = load.path("backlog").asLong(0);
        return originFile.isEmpty() ? new Schedule(origin, backlog, t, r) : Schedule.startedBy(originFile, backlog, t, r);
    }

    static final class Topic {
        final String bootstrap;
        final String name;
        final int partitions;
        final Schedule schedule;
        KafkaProducer<Long, Long> producer;
        long sent;

        Topic(String bootstrap, String name, int partitions, Schedule schedule) {
            this.bootstrap = bootstrap;
            this.name = name;
            this.partitions = partitions;
            this.schedule = schedule;
        }

        void open() throws InterruptedException, ExecutionException {
            Properties ap = new Properties();
            ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            try (Admin admin = Admin.create(ap)) {
                admin.createTopics(Collections.singleton(new NewTopic(name, partitions, (short) 1))).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
            }
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            pp.put(ProducerConfig.ACKS_CONFIG, "1");
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
            producer = new KafkaProducer<>(pp, new LongSerializer(), new LongSerializer());
        }

        /** Sends every record that has arrived by nowMs and was not sent yet. */
        void produceUntil(long nowMs) {
            long due = (long) Math.floor(schedule.arrived(nowMs));
            for (; sent < due; sent++) {
                producer.send(new ProducerRecord<>(name, (int) (sent % partitions), null, sent));
            }
        }
    }
}
