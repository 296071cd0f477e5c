package org.xenj.hvm.qemudm.internal.debugexit;

import java.util.function.IntConsumer;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * QEMU's {@code isa-debug-exit}: a write of {@code v} ends the domain with exit code
 * {@code (v << 1) | 1}, as QEMU ends its process — so a test kernel written for
 * {@code qemu -device isa-debug-exit} reports pass/fail the same way on xenj. Enabled by
 * {@code debug_exit=} in xl.cfg: {@code 1} puts it at 0xf4 with 4 ports (the customary
 * {@code iobase=0xf4,iosize=0x04}), a number above 1 is the base port. Reads return all ones.
 * The device has no state: nothing to save or hand over.
 */
public final class IsaDebugExit implements IoHandler {

    public static final int DEFAULT_PORT = 0xf4;
    public static final int PORTS = 4;
    /** xl.cfg key. */
    public static final String CONFIG_KEY = "debug_exit";

    private final IntConsumer exit;

    public IsaDebugExit(IntConsumer exit) {
        this.exit = exit;
    }

    /**
     * The base port {@code debug_exit=} asks for, or -1 when the device is off.
     * @throws IllegalArgumentException naming the value when it is neither 0/1 nor a port
     */
    public static int basePort(String configValue) {
        if (configValue == null || configValue.isBlank()) {
            return -1;
        }
        String v = configValue.trim().replace("\"", "");
        long n;
        try {
            n = v.startsWith("0x") || v.startsWith("0X") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("debug_exit=" + configValue + ": expected 0, 1 or an I/O port (e.g. 0xf4)");
        }
        if (n == 0) {
            return -1;
        }
        if (n == 1) {
            return DEFAULT_PORT;
        }
        if (n > 0xffff - PORTS + 1) {
            throw new IllegalArgumentException("debug_exit=" + configValue + ": port beyond 0xfffc");
        }
        return (int) n;
    }

    /** What QEMU's process exit status is for a write of {@code value}. */
    public static int exitCode(int value) {
        return (value << 1) | 1;
    }

    @Override
    public int ioRead(int offset, int size) {
        return -1;
    }

    @Override
    public void ioWrite(int offset, int size, int value) {
        int v = size == 1 ? value & 0xff : size == 2 ? value & 0xffff : value;
        exit.accept(exitCode(v));
    }
}
