package org.xenj.hvm.qemudm.internal.kbd;

import java.util.function.BiConsumer;

import org.xenj.hypervisor.spi.IoHandler;

/**
 * The 8042 keyboard controller (data 0x60, status/command 0x64) with a keyboard that answers the
 * commands Linux's i8042 and atkbd drivers send while probing, and a PS/2 mouse on the AUX port
 * ({@link Ps2Mouse}; the loopback test works too). Console keys and pointer motion come in through
 * {@link #keyInput} and {@link #pointerInput}. Command 0xFE (pulse the reset line) or clearing output-port
 * bit 0 resets the machine. Map with base 0x60 and 5 ports.
 */
public final class I8042 implements IoHandler {

    public static final int BASE = 0x60;
    public static final int KBD_IRQ = 1;
    public static final int AUX_IRQ = 12;

    static final int STATUS_OBF = 0x01, STATUS_SYS = 0x04, STATUS_CMD = 0x08, STATUS_UNLOCKED = 0x10, STATUS_AUX = 0x20;
    static final int CTR_KBD_INT = 0x01, CTR_AUX_INT = 0x02, CTR_SYS = 0x04, CTR_KBD_DISABLE = 0x10,
            CTR_AUX_DISABLE = 0x20, CTR_XLATE = 0x40;

    private final Runnable reset;
    /** (irq, level). */
    private final BiConsumer<Integer, Boolean> irq;

    private final int[] queue = new int[32];
    private final boolean[] queueAux = new boolean[32];
    private int qHead;
    private int qCount;
    private int status;
    private int ctr;
    private int outputPort;
    /** Controller command waiting for its parameter byte on port 0x60, or 0. */
    private int pendingCommand;
    /** Keyboard command waiting for its parameter byte, or 0. */
    private int pendingKbdCommand;
    private boolean kbdIrqHigh;
    private boolean auxIrqHigh;
    private boolean scanning;
    private int scancodeSet;
    private final Ps2Mouse mouse = new Ps2Mouse();
    /**
     * Bytes from the host (console keys, pointer reports) waiting for room in the output queue, each
     * {@code byte | aux << 8}: a pasted string or a burst of pointer motion arrives faster than the
     * guest reads. Bounded; not part of the state record (input typed during a hand-over is lost,
     * as with the UART).
     */
    private final java.util.ArrayDeque<Integer> hostInput = new java.util.ArrayDeque<>();
    static final int HOST_INPUT_MAX = 4096;
    /** Only host bytes are moved while the queue holds fewer than this, so guest replies keep room. */
    private static final int HOST_FILL_LIMIT = 16;
    /** A set-2 0xF0 (break) prefix seen by the translator, waiting for its code. */
    private boolean translateBreak;
    private final int[] codes = new int[4];

    public I8042(Runnable reset, BiConsumer<Integer, Boolean> irq) {
        this.reset = reset;
        this.irq = irq;
        reset();
    }

    public synchronized void reset() {
        qHead = 0;
        qCount = 0;
        status = STATUS_SYS | STATUS_UNLOCKED;
        ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
        outputPort = 0x03; // reset line high (inactive), A20 enabled
        pendingCommand = 0;
        pendingKbdCommand = 0;
        scanning = true;
        scancodeSet = 2;
        mouse.reset();
        hostInput.clear();
        translateBreak = false;
        updateIrq();
    }

    /**
     * A key from the console (Linux key code), as the keyboard sends it in scan-code set 2 and the
     * controller passes it on (translated to set 1 when the command byte asks, as PCs boot). Dropped
     * while the keyboard is not scanning; a full backlog drops the key.
     */
    public synchronized void keyInput(int linuxKeyCode, boolean down) {
        if (!scanning) {
            return;
        }
        int n = ScanCodes.set2(linuxKeyCode, down, codes);
        if (n == 0 || hostInput.size() + n > HOST_INPUT_MAX) {
            return;
        }
        for (int i = 0; i < n; i++) {
            hostInput.add(codes[i]);
        }
        pump();
        updateIrq();
    }

    /** Pointer motion and buttons from the console, reported by the PS/2 mouse when it streams. */
    public synchronized void pointerInput(int deltaX, int deltaY, int rfbButtons) {
        if (!mouse.move(deltaX, deltaY, rfbButtons)) {
            return;
        }
        do {
            if (hostInput.size() + 3 > HOST_INPUT_MAX) {
                return;
            }
            mouse.packet(b -> hostInput.add(b | 0x100));
        } while (mouse.hasMovement());
        pump();
        updateIrq();
    }

