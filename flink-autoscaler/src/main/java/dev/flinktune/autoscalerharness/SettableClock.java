package dev.flinktune.autoscalerharness;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/**
 * A clock that reads the simulator's time in lockstep runs (set before every control cycle) and
 * the system clock otherwise, so the autoscaler's windows, stabilization and restart times run in
 * the simulator's time.
 */
final class SettableClock extends Clock {
    private volatile Instant now; // null: the system clock

    void set(Instant t) {
        now = t;
    }

    @Override
    public Instant instant() {
        Instant t = now;
        return t != null ? t : Instant.now();
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
