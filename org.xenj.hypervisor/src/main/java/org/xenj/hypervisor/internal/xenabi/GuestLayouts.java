package org.xenj.hypervisor.internal.xenabi;

/**
 * Byte offsets of the x86_32 structures the hypervisor shares with guests (measured with
 * {@code gcc -m32} against Xen 4.17's public headers): start_info, shared_info, vcpu_info,
 * vcpu_time_info, the console and xenstore rings, and the hypercall argument structs.
 */
public final class GuestLayouts {

    private GuestLayouts() {
    }

    // start_info (1112 bytes)
    public static final int SI_MAGIC = 0;
    public static final int SI_NR_PAGES = 32;
    public static final int SI_SHARED_INFO = 36;
    public static final int SI_FLAGS = 40;
    public static final int SI_STORE_MFN = 44;
    public static final int SI_STORE_EVTCHN = 48;
    public static final int SI_CONSOLE_MFN = 52;
    public static final int SI_CONSOLE_EVTCHN = 56;
    public static final int SI_PT_BASE = 60;
    public static final int SI_NR_PT_FRAMES = 64;
    public static final int SI_MFN_LIST = 68;
    public static final int SI_MOD_START = 72;
    public static final int SI_MOD_LEN = 76;
    public static final int SI_CMD_LINE = 80;
    public static final int SI_CMD_LINE_MAX = 1024;
    public static final int SI_FIRST_P2M_PFN = 1104;
    public static final int SI_NR_P2M_FRAMES = 1108;
    public static final int SI_SIZE = 1112;

    // shared_info (2344 bytes): 32 vcpu_info of 64 bytes, then the event bitmaps and wallclock
    public static final int SH_VCPU_INFO = 0;
    public static final int VCPU_INFO_SIZE = 64;
    public static final int SH_EVTCHN_PENDING = 2048;
    public static final int SH_EVTCHN_MASK = 2176;
    public static final int SH_WC_VERSION = 2304;
    public static final int SH_WC_SEC = 2308;
    public static final int SH_WC_NSEC = 2312;
    public static final int SH_ARCH_MAX_PFN = 2316;
    public static final int SH_ARCH_P2M_FLL = 2320;
    public static final int SH_ARCH_WC_SEC_HI = 2340;

    // vcpu_info (relative to its start)
    public static final int VI_UPCALL_PENDING = 0;
    public static final int VI_UPCALL_MASK = 1;
    public static final int VI_PENDING_SEL = 4;
    public static final int VI_ARCH_CR2 = 8;
    public static final int VI_TIME = 32;
    // vcpu_time_info (relative to its start)
    public static final int VT_VERSION = 0;
    public static final int VT_TSC_TIMESTAMP = 8;
    public static final int VT_SYSTEM_TIME = 16;
    public static final int VT_TSC_TO_SYSTEM_MUL = 24;
    public static final int VT_TSC_SHIFT = 28;
    public static final int VT_FLAGS = 29;

    // xencons_interface
    public static final int CONS_IN = 0;
    public static final int CONS_IN_SIZE = 1024;
    public static final int CONS_OUT = 1024;
    public static final int CONS_OUT_SIZE = 2048;
    public static final int CONS_IN_CONS = 3072;
    public static final int CONS_IN_PROD = 3076;
    public static final int CONS_OUT_CONS = 3080;
    public static final int CONS_OUT_PROD = 3084;

    // xenstore_domain_interface
    public static final int XS_REQ = 0;
    public static final int XS_RSP = 1024;
    public static final int XS_RING_SIZE = 1024;
    public static final int XS_REQ_CONS = 2048;
    public static final int XS_REQ_PROD = 2052;
    public static final int XS_RSP_CONS = 2056;
    public static final int XS_RSP_PROD = 2060;
    public static final int XS_SERVER_FEATURES = 2064;
    public static final int XS_CONNECTION = 2068;
    public static final int XS_ERROR = 2072;
    public static final int XS_HEADER_SIZE = 16;
    public static final int XS_PAYLOAD_MAX = 4096;

    // hypercall argument structs
    public static final int MMU_UPDATE_SIZE = 16;
    public static final int MMUEXT_OP_SIZE = 12;
    public static final int MULTICALL_ENTRY_SIZE = 32;
    public static final int TRAP_INFO_SIZE = 8;
    public static final int GNTTAB_MAP_SIZE = 32;
    public static final int GNTTAB_UNMAP_SIZE = 24;
    public static final int GNTTAB_COPY_SIZE = 24;
    public static final int EVTCHN_STATUS_SIZE = 24;
    public static final int MEM_RESERVATION_SIZE = 20;
}
