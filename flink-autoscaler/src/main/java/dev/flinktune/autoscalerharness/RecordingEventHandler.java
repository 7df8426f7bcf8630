package dev.flinktune.autoscalerharness;

import org.apache.flink.api.common.JobID;
import org.apache.flink.autoscaler.JobAutoScalerContext;
import org.apache.flink.autoscaler.event.AutoScalerEventHandler;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.annotation.Nullable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Logs every autoscaler event (as the standalone's logging handler does) and keeps the events of
 * the current cycle per job, so a lockstep cycle can report them.
 */
final class RecordingEventHandler
        implements AutoScalerEventHandler<JobID, JobAutoScalerContext<JobID>> {
    private static final Logger LOG = LoggerFactory.getLogger(RecordingEventHandler.class);

    /** One event as reported to flinktune. */
    record Event(String type, String reason, String message) {}

    private final Map<JobID, List<Event>> events = new ConcurrentHashMap<>();

    @Override
    public void handleEvent(
            JobAutoScalerContext<JobID> context,
            Type type,
            String reason,
            String message,
            @Nullable String messageKey,
            @Nullable Duration interval) {
        if (type == Type.Warning) {
            LOG.warn("Job {}: {} {}", context.getJobKey(), reason, message);
        } else {
            LOG.info("Job {}: {} {}", context.getJobKey(), reason, message);
        }
        events.computeIfAbsent(context.getJobKey(), k -> new ArrayList<>())
                .add(new Event(type.name(), reason, message));
    }

    /** Returns and forgets the events recorded for the job. */
    List<Event> drain(JobID job) {
        List<Event> out = events.remove(job);
        return out != null ? out : List.of();
    }
}
