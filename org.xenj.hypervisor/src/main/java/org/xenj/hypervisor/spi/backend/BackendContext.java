package org.xenj.hypervisor.spi.backend;

import java.util.concurrent.Executor;

import org.osgi.annotation.versioning.ProviderType;
import org.xenj.hypervisor.api.DomainConfig;

/**
 * What the hypervisor gives a {@link Backend} for one frontend domain. Everything it delivers
 * (event channel handlers, watch callbacks) runs on {@link #executor()}, one thread per backend
 * and domain, never on a guest vCPU. Grants are always the frontend's own, checked against what
 * it granted Domain 0. Methods may be called from any thread; after the backend is detached they
 * throw {@link BackendException}.
 */
@ProviderType
public interface BackendContext {

    /** The device kind this backend was attached for ({@code vbd}, {@code vif}, ...). */
    String kind();

    /** The frontend's domain id. */
    int frontendDomid();

    /** The frontend's configuration (disks, vifs, raw xl keys). */
    DomainConfig config();

    /** {@code /local/domain/<frontend>}: where the frontend's device directories live. */
    String frontendPath();

    /** {@code /local/domain/0/backend/<kind>/<frontend>}: where this backend's directories belong. */
    String backendPath();

    /** The backend's single-threaded executor for this domain; tasks submitted here are serialised with every callback. */
    Executor executor();

    /** Xenstore with Domain 0's permissions. */
    BackendStore store();

    /**
     * Binds Domain 0's end of the frontend's unbound port {@code remotePort}
     * (EVTCHNOP_bind_interdomain). {@code onEvent} runs on {@link #executor()} each time the
     * frontend signals (bursts may be folded into one call).
     */
    EventChannel bindInterdomain(int remotePort, Runnable onEvent);

    /** Allocates a Domain 0 port the frontend may bind to (EVTCHNOP_alloc_unbound). */
    EventChannel allocateUnbound(Runnable onEvent);

    /**
     * Maps the frontend's grant {@code ref}: refused (BackendException) unless the frontend
     * granted that page to Domain 0, and, when {@code writable}, not read-only.
     */
    GrantMapping mapGrant(int ref, boolean writable);

    /** Grant copy from the frontend's grant {@code ref} at {@code offset} into {@code dst}. */
    void copyFromGrant(int ref, int offset, byte[] dst, int dstOff, int len);

    /** Grant copy into the frontend's grant {@code ref} at {@code offset}; the grant must be writable. */
    void copyToGrant(int ref, int offset, byte[] src, int srcOff, int len);

    /**
     * Maps the frontend's own guest frame {@code gfn} (a machine frame for a PV frontend), as Xen's
     * privileged foreign mapping does for protocols that name frames instead of grants: the PV
     * framebuffer's {@code page-ref} and page directory ({@code io/fbif.h}). Refused
     * ({@link BackendException}) unless the frame is RAM the frontend owns; every access checks that
     * again, so a frame the frontend handed back (or one granted to it by a third domain) is never
     * read or written. The mapping's {@link GrantMapping#ref()} is -1.
     *
     * @since 1.2
     */
    default GrantMapping mapGuestFrame(long gfn, boolean writable) {
        throw new UnsupportedOperationException("this hypervisor does not map guest frames for backends");
    }

    /** A line in dmesg, prefixed with the backend's kind and the domain. */
    void log(String message);
}
