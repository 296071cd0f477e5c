/**
 * Adding hypercalls from other bundles: register a {@link org.xenj.hypervisor.spi.hypercall.HypercallExtension}
 * service for a number Xen's table leaves free; the hypervisor calls it with a
 * {@link org.xenj.hypervisor.spi.hypercall.HypercallCall} giving the arguments and checked access to
 * the caller's memory. Built-in numbers cannot be overridden.
 */
@Version("1.0.0")
@Export
package org.xenj.hypervisor.spi.hypercall;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
