package org.xenj.hypervisor.internal.cpu.diff;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs cases through one {@link Oracle}'s native runner ({@code src/test/native/diffrunner.c},
 * built by {@link HostOracles}). For {@link Oracle#NATIVE64} each case's long-mode encoding is
 * sent, and the EIP and x87 FIP the host reports are mapped back to the original code's offsets.
 */
final class NativeRunner {

    private NativeRunner() {
    }

    static List<DiffResult> run(List<DiffCase> cases, Oracle oracle) throws IOException, InterruptedException {
        boolean longMode = oracle == Oracle.NATIVE64;
        List<String> cmd = HostOracles.get().command(oracle);
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocate(16 + 8192 + 4096 + 512).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x32464458).putInt(cases.size());
        batch.write(b.array(), 0, b.position());
        for (DiffCase c : cases) {
            byte[] code = longMode ? c.longMode().code : c.code;
            b.clear();
            b.putInt(0);
            for (int r : c.gpr) {
                b.putInt(r);
            }
            b.putInt(c.eflags);
            b.put(c.fpu);
            b.putInt(c.mxcsr).put(c.xmm);
            b.putInt(c.data.length).put(c.data);
            b.putInt(code.length).put(code);
            batch.write(b.array(), 0, b.position());
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Thread writer = new Thread(() -> {
            try (OutputStream os = p.getOutputStream()) {
                batch.writeTo(os);
            } catch (IOException ignored) {
                // the reader reports the short output
            }
        });
        writer.start();
        List<DiffResult> results = new ArrayList<>(cases.size());
        try (InputStream is = p.getInputStream()) {
            DataInputStream in = new DataInputStream(is);
            byte[] fixed = new byte[8 + 32 + 8 + 108 + 4 + 128];
            for (DiffCase c : cases) {
                in.readFully(fixed);
                ByteBuffer r = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
                DiffResult res = new DiffResult();
                res.vector = r.getInt();
                res.errorCode = r.getInt();
                for (int i = 0; i < 8; i++) {
                    res.gpr[i] = r.getInt();
                }
                res.eflags = r.getInt();
                res.eip = r.getInt();
                r.get(res.fpu);
                res.mxcsr = r.getInt();
                r.get(res.xmm);
                res.data = new byte[c.data.length];
                in.readFully(res.data);
                if (longMode) {
                    mapBack(c.longMode(), res);
                }
                results.add(res);
            }
        }
        writer.join();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(oracle + " runner failed, exit " + p.exitValue());
        }
        return results;
    }

    /** EIP, FIP (FNSAVE offset 12) and FOP (offset 18) as the original code would leave them. */
    private static void mapBack(LongModeEncoder.Encoded enc, DiffResult res) {
        res.eip = enc.mapBack(res.eip, DiffCase.CODE_BASE);
        ByteBuffer f = FpuImage.le(res.fpu);
        int fip64 = f.getInt(12);
        int fopWord = f.getInt(16);
        int fop = enc.mapFop(fopWord >>> 16 & 0x7ff, fip64, DiffCase.CODE_BASE);
        f.putInt(16, fopWord & ~(0x7ff << 16) | fop << 16);
        f.putInt(12, enc.mapBack(fip64, DiffCase.CODE_BASE));
        ByteBuffer d = ByteBuffer.wrap(res.data).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] store : enc.envStores) {
            mapEnvImage(enc, d, store[0] - DiffCase.DATA_BASE, store[1] == 1);
        }
    }

    /**
     * In a stored x87 environment the 64-bit process's selectors stand where a 32-bit process's
     * would: CS 0x33 for the user code segment 0x23, and DS 0 (null in long mode) for the user data
     * segment 0x2b once an x87 memory operand set FDP (the emulator harness mirrors the 32-bit ones).
     */
    private static final int HOST_CS64 = 0x33, USER_CS32 = 0x23, HOST_DS64 = 0, USER_DS32 = 0x2b;

    /**
     * An FNSTENV/FNSAVE image the code stored in the data area (SDM vol. 1 §8.1.10, figures 8-9
     * and 8-10): FIP, FOP and FCS as the original code would have stored them in protected mode.
     */
    private static void mapEnvImage(LongModeEncoder.Encoded enc, ByteBuffer d, int off, boolean format16) {
        if (off < 0 || off + 28 > d.capacity()) {
            return;
        }
        if (format16) { // FIP 15..0 at +6, FCS at +8, FDP at +10, FDS at +12
            int fip = d.getShort(off + 6) & 0xffff;
            int mapped = enc.mapBack(DiffCase.CODE_BASE | fip, DiffCase.CODE_BASE);
            d.putShort(off + 6, (short) mapped);
            if ((d.getShort(off + 8) & 0xffff) == HOST_CS64) {
                d.putShort(off + 8, (short) USER_CS32);
            }
            int fdp16 = d.getShort(off + 10) & 0xffff;
            if ((d.getShort(off + 12) & 0xffff) == HOST_DS64 && fdp16 != 0) {
                d.putShort(off + 12, (short) USER_DS32);
            }
            return;
        }
        int fdp = d.getInt(off + 20);
        if ((d.getShort(off + 24) & 0xffff) == HOST_DS64 && fdp - DiffCase.DATA_BASE >= 0
                && fdp - DiffCase.DATA_BASE < DiffCase.DATA_MAX) {
            d.putShort(off + 24, (short) USER_DS32);
        }
        int fip64 = d.getInt(off + 12);
        int word = d.getInt(off + 16); // FCS 15..0, FOP 26..16
        int fop = enc.mapFop(word >>> 16 & 0x7ff, fip64, DiffCase.CODE_BASE);
        int fcs = (word & 0xffff) == HOST_CS64 ? USER_CS32 : word & 0xffff;
        d.putInt(off + 16, word & 0xf800_0000 | fop << 16 | fcs);
        d.putInt(off + 12, enc.mapBack(fip64, DiffCase.CODE_BASE));
    }
}
