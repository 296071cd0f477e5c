package org.xenj.dom0.netback.internal;

import java.util.function.Consumer;

/**
 * What one vif saw, from the guest's side of the wire: frames it sent (tx) and got (rx), and the
 * ones refused. Error messages are logged for the first few occurrences only, so a hostile
 * frontend cannot flood Dom0's log. Updated on the backend's executor, read from anywhere.
 */
final class VifStats {

    private static final int LOGGED_ERRORS = 10;

    private final Consumer<String> log;
    volatile long txFrames, txBytes, txErrors, txDropped, rxFrames, rxBytes, rxErrors, rxDropped;
    private volatile String lastError;
    private int logged;

    VifStats(Consumer<String> log) {
        this.log = log;
    }

    NetbackState.Counters save() {
        return new NetbackState.Counters(txFrames, txBytes, txErrors, txDropped, rxFrames, rxBytes, rxErrors, rxDropped);
    }

    void restore(NetbackState.Counters c) {
        txFrames = c.txFrames();
        txBytes = c.txBytes();
        txErrors = c.txErrors();
        txDropped = c.txDropped();
        rxFrames = c.rxFrames();
        rxBytes = c.rxBytes();
        rxErrors = c.rxErrors();
        rxDropped = c.rxDropped();
    }

    void txSent(int bytes) {
        txFrames++;
        txBytes += bytes;
    }

    void txDropped() {
        txDropped++;
    }

    void txError(String why) {
        txErrors++;
        note(why);
    }

    void rxDelivered(int bytes) {
        rxFrames++;
        rxBytes += bytes;
    }

    void rxDropped() {
        rxDropped++;
    }

    void rxError(String why) {
        rxErrors++;
        note(why);
    }

    /** The connection ends: always logged. */
    void fatal(String why) {
        lastError = why;
        log.accept(why + "; disconnected");
    }

    private void note(String why) {
        lastError = why;
        if (logged < LOGGED_ERRORS) {
            logged++;
            log.accept(why + (logged == LOGGED_ERRORS ? " (further errors of this vif are counted, not logged)" : ""));
        }
    }

    String lastError() {
        return lastError;
    }
}
