package org.xenj.dom0.vnc.api;

import java.util.Map;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One domain's screen and its input, registered as a service by whatever draws it (qemu-dm's VGA,
 * the PV framebuffer backend) while the domain has it. The VNC bundle serves it when the domain's
 * settings ask for a VNC console.
 */
@ConsumerType
public interface GuestDisplay {

    /** Service property with the domain's id (Integer). */
    String DOMID = "xenj.domid";

    int domid();

    String domainName();

    /**
     * The domain's console settings as written in its configuration: {@code vnc}, {@code vnclisten},
     * {@code vncdisplay}, {@code vncpasswd}, {@code vncshared} (quotes removed).
     */
    Map<String, String> settings();

    /** What draws it, e.g. "stdvga". */
    String deviceName();

    DisplaySource source();

    InputSink input();
}
