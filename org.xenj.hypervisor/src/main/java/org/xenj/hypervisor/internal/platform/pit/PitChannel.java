package org.xenj.hypervisor.internal.platform.pit;

/**
 * One counter of the 8254, computed from time instead of ticked: the count and OUT at any instant
 * follow from the reload value and the instant the count was loaded. Modes and latches follow the
 * 8254 datasheet. Not thread-safe; {@link Pit8254} serialises access.
 */
final class PitChannel {

    static final long FREQUENCY_HZ = 1_193_182;
    private static final long NS_PER_S = 1_000_000_000L;

    static final int ACCESS_LSB = 1;
    static final int ACCESS_MSB = 2;
    static final int ACCESS_WORD = 3;

    int mode;
    int access = ACCESS_WORD;
    boolean bcd;
    /** 1..0x10000 (a written 0 means 65536, or 10000 in BCD). */
    int reload = 0x10000;
    /** Whether a count was written since the last control word; counting starts then. */
    boolean armed;
    boolean nullCount = true;
    long loadTime;
    boolean gate = true;
    /** For modes 0/4 while the gate is low: ticks counted before it fell. */
    long frozenTicks = -1;
    /** Count shown while not armed (the value at the last control word). */
    int idleCount;

    private boolean countLatched;
    private int latchedCount;
    private boolean latchMsbNext;
    private boolean statusLatched;
    private int latchedStatus;
    private boolean readMsbNext;
    private boolean writeMsbNext;
    private int writtenLsb;

    /** Periods already signalled on IRQ0 (channel 0 only). */
    long signalledPeriods;

    static long ticksAt(long elapsedNanos) {
        if (elapsedNanos <= 0) {
            return 0;
        }
        return elapsedNanos / NS_PER_S * FREQUENCY_HZ + elapsedNanos % NS_PER_S * FREQUENCY_HZ / NS_PER_S;
    }

    static long nanosFor(long ticks) {
        return ticks / FREQUENCY_HZ * NS_PER_S + (ticks % FREQUENCY_HZ * NS_PER_S + FREQUENCY_HZ - 1) / FREQUENCY_HZ;
    }

    /** For modes 1 and 5: a gate rising edge happened since the count was written. */
    boolean triggered;

    long ticks(long now) {
        if (frozenTicks >= 0) {
            return frozenTicks;
        }
        return ticksAt(now - loadTime);
    }

    int count(long now) {
        if (!armed || ((mode == 1 || mode == 5) && !triggered)) {
            return idleCount & 0xffff;
        }
        if ((mode == 2 || mode == 3) && !gate) {
            return reload & 0xffff;
        }
        long d = ticks(now);
        return switch (mode) {
            case 2 -> (int) (reload - d % reload) & 0xffff;
            case 3 -> (int) (reload - (2 * d) % reload) & 0xfffe;
            default -> (int) (reload - d) & 0xffff; // 0, 1, 4, 5: count down and wrap
        };
    }

    boolean out(long now) {
        if (!armed) {
            return mode != 0;
        }
        if ((mode == 1 || mode == 5) && !triggered) {
            return true;
        }
        if ((mode == 2 || mode == 3) && !gate) {
            return true;
        }
        long d = ticks(now);
        return switch (mode) {
            case 0, 1 -> d >= reload;
            case 2 -> d % reload != reload - 1;
            case 3 -> d % reload < (reload + 1) / 2;
            default -> d != reload; // 4, 5: one clock low at terminal count
        };
    }

    void control(int rw, int newMode, boolean newBcd, long now) {
        idleCount = count(now);
        access = rw;
        mode = newMode > 5 ? newMode - 4 : newMode; // 6 and 7 alias 2 and 3
        bcd = newBcd;
        armed = false;
        triggered = false;
        frozenTicks = -1;
        nullCount = true;
        readMsbNext = false;
        writeMsbNext = false;
        signalledPeriods = 0;
    }

    void latchCount(long now) {
        if (!countLatched) {
            countLatched = true;
            latchedCount = encode(count(now));
            latchMsbNext = false;
        }
    }

