package org.xenj.hypervisor.internal.pool;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.xenj.hypervisor.spi.SchedulerType;

/**
 * The scheduler types currently registered, newest last. Two services may carry the same name
 * for a moment (an update registers the new one before the old goes): the newest wins, and
 * removing the old one by identity leaves the new one in place.
 */
final class SchedulerRegistry {

    private final List<SchedulerType> types = new ArrayList<>();

    void add(SchedulerType t) {
        types.remove(t);
        types.add(t);
    }

    boolean remove(SchedulerType t) {
        return types.remove(t);
    }

    boolean contains(SchedulerType t) {
        return types.contains(t);
    }

    /** The newest type of that name, or null. */
    SchedulerType byName(String name) {
        for (int i = types.size() - 1; i >= 0; i--) {
            if (name.equals(nameOf(types.get(i)))) {
                return types.get(i);
            }
        }
        return null;
    }

    /** Any type, preferring {@code preferred} by name, else the oldest registered. */
    SchedulerType any(String preferred) {
        SchedulerType t = preferred == null ? null : byName(preferred);
        return t != null ? t : types.isEmpty() ? null : types.get(0);
    }

    List<String> names() {
        Set<String> out = new LinkedHashSet<>();
        for (SchedulerType t : types) {
            String n = nameOf(t);
            if (n != null) {
                out.add(n);
            }
        }
        return new ArrayList<>(out);
    }

    /** A third-party type whose name() throws is treated as nameless rather than breaking us. */
    static String nameOf(SchedulerType t) {
        try {
            return t.name();
        } catch (RuntimeException e) {
            return null;
        }
    }
}
