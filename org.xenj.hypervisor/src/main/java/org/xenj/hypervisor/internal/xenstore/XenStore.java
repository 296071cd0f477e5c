package org.xenj.hypervisor.internal.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The xenstore database, in the hypervisor's Domain 0 side: a tree of nodes with Xen's
 * permission model (owner + default + per-domain entries, Dom0 all-powerful), watches, and
 * transactions that fail with EAGAIN when something they read or wrote changed meanwhile.
 * Per-domain quotas bound nodes, value sizes, watches and open transactions.
 * One lock: xenstore traffic is small and request/response.
 */
public final class XenStore {

    public static final int MAX_NODES_PER_DOMAIN = 1000;
    public static final int MAX_VALUE = 2048;
    public static final int MAX_WATCHES_PER_DOMAIN = 128;
    public static final int MAX_TRANSACTIONS_PER_DOMAIN = 10;
    public static final int MAX_PATH = 3072;

    private XsNode root;
    private long generation = 1;
    private int nextTx = 1;
    private final Map<Integer, Tx> transactions = new HashMap<>();
    private final List<Watch> watches = new CopyOnWriteArrayList<>();

    private static final class Tx {
        final int domid;
        final long startGen;
        final XsNode snapshotAtStart;
        final XsNode view;
        final Set<String> touched = new HashSet<>();
        final List<Runnable> replay = new ArrayList<>();

        Tx(int domid, long startGen, XsNode live) {
            this.domid = domid;
            this.startGen = startGen;
            this.snapshotAtStart = live.deepCopy();
            this.view = live.deepCopy();
        }
    }

    private record Watch(int domid, Object owner, String path, String token, boolean relative, XsWatcher sink) {
    }

    public XenStore() {
        root = new XsNode(List.of("n0"), generation);
        synchronized (this) {
            mkdir(0, 0, "/local/domain");
            mkdir(0, 0, "/tool");
        }
    }

    public static String domainPath(int domid) {
        return "/local/domain/" + domid;
    }

    // ------------------------------------------------------------------ paths

    /** Canonical absolute path, relative paths resolved against the domain's home. */
    static String canonical(int domid, String path) {
        if (path == null || path.isEmpty() || path.length() > MAX_PATH) {
            throw new XsException("EINVAL");
        }
        if (path.startsWith("@")) {
            return path; // special watch paths
        }
        String abs = path.startsWith("/") ? path : domainPath(domid) + "/" + path;
        if (abs.length() > 1 && abs.endsWith("/") || abs.contains("//")) {
            throw new XsException("EINVAL");
        }
        for (int i = 0; i < abs.length(); i++) {
            char c = abs.charAt(i);
            if (!(Character.isLetterOrDigit(c) && c < 128 || c == '/' || c == '-' || c == '_' || c == '@')) {
                throw new XsException("EINVAL");
            }
        }
        return abs;
    }

    private static String[] parts(String abs) {
        return abs.equals("/") ? new String[0] : abs.substring(1).split("/");
    }

    private static XsNode find(XsNode r, String abs) {
        XsNode n = r;
        for (String p : parts(abs)) {
            n = n.children.get(p);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    private static String parentOf(String abs) {
        int i = abs.lastIndexOf('/');
        return i <= 0 ? "/" : abs.substring(0, i);
    }

    private Tx tx(int domid, int txid) {
        if (txid == 0) {
            return null;
        }
        Tx t = transactions.get(txid);
        if (t == null || t.domid != domid) {
            throw new XsException("ENOENT");
        }
        return t;
    }

    private XsNode rootFor(Tx t) {
        return t == null ? root : t.view;
    }

    private static void checkAccess(XsNode n, int domid, boolean write) {
        char a = n.access(domid);
        boolean ok = write ? a == 'w' || a == 'b' : a == 'r' || a == 'b';
        if (!ok) {
            throw new XsException("EACCES");
        }
    }

    // ------------------------------------------------------------------ operations

    public synchronized byte[] read(int domid, int txid, String path) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        touch(t, abs);
        XsNode n = find(rootFor(t), abs);
        if (n == null) {
            throw new XsException("ENOENT");
        }
        checkAccess(n, domid, false);
        return n.value.clone();
    }

    public String readString(int domid, String path) {
        return new String(read(domid, 0, path), StandardCharsets.UTF_8);
    }

    public synchronized List<String> directory(int domid, int txid, String path) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        touch(t, abs);
        XsNode n = find(rootFor(t), abs);
        if (n == null) {
            throw new XsException("ENOENT");
        }
        checkAccess(n, domid, false);
        return new ArrayList<>(n.children.keySet());
    }

