package io.flinktune.harness.scenario;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * The scenario job's records: a byte array whose first 8 bytes are the record's value (big
 * endian; keyed vertices key on it) and the rest a payload, sized so that one record takes the
 * scenario's {@code recordBytes} on the network. Records of realistic size matter: with 8-byte
 * longs (12 bytes in a network buffer) one 32 KiB buffer held about 2,700 records, tens of
 * seconds of work for a slow vertex, so buffers in flight decided the job's rates after a
 * restart (sim/CALIBRATION.md §3), and per-buffer costs were shared by thousands of records.
 *
 * <p>Flink's byte-array serializer writes a 4-byte length and the bytes, and the network adds a
 * 4-byte length per record, so an array of n bytes is n + 8 bytes of numBytesOut.
 */
final class Records {
    /** Bytes a record takes on the network besides its array: array length and record length. */
    static final int OVERHEAD = 8;
    /** The smallest record: the value alone. */
    static final int MIN_BYTES = OVERHEAD + 8;

    static final TypeInformation<byte[]> TYPE = PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;

    private Records() {}

    /** A record of value v that takes recordBytes on the network (at least MIN_BYTES). */
    static byte[] of(long v, int recordBytes) {
        byte[] r = new byte[Math.max(MIN_BYTES, recordBytes) - OVERHEAD];
        for (int i = 0; i < 8; i++) {
            r[i] = (byte) (v >>> (56 - 8 * i));
        }
        // A payload that is not all zeros, in case a codec or a network layer ever compresses.
        for (int i = 8; i < r.length; i++) {
            r[i] = (byte) (v + i);
        }
        return r;
    }

    /** The record's value. */
    static long value(byte[] r) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (r[i] & 0xFF);
        }
        return v;
    }
}
