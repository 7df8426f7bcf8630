package dev.flinktune.autoscalerharness;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.java.utils.ParameterTool;
import org.apache.flink.autoscaler.JobAutoScalerContext;
import org.apache.flink.autoscaler.JobAutoScalerImpl;
import org.apache.flink.autoscaler.RestApiMetricsCollector;
import org.apache.flink.autoscaler.ScalingExecutor;
import org.apache.flink.autoscaler.ScalingMetricEvaluator;
import org.apache.flink.autoscaler.config.AutoScalerOptions;
import org.apache.flink.autoscaler.state.InMemoryAutoScalerStateStore;
import org.apache.flink.autoscaler.utils.JobStatusUtils;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.rest.messages.EmptyMessageParameters;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobsOverviewHeaders;
import org.apache.flink.runtime.rest.messages.job.JobManagerJobConfigurationHeaders;
import org.apache.flink.runtime.rest.messages.JobMessageParameters;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The operator's autoscaler ({@link JobAutoScalerImpl} with the REST metric collector, the
 * evaluator, the scaling executor and an in-memory state store, all from flink-autoscaler) driven
 * the way the standalone autoscaler drives it: list the cluster's jobs, build each job's context
 * from the base configuration overlaid with the job's own, run {@code scale}, clean up vanished
 * jobs.
 *
 * <p>Two modes ({@code --flinktune.harness.mode}):
 *
 * <ul>
 *   <li>{@code realtime}: a control loop every {@code autoscaler.standalone.control-loop.interval}
 *       of wall time, like {@code StandaloneAutoscalerEntrypoint}.
 *   <li>{@code lockstep}: one control cycle per stdin line {@code cycle <epochMillis> [jobId]}, the
 *       autoscaler's clock set to that time first; one JSON line per cycle on stdout with each job's
 *       decision. {@code quit} (or end of input) exits.
 * </ul>
 *
 * The cluster: {@code --autoscaler.standalone.fetcher.flink-cluster.host} and {@code .port}, as the
 * standalone autoscaler. In realtime mode against a simulator whose clock runs N times faster than
 * the wall clock, {@code --flinktune.harness.clock-origin <simMillis>@<wallMillis>} (the simulator's
 * time at a wall-clock time) and {@code --flinktune.harness.time-scale N} make the autoscaler's clock the simulator's.
 * Any other {@code --key value} is a configuration default under every job.
 */
public final class Harness {
    private static final Logger LOG = LoggerFactory.getLogger(Harness.class);

    static final String MODE = "flinktune.harness.mode";
    static final String HOST = "autoscaler.standalone.fetcher.flink-cluster.host";
    static final String PORT = "autoscaler.standalone.fetcher.flink-cluster.port";
    static final String INTERVAL = "autoscaler.standalone.control-loop.interval";
    static final String CLOCK_ORIGIN = "flinktune.harness.clock-origin";
    static final String TIME_SCALE = "flinktune.harness.time-scale";

    private final Configuration base;
    private final SharedRestClient client;
    private final SettableClock clock = new SettableClock();
    private final RecordingEventHandler events = new RecordingEventHandler();
    private final RescaleRealizer realizer = new RescaleRealizer(events);
    private final InMemoryAutoScalerStateStore<JobID, JobAutoScalerContext<JobID>> store =
            new InMemoryAutoScalerStateStore<>();
    private final JobAutoScalerImpl<JobID, JobAutoScalerContext<JobID>> autoscaler;
    private Set<JobID> lastJobs = new HashSet<>();

    Harness(Configuration base) throws Exception {
        this.base = base;
        String address =
                String.format(
                        "http://%s:%s", base.getString(HOST, "localhost"), base.getString(PORT, "8081"));
        this.client = new SharedRestClient(new Configuration(), address);
        var collector = new RestApiMetricsCollector<JobID, JobAutoScalerContext<JobID>>();
        var executor = new ScalingExecutor<>(events, store);
        this.autoscaler =
                new JobAutoScalerImpl<>(
                        collector, new ScalingMetricEvaluator(), executor, events, realizer, store);
        // The autoscaler's clocks are test hooks: set all three to ours.
        setClock(JobAutoScalerImpl.class, autoscaler);
        setClock(collector.getClass().getSuperclass(), collector);
        Field f = ScalingExecutor.class.getDeclaredField("jobVertexScaler");
        f.setAccessible(true);
        Object vertexScaler = f.get(executor);
        setClock(vertexScaler.getClass(), vertexScaler);
    }

    private void setClock(Class<?> cls, Object target) throws Exception {
        Method m = cls.getDeclaredMethod("setClock", Clock.class);
        m.setAccessible(true);
        m.invoke(target, clock);
    }

    /** One job's outcome of a control cycle. */
    record Outcome(
            JobID job,
            String status,
            Map<String, Integer> decided,
            Map<String, String> overrides,
            Map<String, String> configOverrides,
            List<RecordingEventHandler.Event> events) {}

