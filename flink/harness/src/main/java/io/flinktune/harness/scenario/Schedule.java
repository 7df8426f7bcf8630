package io.flinktune.harness.scenario;

import java.io.Serializable;

/**
 * A source's arrivals over time: a start backlog plus the integral of a piecewise-linear rate
 * (points in milliseconds since the job's load origin, records per second; the last rate holds).
 * Record i (0-based, over all partitions) has arrived once {@link #arrived(long)} exceeds i.
 */
public final class Schedule implements Serializable {
    private static final long serialVersionUID = 1L;

    private final long originMs;
    private final long backlog;
    private final long[] tMs;
    private final double[] rate;
    /** cum[k]: records arrived from the origin to tMs[k], backlog excluded. */
    private final double[] cum;

    public Schedule(long originMs, long backlog, long[] tMs, double[] rate) {
        if (tMs.length == 0 || tMs.length != rate.length) {
            throw new IllegalArgumentException("schedule needs as many times as rates, at least one");
        }
        this.originMs = originMs;
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
        long t = nowMs - originMs;
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

    /** The input rate at nowMs, records per second. */
    public double rateAt(long nowMs) {
        long t = nowMs - originMs;
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