    /** Moves host bytes into the output queue while it has room, translating keyboard bytes. */
    private void pump() {
        while (!hostInput.isEmpty() && qCount < HOST_FILL_LIMIT) {
            int v = hostInput.poll();
            boolean aux = (v & 0x100) != 0;
            int b = v & 0xff;
            if (aux) {
                if ((ctr & CTR_AUX_DISABLE) == 0) {
                    enqueue(b, true);
                }
                continue;
            }
            if ((ctr & CTR_KBD_DISABLE) != 0) {
                continue;
            }
            if ((ctr & CTR_XLATE) == 0 || b == 0xe0 || b == 0xe1) {
                enqueue(b, false);
            } else if (b == 0xf0) {
                translateBreak = true;
            } else {
                int set1 = ScanCodes.SET2_TO_SET1[b];
                enqueue((set1 == 0xff ? b : set1) | (translateBreak ? 0x80 : 0), false);
                translateBreak = false;
            }
        }
    }

    /** Every guest-visible bit, between accesses (see {@link I8042State}). */
    public synchronized I8042State saveState() {
        byte[] q = new byte[qCount];
        boolean[] aux = new boolean[qCount];
        for (int i = 0; i < qCount; i++) {
            int at = (qHead + i) % queue.length;
            q[i] = (byte) queue[at];
            aux[i] = queueAux[at];
        }
        return new I8042State(status, ctr, outputPort, pendingCommand, pendingKbdCommand, scanning, scancodeSet, q, aux,
                mouse.save());
    }

    /** Puts the controller in {@code s} and drives its interrupt lines to match (low as well as high). */
    public synchronized void restoreState(I8042State s) {
        status = s.status() & 0xff;
        ctr = s.ctr() & 0xff;
        outputPort = s.outputPort() & 0xff;
        pendingCommand = s.pendingCommand() & 0xff;
        pendingKbdCommand = s.pendingKbdCommand() & 0xff;
        scanning = s.scanning();
        scancodeSet = s.scancodeSet() & 3;
        byte[] q = s.queue();
        boolean[] aux = s.queueAux();
        qHead = 0;
        qCount = q.length;
        for (int i = 0; i < q.length; i++) {
            queue[i] = q[i] & 0xff;
            queueAux[i] = aux[i];
        }
        int[] m = s.mouse();
        if (m.length == Ps2Mouse.STATE_INTS) {
            mouse.restore(m);
        } else {
            mouse.reset(); // a version-1 record: no mouse then
        }
        hostInput.clear();
        kbdIrqHigh = false;
        auxIrqHigh = false;
        updateIrq();
        // Both lines driven, low included: the controllers' restored record may hold one high (see Uart16550.restoreState).
        if (!kbdIrqHigh) {
            irq.accept(KBD_IRQ, false);
        }
        if (!auxIrqHigh) {
            irq.accept(AUX_IRQ, false);
        }
    }

    private void enqueue(int value, boolean aux) {
        if (qCount == queue.length) {
            return; // the guest is not reading; drop, as a real buffer would
        }
        int at = (qHead + qCount) % queue.length;
        queue[at] = value & 0xff;
        queueAux[at] = aux;
        qCount++;
    }

    private void updateIrq() {
        boolean kbd = false;
        boolean aux = false;
        if (qCount > 0) {
            status |= STATUS_OBF;
            boolean isAux = queueAux[qHead];
            status = isAux ? status | STATUS_AUX : status & ~STATUS_AUX;
            kbd = !isAux && (ctr & CTR_KBD_INT) != 0;
            aux = isAux && (ctr & CTR_AUX_INT) != 0;
        } else {
            status &= ~(STATUS_OBF | STATUS_AUX);
        }
        if (kbd != kbdIrqHigh) {
            kbdIrqHigh = kbd;
            irq.accept(KBD_IRQ, kbd);
        }
        if (aux != auxIrqHigh) {
            auxIrqHigh = aux;
            irq.accept(AUX_IRQ, aux);
        }
    }