    /**
     * One control cycle over the cluster's jobs (or only {@code only}, if not null). As in the
     * standalone autoscaler, a failure to list the jobs or to read a job's configuration skips the
     * whole cycle (logged, listed in the reply); scaling errors are the autoscaler's own events.
     */
    List<Outcome> cycle(JobID only, List<String> fetchErrors) {
        long timeout = base.get(AutoScalerOptions.FLINK_CLIENT_TIMEOUT).toMillis();
        List<JobStatusMessage> jobs = new ArrayList<>();
        List<Configuration> confs = new ArrayList<>();
        try {
            for (JobStatusMessage job :
                    client.sendRequest(
                                    JobsOverviewHeaders.getInstance(),
                                    EmptyMessageParameters.getInstance(),
                                    EmptyRequestBody.getInstance())
                            .thenApply(JobStatusUtils::toJobStatusMessage)
                            .get(timeout, TimeUnit.MILLISECONDS)) {
                if (only == null || only.equals(job.getJobId())) {
                    jobs.add(job);
                    confs.add(jobConfiguration(job.getJobId(), timeout));
                }
            }
        } catch (Throwable e) {
            LOG.error("Error while fetch job list.", e);
            fetchErrors.add(String.valueOf(e));
            return List.of();
        }
        Set<JobID> seen = new HashSet<>();
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < jobs.size(); i++) {
            seen.add(jobs.get(i).getJobId());
            out.add(scaleJob(jobs.get(i), confs.get(i)));
        }
        for (JobID gone : lastJobs) {
            if (!seen.contains(gone) && only == null) {
                autoscaler.cleanup(gone);
            }
        }
        lastJobs = seen;
        return out;
    }

    private Configuration jobConfiguration(JobID id, long timeout) throws Exception {
        var params = new JobMessageParameters();
        params.jobPathParameter.resolve(id);
        var jobConf =
                client.sendRequest(
                                JobManagerJobConfigurationHeaders.getInstance(),
                                params,
                                EmptyRequestBody.getInstance())
                        .get(timeout, TimeUnit.MILLISECONDS);
        var conf = new Configuration(base);
        jobConf.forEach(e -> conf.setString(e.getKey(), e.getValue()));
        return conf;
    }

    private Outcome scaleJob(JobStatusMessage job, Configuration conf) {
        JobID id = job.getJobId();
        var ctx =
                new JobAutoScalerContext<JobID>(
                        id, id, job.getJobState(), conf, new UnregisteredMetricsGroup(), () -> client);
        Instant now = clock.instant();
        try {
            autoscaler.scale(ctx);
        } catch (Throwable e) {
            LOG.error("Error while scaling job", e);
            events.handleException(ctx, "AutoscalerError", e);
        }
        Map<String, Integer> decided = new TreeMap<>();
        store.getScalingHistory(ctx)
                .forEach(
                        (v, history) -> {
                            var s = history.get(now);
                            if (s != null) {
                                decided.put(v.toString(), s.getNewParallelism());
                            }
                        });
        return new Outcome(
                id,
                job.getJobState().name(),
                decided,
                realizer.takeOverrides(id),
                realizer.takeConfigOverrides(id),
                events.drain(id));
    }

    void lockstep() throws Exception {
        var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        System.setOut(System.err); // nothing else may write to the protocol stream
        out.println("{\"ready\":true}");
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 0 || f[0].isEmpty()) {
                continue;
            }
            if (f[0].equals("quit")) {
                break;
            }
            if (!f[0].equals("cycle") || f.length < 2) {
                out.println(Json.error("unknown command: " + line));
                continue;
            }
            try {
                clock.set(Instant.ofEpochMilli(Long.parseLong(f[1])));
                JobID only = f.length > 2 ? JobID.fromHexString(f[2]) : null;
                List<String> fetchErrors = new ArrayList<>();
                out.println(Json.outcomes(cycle(only, fetchErrors), fetchErrors));
            } catch (Throwable e) {
                LOG.error("Cycle failed", e);
                out.println(Json.error(String.valueOf(e)));
            }
        }
    }

    void realtime() throws Exception {
        Duration interval = Duration.ofMillis(base.getLong(INTERVAL + ".ms", 10_000));
        String origin = base.getString(CLOCK_ORIGIN, "");
        if (!origin.isEmpty()) {
            String[] at = origin.split("@");
            clock.follow(
                    Long.parseLong(at[0]),
                    Long.parseLong(at[1]),
                    Double.parseDouble(base.getString(TIME_SCALE, "1")));
        }
        LOG.info("The autoscaler is started, control loop every {}, configuration: {}", interval, base);
        while (!Thread.currentThread().isInterrupted()) {
            long start = System.nanoTime();
            try {
                for (Outcome o : cycle(null, new ArrayList<>())) {
                    if (!o.decided().isEmpty()) {
                        LOG.info("Job {} scaled: {}", o.job(), o.decided());
                    }
                }
            } catch (Throwable e) {
                LOG.error("Error while fetch job list.", e);
            }
            long left = interval.toNanos() - (System.nanoTime() - start);
            if (left > 0) {
                Thread.sleep(left / 1_000_000, (int) (left % 1_000_000));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Configuration conf =
                GlobalConfiguration.loadConfiguration(ParameterTool.fromArgs(args).getConfiguration());
        Harness h = new Harness(conf);
        try {
            if ("lockstep".equals(conf.getString(MODE, "realtime"))) {
                h.lockstep();
            } else {
                h.realtime();
            }
        } finally {
            h.client.shutdown();
        }
        System.exit(0);
    }
}