    void latchStatus(long now) {
        if (!statusLatched) {
            statusLatched = true;
            latchedStatus = (out(now) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | access << 4 | mode << 1 | (bcd ? 1 : 0);
        }
    }

    int read(long now) {
        if (statusLatched) {
            statusLatched = false;
            return latchedStatus;
        }
        if (countLatched) {
            return switch (access) {
                case ACCESS_LSB -> { countLatched = false; yield latchedCount & 0xff; }
                case ACCESS_MSB -> { countLatched = false; yield latchedCount >>> 8 & 0xff; }
                default -> {
                    if (latchMsbNext) {
                        countLatched = false;
                        latchMsbNext = false;
                        yield latchedCount >>> 8 & 0xff;
                    }
                    latchMsbNext = true;
                    yield latchedCount & 0xff;
                }
            };
        }
        int value = encode(count(now));
        return switch (access) {
            case ACCESS_LSB -> value & 0xff;
            case ACCESS_MSB -> value >>> 8 & 0xff;
            default -> {
                boolean msb = readMsbNext;
                readMsbNext = !readMsbNext;
                yield msb ? value >>> 8 & 0xff : value & 0xff;
            }
        };
    }

    void write(int value, long now) {
        switch (access) {
            case ACCESS_LSB -> load(value & 0xff, now);
            case ACCESS_MSB -> load((value & 0xff) << 8, now);
            default -> {
                if (writeMsbNext) {
                    writeMsbNext = false;
                    load(writtenLsb | (value & 0xff) << 8, now);
                } else {
                    writeMsbNext = true;
                    writtenLsb = value & 0xff;
                }
            }
        }
    }

    private void load(int raw, long now) {
        int value = bcd ? decodeBcd(raw) : raw;
        reload = value == 0 ? (bcd ? 10000 : 0x10000) : value;
        armed = true;
        nullCount = false;
        loadTime = now;
        frozenTicks = -1;
        signalledPeriods = 0;
        if (!gate && (mode == 0 || mode == 4)) {
            frozenTicks = 0;
        }
    }

    void setGate(boolean level, long now) {
        if (level == gate) {
            return;
        }
        if (!level) {
            if (mode == 0 || mode == 4) {
                frozenTicks = ticks(now); // counting suspended while the gate is low
            }
        } else {
            if (mode == 0 || mode == 4) {
                if (frozenTicks >= 0) {
                    loadTime = now - nanosFor(frozenTicks);
                    frozenTicks = -1;
                }
            } else {
                // Modes 1, 2, 3, 5: a rising gate (re)starts the count from the reload value.
                loadTime = now;
                triggered = true;
                signalledPeriods = 0;
            }
        }
        gate = level;
    }

    /** The next instant at which OUT rises on channel 0 (IRQ0), or Long.MAX_VALUE. */
    long nextIrq() {
        if (!armed || frozenTicks >= 0 || ((mode == 2 || mode == 3) && !gate)) {
            return Long.MAX_VALUE;
        }
        if (mode == 2 || mode == 3) {
            return loadTime + nanosFor((signalledPeriods + 1) * reload);
        }
        if (mode == 1 || mode == 5) {
            if (!triggered) {
                return Long.MAX_VALUE;
            }
        }
        return signalledPeriods == 0 ? loadTime + nanosFor(reload) : Long.MAX_VALUE;
    }

    /** Marks every period up to {@code now} as signalled (missed ticks are coalesced into one). */
    void signalled(long now) {
        if (mode == 2 || mode == 3) {
            signalledPeriods = Math.max(signalledPeriods + 1, ticks(now) / reload);
        } else {
            signalledPeriods = 1;
        }
    }

    /** This channel's record at {@code now}: the count's start as time elapsed, not a host instant. */
    PitState.Channel save(long now) {
        boolean frozen = armed && frozenTicks >= 0;
        // Unarmed, the start instant and a frozen count are never looked at (a load resets both).
        long elapsed = armed && !frozen ? Math.min(Math.max(0, now - loadTime), PitState.MAX_ELAPSED_NANOS) : 0;
        return new PitState.Channel(mode, access, bcd, reload, armed, nullCount, elapsed, gate, frozen ? frozenTicks : -1,
                idleCount, triggered, signalledPeriods, countLatched, latchedCount, latchMsbNext, statusLatched, latchedStatus,
                readMsbNext, writeMsbNext, writtenLsb);
    }

    /** Loads {@code s} (already checked by its constructor) as of {@code now}. */
    void restore(PitState.Channel s, long now) {
        mode = s.mode();
        access = s.access();
        bcd = s.bcd();
        reload = s.reload();
        armed = s.armed();
        nullCount = s.nullCount();
        loadTime = now - s.elapsedNanos();
        gate = s.gate();
        frozenTicks = s.frozenTicks();
        idleCount = s.idleCount();
        triggered = s.triggered();
        signalledPeriods = s.signalledPeriods();
        countLatched = s.countLatched();
        latchedCount = s.latchedCount();
        latchMsbNext = s.latchMsbNext();
        statusLatched = s.statusLatched();
        latchedStatus = s.latchedStatus();
        readMsbNext = s.readMsbNext();
        writeMsbNext = s.writeMsbNext();
        writtenLsb = s.writtenLsb();
    }

    private int encode(int count) {
        if (!bcd) {
            return count;
        }
        int c = count % 10000;
        return (c / 1000) << 12 | (c / 100 % 10) << 8 | (c / 10 % 10) << 4 | c % 10;
    }

    private static int decodeBcd(int v) {
        return (v >>> 12 & 0xf) * 1000 + (v >>> 8 & 0xf) * 100 + (v >>> 4 & 0xf) * 10 + (v & 0xf);
    }
}
