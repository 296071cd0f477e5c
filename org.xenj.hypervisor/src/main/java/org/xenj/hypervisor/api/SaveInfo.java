package org.xenj.hypervisor.api;

/**
 * What {@link Hypervisor#save} did.
 *
 * @param file         the image written
 * @param bytes        its size
 * @param pages        guest pages written with their contents
 * @param zeroPages    guest pages recorded as all-zero (no contents in the image)
 * @param pausedNanos  how long the domain was paused for the save (pause to written and synced)
 * @param destroyed    whether the domain was destroyed afterwards (false with {@code -p}: left paused)
 * @since 1.2
 */
public record SaveInfo(String file, long bytes, long pages, long zeroPages, long pausedNanos, boolean destroyed) {
}
