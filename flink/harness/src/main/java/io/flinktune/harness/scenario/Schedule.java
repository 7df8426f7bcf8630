package io.flinktune.harness.scenario;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A source's arrivals over time: a start backlog plus the integral of a piecewise-linear rate
 * (points in milliseconds since the job's load origin, records per second; the last rate holds).
 * Record i (0-based, over all partitions) has arrived once {@link #arrived(long)} exceeds i.
 *
 * <p>The origin is either fixed when the job is built or, with {@link #startedBy}, read from a
 * file the harness writes once the job runs: a client JVM and a deployment on a loaded machine
 * took 80-133 s, and a schedule counted from the submission had then played most of its steps
 * before any task ran. Until the file holds the origin only the backlog has arrived. The file
 * outlives restarts, so a rescale does not move the origin (arrivals go on while the job is
 * down, as in a real log).
 */
public final class Schedule implements Serializable {
    private static final long serialVersionUID = 1L;

    /** originMs while a file-started origin is not known yet. */
    private static final long UNKNOWN = Long.MIN_VALUE;
    /** How often a reader looks at the origin file while it is not written. */
    private static final long CHECK_MS = 100;

    private final String originFile; // null: originMs is fixed
    private volatile long originMs;
    private transient volatile long nextCheckMs;
    private final long backlog;
    private final long[] tMs;
    private final double[] rate;
    /** cum[k]: records arrived from the origin to tMs[k], backlog excluded. */
    private final double[] cum;

    public Schedule(long originMs, long backlog, long[] tMs, double[] rate) {
        this(originMs, null, backlog, tMs, rate);
    }

    /** A schedule whose origin is the epoch milliseconds written to originFile, once it is. */
    public static Schedule startedBy(String originFile, long backlog, long[] tMs, double[] rate) {
        return new Schedule(UNKNOWN, originFile, backlog, tMs, rate);
    }

    private Schedule(long originMs, String originFile, long backlog, long[] tMs, double[] rate) {
        if (tMs.length == 0 || tMs.length != rate.length) {
            throw new IllegalArgumentException("schedule needs as many times as rates, at least one");
        }
        this.originMs = originMs;
        this.originFile = originFile;
        this.backlog = backlog;
        this.tMs = tMs.clone();
        this.rate = rate.clone();
        this.cum = new double[tMs.length];
        for (int k = 1; k < tMs.length; k++) {
            if (tMs[k] < tMs[k - 1]) {
                throw new IllegalArgumentException("schedule times must not decrease: " + tMs[k]);
            }
            cum[k] = cum[k - 1] + (rate[k - 1] + rate[k]) / 2 * (tMs[k] - tMs[k - 1]) / 1000.0;
        }
    }

    /** Records arrived by wall-clock time nowMs (backlog included). */
    public double arrived(long nowMs) {
        long origin = origin(nowMs);
        if (origin == UNKNOWN) {
            return backlog;
        }
        long t = nowMs - origin;
        if (t < 0) {
            return backlog;
        }
        if (t < tMs[0]) {
            return backlog; // no load before the first point
        }
        int k = search(t);
        if (k == tMs.length - 1) {
            return backlog + cum[k] + rate[k] * (t - tMs[k]) / 1000.0;
        }
        double f = (double) (t - tMs[k]) / Math.max(1, tMs[k + 1] - tMs[k]);
        double r = rate[k] + (rate[k + 1] - rate[k]) * f;
        return backlog + cum[k] + (rate[k] + r) / 2 * (t - tMs[k]) / 1000.0;
    }

    /**
     * The load's origin in epoch milliseconds as known at nowMs, or -1 while a file-started
     * schedule's origin is not written yet.
     */
    public long originAt(long nowMs) {
        long o = origin(nowMs);
        return o == UNKNOWN ? -1 : o;
    }

    /** The input rate at nowMs, records per second. */
    public double rateAt(long nowMs) {
        long origin = origin(nowMs);
        if (origin == UNKNOWN) {
            return 0;
        }
        long t = nowMs - origin;
        if (t < tMs[0]) {
            return 0;
        }
        int k = search(t);
        if (k == tMs.length - 1) {
            return rate[k];
        }
        double f = (double) (t - tMs[k]) / Math.max(1, tMs[k + 1] - tMs[k]);
        return rate[k] + (rate[k + 1] - rate[k]) * f;
    }

    /**
     * The origin, or UNKNOWN while the origin file is missing or not yet complete (the harness
     * renames a finished file into place, so a partial number is not read; an unparsable one is
     * read again later). Once read it is kept.
     */
    private long origin(long nowMs) {
        long o = originMs;
        if (o != UNKNOWN || originFile == null || nowMs < nextCheckMs) {
            return o;
        }
        nextCheckMs = nowMs + CHECK_MS;
        try {
            String text = Files.readString(Path.of(originFile)).trim();
            if (!text.isEmpty()) {
                o = Long.parseLong(text);
                originMs = o;
            }
        } catch (IOException | NumberFormatException e) {
            return UNKNOWN;
        }
        return o;
    }

    /** The last k with tMs[k] <= t (t >= tMs[0]). */
    private int search(long t) {
        int lo = 0, hi = tMs.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (tMs[mid] <= t) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }
}
