package org.xenj.hvm.qemudm.internal.ide;

/**
 * The SCSI/MMC commands of an ATAPI CD-ROM, as the PACKET command carries them: what Linux's sr
 * driver and the cdrom layer send to find, size and read a disc. A command gives a {@link Reply}:
 * good status with inline data, a read of the disc, or CHECK CONDITION with sense data (which the
 * channel keeps for REQUEST SENSE).
 */
final class Atapi {

    static final int NO_SENSE = 0, NOT_READY = 2, ILLEGAL_REQUEST = 5, UNIT_ATTENTION = 6;
    static final int ASC_INVALID_OPCODE = 0x20, ASC_LBA_OUT_OF_RANGE = 0x21, ASC_INVALID_FIELD = 0x24,
            ASC_MEDIUM_CHANGED = 0x28, ASC_NO_MEDIUM = 0x3a;
    /** Media event codes (MMC, GET EVENT STATUS NOTIFICATION, media class). */
    static final int NEW_MEDIA = 2, MEDIA_REMOVAL = 3;

    /**
     * @param senseKey    0 = good
     * @param data        inline data-in, or null
     * @param discOffset  byte offset on the disc of a read, when {@code discLength > 0}
     */
    record Reply(int senseKey, int asc, byte[] data, long discOffset, long discLength) {
        static Reply good() {
            return new Reply(NO_SENSE, 0, null, 0, 0);
        }

        static Reply data(byte[] d, int allocation) {
            int n = Math.min(d.length, allocation);
            return new Reply(NO_SENSE, 0, n == d.length ? d : java.util.Arrays.copyOf(d, n), 0, 0);
        }

        static Reply check(int key, int asc) {
            return new Reply(key, asc, null, 0, 0);
        }
    }

    /** Per-drive ATAPI state the channel keeps (and the state record carries). */
    static final class Sense {
        int key;
        int asc;
        /** A new medium was inserted and the guest has not been told by CHECK CONDITION yet. */
        boolean unitAttention;
        /** The media event GET EVENT STATUS NOTIFICATION reports next: 0 none, {@link #NEW_MEDIA}, {@link #MEDIA_REMOVAL}. */
        int mediaEvent;
    }

    private Atapi() {
    }

    static Reply execute(byte[] cdb, IdeDrive drive, Sense sense) {
        int op = cdb[0] & 0xff;
        boolean media = drive.image() != null;
        // INQUIRY, REQUEST SENSE and GET EVENT STATUS work through a pending unit attention
        if (sense.unitAttention && op != 0x12 && op != 0x03 && op != 0x4a) {
            sense.unitAttention = false;
            return Reply.check(UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
        }
        switch (op) {
            case 0x00: // TEST UNIT READY
                return media ? Reply.good() : Reply.check(NOT_READY, ASC_NO_MEDIUM);
            case 0x03: { // REQUEST SENSE
                byte[] d = new byte[18];
                d[0] = 0x70;
                d[2] = (byte) sense.key;
                d[7] = 10;
                d[12] = (byte) sense.asc;
                sense.key = 0;
                sense.asc = 0;
                return Reply.data(d, cdb[4] & 0xff);
            }
            case 0x12: { // INQUIRY
                if ((cdb[1] & 1) != 0) {
                    return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_FIELD); // no vital product data pages
                }
                byte[] d = new byte[36];
                d[0] = 0x05; // CD/DVD
                d[1] = (byte) 0x80; // removable
                d[2] = 0x00;
                d[3] = 0x21; // ATAPI, response format 1
                d[4] = 31;
                ascii(d, 8, "XENJ    ");
                ascii(d, 16, "DVD-ROM         ");
                ascii(d, 32, "1.0 ");
                return Reply.data(d, u16(cdb, 3));
            }
            case 0x1b: // START STOP UNIT
            case 0x1e: // PREVENT ALLOW MEDIUM REMOVAL
            case 0x2b: // SEEK(10)
            case 0xbb: // SET CD SPEED
            case 0x35: // SYNCHRONIZE CACHE
                return Reply.good();
            case 0x25: { // READ CAPACITY
                if (!media) {
                    return Reply.check(NOT_READY, ASC_NO_MEDIUM);
                }
                byte[] d = new byte[8];
                put32(d, 0, drive.cdSectors() - 1);
                put32(d, 4, IdeDrive.CD_SECTOR);
                return Reply.data(d, 8);
            }
            case 0x28: // READ(10)
                return read(drive, media, u32(cdb, 2), u16(cdb, 7));
            case 0xa8: // READ(12)
                return read(drive, media, u32(cdb, 2), u32(cdb, 6));
            case 0x43: // READ TOC
                return media ? readToc(cdb, drive) : Reply.check(NOT_READY, ASC_NO_MEDIUM);
            case 0x5a: // MODE SENSE(10)
                return modeSense(cdb);
            case 0x4a: // GET EVENT STATUS NOTIFICATION
                return eventStatus(cdb, media, sense);
            default:
                return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
        }
    }