    @Override
    public int ioRead(int offset, int size) {
        int v;
        synchronized (this) {
            if (offset == 4) {
                return status;
            }
            if (offset != 0) {
                return 0xff;
            }
            if (qCount == 0) {
                return 0x00;
            }
            v = queue[qHead];
            qHead = (qHead + 1) % queue.length;
            qCount--;
            pump();
            // Like the real controller's one-byte output buffer, each byte is its own interrupt: the
            // line drops when the byte is read and rises again for the next, so an edge-triggered
            // IRQ 1/12 sees every byte (ACK then the two ID bytes of GETID, a key's E0 prefix...).
            if (qCount > 0) {
                if (kbdIrqHigh) {
                    kbdIrqHigh = false;
                    irq.accept(KBD_IRQ, false);
                }
                if (auxIrqHigh) {
                    auxIrqHigh = false;
                    irq.accept(AUX_IRQ, false);
                }
            }
            updateIrq();
        }
        return v;
    }

    @Override
    public void ioWrite(int offset, int size, int value) {
        boolean doReset;
        synchronized (this) {
            value &= 0xff;
            if (offset == 4) {
                status |= STATUS_CMD;
                doReset = command(value);
            } else if (offset == 0) {
                status &= ~STATUS_CMD;
                doReset = data(value);
            } else {
                return;
            }
            updateIrq();
        }
        if (doReset) {
            reset.run();
        }
    }

    /** Returns true if the machine must reset. */
    private boolean command(int cmd) {
        switch (cmd) {
            case 0x20 -> enqueue(ctr, false);
            case 0x60, 0xd1, 0xd2, 0xd3, 0xd4 -> pendingCommand = cmd;
            case 0xa7 -> ctr |= CTR_AUX_DISABLE;
            case 0xa8 -> ctr &= ~CTR_AUX_DISABLE;
            case 0xa9 -> enqueue(0x00, false); // AUX interface test: OK
            case 0xaa -> {
                enqueue(0x55, false); // self-test passed
                status |= STATUS_SYS;
            }
            case 0xab -> enqueue(0x00, false); // keyboard interface test: OK
            case 0xad -> ctr |= CTR_KBD_DISABLE;
            case 0xae -> ctr &= ~CTR_KBD_DISABLE;
            case 0xc0 -> enqueue(0x80, false); // input port: keyboard not locked
            case 0xd0 -> enqueue(outputPort, false);
            default -> {
                if (cmd >= 0xf0 && (cmd & 0x01) == 0) {
                    return true; // pulse output line 0: system reset (0xFE)
                }
            }
        }
        return false;
    }

    private boolean data(int value) {
        int cmd = pendingCommand;
        pendingCommand = 0;
        switch (cmd) {
            case 0x60 -> {
                ctr = value;
                if ((value & CTR_SYS) != 0) {
                    status |= STATUS_SYS;
                } else {
                    status &= ~STATUS_SYS;
                }
                return false;
            }
            case 0xd1 -> {
                outputPort = value;
                return (value & 0x01) == 0; // reset line driven low
            }
            case 0xd2 -> {
                enqueue(value, false);
                return false;
            }
            case 0xd3 -> {
                enqueue(value, true); // AUX loopback
                return false;
            }
            case 0xd4 -> {
                mouse.command(value, b -> enqueue(b, true));
                return false;
            }
            default -> {
                keyboard(value);
                return false;
            }
        }
    }

    private static final int ACK = 0xfa;

    /** A byte for the keyboard itself. */
    private void keyboard(int value) {
        int param = pendingKbdCommand;
        if (param != 0) {
            pendingKbdCommand = 0;
            if (param == 0xf0 && value == 0) {
                enqueue(ACK, false);
                enqueue(scancodeSet, false);
                return;
            }
            if (param == 0xf0) {
                scancodeSet = value & 3;
            }
            enqueue(ACK, false);
            return;
        }
        switch (value) {
            case 0xff -> { // reset: ACK then BAT passed
                scanning = true;
                enqueue(ACK, false);
                enqueue(0xaa, false);
            }
            case 0xf2 -> { // identify: MF2 keyboard, translated
                enqueue(ACK, false);
                enqueue(0xab, false);
                enqueue((ctr & CTR_XLATE) != 0 ? 0x41 : 0x83, false);
            }
            case 0xee -> enqueue(0xee, false); // echo
            case 0xf4 -> {
                scanning = true;
                enqueue(ACK, false);
            }
            case 0xf5, 0xf6 -> {
                scanning = value == 0xf6;
                enqueue(ACK, false);
            }
            case 0xed, 0xf3, 0xf0 -> {
                pendingKbdCommand = value;
                enqueue(ACK, false);
            }
            default -> enqueue(ACK, false);
        }
    }

    synchronized boolean scanning() {
        return scanning;
    }
}
