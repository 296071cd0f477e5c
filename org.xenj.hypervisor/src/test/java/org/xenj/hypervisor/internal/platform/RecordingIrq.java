package org.xenj.hypervisor.internal.platform;

import java.util.ArrayList;
import java.util.List;

/** Records every line change a device makes. */
public final class RecordingIrq implements IrqLine {
    public final List<String> events = new ArrayList<>();
    public final boolean[] levels = new boolean[24];
    public int rises;

    @Override
    public void set(int irq, boolean level) {
        if (level && !levels[irq]) {
            rises++;
        }
        levels[irq] = level;
        events.add(irq + (level ? "+" : "-"));
    }
}
