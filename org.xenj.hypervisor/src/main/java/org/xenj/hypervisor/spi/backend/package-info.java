/**
 * Domain 0 backends as plugins: a {@link org.xenj.hypervisor.spi.backend.Backend} service serves
 * one device kind ({@code vbd}, {@code vif}, ...) for every domain whose configuration asks for
 * it. For each such domain the hypervisor gives it a
 * {@link org.xenj.hypervisor.spi.backend.BackendContext}: xenstore with Domain 0's permissions,
 * event channels to the frontend delivered on the backend's own executor (never a guest vCPU
 * thread), the frontend's grants with its rights checked, and
 * {@link org.xenj.hypervisor.spi.backend.SharedRing} for Xen's {@code io/ring.h} rings, which
 * reports a hostile peer instead of trusting it. A backend that throws is detached from that
 * domain only, with a line in dmesg. {@link org.xenj.hypervisor.spi.backend.BackendHotplug} lets a
 * backend's hot-plug service serve a domain whose configuration did not name its kind.
 */
@Version("1.1.0")
@Export
package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
