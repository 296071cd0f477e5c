package org.xenj.hypervisor.internal.cpu.diff;

/**
 * One differential test case: the initial machine state (registers, EFLAGS, x87 image, data
 * area) and the code bytes, plus what to ignore when comparing (undefined flags, undefined x87
 * condition codes, last-bit differences of the double-based transcendental instructions).
 */
final class DiffCase {

    static final int CODE_BASE = 0x1000_0000;
    static final int DATA_BASE = 0x2000_0000;
    static final int DATA_MAX = 0x2000;
    /** CF PF AF ZF SF DF OF. */
    static final int ARITH_FLAGS = 0x0CD5;

    final String group;
    final String name;
    final int[] gpr = new int[8];
    int eflags = 0x202;
    final byte[] fpu = FpuImage.initial();
    byte[] data = new byte[256];
    /** MXCSR and XMM0-7 (16 little-endian bytes each) before the code runs; compared after. */
    int mxcsr = 0x1F80;
    final byte[] xmm = new byte[128];
    /**
     * XMM single-precision lanes compared with a relative tolerance of 2^-10 (RCPPS/RSQRTPS: the
     * SDM bounds their error by 1.5 * 2^-12 and leaves the low bits to the implementation).
     */
    boolean approximateXmm;
    byte[] code;
    /** EFLAGS bits compared (undefined flags removed). */
    int flagsCompared = ARITH_FLAGS;
    /** x87 status-word bits not compared (undefined condition codes). */
    int statusIgnored;
    /** Registers compared with a relative tolerance (transcendentals computed in double). */
    boolean approximateFpu;
    boolean compareFpu = true;
    /**
     * The case stores x87 environments with a 16-bit operand size (FIP/FOP/FDP at bytes 6-13 of the
     * image rather than 12-27): where the native CPU keeps no FOP/FDP, {@link DiffComparator} skips
     * those bytes of the image at {@link X87Cases#ENV}.
     */
    boolean env16;
    /** Data bytes not compared where set (host-specific fields of FXSAVE images); null = compare all. */
    boolean[] ignoredData;

    void ignoreData(int from, int to) {
        if (ignoredData == null) {
            ignoredData = new boolean[data.length];
        }
        java.util.Arrays.fill(ignoredData, from, to, true);
    }

    /**
     * Why qemu-i386 cannot answer this case (QEMU's user-mode emulator does not model it), or null.
     * Such a case has an oracle only where the host runs i386 code.
     */
    String qemuUserBlind;

    private LongModeEncoder.Encoded longMode;
    private boolean longModeChecked;

    /**
     * The code rewritten for 64-bit mode when this case's results are the same there (see
     * {@link LongModeEncoder}), else null: the case exists only outside long mode.
     */
    LongModeEncoder.Encoded longMode() {
        if (!longModeChecked) {
            longMode = LongModeEncoder.encode(code);
            longModeChecked = true;
        }
        return longMode;
    }

    DiffCase(String group, String name, byte[] code) {
        this.group = group;
        this.name = name;
        this.code = code;
        gpr[4] = DATA_BASE + 0x100 - 0x10; // a stack inside the data area
    }

    int dataLen() {
        return data.length;
    }

    static byte[] bytes(int... b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = (byte) b[i];
        }
        return r;
    }

    static String hex(byte[] code) {
        StringBuilder sb = new StringBuilder();
        for (byte b : code) {
            sb.append(String.format("%02x ", b & 0xff));
        }
        return sb.toString().trim();
    }

    @Override
    public String toString() {
        return group + "/" + name + " [" + hex(code) + "]";
    }
}
