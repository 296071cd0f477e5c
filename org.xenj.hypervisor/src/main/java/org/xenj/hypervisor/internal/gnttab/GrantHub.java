package org.xenj.hypervisor.internal.gnttab;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import org.xenj.hypervisor.internal.mem.MachineMemory;

/** All domains' grant tables; one lock, since a map or copy touches two domains. */
public final class GrantHub {

    final Object lock = new Object();
    final MachineMemory machine;
    private final ConcurrentMap<Integer, GrantTable> tables = new ConcurrentHashMap<>();

    public GrantHub(MachineMemory machine) {
        this.machine = machine;
    }

    public GrantTable register(int domid, GrantFrames frames, GrantHostMapper mapper, int maxFrames) {
        GrantTable t = new GrantTable(this, domid, frames, mapper, maxFrames);
        if (tables.putIfAbsent(domid, t) != null) {
            throw new IllegalStateException("domain " + domid + " already has a grant table");
        }
        return t;
    }

    public GrantTable table(int domid) {
        return tables.get(domid);
    }

    /**
     * Tears down a dying domain's grants before its memory is freed: its own mappings are released
     * (pins of granters drop) and every mapping others hold of its frames is revoked, so no backend
     * keeps a window on memory about to be reused.
     */
    public void unregister(int domid) {
        synchronized (lock) {
            GrantTable dying = tables.get(domid);
            if (dying == null) {
                return;
            }
            dying.releaseAllMappingsLocked();
            List<GrantTable> others = new ArrayList<>(tables.values());
            for (GrantTable t : others) {
                if (t != dying) {
                    t.revokeMappingsOfLocked(domid);
                }
            }
            tables.remove(domid, dying);
        }
    }
}
