package org.xenj.hypervisor.internal.domain;

import java.util.BitSet;
import java.util.Map;
import java.util.function.Consumer;

import org.xenj.hypervisor.api.HypervisorException;
import org.xenj.hypervisor.api.MigrationInfo;
import org.xenj.hypervisor.internal.save.MachineImage;

/**
 * The PVHVM steps of a live migration's source ({@link LiveMigration}), as libxl drives Xen's
 * protocol: the pre-copy rounds run while the guest runs and leave Xen's own frames in its physmap
 * out (shared_info, grant frames, the xenstore and console rings: the destination has its own);
 * at the stop the guest is asked to suspend itself ({@code control/shutdown = suspend}: its
 * frontends wait, its vCPU sits in {@code SCHEDOP_shutdown(SHUTDOWN_suspend)}); its Dom0 backends
 * are then released (state taken, disk images closed), because the destination's backends open the
 * same images when the guest's frontends reconnect there. If the migration fails before the
 * destination runs it, the backends attach again from their records and the suspend is cancelled
 * (the hypercall returns 1): the guest goes on here with its rings as they were.
 */
final class PvhvmMigration {

    private final HypervisorCore core;
    private final DomainImpl d;
    private final Consumer<MigrationInfo.Progress> progress;
    private BitSet xenFrames;
    private boolean suspended;
    private Map<String, byte[]> backends;
    private long releaseNanos;

    PvhvmMigration(HypervisorCore core, DomainImpl d, Consumer<MigrationInfo.Progress> progress) {
        this.core = core;
        this.d = d;
        this.progress = progress;
    }

    /** Why this PVHVM domain cannot be live-migrated now, or null. */
    static String refusal(DomainImpl d) {
        if (d.userPaused) {
            return "it is paused: a PVHVM guest suspends itself at the stop of a migration, so it must run (xen:unpause it first)";
        }
        if (d.sched.vcpuCount() > 1) {
            return "it uses Xen's PV interfaces with " + d.sched.vcpuCount() + " vCPUs: Linux's resume takes the other vCPUs down and"
                    + " up with VCPUOP_down/up, which xenj does not offer HVM guests yet (one vCPU migrates)";
        }
        return null;
    }

    /** The guest frames that are Xen's now; every round leaves them out. */
    BitSet xenFrames() {
        xenFrames = d.guest.xenFrameGfns();
        return xenFrames;
    }

    /** Asks the guest to suspend itself and waits until it has (throws with the reason; it runs on). */
    void suspend(long pagesSent, double bytesPerNano) {
        progress.accept(new MigrationInfo.Progress("suspending", 0, pagesSent, 0, bytesPerNano * 1e3, 0));
        PvhvmSuspend.Timing t = core.suspend.suspend(d, core.suspend.ackMillis, core.suspend.suspendMillis);
        suspended = true;
        progress.accept(new MigrationInfo.Progress("suspended", 0, pagesSent, 0, bytesPerNano * 1e3, t.suspendedNanos() / 1e6));
    }

    /**
     * With the guest suspended and its vCPUs stopped: checks that Xen's frames are where the rounds
     * left them out, then releases its backends.
     */
    void releaseBackends(MachineImage m) {
        if (m.pvhvm() == null) {
            throw new HypervisorException("it did not suspend through Xen's protocol");
        }
        BitSet now = new BitSet();
        for (int g : m.pvhvm().xenFrameGfns()) {
            now.set(g);
        }
        if (!now.equals(xenFrames)) {
            throw new HypervisorException("Xen's frames moved in its physmap during the pre-copy (" + xenFrames + " then " + now + ")");
        }
        long t0 = System.nanoTime();
        backends = core.backends().releaseForMigration(d.id);
        releaseNanos = System.nanoTime() - t0;
    }

    /** How long releasing the backends took (in the pause). */
    long releaseNanos() {
        return releaseNanos;
    }

    /** The migration failed before the destination ran it: the backends serve it here again. */
    void reattachBackends() {
        if (backends != null) {
            try {
                core.backends().reattachAfterMigration(d.id, backends);
            } catch (RuntimeException e) {
                core.log("d" + d.id + ": re-attaching its backends after a failed migration failed: " + e.getMessage());
            }
            backends = null;
        }
    }

    /** Ends the suspend in place (the hypercall returns 1), if the guest had suspended. */
    void cancel(String why) {
        if (suspended) {
            core.suspend.resumeCancelled(d, "the migration failed: " + why);
            suspended = false;
        }
    }
}
