package org.xenj.hypervisor.internal.cpu.diff;

/** Who answered a case: which real (or second-opinion) CPU the emulator was compared against. */
enum Oracle {
    /** The host CPU running the i386 runner: every case. */
    NATIVE32("native32"),
    /** The host CPU in 64-bit mode: the cases {@link LongModeEncoder} accepts. */
    NATIVE64("native64"),
    /** The i386 runner under Debian's qemu-i386: a different emulator, not hardware. */
    QEMU_USER("qemu-user"),
    /** Nothing on this host can answer: reported as such, never as passed. */
    NONE("none");

    final String label;

    Oracle(String label) {
        this.label = label;
    }

    @Override
    public String toString() {
        return label;
    }
}
