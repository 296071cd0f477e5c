/**
 * The hypervisor's management API: domains, their configuration, vCPU/pCPU views, cpupools and
 * consoles. The toolstack and any third-party management bundle use only this package.
 */
@Version("1.6.0")
@Export
package org.xenj.hypervisor.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
