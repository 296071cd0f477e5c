package org.xenj.dom0.vfb.internal;

import java.util.Map;

import org.xenj.dom0.vnc.api.DisplaySource;
import org.xenj.dom0.vnc.api.GuestDisplay;
import org.xenj.dom0.vnc.api.InputSink;
import org.xenj.hypervisor.spi.backend.BackendContext;

/**
 * One domain's PV console: its vfb (the picture) and vkbd (keys and pointer) devices, offered to
 * Domain 0's console server as a {@link GuestDisplay}. As in Xen, where one device model serves
 * both, the {@code vfb} backend also serves {@code backend/vkbd/<domid>/0}.
 */
final class PvConsole implements GuestDisplay {

    /** The screen Linux's xen-fbfront makes unless told otherwise (XENFB_WIDTH × XENFB_HEIGHT). */
    static final int WIDTH = 800, HEIGHT = 600;

    private final BackendContext ctx;
    private final Map<String, String> settings;
    final FbScreen screen;
    final FbDevice fb;
    final KbdDevice kbd;

    PvConsole(BackendContext ctx) {
        this.ctx = ctx;
        this.settings = Map.copyOf(VfbSpec.consoleSettings(ctx.config().raw().get("vfb")));
        this.screen = new FbScreen(m -> ctx.log("vfb: " + m));
        this.fb = new FbDevice(ctx, screen);
        String vkbdPath = ctx.backendPath().replace("/backend/vfb/", "/backend/vkbd/");
        this.kbd = new KbdDevice(ctx, vkbdPath, WIDTH, HEIGHT);
    }

    void create() {
        fb.create();
        kbd.create();
    }

    /** The hand-over record (executor): both devices stop serving; {@link #detach} then only lets go. */
    VfbState save() {
        return new VfbState(fb.save(), kbd.save());
    }

    /** A previous backend's devices, from its record (executor); all or nothing. */
    void restore(VfbState state) {
        fb.restore(state.fb());
        try {
            kbd.restore(state.kbd());
        } catch (RuntimeException e) {
            fb.detach();
            throw e;
        }
    }

    void detach() {
        kbd.detach();
        fb.detach();
    }

    @Override
    public int domid() {
        return ctx.frontendDomid();
    }

    @Override
    public String domainName() {
        return ctx.config().name();
    }

    @Override
    public Map<String, String> settings() {
        return settings;
    }

    @Override
    public String deviceName() {
        return "xen-vfb";
    }

    @Override
    public DisplaySource source() {
        return screen;
    }

    @Override
    public InputSink input() {
        return kbd;
    }
}
