/**
 * The block layer: disk images as files (raw, qcow2) for every consumer that serves a guest a disk
 * — Domain 0's blkback and qemu-dm's emulated IDE — and the xl disk-spec parser both the
 * toolstack and the backends read {@code disk = [...]} with. Consumers get {@link BlockImages}
 * as a service and never implement these types, except {@link org.xenj.dom0.block.api.RemovableMedia}:
 * the CD-ROM drives a consumer serves, for the toolstack's medium changes.
 */
@Version("1.2.0")
@Export
package org.xenj.dom0.block.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
