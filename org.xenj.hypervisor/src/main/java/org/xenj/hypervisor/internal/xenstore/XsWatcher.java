package org.xenj.hypervisor.internal.xenstore;

/** Receives watch events of one connection: the path that changed and the watch's token. */
@FunctionalInterface
public interface XsWatcher {
    void event(String path, String token);
}
