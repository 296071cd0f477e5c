package org.xenj.hypervisor.internal.pv;

import org.xenj.hypervisor.internal.mem.PvPageTables;

import org.xenj.hypervisor.internal.cpu.Cpu;
import org.xenj.hypervisor.internal.hypercall.XenDomain;
import org.xenj.hypervisor.internal.hypercall.XenVcpu;

/**
 * What Xen emulates when a ring-1 kernel executes a privileged instruction (#GP): HLT (block),
 * CLI/STI (the event mask), port I/O (a domU has no ports: reads all ones), CLTS, WBINVD/INVD,
 * RDMSR/WRMSR (reads 0, writes ignored), MOV from/to CR0/CR2/CR3/CR4 (the virtual values; a CR3
 * write is a validated new base). Anything else is bounced to the guest as the #GP it was. Also
 * the forced-emulation prefix {@code ud2; .ascii "xen"; cpuid}.
 */
final class PvPrivilegedOps {

    private static final byte[] FORCED_EMULATION = {0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, (byte) 0xa2};
    private static final int CR0_VIRTUAL = 0x80010033; // PG WP NE ET MP PE

    private final XenDomain d;
    private final XenVcpu v;
    private final Cpu cpu;

    PvPrivilegedOps(XenDomain d, XenVcpu v, Cpu cpu) {
        this.d = d;
        this.v = v;
        this.cpu = cpu;
    }

    private int peek(int i) {
        return cpu.readLinear8(cpu.getSegBase(1) + cpu.getEip() + i);
    }

    /** The prefix at EIP: skip it and let the CPU execute the CPUID that follows (with the Xen leaves). */
    boolean forcedEmulationPrefix() {
        try {
            for (int i = 0; i < 5; i++) {
                if ((byte) peek(i) != FORCED_EMULATION[i]) {
                    return false;
                }
            }
            if (peek(5) != 0x0f || peek(6) != 0xa2) {
                return false;
            }
        } catch (RuntimeException fault) {
            return false;
        }
        cpu.setEip(cpu.getEip() + 5);
        return true;
    }

    /** Emulates the instruction at EIP if it is one a PV kernel may use; false to bounce the #GP. */
    boolean emulate() {
        int op;
        int op2;
        int modrm;
        try {
            op = peek(0);
            op2 = op == 0x0f ? peek(1) : 0;
            modrm = op == 0x0f && (op2 == 0x20 || op2 == 0x22) ? peek(2) : 0;
        } catch (RuntimeException fault) {
            return false;
        }
        int eip = cpu.getEip();
        switch (op) {
            case 0xf4 -> { // HLT: block with events enabled, like SCHEDOP_block
                d.events.setUpcallMask(v.id, false);
                cpu.setEip(eip + 1);
                if (!d.events.upcallPending(v.id)) {
                    v.blockRequested = true;
                }
                return true;
            }
            case 0xfa, 0xfb -> {
                d.events.setUpcallMask(v.id, op == 0xfa);
                cpu.setEip(eip + 1);
                return true;
            }
            case 0xe4, 0xe5, 0xec, 0xed -> {
                int size = op == 0xe4 || op == 0xec ? 1 : 4;
                int old = cpu.getReg32(0);
                cpu.setReg32(0, size == 1 ? old | 0xff : -1);
                cpu.setEip(eip + (op < 0xe8 ? 2 : 1));
                return true;
            }
            case 0xe6, 0xe7, 0xee, 0xef -> {
                cpu.setEip(eip + (op < 0xe8 ? 2 : 1));
                return true;
            }
            case 0x0f -> {
                return emulate0f(op2, modrm, eip);
            }
            default -> {
                return false;
            }
        }
    }

    private boolean emulate0f(int op2, int modrm, int eip) {
        switch (op2) {
            case 0x06 -> { // CLTS
                v.fpuTaskSwitched = false;
                cpu.setEip(eip + 2);
                return true;
            }
            case 0x08, 0x09 -> {
                cpu.setEip(eip + 2);
                return true;
            }
            case 0x32 -> {
                cpu.setReg32(0, 0);
                cpu.setReg32(2, 0);
                cpu.setEip(eip + 2);
                return true;
            }
            case 0x30 -> {
                cpu.setEip(eip + 2);
                return true;
            }
            case 0x20, 0x22 -> {
                if ((modrm & 0xc0) != 0xc0) {
                    return false;
                }
                int cr = modrm >>> 3 & 7;
                int reg = modrm & 7;
                if (op2 == 0x20) {
                    int value = switch (cr) {
                        case 0 -> CR0_VIRTUAL | (v.fpuTaskSwitched ? 8 : 0);
                        case 2 -> cpu.getCr(2);
                        case 3 -> (int) v.cr3;
                        case 4 -> PvVcpu.GUEST_CR4;
                        default -> -1;
                    };
                    if (cr == 1 || cr > 4) {
                        return false;
                    }
                    cpu.setReg32(reg, value);
                } else {
                    int value = cpu.getReg32(reg);
                    switch (cr) {
                        case 0 -> v.fpuTaskSwitched = (value & 8) != 0;
                        case 4 -> { } // as Xen: a PV guest cannot change CR4 (logged there, ignored here)
                        case 3 -> {
                            if (!newBase(value)) {
                                return false;
                            }
                        }
                        default -> {
                            return false;
                        }
                    }
                }
                cpu.setEip(eip + 3);
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private boolean newBase(int cr3) {
        int mfn = cr3 >>> 12;
        synchronized (d.mmuLock) {
            if (d.pageTables.getType(mfn, PvPageTables.L3) != 0) {
                return false;
            }
            long old = v.cr3;
            v.cr3 = (long) mfn << 12;
            if (old != 0) {
                d.pageTables.putType((int) (old >>> 12));
            }
        }
        return true;
    }
}
