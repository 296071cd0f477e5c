package org.xenj.dom0.vnc.api;

import org.osgi.annotation.versioning.ConsumerType;

/** What draws a guest's screen: the emulated VGA, a PV framebuffer. */
@ConsumerType
public interface DisplaySource {

    /**
     * Brings {@code fb} up to date with the guest's screen: resizes it when the mode changed, writes
     * the pixels that changed since the previous call with the same framebuffer and
     * {@link Framebuffer#damage damages} them. Called on the console server's display thread, a few
     * dozen times a second; an unchanged screen must cost next to nothing. {@code full} asks for
     * every pixel (a new framebuffer, a screenshot).
     */
    void refresh(Framebuffer fb, boolean full);
}
