package org.xenj.dom0.vswitch.api;

/** A learned address: {@code mac} as {@code 00:16:3e:12:34:56}, the port it was last seen on, and how long ago. */
public record MacEntry(String mac, String port, long ageMillis) {
}