    public synchronized void write(int domid, int txid, String path, byte[] value) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        if (value.length > MAX_VALUE && domid != 0) {
            throw new XsException("ENOSPC");
        }
        byte[] v = value.clone();
        XsNode r = rootFor(t);
        XsNode n = createPath(r, domid, abs, t);
        checkAccess(n, domid, true);
        n.value = v;
        n.gen = t == null ? ++generation : n.gen;
        if (t == null) {
            fire(abs, false);
        } else {
            touch(t, abs);
            t.replay.add(() -> write(domid, 0, abs, v));
        }
    }

    public void write(int domid, String path, String value) {
        write(domid, 0, path, value.getBytes(StandardCharsets.UTF_8));
    }

    public synchronized void mkdir(int domid, int txid, String path) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        XsNode r = rootFor(t);
        if (find(r, abs) != null) {
            return;
        }
        createPath(r, domid, abs, t);
        if (t == null) {
            fire(abs, false);
        } else {
            touch(t, abs);
            t.replay.add(() -> mkdir(domid, 0, abs));
        }
    }

    /** Finds or creates {@code abs} (and missing ancestors), checking write access on the nearest existing ancestor. */
    private XsNode createPath(XsNode r, int domid, String abs, Tx t) {
        String[] ps = parts(abs);
        XsNode n = r;
        int i = 0;
        for (; i < ps.length; i++) {
            XsNode c = n.children.get(ps[i]);
            if (c == null) {
                break;
            }
            n = c;
        }
        if (i == ps.length) {
            return n;
        }
        checkAccess(n, domid, true);
        if (domid != 0 && ownedBy(r, domid) + (ps.length - i) > MAX_NODES_PER_DOMAIN) {
            throw new XsException("ENOSPC");
        }
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < i; k++) {
            sb.append('/').append(ps[k]);
        }
        for (; i < ps.length; i++) {
            List<String> perms = new ArrayList<>(n.perms);
            if (domid != 0) {
                perms.set(0, perms.get(0).charAt(0) + Integer.toString(domid));
            }
            long g = t == null ? ++generation : n.gen;
            XsNode c = new XsNode(perms, g);
            n.children.put(ps[i], c);
            n.gen = g;
            if (t != null) {
                touch(t, sb.length() == 0 ? "/" : sb.toString());
            }
            sb.append('/').append(ps[i]);
            n = c;
        }
        return n;
    }

    private static int ownedBy(XsNode n, int domid) {
        int c = n.owner() == domid ? 1 : 0;
        for (XsNode ch : n.children.values()) {
            c += ownedBy(ch, domid);
        }
        return c;
    }

    public synchronized void rm(int domid, int txid, String path) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        if (abs.equals("/")) {
            throw new XsException("EINVAL");
        }
        XsNode r = rootFor(t);
        XsNode n = find(r, abs);
        if (n == null) {
            throw new XsException("ENOENT");
        }
        checkAccess(n, domid, true);
        XsNode parent = find(r, parentOf(abs));
        parent.children.remove(abs.substring(abs.lastIndexOf('/') + 1));
        if (t == null) {
            parent.gen = ++generation;
            fire(abs, true);
        } else {
            touch(t, abs);
            touch(t, parentOf(abs));
            t.replay.add(() -> {
                if (find(root, abs) != null) {
                    rm(domid, 0, abs);
                }
            });
        }
    }

    public synchronized List<String> getPerms(int domid, int txid, String path) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        touch(t, abs);
        XsNode n = find(rootFor(t), abs);
        if (n == null) {
            throw new XsException("ENOENT");
        }
        checkAccess(n, domid, false);
        return new ArrayList<>(n.perms);
    }

    public synchronized void setPerms(int domid, int txid, String path, List<String> perms) {
        Tx t = tx(domid, txid);
        String abs = canonical(domid, path);
        if (perms.isEmpty()) {
            throw new XsException("EINVAL");
        }
        for (String p : perms) {
            if (p.length() < 2 || "rwbn".indexOf(p.charAt(0)) < 0) {
                throw new XsException("EINVAL");
            }
            try {
                Integer.parseInt(p.substring(1));
            } catch (NumberFormatException e) {
                throw new XsException("EINVAL");
            }
        }
        XsNode n = find(rootFor(t), abs);
        if (n == null) {
            throw new XsException("ENOENT");
        }
        checkAccess(n, domid, true);
        if (domid != 0 && n.owner() != domid) {
            throw new XsException("EPERM"); // only the owner (or Dom0) changes permissions
        }
        n.perms = new ArrayList<>(perms);
        if (t == null) {
            n.gen = ++generation;
            fire(abs, false);
        } else {
            touch(t, abs);
            List<String> copy = List.copyOf(perms);
            t.replay.add(() -> setPerms(domid, 0, abs, copy));
        }
    }

    // ------------------------------------------------------------------ transactions

    /** Whether {@code domid} has a transaction open (a PV save waits for it to end). */
    public synchronized boolean inTransaction(int domid) {
        return transactions.values().stream().anyMatch(x -> x.domid == domid);
    }

    public synchronized int transactionStart(int domid) {
        long open = transactions.values().stream().filter(x -> x.domid == domid).count();
        if (domid != 0 && open >= MAX_TRANSACTIONS_PER_DOMAIN) {
            throw new XsException("ENOSPC");
        }
        int id = nextTx++;
        if (nextTx <= 0) {
            nextTx = 1;
        }
        transactions.put(id, new Tx(domid, generation, root));
        return id;
    }

    /** Ends a transaction; when committing, EAGAIN if anything it used changed since it started. */
    public synchronized void transactionEnd(int domid, int txid, boolean commit) {
        Tx t = tx(domid, txid);
        if (t == null) {
            throw new XsException("EINVAL");
        }
        transactions.remove(txid);
        if (!commit) {
            return;
        }
        for (String p : t.touched) {
            XsNode live = find(root, p);
            XsNode then = find(t.snapshotAtStart, p);
            long lg = live == null ? -1 : live.gen;
            long tg = then == null ? -1 : then.gen;
            if (lg != tg) {
                throw new XsException("EAGAIN");
            }
        }
        for (Runnable r : t.replay) {
            r.run();
        }
    }

    private static void touch(Tx t, String abs) {
        if (t != null) {
            t.touched.add(abs);
        }
    }

    /** Drops every transaction and watch of a connection (domain gone, or XS_RESET_WATCHES). */
    public synchronized void dropConnection(int domid, Object owner) {
        if (domid != 0) {
            transactions.values().removeIf(x -> x.domid == domid); // Dom0's Java clients share domid 0
        }
        watches.removeIf(w -> w.owner == owner);
    }

    // ------------------------------------------------------------------ watches

    /** {@code domid}'s watches (a PV save carries them to the restored domain's connection). */
    public synchronized List<XenStoreState.WatchRecord> watchesOf(int domid) {
        List<XenStoreState.WatchRecord> out = new java.util.ArrayList<>();
        for (Watch w : watches) {
            if (w.domid == domid) {
                out.add(new XenStoreState.WatchRecord(w.domid, w.path, w.token, w.relative));
            }
        }
        return out;
    }

    /**
     * A restore: the watch {@code path} (absolute, as {@link #watchesOf} gives it) with {@code token}
     * for the connection {@code owner}, without the initial event (the guest had it before the save).
     */
    public synchronized void adoptWatch(int domid, Object owner, String path, String token, boolean relative, XsWatcher sink) {
        for (Watch w : watches) {
            if (w.owner == owner && w.path.equals(path) && w.token.equals(token)) {
                return;
            }
        }
        watches.add(new Watch(domid, owner, path, token, relative, sink));
    }

    public void watch(int domid, Object owner, String path, String token, XsWatcher sink) {
        String abs;
        boolean relative;
        synchronized (this) {
            abs = canonical(domid, path);
            relative = !path.startsWith("/") && !path.startsWith("@");
            long mine = watches.stream().filter(w -> w.domid == domid).count();
            if (domid != 0 && mine >= MAX_WATCHES_PER_DOMAIN) {
                throw new XsException("ENOSPC");
            }
            for (Watch w : watches) {
                if (w.owner == owner && w.path.equals(abs) && w.token.equals(token)) {
                    throw new XsException("EEXIST");
                }
            }
            watches.add(new Watch(domid, owner, abs, token, relative, sink));
        }
        sink.event(path, token); // Xen fires every new watch once
    }

    public synchronized void unwatch(int domid, Object owner, String path, String token) {
        String abs = canonical(domid, path);
        boolean removed = watches.removeIf(w -> w.owner == owner && w.path.equals(abs) && w.token.equals(token));
        if (!removed) {
            throw new XsException("ENOENT");
        }
    }

    public int watchCount() {
        return watches.size();
    }

    private void fire(String abs, boolean recursive) {
        for (Watch w : watches) {
            boolean hit = abs.equals(w.path) || w.path.equals("/") && abs.startsWith("/")
                    || abs.startsWith(w.path + "/");
            boolean below = recursive && w.path.startsWith(abs + "/");
            if (!hit && !below) {
                continue;
            }
            String reported = below ? w.path : abs;
            if (w.domid != 0 && !recursive) {
                XsNode n = find(root, abs);
                if (n != null && n.access(w.domid) == 'n') {
                    continue;
                }
            }
            if (w.relative && reported.startsWith(domainPath(w.domid) + "/")) {
                reported = reported.substring(domainPath(w.domid).length() + 1);
            }
            w.sink.event(reported, w.token);
        }
    }

    /** Fires a special watch such as {@code @introduceDomain} / {@code @releaseDomain}. */
    public void fireSpecial(String name) {
        for (Watch w : watches) {
            if (w.path.equals(name)) {
                w.sink.event(name, w.token);
            }
        }
    }

    // ------------------------------------------------------------------ toolstack helpers

    /** Creates a domain's home the way the toolstack does: owned by the domain, readable by Dom0. */
    public synchronized void introduceDomain(int domid, String name) {
        String home = domainPath(domid);
        mkdir(0, 0, home);
        setPerms(0, 0, home, List.of("n" + domid));
        write(0, home + "/name", name);
        write(0, home + "/domid", Integer.toString(domid));
        for (String d : List.of("device", "control", "data", "memory")) {
            mkdir(0, 0, home + "/" + d);
            setPerms(0, 0, home + "/" + d, List.of("n" + domid));
        }
        fireSpecial("@introduceDomain");
    }

    public void releaseDomain(int domid) {
        synchronized (this) {
            if (find(root, domainPath(domid)) != null) {
                rm(0, 0, domainPath(domid));
            }
            transactions.values().removeIf(x -> x.domid == domid);
            watches.removeIf(w -> w.domid == domid);
        }
        fireSpecial("@releaseDomain");
    }

    public synchronized boolean exists(String abs) {
        return find(root, abs) != null;
    }

    static String parentOfPath(String abs) {
        return parentOf(abs);
    }

    // ------------------------------------------------------------------ state

    /**
     * The whole store as a record (save/restore, migration). Refused with
     * {@link IllegalStateException} while a transaction is open: a transaction is a connection's
     * private view that cannot be carried over; the caller retries once it ended (or ends it, and
     * the guest's commit gets EAGAIN and retries, as xenstored's clients all do).
     */
    public synchronized XenStoreState saveState() {
        if (!transactions.isEmpty()) {
            throw new IllegalStateException("xenstore cannot be saved with " + transactions.size() + " transaction(s) open");
        }
        List<XenStoreState.Node> nodes = new java.util.ArrayList<>();
        collect("/", root, nodes);
        List<XenStoreState.WatchRecord> ws = new java.util.ArrayList<>();
        for (Watch w : watches) {
            ws.add(new XenStoreState.WatchRecord(w.domid, w.path, w.token, w.relative));
        }
        return new XenStoreState(generation, nodes, ws);
    }

    private static void collect(String path, XsNode n, List<XenStoreState.Node> out) {
        out.add(new XenStoreState.Node(path, n.value, n.perms, n.gen));
        for (Map.Entry<String, XsNode> e : n.children.entrySet()) {
            collect(path.equals("/") ? "/" + e.getKey() : path + "/" + e.getKey(), e.getValue(), out);
        }
    }

    /** Who receives a restored watch's events: the connection of that domain. */
    public record WatchOwner(Object owner, XsWatcher sink) {
    }

    /**
     * Puts the store in {@code state} exactly: nodes, generation, watches (each given to the
     * connection {@code ownerOf} names for its domain; null drops that domain's watches, e.g. a
     * domain not restored). Open transactions are ended (their commits get EAGAIN). Restored
     * watches do not fire: their domains saw the initial event before the save.
     */
    public synchronized void restoreState(XenStoreState state, java.util.function.IntFunction<WatchOwner> ownerOf) {
        XsNode r = null;
        Map<String, XsNode> byPath = new HashMap<>();
        for (XenStoreState.Node n : state.nodes()) {
            XsNode x = new XsNode(n.perms(), n.gen());
            x.value = n.value();
            if (n.path().equals("/")) {
                r = x;
            } else {
                String parent = parentOf(n.path());
                byPath.get(parent).children.put(n.path().substring(n.path().lastIndexOf('/') + 1), x);
            }
            byPath.put(n.path(), x);
        }
        root = r;
        generation = state.generation();
        transactions.clear();
        watches.clear();
        for (XenStoreState.WatchRecord w : state.watches()) {
            WatchOwner o = ownerOf.apply(w.domid());
            if (o != null) {
                watches.add(new Watch(w.domid(), o.owner(), w.path(), w.token(), w.relative(), o.sink()));
            }
        }
    }
}
