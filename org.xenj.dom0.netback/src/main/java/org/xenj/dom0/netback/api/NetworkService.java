package org.xenj.dom0.netback.api;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A running domain's PV network devices. Every method refuses with an
 * {@link IllegalArgumentException} whose message is meant for the user (no such domain, no vif
 * backend serving it, a bad spec, no such device).
 */
@ProviderType
public interface NetworkService {

    /** The domain's vifs by device id. */
    List<VifInfo> list(int domid);

    /**
     * Hot-plugs a vif described by an xl vif spec ({@code mac=00:16:3e:..,bridge=xenbr0}, both
     * optional) with the next free device id; the guest's frontend sees it appear in xenstore.
     */
    VifInfo attach(int domid, String spec);

    /**
     * Unplugs the vif with device id or MAC {@code devidOrMac}: the backend goes to Closing, and once
     * the frontend closed (or after a few seconds without an answer) both xenstore directories go.
     */
    void detach(int domid, String devidOrMac);
}
