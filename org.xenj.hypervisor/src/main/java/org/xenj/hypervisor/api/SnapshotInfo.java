package org.xenj.hypervisor.api;

/**
 * One snapshot in a domain's state tree ({@link Hypervisor#snapshots}), or what a snapshot
 * operation did.
 *
 * @param domain        the domain's name when the answer was made
 * @param name          the snapshot's name, unique within the domain's tree
 * @param parent        the snapshot the domain's state came from when this one was taken (null: a root)
 * @param current       whether the domain's state last came from (or was last captured as) this snapshot
 * @param createdMillis when it was taken (Unix ms)
 * @param guestNanos    the guest time it holds
 * @param bytes         the size of its image
 * @param pausedNanos   how long the domain was paused by the operation that answered (0 in a listing)
 * @param file          its image, a save stream {@link Hypervisor#restore} also reads
 * @since 1.4
 */
public record SnapshotInfo(String domain, String name, String parent, boolean current, long createdMillis, long guestNanos, long bytes,
        long pausedNanos, String file) {
}
