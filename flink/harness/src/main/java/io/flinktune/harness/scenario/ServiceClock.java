package io.flinktune.harness.scenario;

import java.io.Serializable;
import java.util.concurrent.locks.LockSupport;

/**
 * A per-record service time as a timed wait, not CPU spinning, so that parallelism scales on a
 * small machine and busy time means what it means on a big one. Waits are batched: the owed
 * time is parked once it reaches a millisecond (a park costs tens of microseconds of overhead),
 * and the time actually parked is subtracted, so the long-run cost per record is exact.
 */
final class ServiceClock implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final long BATCH_NANOS = 1_000_000;

    private final long perRecordNanos;
    private long owed;

    ServiceClock(long perRecordNanos) {
        this.perRecordNanos = Math.max(0, perRecordNanos);
    }

    void record() {
        if (perRecordNanos == 0) {
            return;
        }
        owed += perRecordNanos;
        if (owed >= BATCH_NANOS) {
            long t0 = System.nanoTime();
            LockSupport.parkNanos(owed);
            owed -= System.nanoTime() - t0;
        }
    }
}
