/**
 * Service provider interfaces: what policy and driver bundles implement (schedulers, device
 * models) and the narrow views of the hypervisor they are given.
 */
@Version("1.10.0")
@Export
package org.xenj.hypervisor.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
