package org.xenj.hypervisor.spi.backend;

import java.util.List;
import java.util.function.Consumer;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Xenstore as Domain 0 sees it (all-powerful, absolute paths). Errors throw
 * {@link BackendException} with Xen's errno name ({@code ENOENT}, {@code EINVAL}, ...).
 */
@ProviderType
public interface BackendStore {

    /** A handle on a registered watch. */
    @ProviderType
    interface Watch {
        /** Stops the watch. Idempotent. */
        void cancel();
    }

    /** The value at {@code path}, or null if there is no such node. */
    String read(String path);

    void write(String path, String value);

    void mkdir(String path);

    /** Removes {@code path} and everything below it; nothing if it does not exist. */
    void remove(String path);

    /** Names of the children of {@code path} (empty if it does not exist). */
    List<String> directory(String path);

    boolean exists(String path);

    /** Sets a node's permissions in xenstore form: owner first, e.g. {@code ["n0", "r5"]}. */
    void setPermissions(String path, List<String> permissions);

    /**
     * Watches {@code path} and everything below it. {@code onChange} receives the path that
     * changed, on the backend's executor; it fires once right away, as Xen fires every new watch.
     * A flood of changes may be folded into fewer calls (then with {@code path} itself).
     */
    Watch watch(String path, Consumer<String> onChange);

    /** The xenbus state at {@code path} ({@link XenbusState#UNKNOWN} if missing or garbage). */
    default XenbusState readState(String path) {
        return XenbusState.parse(read(path));
    }

    default void writeState(String path, XenbusState state) {
        write(path, Integer.toString(state.value()));
    }
}
