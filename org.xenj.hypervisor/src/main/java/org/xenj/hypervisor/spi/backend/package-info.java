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
 *
 * <p>Since 1.1: hand-over. When a backend's bundle stops, is updated or replaced while domains
 * run, the hypervisor asks each of its instances for a state record
 * ({@link org.xenj.hypervisor.spi.backend.BackendInstance#saveState}: quiesced, nothing in flight)
 * and gives it to the next backend of the kind
 * ({@link org.xenj.hypervisor.spi.backend.Backend#attach(BackendContext, byte[])}), which maps the
 * rings again and carries on ({@link org.xenj.hypervisor.spi.backend.SharedRing#resume}) without
 * the frontend seeing a reconnect. Until one appears the frontend's requests wait on its ring.
 *
 * <p>Since 1.2: {@link org.xenj.hypervisor.spi.backend.SharedRing#awaitRequests} for a consumer that
 * needs several requests at once (a packet over several rx buffers).
 */
@Version("1.2.0")
@Export
package org.xenj.hypervisor.spi.backend;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
