package org.xenj.dom0.blkback.internal;

import java.util.Random;

/**
 * The crash test's write storm as a pure function of a seed, so the parent can replay what the
 * killed child wrote without being told each write: operation n of the storm is WRITE, FLUSH (no
 * data) or FUA (FLUSH_DISKCACHE carrying data, which Linux's blkfront sends for FUA and preflush
 * writes with {@code feature-flush-cache}). Writes are numbered by generation 1, 2, 3, …; write g
 * lands in region {@code g % REGIONS} at a random sector and length inside it. The frontend holds a
 * write back while another write to its region is in flight (requests complete in any order: a
 * FUA waits for everything before it while later writes pass it), so two writes that may overlap
 * on disk are never in flight together: each sector's content after a crash is that of one whole
 * write, never a mix, and the newest durable write to it or a later one.
 *
 * <p>Every 512-byte sector written by generation g carries its own sector number and g, a magic,
 * and bytes derived from both: a torn, stale, misplaced or foreign sector cannot pass for it.
 */
final class WriteStorm {

    static final int REGIONS = 256;
    /** Largest write: 64 KiB (16 pages; more than 11 pages go as INDIRECT). */
    static final int MAX_SECTORS = 128;
    /** A FUA write is a FLUSH_DISKCACHE with direct segments only. */
    static final int MAX_FUA_SECTORS = Blkif.MAX_SEGMENTS * Blkif.SECTORS_PER_PAGE;
    static final long MAGIC = 0x6172756478656e6aL; // "jnexdura" little-endian

    enum Kind { WRITE, FLUSH, FUA }

    /** One operation; for FLUSH, {@code gen} is the last write generation issued before it. */
    record Op(Kind kind, long gen, long sector, int sectors) {
    }

    private final Random rnd;
    private final long regionSectors;
    private long gen;
    private int untilFlush;

    WriteStorm(long seed, long diskSectors) {
        this.rnd = new Random(seed);
        // One sector short of an even share: region boundaries then fall inside clusters (of any
        // size), so neighbouring regions' writes — in flight together — share clusters, and
        // allocating and in-place writes race for the same cluster and L2 table.
        this.regionSectors = diskSectors / REGIONS - 1;
        this.untilFlush = 1 + rnd.nextInt(40);
    }

    /** Generation of the last write issued. */
    long gen() {
        return gen;
    }

    Op next() {
        if (--untilFlush == 0) {
            untilFlush = 1 + rnd.nextInt(40);
            if (rnd.nextBoolean()) {
                return new Op(Kind.FLUSH, gen, 0, 0);
            }
            return write(Kind.FUA, MAX_FUA_SECTORS);
        }
        return write(Kind.WRITE, MAX_SECTORS);
    }

    private Op write(Kind kind, int max) {
        gen++;
        long regionStart = (gen % REGIONS) * regionSectors;
        // Lengths favour small writes (as a filesystem's) with some up to the maximum.
        int sectors = (int) Math.min(regionSectors, 1 + (rnd.nextInt(4) == 0 ? rnd.nextInt(max) : rnd.nextInt(16)));
        long at = rnd.nextInt((int) (regionSectors - sectors + 1));
        return new Op(kind, gen, regionStart + at, sectors);
    }

    /** The 512 bytes generation {@code gen} writes to {@code sector}, into {@code b} at {@code off}. */
    static void fill(byte[] b, int off, long sector, long gen) {
        TestFrontend.le(b, off, sector, 8);
        TestFrontend.le(b, off + 8, gen, 8);
        TestFrontend.le(b, off + 16, MAGIC, 8);
        long x = sector * 0x9e3779b97f4a7c15L ^ gen * 0xc2b2ae3d27d4eb4fL ^ MAGIC;
        for (int i = 24; i < Blkif.SECTOR_SIZE; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            TestFrontend.le(b, off + i, x, 8);
        }
    }

    /**
     * What a sector read back holds: its generation (0 if all zeros, never written), or -1 if the
     * bytes are neither zeros nor exactly what some generation writes to this sector.
     */
    static long generationOf(byte[] b, int off, long sector) {
        boolean zero = true;
        for (int i = 0; i < Blkif.SECTOR_SIZE && zero; i++) {
            zero = b[off + i] == 0;
        }
        if (zero) {
            return 0;
        }
        long gen = 0;
        for (int i = 7; i >= 0; i--) {
            gen = gen << 8 | (b[off + 8 + i] & 0xff);
        }
        if (gen <= 0) {
            return -1;
        }
        byte[] expect = new byte[Blkif.SECTOR_SIZE];
        fill(expect, 0, sector, gen);
        for (int i = 0; i < Blkif.SECTOR_SIZE; i++) {
            if (b[off + i] != expect[i]) {
                return -1;
            }
        }
        return gen;
    }
}
