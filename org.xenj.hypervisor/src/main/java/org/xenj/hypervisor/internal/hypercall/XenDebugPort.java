package org.xenj.hypervisor.internal.hypercall;

import java.nio.charset.StandardCharsets;

import org.xenj.hypervisor.internal.exec.GuestContext;
import org.xenj.hypervisor.spi.IoHandler;

/**
 * Xen's HVM debug ports (0x12, and 0xe9 as Bochs/QEMU use it): each byte written is collected
 * into a line that goes to the domain's log ({@code xen:dmesg}). Reads answer 0xe9, which is
 * how guests detect the port. Lines are capped so a guest cannot grow our memory.
 */
public final class XenDebugPort implements IoHandler {

    private static final int MAX_LINE = 256;
    private final GuestContext context;
    private final byte[] line = new byte[MAX_LINE];
    private int len;

    public XenDebugPort(GuestContext context) {
        this.context = context;
    }

    @Override
    public int ioRead(int offset, int size) {
        return 0xe9;
    }

    @Override
    public synchronized void ioWrite(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            byte b = (byte) (value >>> (8 * i));
            if (b == '\n' || len == MAX_LINE) {
                flush();
                if (b == '\n') {
                    continue;
                }
            }
            line[len++] = b;
        }
    }

    private void flush() {
        context.log("debug port: " + new String(line, 0, len, StandardCharsets.ISO_8859_1));
        len = 0;
    }
}
