package dev.flinktune.autoscalerharness;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.autoscaler.JobAutoScalerContext;
import org.apache.flink.autoscaler.config.AutoScalerOptions;
import org.apache.flink.autoscaler.realizer.ScalingRealizer;
import org.apache.flink.autoscaler.tuning.ConfigChanges;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.runtime.jobgraph.JobResourceRequirements;
import org.apache.flink.runtime.jobgraph.JobVertexResourceRequirements;
import org.apache.flink.runtime.jobgraph.JobVertexID;
import org.apache.flink.runtime.rest.messages.EmptyRequestBody;
import org.apache.flink.runtime.rest.messages.JobMessageParameters;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsBody;
import org.apache.flink.runtime.rest.messages.job.JobResourceRequirementsHeaders;
import org.apache.flink.runtime.rest.messages.job.JobResourcesRequirementsUpdateHeaders;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Applies parallelism overrides in place through Flink's rescale API, as the standalone
 * autoscaler's realizer does: read the job's resource requirements, set [1, p] for every vertex
 * with an override that differs, and PUT them back only if something changed. Memory overrides are
 * not applied (the standalone autoscaler cannot either); they are only kept for the report.
 */
final class RescaleRealizer implements ScalingRealizer<JobID, JobAutoScalerContext<JobID>> {
    private static final Logger LOG = LoggerFactory.getLogger(RescaleRealizer.class);

    private final RecordingEventHandler events;
    /** The overrides handed over in the current cycle, per job (ordered by vertex id). */
    private final Map<JobID, Map<String, String>> overrides = new ConcurrentHashMap<>();

    private final Map<JobID, Map<String, String>> configOverrides = new ConcurrentHashMap<>();

    RescaleRealizer(RecordingEventHandler events) {
        this.events = events;
    }

    @Override
    public void realizeParallelismOverrides(
            JobAutoScalerContext<JobID> ctx, Map<String, String> parallelismOverrides)
            throws Exception {
        overrides.put(ctx.getJobKey(), new TreeMap<>(parallelismOverrides));
        var conf = ctx.getConfiguration();
        if (conf.get(JobManagerOptions.SCHEDULER) != JobManagerOptions.SchedulerType.Adaptive) {
            LOG.warn("In-place rescaling is only available with the adaptive scheduler.");
            return;
        }
        if (ctx.getJobStatus() != JobStatus.RUNNING) {
            LOG.warn("Job in terminal or reconciling state cannot be scaled in-place.");
            return;
        }
        long timeout = conf.get(AutoScalerOptions.FLINK_CLIENT_TIMEOUT).toMillis();
        var params = new JobMessageParameters();
        params.jobPathParameter.resolve(ctx.getJobID());
        try (var client = ctx.getRestClusterClient()) {
            var current =
                    client.sendRequest(
                                    new JobResourceRequirementsHeaders(),
                                    params,
                                    EmptyRequestBody.getInstance())
                            .get(timeout, TimeUnit.MILLISECONDS)
                            .asJobResourceRequirements()
                            .orElseThrow()
                            .getJobVertexParallelisms();
            Map<JobVertexID, JobVertexResourceRequirements> next = new HashMap<>(current);
            boolean changed = false;
            for (var e : current.entrySet()) {
                String p = parallelismOverrides.get(e.getKey().toString());
                if (p == null) {
                    continue;
                }
                var want = new JobVertexResourceRequirements.Parallelism(1, Integer.parseInt(p));
                if (!e.getValue().getParallelism().equals(want)) {
                    next.put(e.getKey(), new JobVertexResourceRequirements(want));
                    changed = true;
                }
            }
            if (!changed) {
                LOG.info("Vertex resources requirements already match target, nothing to do...");
                return;
            }
            client.sendRequest(
                            new JobResourcesRequirementsUpdateHeaders(),
                            params,
                            new JobResourceRequirementsBody(new JobResourceRequirements(next)))
                    .get(timeout, TimeUnit.MILLISECONDS);
            events.handleEvent(
                    ctx,
                    RecordingEventHandler.Type.Normal,
                    "Scaling",
                    "In-place scaling triggered, the new requirements is " + next + ".",
                    null,
                    null);
        }
    }

    @Override
    public void realizeConfigOverrides(JobAutoScalerContext<JobID> ctx, ConfigChanges changes) {
        configOverrides.put(ctx.getJobKey(), new TreeMap<>(changes.getOverrides()));
        LOG.info("Memory overrides (not applied by the standalone autoscaler): {}", changes);
    }

    Map<String, String> takeOverrides(JobID job) {
        var m = overrides.remove(job);
        return m != null ? m : Map.of();
    }

    Map<String, String> takeConfigOverrides(JobID job) {
        var m = configOverrides.remove(job);
        return m != null ? m : Map.of();
    }
}
