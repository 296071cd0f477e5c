package org.xenj.hypervisor.internal.save;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Building and parsing record payloads: big-endian fields, strings as u32 length + UTF-8, bounded on read. */
final class Payload {

    private Payload() {
    }

    /** A payload under construction. */
    static final class Out {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        final DataOutputStream data = new DataOutputStream(bytes);

        Out i32(int v) throws IOException {
            data.writeInt(v);
            return this;
        }

        Out i64(long v) throws IOException {
            data.writeLong(v);
            return this;
        }

        Out str(String s) throws IOException {
            if (s == null) {
                data.writeInt(-1);
                return this;
            }
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            data.writeInt(b.length);
            data.write(b);
            return this;
        }

        Out blob(byte[] b) throws IOException {
            data.writeInt(b.length);
            data.write(b);
            return this;
        }

        byte[] toBytes() {
            return bytes.toByteArray();
        }
    }

    /** A payload being parsed; every read is bounded by what is left, trailing bytes are an error. */
    static final class In {
        private final DataInputStream data;
        private final String what;
        private int left;

        In(byte[] payload, String what) {
            this.data = new DataInputStream(new ByteArrayInputStream(payload));
            this.left = payload.length;
            this.what = what;
        }

        int i32() throws SaveFormatException {
            need(4);
            try {
                return data.readInt();
            } catch (IOException e) {
                throw short_();
            }
        }

        long i64() throws SaveFormatException {
            need(8);
            try {
                return data.readLong();
            } catch (IOException e) {
                throw short_();
            }
        }

        String str() throws SaveFormatException {
            int n = i32();
            if (n == -1) {
                return null;
            }
            return new String(bytes(n), StandardCharsets.UTF_8);
        }

        byte[] blob() throws SaveFormatException {
            return bytes(i32());
        }

        byte[] bytes(int n) throws SaveFormatException {
            if (n < 0 || n > left) {
                throw new SaveFormatException(what + " is damaged (a field of " + n + " bytes, " + left + " left)");
            }
            byte[] b = new byte[n];
            try {
                data.readFully(b);
            } catch (IOException e) {
                throw short_();
            }
            left -= n;
            return b;
        }

        /** A count of items of at least {@code minBytes} each, checked against what is left. */
        int count(int minBytes) throws SaveFormatException {
            int n = i32();
            if (n < 0 || (long) n * minBytes > left) {
                throw new SaveFormatException(what + " is damaged (count " + n + ")");
            }
            return n;
        }

        void end() throws SaveFormatException {
            if (left != 0) {
                throw new SaveFormatException(what + " is damaged (" + left + " trailing bytes)");
            }
        }

        private void need(int n) throws SaveFormatException {
            if (left < n) {
                throw short_();
            }
            left -= n;
        }

        private SaveFormatException short_() {
            return new SaveFormatException(what + " is damaged (too short)", new EOFException());
        }
    }
}