    private static Reply read(IdeDrive drive, boolean media, long lba, long count) {
        if (!media) {
            return Reply.check(NOT_READY, ASC_NO_MEDIUM);
        }
        if (lba + count > drive.cdSectors()) {
            return Reply.check(ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        }
        return new Reply(NO_SENSE, 0, null, lba * IdeDrive.CD_SECTOR, count * IdeDrive.CD_SECTOR);
    }

    /** Formats 0 (TOC: track 1 data, lead-out) and 1 (session info), LBA or MSF addresses. */
    private static Reply readToc(byte[] cdb, IdeDrive drive) {
        boolean msf = (cdb[1] & 2) != 0;
        int format = cdb[2] & 0x0f;
        if (format == 0 && (cdb[9] & 0xc0) != 0) {
            format = (cdb[9] & 0xff) >> 6; // the old SFF-8020 place for the format
        }
        int alloc = u16(cdb, 7);
        int startTrack = cdb[6] & 0xff;
        if (format == 0) {
            if (startTrack > 1 && startTrack != 0xaa) {
                return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_FIELD);
            }
            boolean withTrack1 = startTrack <= 1;
            byte[] d = new byte[4 + (withTrack1 ? 8 : 0) + 8];
            d[2] = 1;
            d[3] = 1;
            int p = 4;
            if (withTrack1) {
                tocEntry(d, p, 1, 0, msf);
                p += 8;
            }
            tocEntry(d, p, 0xaa, drive.cdSectors(), msf);
            put16(d, 0, d.length - 2);
            return Reply.data(d, alloc);
        }
        if (format == 1) {
            byte[] d = new byte[12];
            put16(d, 0, 10);
            d[2] = 1;
            d[3] = 1;
            tocEntry(d, 4, 1, 0, msf);
            return Reply.data(d, alloc);
        }
        return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_FIELD);
    }

    private static void tocEntry(byte[] d, int p, int track, long lba, boolean msf) {
        d[p + 1] = 0x14; // ADR 1, data track
        d[p + 2] = (byte) track;
        if (msf) {
            long frames = lba + 150;
            d[p + 5] = (byte) (frames / (75 * 60));
            d[p + 6] = (byte) (frames / 75 % 60);
            d[p + 7] = (byte) (frames % 75);
        } else {
            put32(d, p + 4, lba);
        }
    }

    /** Page 0x2A (capabilities), 0x01 (error recovery), 0x3F (all), current values only. */
    private static Reply modeSense(byte[] cdb) {
        int page = cdb[2] & 0x3f;
        int control = (cdb[2] & 0xff) >> 6;
        int alloc = u16(cdb, 7);
        if (control == 3) {
            return Reply.check(ILLEGAL_REQUEST, 0x39); // saving parameters not supported
        }
        byte[] recovery = {0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0};
        byte[] caps = new byte[22];
        caps[0] = 0x2a;
        caps[1] = 20;
        caps[2] = 0x03; // reads CD-R, CD-RW
        caps[4] = 0x71; // audio play, composite, digital ports
        caps[5] = 0x01; // CD-DA commands
        caps[6] = 0x29; // tray, eject, lock
        put16(caps, 8, 706); // max speed (kB/s, 4x)
        put16(caps, 10, 2); // volume levels
        put16(caps, 12, 512); // buffer
        put16(caps, 14, 706);
        byte[] body;
        if (page == 0x2a) {
            body = caps;
        } else if (page == 0x01) {
            body = recovery;
        } else if (page == 0x3f) {
            body = new byte[recovery.length + caps.length];
            System.arraycopy(recovery, 0, body, 0, recovery.length);
            System.arraycopy(caps, 0, body, recovery.length, caps.length);
        } else {
            return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        }
        byte[] d = new byte[8 + body.length];
        put16(d, 0, d.length - 2);
        d[2] = 0x70; // medium type: door closed, no disc type
        System.arraycopy(body, 0, d, 8, body.length);
        return Reply.data(d, alloc);
    }

    /**
     * Polled mode only; the media class reports "new media" or "media removal" once after a change
     * (Linux's sr turns either into a media-change event and re-reads the capacity on next open).
     */
    private static Reply eventStatus(byte[] cdb, boolean media, Sense sense) {
        if ((cdb[1] & 1) == 0) {
            return Reply.check(ILLEGAL_REQUEST, ASC_INVALID_FIELD); // asynchronous mode is not offered
        }
        int classes = cdb[4] & 0xff;
        int alloc = u16(cdb, 7);
        if ((classes & 0x10) == 0) {
            byte[] d = new byte[4];
            put16(d, 0, 2);
            d[2] = (byte) 0x80; // no event available
            d[3] = 0x10; // media class supported
            return Reply.data(d, alloc);
        }
        byte[] d = new byte[8];
        put16(d, 0, 6);
        d[2] = 0x04; // media class
        d[3] = 0x10;
        d[4] = (byte) sense.mediaEvent;
        sense.mediaEvent = 0;
        d[5] = (byte) (media ? 0x02 : 0x00); // media present, door closed
        return Reply.data(d, alloc);
    }

    static int u16(byte[] b, int p) {
        return (b[p] & 0xff) << 8 | (b[p + 1] & 0xff);
    }

    static long u32(byte[] b, int p) {
        return (long) u16(b, p) << 16 | u16(b, p + 2);
    }

    private static void put16(byte[] b, int p, int v) {
        b[p] = (byte) (v >> 8);
        b[p + 1] = (byte) v;
    }

    private static void put32(byte[] b, int p, long v) {
        put16(b, p, (int) (v >>> 16));
        put16(b, p + 2, (int) v);
    }

    private static void ascii(byte[] b, int p, String s) {
        for (int i = 0; i < s.length(); i++) {
            b[p + i] = (byte) s.charAt(i);
        }
    }
}
