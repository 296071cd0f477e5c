package org.xenj.dom0.vnc.api;

import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/** The VNC consoles Domain 0 serves now. */
@ProviderType
public interface VncConsoles {

    /** Where a domain's console listens. */
    record Endpoint(int domid, String host, int port, int display, boolean password, boolean shared, int clients,
            int width, int height, String device) {
    }

    /** The console of {@code domid}, if it has a display served over VNC. */
    Optional<Endpoint> endpoint(int domid);

    /**
     * The domain's screen now, with every pixel refreshed ({@code 0x00RRGGBB}, row-major,
     * {@code width × height}); empty when the domain has no display (with or without VNC).
     */
    Optional<Framebuffer> screenshot(int domid);
}
