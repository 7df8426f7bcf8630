package dev.flinktune.autoscalerharness;

import org.apache.flink.autoscaler.config.AutoScalerOptions;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Compresses the autoscaler's durations for a cluster whose time runs {@code scale} times faster
 * than the wall clock (the simulator at --speed N): every Duration option of {@link
 * AutoScalerOptions} (windows, stabilization, restart and catch-up times, intervals, thresholds)
 * is divided by the scale, after the job's own configuration is applied. The REST client timeout
 * is a wall-clock timeout and stays as configured.
 */
final class TimeScale {
    private TimeScale() {}

    static final String KEY = "flinktune.harness.time-scale";

    private static final List<ConfigOption<Duration>> DURATIONS = durationOptions();

    @SuppressWarnings("unchecked")
    private static List<ConfigOption<Duration>> durationOptions() {
        List<ConfigOption<Duration>> out = new ArrayList<>();
        for (Field f : AutoScalerOptions.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != ConfigOption.class) {
                continue;
            }
            try {
                ConfigOption<?> o = (ConfigOption<?>) f.get(null);
                if (o.hasDefaultValue()
                        && o.defaultValue() instanceof Duration
                        && o != AutoScalerOptions.FLINK_CLIENT_TIMEOUT) {
                    out.add((ConfigOption<Duration>) o);
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** Divides every autoscaler duration in conf by scale (> 1), in place. */
    static void apply(Configuration conf, double scale) {
        if (!(scale > 1)) {
            return;
        }
        for (ConfigOption<Duration> o : DURATIONS) {
            Duration d = conf.get(o);
            if (d != null && !d.isNegative()) {
                conf.set(o, Duration.ofMillis(Math.round(d.toMillis() / scale)));
            }
        }
    }
}
