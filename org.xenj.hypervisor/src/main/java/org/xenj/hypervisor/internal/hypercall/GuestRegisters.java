package org.xenj.hypervisor.internal.hypercall;

/**
 * The vCPU registers a few hypercalls change (iret, the callbacks' bounce frames). Implemented by
 * the CPU adapter for a running guest; a plain holder in tests. Indices follow the IA-32
 * encoding order: EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI.
 */
public interface GuestRegisters {
    int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    int get(int reg);

    void set(int reg, int value);

    int eip();

    void setEip(int eip);

    int eflags();

    void setEflags(int eflags);

    int cs();

    int ss();

    /** Loads CS and SS with the given selectors (privilege already checked by the caller). */
    void loadSegments(int cs, int ss);

    /** A plain register file, for tests and for building a vCPU's initial state. */
    final class Plain implements GuestRegisters {
        public final int[] gpr = new int[8];
        public int eip;
        public int eflags = 0x202;
        public int cs;
        public int ss;

        @Override
        public int get(int reg) {
            return gpr[reg];
        }

        @Override
        public void set(int reg, int value) {
            gpr[reg] = value;
        }

        @Override
        public int eip() {
            return eip;
        }

        @Override
        public void setEip(int v) {
            eip = v;
        }

        @Override
        public int eflags() {
            return eflags;
        }

        @Override
        public void setEflags(int v) {
            eflags = v;
        }

        @Override
        public int cs() {
            return cs;
        }

        @Override
        public int ss() {
            return ss;
        }

        @Override
        public void loadSegments(int cs, int ss) {
            this.cs = cs;
            this.ss = ss;
        }
    }
}
