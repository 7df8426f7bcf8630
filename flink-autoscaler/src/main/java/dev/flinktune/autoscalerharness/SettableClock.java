package dev.flinktune.autoscalerharness;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * The autoscaler's clock. Lockstep runs set it before every control cycle (the simulator's time);
 * a realtime run against a simulator that runs {@code scale} times faster than the wall clock
 * maps the wall clock onto the simulator's (origin + elapsed × scale), so the autoscaler's windows,
 * stabilization and restart times run in the cluster's time; otherwise it is the system clock.
 */
final class SettableClock extends Clock {
    private volatile Instant fixed; // lockstep: the cycle's time
    private volatile long originMs = -1; // realtime: the cluster's time at wallOriginMs
    private volatile long wallOriginMs;
    private volatile double scale = 1;

    void set(Instant t) {
        fixed = t;
    }

    /** The cluster's clock read clusterMs at wall-clock time wallMs and runs scale times faster. */
    void follow(long clusterMs, long wallMs, double scale) {
        this.wallOriginMs = wallMs;
        this.scale = scale;
        this.originMs = clusterMs;
    }

    @Override
    public Instant instant() {
        Instant t = fixed;
        if (t != null) {
            return t;
        }
        if (originMs >= 0) {
            double elapsedMs = (System.currentTimeMillis() - wallOriginMs) * scale;
            return Instant.ofEpochMilli(originMs + Math.round(elapsedMs));
        }
        return Instant.now();
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
