package org.xenj.dom0.netback.api;

import org.xenj.dom0.vswitch.api.PortCounters;

/**
 * One vif: its device id, MAC, bridge, the xenbus states of both ends (numbers as in xenstore:
 * 1 Initialising … 4 Connected … 6 Closed), its switch port's counters (zero while not connected),
 * what netback itself counted — frames copied into the guest's rx buffers ({@code toGuest}), frames
 * taken from its tx ring into the switch ({@code fromGuest}), frames refused or dropped either way
 * ({@code refused}) — and, when the backend refused the frontend or its last error, why.
 */
public record VifInfo(int domid, int devid, String mac, String bridge, int backendState, int frontendState,
        PortCounters counters, long toGuest, long fromGuest, long refused, String error) {
}
