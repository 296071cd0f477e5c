package org.xenj.hypervisor.internal.save;

/**
 * The record types of a save stream ({@code DESIGN-save.md}). Numbers are part of the format and
 * never reused; 32–63 are reserved for live migration (dirty-page rounds, checkpoints) and 64–95
 * for the VM state tree, so that a reader of this version refuses them by name.
 */
public enum RecordType {
    HEADER(1),
    DOMAIN_CONFIG(2),
    PAGE_BATCH(3),
    ZERO_PAGES(4),
    VCPU(5),
    PLATFORM(6),
    PCI_HEADERS(7),
    DEVICE_MODEL(8),
    BACKEND(9),
    EVENT_CHANNELS(10),
    GRANT_TABLE(11),
    XENSTORE(12),
    /** PV domains: {@link PvDomainState} (once, after XENSTORE; instead of PLATFORM and PCI_HEADERS). */
    PV_DOMAIN(13),
    END(15),
    /** PVHVM guests saved through Xen's suspend protocol: {@link PvhvmSuspendState} (once, before END). */
    PVHVM_SUSPEND(34);

    /** First and last number kept for migration records (not written by save). */
    public static final int MIGRATION_FIRST = 32, MIGRATION_LAST = 63;
    /** First and last number kept for the VM state tree (snapshots, clones). */
    public static final int TREE_FIRST = 64, TREE_LAST = 95;

    private final int number;

    RecordType(int number) {
        this.number = number;
    }

    public int number() {
        return number;
    }

    /** The type numbered {@code n}, or null. */
    public static RecordType of(int n) {
        for (RecordType t : values()) {
            if (t.number == n) {
                return t;
            }
        }
        return null;
    }

    /** For messages: the name, or what an unknown number is. */
    static String describe(int n) {
        RecordType t = of(n);
        if (t != null) {
            return t.name();
        }
        String migration = switch (n) { // MigrationStream's records: named, as a receiver's messages say them
            case 32 -> "ROUND_END";
            case 33 -> "STOP";
            case 48 -> "HELLO";
            case 49 -> "AUTH";
            case 50 -> "AUTH_OK";
            case 51 -> "STATUS";
            case 52 -> "GO";
            case 53 -> "ROUND_ACK";
            default -> null;
        };
        if (migration != null) {
            return migration + " (type " + n + ", reserved for live migration)";
        }
        if (n >= MIGRATION_FIRST && n <= MIGRATION_LAST) {
            return "type " + n + " (reserved for live migration)";
        }
        if (n >= TREE_FIRST && n <= TREE_LAST) {
            return "type " + n + " (reserved for the VM state tree)";
        }
        return "unknown type " + n;
    }
}
