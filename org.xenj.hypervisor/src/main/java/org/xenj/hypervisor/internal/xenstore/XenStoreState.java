package org.xenj.hypervisor.internal.xenstore;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The whole xenstore ({@link XenStore#saveState}): every node in pre-order (root first, a parent
 * before its children) with its value, permissions and generation, the store's generation, and
 * the registered watches (domain, absolute path, token, whether it was given relative). Open
 * transactions are not part of it: a save while one is open is refused (the guest's
 * transaction would end in EAGAIN anyway, and it retries). Versioned bytes; {@link #fromBytes}
 * refuses another version or a damaged record with an {@link IOException}; the constructors
 * refuse what no store could hold.
 *
 * @param generation the store's generation counter
 * @param nodes      every node (kept in pre-order, children by name)
 * @param watches    the watches, in registration order
 */
public record XenStoreState(long generation, List<Node> nodes, List<WatchRecord> watches) {

    /** "XJXS". */
    public static final int MAGIC = 0x584a5853;
    public static final int VERSION = 1;
    static final int MAX_NODES = 1 << 20;
    static final int MAX_WATCHES = 0xffff;
    static final int MAX_TOKEN = 1024;

    public XenStoreState {
        if (generation < 1 || nodes == null || nodes.isEmpty() || nodes.size() > MAX_NODES || watches == null
                || watches.size() > MAX_WATCHES || nodes.stream().anyMatch(Objects::isNull)
                || watches.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("xenstore state: generation " + generation + ", "
                    + (nodes == null ? "no" : nodes.size()) + " nodes");
        }
        // pre-order with children by name, as the store walks its tree: one record per store
        nodes = nodes.stream().sorted(XenStoreState::byPath).toList();
        watches = List.copyOf(watches);
        if (!nodes.get(0).path.equals("/")) {
            throw new IllegalArgumentException("xenstore state: the first node is not the root");
        }
        Set<String> seen = new HashSet<>();
        for (Node n : nodes) {
            if (n.gen > generation) {
                throw new IllegalArgumentException("xenstore state: node " + n.path + " is newer than the store");
            }
            if (!n.path.equals("/") && !seen.contains(XenStore.parentOfPath(n.path)) || !seen.add(n.path)) {
                throw new IllegalArgumentException("xenstore state: node " + n.path + " before its parent, or twice");
            }
        }
    }

    /**
     * One node.
     *
     * @param path  canonical absolute path
     * @param value its bytes (at most {@link XenStore#MAX_VALUE})
     * @param perms permissions as on the wire, owner first ({@code n0}, {@code r5}, ...)
     * @param gen   the store generation of its last change
     */
    public record Node(String path, byte[] value, List<String> perms, long gen) {

        public Node {
            if (path == null || path.startsWith("@")) {
                throw new IllegalArgumentException("xenstore node: path " + path);
            }
            try {
                if (!path.equals("/") && !XenStore.canonical(0, path).equals(path)) {
                    throw new IllegalArgumentException("xenstore node: path " + path + " is not canonical");
                }
            } catch (XsException e) {
                throw new IllegalArgumentException("xenstore node: path '" + path + "' (" + e.errno() + ")");
            }
            if (value == null || value.length > XenStore.MAX_VALUE || gen < 0) {
                throw new IllegalArgumentException("xenstore node " + path + ": value or generation");
            }
            value = value.clone();
            if (perms == null || perms.isEmpty() || perms.size() > 64 || !perms.stream().allMatch(XenStoreState::validPerm)) {
                throw new IllegalArgumentException("xenstore node " + path + ": permissions " + perms);
            }
            perms = List.copyOf(perms);
        }
    }

    /**
     * One watch. The connection it belongs to is not part of the record: the restoring side names
     * it per domain.
     *
     * @param domid    the watching domain
     * @param path     canonical absolute path, or a special {@code @...} path
     * @param token    the token it gave
     * @param relative given relative to the domain's home (events name paths relative to it)
     */
    public record WatchRecord(int domid, String path, String token, boolean relative) {

        public WatchRecord {
            if (domid < 0 || domid > 0x7fef || token == null || token.length() > MAX_TOKEN) {
                throw new IllegalArgumentException("xenstore watch: domain " + domid + " or token");
            }
            try {
                if (path == null || !XenStore.canonical(domid, path).equals(path) || !path.startsWith("/") && !path.startsWith("@")) {
                    throw new IllegalArgumentException("xenstore watch: path " + path + " is not canonical");
                }
            } catch (XsException e) {
                throw new IllegalArgumentException("xenstore watch: path '" + path + "' (" + e.errno() + ")");
            }
            if (relative && !path.startsWith(XenStore.domainPath(domid) + "/")) {
                throw new IllegalArgumentException("xenstore watch: relative path " + path + " outside d" + domid + "'s home");
            }
        }
    }

    /** Component by component, a parent before its children, siblings by name. */
    static int byPath(Node a, Node b) {
        String[] x = a.path.equals("/") ? new String[0] : a.path.substring(1).split("/");
        String[] y = b.path.equals("/") ? new String[0] : b.path.substring(1).split("/");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = x[i].compareTo(y[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }

    static boolean validPerm(String p) {
        if (p == null || p.length() < 2 || p.length() > 6 || "rwbn".indexOf(p.charAt(0)) < 0) {
            return false;
        }
        for (int i = 1; i < p.length(); i++) {
            if (p.charAt(i) < '0' || p.charAt(i) > '9') {
                return false;
            }
        }
        return Integer.parseInt(p.substring(1)) <= 0x7fef;
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(4096);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static XenStoreState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        XenStoreState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("xenstore state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("xenstore state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeLong(generation);
        out.writeInt(nodes.size());
        for (Node n : nodes) {
            out.writeUTF(n.path);
            out.writeShort(n.value.length);
            out.write(n.value);
            out.writeByte(n.perms.size());
            for (String p : n.perms) {
                out.writeUTF(p);
            }
            out.writeLong(n.gen);
        }
        out.writeShort(watches.size());
        for (WatchRecord w : watches) {
            out.writeShort(w.domid);
            out.writeUTF(w.path);
            out.writeUTF(w.token);
            out.writeBoolean(w.relative);
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static XenStoreState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not a xenstore state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("xenstore state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        long generation = in.readLong();
        int n = in.readInt();
        if (n <= 0 || n > MAX_NODES) {
            throw new IOException("xenstore state record is damaged: " + n + " nodes");
        }
        try {
            List<Node> nodes = new ArrayList<>(Math.min(n, 4096));
            for (int i = 0; i < n; i++) {
                String path = in.readUTF();
                int len = in.readUnsignedShort();
                if (len > XenStore.MAX_VALUE) {
                    throw new IOException("xenstore state record is damaged: a value of " + len + " bytes");
                }
                byte[] value = new byte[len];
                in.readFully(value);
                int np = in.readUnsignedByte();
                List<String> perms = new ArrayList<>(np);
                for (int k = 0; k < np; k++) {
                    perms.add(in.readUTF());
                }
                nodes.add(new Node(path, value, perms, in.readLong()));
            }
            int nw = in.readUnsignedShort();
            List<WatchRecord> watches = new ArrayList<>(nw);
            for (int i = 0; i < nw; i++) {
                watches.add(new WatchRecord(in.readUnsignedShort(), in.readUTF(), in.readUTF(), readBoolean(in)));
            }
            return new XenStoreState(generation, nodes, watches);
        } catch (IllegalArgumentException e) {
            throw new IOException("xenstore state record is damaged: " + e.getMessage(), e);
        }
    }

    private static boolean readBoolean(DataInput in) throws IOException {
        int b = in.readUnsignedByte();
        if (b > 1) {
            throw new IOException("xenstore state record is damaged: flag byte " + b);
        }
        return b == 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof XenStoreState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
