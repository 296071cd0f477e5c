/**
 * Hot-plug of virtual block devices into running domains, the way xl's {@code block-attach},
 * {@code block-detach} and {@code block-list} do it: {@link BlockHotplug} is a service of the
 * blkback bundle; the toolstack's {@code xen:block-*} commands are thin shells over it.
 */
@Version("1.0.0")
@Export
package org.xenj.dom0.blkback.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
