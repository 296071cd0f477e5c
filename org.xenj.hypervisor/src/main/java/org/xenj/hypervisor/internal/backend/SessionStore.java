package org.xenj.hypervisor.internal.backend;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

import org.xenj.hypervisor.internal.xenstore.XenStore;
import org.xenj.hypervisor.internal.xenstore.XsException;
import org.xenj.hypervisor.spi.backend.BackendException;
import org.xenj.hypervisor.spi.backend.BackendStore;

/**
 * Xenstore for one backend session, as Domain 0. Watch events arrive on the writer's thread
 * (often a guest vCPU, inside the store's lock): they are only queued, at most
 * {@value #MAX_QUEUED} paths per watch, and delivered on the backend's executor; past that the
 * burst folds into one event for the watched path.
 */
final class SessionStore implements BackendStore {

    static final int MAX_QUEUED = 64;

    private final BackendSession session;
    private final XenStore store;
    private int nextToken;

    SessionStore(BackendSession session, XenStore store) {
        this.session = session;
        this.store = store;
    }

    private static BackendException error(XsException e, String path) {
        return new BackendException(e.getMessage() + ": " + path, e);
    }

    private static boolean isNoEntry(XsException e) {
        return "ENOENT".equals(e.getMessage());
    }

    @Override
    public String read(String path) {
        session.checkAttached();
        try {
            return new String(store.read(0, 0, path), StandardCharsets.UTF_8);
        } catch (XsException e) {
            if (isNoEntry(e)) {
                return null;
            }
            throw error(e, path);
        }
    }

    @Override
    public void write(String path, String value) {
        session.checkAttached();
        try {
            store.write(0, 0, path, value.getBytes(StandardCharsets.UTF_8));
        } catch (XsException e) {
            throw error(e, path);
        }
    }

    @Override
    public void mkdir(String path) {
        session.checkAttached();
        try {
            store.mkdir(0, 0, path);
        } catch (XsException e) {
            throw error(e, path);
        }
    }

    @Override
    public void remove(String path) {
        session.checkAttached();
        try {
            store.rm(0, 0, path);
        } catch (XsException e) {
            if (!isNoEntry(e)) {
                throw error(e, path);
            }
        }
    }

    @Override
    public List<String> directory(String path) {
        session.checkAttached();
        try {
            return store.directory(0, 0, path);
        } catch (XsException e) {
            if (isNoEntry(e)) {
                return List.of();
            }
            throw error(e, path);
        }
    }

    @Override
    public boolean exists(String path) {
        return read(path) != null;
    }

    @Override
    public void setPermissions(String path, List<String> permissions) {
        session.checkAttached();
        try {
            store.setPerms(0, 0, path, permissions);
        } catch (XsException e) {
            throw error(e, path);
        }
    }

    @Override
    public Watch watch(String path, Consumer<String> onChange) {
        session.checkAttached();
        String token;
        synchronized (this) {
            token = "xenj-backend-" + session.kind() + "-" + nextToken++;
        }
        QueuedWatch w = new QueuedWatch(path, token, onChange);
        try {
            store.watch(0, session, path, token, (changed, t) -> w.queue(changed));
        } catch (XsException e) {
            throw error(e, path);
        }
        return w;
    }

    /** Drops every watch of the session (detach). */
    void dropAll() {
        store.dropConnection(0, session);
    }

    private final class QueuedWatch implements Watch {
        private final String path;
        private final String token;
        private final Consumer<String> onChange;
        private final ArrayDeque<String> pending = new ArrayDeque<>();
        private boolean overflow;
        private boolean scheduled;
        private volatile boolean cancelled;

        QueuedWatch(String path, String token, Consumer<String> onChange) {
            this.path = path;
            this.token = token;
            this.onChange = onChange;
        }

        void queue(String changed) {
            synchronized (this) {
                if (cancelled) {
                    return;
                }
                if (pending.size() < MAX_QUEUED) {
                    pending.add(changed);
                } else {
                    overflow = true;
                }
                if (scheduled) {
                    return;
                }
                scheduled = true;
            }
            session.execute(this::drain);
        }

        private void drain() {
            String[] batch;
            boolean folded;
            synchronized (this) {
                scheduled = false;
                folded = overflow;
                overflow = false;
                batch = folded ? new String[] {path} : pending.toArray(new String[0]);
                pending.clear();
            }
            for (String p : batch) {
                if (cancelled) {
                    return;
                }
                onChange.accept(p);
            }
        }

        @Override
        public void cancel() {
            if (cancelled) {
                return;
            }
            cancelled = true;
            try {
                store.unwatch(0, session, path, token);
            } catch (XsException e) {
                // already gone with the session
            }
        }
    }
}
