/**
 * Domain 0's network backend as the toolstack sees it: a domain's PV network devices (vifs), hot
 * plugging and unplugging them (xl's {@code network-attach}/{@code network-detach}/{@code network-list}).
 * Consumers get {@link org.xenj.dom0.netback.api.NetworkService} as a service and never implement it.
 */
@Version("1.0.0")
@Export
package org.xenj.dom0.netback.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
