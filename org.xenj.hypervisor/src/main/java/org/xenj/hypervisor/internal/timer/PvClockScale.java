package org.xenj.hypervisor.internal.timer;

import java.math.BigInteger;

/**
 * The TSC-to-nanoseconds factor of Xen's {@code vcpu_time_info}: a guest computes
 * {@code ns = ((delta << shift) * mul) >> 32} (a right shift when {@code shift} is negative), with
 * {@code mul} an unsigned 32-bit fraction. {@link #of} picks the shift that keeps the most bits
 * of precision, i.e. the factor {@code mul / 2^32} in [0.5, 1).
 *
 * @param mul   tsc_to_system_mul, unsigned
 * @param shift tsc_shift, -31..31
 */
public record PvClockScale(int mul, int shift) {

    private static final long NS_PER_S = 1_000_000_000L;

    /** The scale for a TSC running at {@code tscHz}. */
    public static PvClockScale of(long tscHz) {
        if (tscHz <= 0) {
            throw new IllegalArgumentException("TSC frequency must be positive: " + tscHz);
        }
        // factor f = 1e9 / tscHz = mul * 2^shift / 2^32: choose shift with 1e9 < tscHz * 2^shift <= 2e9,
        // so that mul / 2^32 = f / 2^shift lies in [0.5, 1)
        int shift = 0;
        while (compare(tscHz, shift, NS_PER_S) <= 0) {
            shift++;
        }
        while (compare(tscHz, shift, 2 * NS_PER_S) > 0) {
            shift--;
        }
        BigInteger mul = BigInteger.valueOf(NS_PER_S).shiftLeft(32 - shift)
                .add(BigInteger.valueOf(tscHz / 2)).divide(BigInteger.valueOf(tscHz));
        long m = Math.min(mul.longValueExact(), 0xffff_ffffL);
        return new PvClockScale((int) m, shift);
    }

    /** Sign of {@code tscHz * 2^shift - bound} (tscHz <= 3e9, bound <= 2e9, |shift| small). */
    private static int compare(long tscHz, int shift, long bound) {
        return shift >= 0 ? Long.compare(tscHz << shift, bound) : Long.compare(tscHz, bound << -shift);
    }

    /** Nanoseconds for {@code tscDelta} ticks, computed exactly as a guest does. */
    public long toNanos(long tscDelta) {
        long d = shift >= 0 ? tscDelta << shift : tscDelta >>> -shift;
        long m = mul & 0xffff_ffffL;
        // (d * m) >> 64-bit-wide 32, with d unsigned
        long lo = d * m;
        long hi = Math.multiplyHigh(d, m) + (d >> 63 & m); // unsigned high half (m >= 0)
        return hi << 32 | lo >>> 32;
    }
}
