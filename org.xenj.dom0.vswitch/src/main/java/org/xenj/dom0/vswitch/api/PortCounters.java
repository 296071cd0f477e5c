package org.xenj.dom0.vswitch.api;

/**
 * A port's counters, seen from the switch as a hardware switch counts them: {@code rx} is what
 * the switch received from the port (the NIC sent it), {@code tx} what the switch transmitted to
 * the port (delivered to the NIC's receiver). {@code rxDrops} are frames refused on the way in
 * (malformed, port closed); {@code txDrops} frames for this port that found its queue full or that
 * its receiver failed on.
 */
public record PortCounters(long rxFrames, long rxBytes, long rxDrops, long txFrames, long txBytes, long txDrops) {
}
