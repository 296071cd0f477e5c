/**
 * Domain 0's virtual switch: named bridges ({@code xenbr0} by default) whose ports are PV vifs
 * (netback), emulated NICs (qemu-dm) and host attachments (a TAP device). Each bridge learns
 * source MAC addresses (with ageing), forwards unicast frames to the port that owns the
 * destination, and floods broadcast, multicast and unknown destinations to every other port.
 * A frame handed to {@link org.xenj.dom0.vswitch.api.Port#send} is not copied by the switch: the
 * same array reaches every receiver, which must only read it. Delivery to a port runs on the executor that
 * port was attached with, never on the sender's thread; each port's queue is bounded, and a frame
 * that finds it full is dropped and counted.
 */
@Version("1.2.0")
@Export
package org.xenj.dom0.vswitch.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
