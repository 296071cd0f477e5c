package org.xenj.hypervisor.api;

/** The states {@code xl list} shows as r b p s c d. */
public enum DomainState {
    RUNNING('r'), BLOCKED('b'), PAUSED('p'), SHUTDOWN('s'), CRASHED('c'), DYING('d');

    private final char flag;

    DomainState(char flag) {
        this.flag = flag;
    }

    /** The column letter {@code xl list} prints for this state. */
    public char flag() {
        return flag;
    }
}
