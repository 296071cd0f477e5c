package org.xenj.hypervisor.api;

/** A physical CPU (a host worker thread). {@code runningDomid} is -1 when idle. */
public record PCpuInfo(int id, String pool, int runningDomid, int runningVcpu, long busyNanos, long idleNanos) {
}
