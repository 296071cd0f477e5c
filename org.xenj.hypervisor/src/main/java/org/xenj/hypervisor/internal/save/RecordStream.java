package org.xenj.hypervisor.internal.save;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * The framing of a save stream: every record is {@code u32 type, u32 length, length bytes,
 * u32 CRC32C} (big-endian), the checksum over type, length and payload, so that a flipped bit
 * anywhere — also in a type or a length — is found before the payload is interpreted.
 */
public final class RecordStream {

    /** No record is larger than this (a page batch is at most 512 pages plus their numbers). */
    public static final int MAX_PAYLOAD = 4 << 20;

    private RecordStream() {
    }

    /** Writes framed records. */
    public static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private final CRC32C crc = new CRC32C();
        private final byte[] head = new byte[8];
        private long bytes;
        private int records;

        public Writer(OutputStream out) {
            this.out = new DataOutputStream(out);
        }

        public void write(RecordType type, byte[] payload) throws IOException {
            write(type, payload, 0, payload.length);
        }

        public void write(RecordType type, byte[] payload, int off, int len) throws IOException {
            write(type.number(), payload, off, len);
        }

        /** A record by number: live migration's own types (32–63) are not {@link RecordType}s. */
        public void write(int type, byte[] payload, int off, int len) throws IOException {
            write(type, payload, off, len, payload, off, 0);
        }

        /**
         * A record whose payload is {@code a[aOff, aOff+aLen)} followed by {@code b[bOff, bOff+bLen)},
         * framed as one: a page batch's numbers and its pages go out without first being copied
         * into one array (2 MiB allocated per batch, in a migration's pause too).
         */
        public void write(int type, byte[] a, int aOff, int aLen, byte[] b, int bOff, int bLen) throws IOException {
            long len = (long) aLen + bLen;
            if (len > MAX_PAYLOAD) {
                throw new IllegalArgumentException("type " + type + " record of " + len + " bytes is over the limit");
            }
            putInt(head, 0, type);
            putInt(head, 4, (int) len);
            crc.reset();
            crc.update(head, 0, 8);
            crc.update(a, aOff, aLen);
            crc.update(b, bOff, bLen);
            out.write(head);
            out.write(a, aOff, aLen);
            out.write(b, bOff, bLen);
            out.writeInt((int) crc.getValue());
            bytes += 12L + len;
            records++;
        }

        public long bytes() {
            return bytes;
        }

        public int records() {
            return records;
        }

        public void flush() throws IOException {
            out.flush();
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** One record as read: its type number (maybe unknown to this version) and payload. */
    public record Record(int type, byte[] payload, long offset) {
    }

    /** Reads framed records, checking each checksum. */
    public static final class Reader {
        private final InputStream in;
        private final CRC32C crc = new CRC32C();
        private final byte[] head = new byte[8];
        private long offset;
        private int index;

        public Reader(InputStream in) {
            this.in = in;
        }

        /** The next record, or null at a clean end of input (no byte of a next record). */
        public Record next() throws SaveFormatException, IOException {
            long at = offset;
            int n = readFully(head, 0, 8, true);
            if (n == 0) {
                return null;
            }
            if (n < 8) {
                throw new SaveFormatException("record " + index + " at byte " + at + " is cut short (" + n + " of 8 header bytes)");
            }
            int type = getInt(head, 0);
            int len = getInt(head, 4);
            if (len < 0 || len > MAX_PAYLOAD) {
                throw new SaveFormatException("record " + index + " at byte " + at + " is damaged (length " + (len & 0xffffffffL) + ")");
            }
            byte[] payload = new byte[len];
            byte[] sum = new byte[4];
            if (readFully(payload, 0, len, false) < len || readFully(sum, 0, 4, false) < 4) {
                throw new SaveFormatException("record " + index + " (" + RecordType.describe(type) + ") at byte " + at
                        + " is cut short: the stream ends inside it");
            }
            crc.reset();
            crc.update(head, 0, 8);
            crc.update(payload, 0, len);
            if ((int) crc.getValue() != getInt(sum, 0)) {
                throw new SaveFormatException("record " + index + " (" + RecordType.describe(type) + ", " + len + " bytes) at byte " + at
                        + " is damaged: checksum mismatch");
            }
            offset += 12L + len;
            index++;
            return new Record(type, payload, at);
        }

        public int index() {
            return index;
        }

        private int readFully(byte[] b, int off, int len, boolean mayEnd) throws IOException {
            int done = 0;
            while (done < len) {
                int r = in.read(b, off + done, len - done);
                if (r < 0) {
                    if (!mayEnd && done < len) {
                        return done;
                    }
                    break;
                }
                done += r;
            }
            return done;
        }
    }

    static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    static int getInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | b[at + 3] & 0xff;
    }

}
