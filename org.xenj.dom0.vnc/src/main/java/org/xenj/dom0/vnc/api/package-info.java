/**
 * Domain 0's graphical consoles. A device model or backend that draws a guest's screen (qemu-dm's
 * VGA, the PV framebuffer backend) registers a {@link org.xenj.dom0.vnc.api.GuestDisplay} service:
 * a {@link org.xenj.dom0.vnc.api.DisplaySource} that brings a {@link org.xenj.dom0.vnc.api.Framebuffer}
 * up to date and an {@link org.xenj.dom0.vnc.api.InputSink} for keys (Linux input key codes) and the
 * pointer. The VNC bundle serves every display whose domain asks for it ({@code vnc=1}) and offers
 * {@link org.xenj.dom0.vnc.api.VncConsoles} (where to connect, screenshots) to the toolstack.
 */
@Version("1.0.0")
@Export
package org.xenj.dom0.vnc.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
