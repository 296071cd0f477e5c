package org.xenj.hypervisor.internal.xenstore;

import static org.xenj.hypervisor.internal.xenabi.XsWire.*;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Decodes one xs_wire request (type, ids, NUL-separated payload), applies it to the store as
 * the connection's domain, and encodes the reply (or an XS_ERROR naming the errno).
 */
final class XsProtocol {

    private final XenStore store;
    private final int domid;
    private final Object owner;
    private final Consumer<byte[]> sink;

    /** A restore: the guest's watch, events to this connection from now on, none fired now. */
    void adoptWatch(String absPath, String token, boolean relative) {
        store.adoptWatch(domid, owner, absPath, token, relative, this::watchEvent);
    }

    XsProtocol(XenStore store, int domid, Object owner, Consumer<byte[]> sink) {
        this.store = store;
        this.domid = domid;
        this.owner = owner;
        this.sink = sink;
    }

    private static List<String> strings(byte[] p) {
        List<String> r = new ArrayList<>();
        int s = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                r.add(new String(p, s, i - s, StandardCharsets.UTF_8));
                s = i + 1;
            }
        }
        if (s < p.length) {
            r.add(new String(p, s, p.length - s, StandardCharsets.UTF_8));
        }
        return r;
    }

    private static byte[] joined(List<String> items) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (String s : items) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            o.write(b, 0, b.length);
            o.write(0);
        }
        return o.toByteArray();
    }

    private static byte[] z(String s) {
        return joined(List.of(s));
    }

    private static String arg(List<String> a, int i) {
        if (i >= a.size()) {
            throw new XsException("EINVAL");
        }
        return a.get(i);
    }

    void handle(int type, int reqId, int txId, byte[] p) {
        inRequest = true;
        byte[] reply;
        int replyType = type;
        try {
            List<String> a = strings(p);
            reply = switch (type) {
                case XS_READ -> store.read(domid, txId, arg(a, 0));
                case XS_WRITE -> {
                    int nul = indexOfNul(p);
                    if (nul < 0) {
                        throw new XsException("EINVAL");
                    }
                    String path = new String(p, 0, nul, StandardCharsets.UTF_8);
                    byte[] v = java.util.Arrays.copyOfRange(p, nul + 1, p.length);
                    store.write(domid, txId, path, v);
                    yield z("OK");
                }
                case XS_MKDIR -> {
                    store.mkdir(domid, txId, arg(a, 0));
                    yield z("OK");
                }
                case XS_RM -> {
                    store.rm(domid, txId, arg(a, 0));
                    yield z("OK");
                }
                case XS_DIRECTORY -> joined(store.directory(domid, txId, arg(a, 0)));
                case XS_GET_PERMS -> joined(store.getPerms(domid, txId, arg(a, 0)));
                case XS_SET_PERMS -> {
                    store.setPerms(domid, txId, arg(a, 0), a.subList(1, a.size()));
                    yield z("OK");
                }
                case XS_WATCH -> {
                    store.watch(domid, owner, arg(a, 0), arg(a, 1), this::watchEvent);
                    yield z("OK");
                }
                case XS_UNWATCH -> {
                    store.unwatch(domid, owner, arg(a, 0), arg(a, 1));
                    yield z("OK");
                }
                case XS_TRANSACTION_START -> z(Integer.toUnsignedString(store.transactionStart(domid)));
                case XS_TRANSACTION_END -> {
                    String c = arg(a, 0);
                    if (!c.equals("T") && !c.equals("F")) {
                        throw new XsException("EINVAL");
                    }
                    store.transactionEnd(domid, txId, c.equals("T"));
                    yield z("OK");
                }
                case XS_GET_DOMAIN_PATH -> {
                    int d;
                    try {
                        d = Integer.parseInt(arg(a, 0));
                    } catch (NumberFormatException e) {
                        throw new XsException("EINVAL");
                    }
                    yield z(XenStore.domainPath(d));
                }
                case XS_RESET_WATCHES -> {
                    store.dropConnection(domid, owner);
                    yield z("OK");
                }
                case XS_INTRODUCE, XS_RELEASE, XS_SET_TARGET, XS_RESUME, XS_IS_DOMAIN_INTRODUCED ->
                    throw new XsException(domid == 0 ? "ENOSYS" : "EACCES");
                default -> throw new XsException("ENOSYS");
            };
        } catch (XsException e) {
            replyType = XS_ERROR;
            reply = z(e.errno());
        }
        // A watch registration's first event goes after the OK, as in xenstored.
        sink.accept(XsRingConnection.message(replyType, reqId, txId, reply));
        inRequest = false;
        flushDeferred();
    }

    private final List<byte[]> deferred = new ArrayList<>();
    /** Set while this connection's own request runs (on its thread): its events wait for the reply. */
    private volatile boolean inRequest;

    private void watchEvent(String path, String token) {
        byte[] m = XsRingConnection.message(XS_WATCH_EVENT, 0, 0, joined(List.of(path, token)));
        synchronized (deferred) {
            deferred.add(m);
        }
        if (!inRequest) {
            flushDeferred();
            if (owner instanceof XsRingConnection c) {
                c.pushEvents();
            }
        }
    }

    private void flushDeferred() {
        List<byte[]> ms;
        synchronized (deferred) {
            ms = new ArrayList<>(deferred);
            deferred.clear();
        }
        ms.forEach(sink);
    }

    private static int indexOfNul(byte[] p) {
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                return i;
            }
        }
        return -1;
    }
}
