package org.xenj.hypervisor.internal.platform;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Feeds mutated state records to a parser and restores those it accepts: a record must be
 * refused with an {@link IOException} or restored into a device that then holds exactly that
 * record (no field silently dropped or clamped; the caller checks) and survives being used. Any
 * other exception fails.
 */
public final class StateFuzz {

    @FunctionalInterface
    public interface Parser<T> {
        T parse(byte[] bytes) throws IOException;
    }

    @FunctionalInterface
    public interface Restore<T> {
        /** Restores {@code state} into a fresh device, checks what it holds then, and drives it a little. */
        void restoreCheckAndUse(T state, SplittableRandom r);
    }

    /** Figures a test prints, so that the report shows what was exercised. */
    public record Result(int refused, int restored) {
    }

    private static final long[] INTERESTING = {0, 1, -1, 0x7f, 0x80, 0xff, 0xffff, 0x10000, Integer.MAX_VALUE, Integer.MIN_VALUE,
        Long.MAX_VALUE, Long.MIN_VALUE, 1L << 60, (1L << 60) + 1};

    private StateFuzz() {
    }

    public static <T> Result run(String name, long seed, int count, List<byte[]> goodRecords, Parser<T> parser, Restore<T> restore) {
        SplittableRandom r = new SplittableRandom(seed);
        int refused = 0, restored = 0;
        for (int i = 0; i < count; i++) {
            byte[] good = goodRecords.get(r.nextInt(goodRecords.size()));
            byte[] bad = mutate(good, goodRecords.get(r.nextInt(goodRecords.size())), r);
            T state;
            try {
                state = parser.parse(bad);
            } catch (IOException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), "a refusal says why");
                refused++;
                continue;
            } catch (RuntimeException e) {
                throw new AssertionError(name + " record " + i + " " + hex(bad) + ": parser threw " + e, e);
            }
            try {
                restore.restoreCheckAndUse(state, r.split());
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError(name + " record " + i + " " + hex(bad) + ": restore/use failed: " + e, e);
            }
            restored++;
        }
        System.out.printf("[fuzz] %s: %d mutated records, %d refused, %d restored and driven%n", name, count, refused, restored);
        if (refused == 0 || restored == 0) {
            fail(name + " fuzz exercised only one side (refused " + refused + ", restored " + restored + ")");
        }
        return new Result(refused, restored);
    }

    /** One to three mutations: bit flips, byte values, an interesting number over a field, cuts, tails and splices. */
    static byte[] mutate(byte[] good, byte[] other, SplittableRandom r) {
        byte[] b = good.clone();
        int n = 1 + r.nextInt(3);
        for (int m = 0; m < n; m++) {
            switch (r.nextInt(7)) {
                case 0, 1 -> {
                    if (b.length > 0) {
                        int i = r.nextInt(b.length);
                        b[i] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                case 2 -> {
                    if (b.length > 0) {
                        b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                    }
                }
                case 3 -> {
                    if (b.length >= 8) {
                        long v = INTERESTING[r.nextInt(INTERESTING.length)];
                        int width = r.nextBoolean() ? 8 : r.nextBoolean() ? 4 : 2;
                        int at = r.nextInt(b.length - width + 1);
                        for (int k = 0; k < width; k++) {
                            b[at + k] = (byte) (v >>> 8 * (width - 1 - k));
                        }
                    }
                }
                case 4 -> b = Arrays.copyOf(b, r.nextInt(b.length + 1));
                case 5 -> {
                    byte[] tail = new byte[1 + r.nextInt(8)];
                    r.nextBytes(tail);
                    byte[] c = Arrays.copyOf(b, b.length + tail.length);
                    System.arraycopy(tail, 0, c, b.length, tail.length);
                    b = c;
                }
                default -> {
                    // a valid record's fields over this one's, from the same offset: values that are each plausible
                    int len = Math.min(b.length, other.length);
                    if (len > 0) {
                        int at = r.nextInt(len);
                        int k = 1 + r.nextInt(Math.min(16, len - at));
                        System.arraycopy(other, at, b, at, k);
                    }
                }
            }
        }
        return b;
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }
}
