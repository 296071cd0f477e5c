package org.xenj.hypervisor.internal.xenabi;

/**
 * Numbers of Xen's public x86_32 ABI (xen.h, sched.h, event_channel.h, grant_table.h, memory.h,
 * vcpu.h, callback.h, physdev.h, version.h, hvm/params.h, hvm/hvm_op.h), taken from the headers
 * of Xen 4.17. Only numbers live here; the code that gives them meaning is ours.
 */
public final class XenAbi {

    private XenAbi() {
    }

    // ---- hypercall numbers (xen.h) ----
    public static final int HC_SET_TRAP_TABLE = 0;
    public static final int HC_MMU_UPDATE = 1;
    public static final int HC_SET_GDT = 2;
    public static final int HC_STACK_SWITCH = 3;
    public static final int HC_SET_CALLBACKS = 4;
    public static final int HC_FPU_TASKSWITCH = 5;
    public static final int HC_SCHED_OP_COMPAT = 6;
    public static final int HC_PLATFORM_OP = 7;
    public static final int HC_UPDATE_DESCRIPTOR = 10;
    public static final int HC_MEMORY_OP = 12;
    public static final int HC_MULTICALL = 13;
    public static final int HC_UPDATE_VA_MAPPING = 14;
    public static final int HC_SET_TIMER_OP = 15;
    public static final int HC_EVENT_CHANNEL_OP_COMPAT = 16;
    public static final int HC_XEN_VERSION = 17;
    public static final int HC_CONSOLE_IO = 18;
    public static final int HC_GRANT_TABLE_OP = 20;
    public static final int HC_VM_ASSIST = 21;
    public static final int HC_IRET = 23;
    public static final int HC_VCPU_OP = 24;
    public static final int HC_MMUEXT_OP = 26;
    public static final int HC_SCHED_OP = 29;
    public static final int HC_CALLBACK_OP = 30;
    public static final int HC_EVENT_CHANNEL_OP = 32;
    public static final int HC_PHYSDEV_OP = 33;
    public static final int HC_HVM_OP = 34;
    /** Slots 0..63 exist in a hypercall page of 32-byte stubs (128 stubs fit; Xen fills what it knows). */
    public static final int HC_TABLE_SIZE = 64;

    // ---- errno (xen/errno.h); hypercalls return the negative value ----
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EIO = 5;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EROFS = 30;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int ENOTEMPTY = 39;
    public static final int EISCONN = 106;

    // ---- domain ids ----
    public static final int DOMID_FIRST_RESERVED = 0x7FF0;
    public static final int DOMID_SELF = 0x7FF0;
    public static final int DOMID_IO = 0x7FF1;
    public static final int DOMID_XEN = 0x7FF2;

    // ---- console_io ----
    public static final int CONSOLEIO_WRITE = 0;
    public static final int CONSOLEIO_READ = 1;

    // ---- sched_op ----
    public static final int SCHEDOP_YIELD = 0;
    public static final int SCHEDOP_BLOCK = 1;
    public static final int SCHEDOP_SHUTDOWN = 2;
    public static final int SCHEDOP_POLL = 3;
    public static final int SCHEDOP_REMOTE_SHUTDOWN = 4;
    public static final int SCHEDOP_SHUTDOWN_CODE = 5;

    // ---- event_channel_op ----
    public static final int EVTCHNOP_BIND_INTERDOMAIN = 0;
    public static final int EVTCHNOP_BIND_VIRQ = 1;
    public static final int EVTCHNOP_BIND_PIRQ = 2;
    public static final int EVTCHNOP_CLOSE = 3;
    public static final int EVTCHNOP_SEND = 4;
    public static final int EVTCHNOP_STATUS = 5;
    public static final int EVTCHNOP_ALLOC_UNBOUND = 6;
    public static final int EVTCHNOP_BIND_IPI = 7;
    public static final int EVTCHNOP_BIND_VCPU = 8;
    public static final int EVTCHNOP_UNMASK = 9;
    public static final int EVTCHNSTAT_CLOSED = 0;
    public static final int EVTCHNSTAT_UNBOUND = 1;
    public static final int EVTCHNSTAT_INTERDOMAIN = 2;
    public static final int EVTCHNSTAT_PIRQ = 3;
    public static final int EVTCHNSTAT_VIRQ = 4;
    public static final int EVTCHNSTAT_IPI = 5;
    /** 2-level ABI on x86_32: 32 words of 32 bits. */
    public static final int EVTCHN_2L_PORTS = 1024;
    public static final int NR_VIRQS = 24;
    public static final int VIRQ_TIMER = 0;
    public static final int VIRQ_DEBUG = 1;
    public static final int VIRQ_CONSOLE = 2;
    public static final int VIRQ_DOM_EXC = 3;

    // ---- grant_table_op ----
    public static final int GNTTABOP_MAP_GRANT_REF = 0;
    public static final int GNTTABOP_UNMAP_GRANT_REF = 1;
    public static final int GNTTABOP_SETUP_TABLE = 2;
    public static final int GNTTABOP_COPY = 5;
    public static final int GNTTABOP_QUERY_SIZE = 6;
    public static final int GNTTABOP_SET_VERSION = 8;
    public static final int GTF_INVALID = 0;
    public static final int GTF_PERMIT_ACCESS = 1;
    public static final int GTF_TYPE_MASK = 3;
    public static final int GTF_READONLY = 1 << 2;
    public static final int GTF_READING = 1 << 3;
    public static final int GTF_WRITING = 1 << 4;
    public static final int GNTMAP_DEVICE_MAP = 1 << 0;
    public static final int GNTMAP_HOST_MAP = 1 << 1;
    public static final int GNTMAP_READONLY = 1 << 2;
    public static final int GNTMAP_APPLICATION_MAP = 1 << 3;
    public static final int GNTMAP_CONTAINS_PTE = 1 << 4;
    public static final int GNTCOPY_SOURCE_GREF = 1;
    public static final int GNTCOPY_DEST_GREF = 2;
    public static final int GNTST_OKAY = 0;
    public static final int GNTST_GENERAL_ERROR = -1;
    public static final int GNTST_BAD_DOMAIN = -2;
    public static final int GNTST_BAD_GNTREF = -3;
    public static final int GNTST_BAD_HANDLE = -4;
    public static final int GNTST_BAD_VIRT_ADDR = -5;
    public static final int GNTST_PERMISSION_DENIED = -8;
    public static final int GNTST_BAD_PAGE = -9;
    public static final int GNTST_BAD_COPY_ARG = -10;
    /** v1 entries are 8 bytes: flags u16, domid u16, frame u32. */
    public static final int GRANT_ENTRY_V1_SIZE = 8;

    // ---- mmu_update / mmuext_op / update_va_mapping ----
    public static final int MMU_NORMAL_PT_UPDATE = 0;
    public static final int MMU_MACHPHYS_UPDATE = 1;
    public static final int MMU_PT_UPDATE_PRESERVE_AD = 2;
    public static final int MMUEXT_PIN_L1_TABLE = 0;
    public static final int MMUEXT_PIN_L2_TABLE = 1;
    public static final int MMUEXT_PIN_L3_TABLE = 2;
    public static final int MMUEXT_PIN_L4_TABLE = 3;
    public static final int MMUEXT_UNPIN_TABLE = 4;
    public static final int MMUEXT_NEW_BASEPTR = 5;
    public static final int MMUEXT_TLB_FLUSH_LOCAL = 6;
    public static final int MMUEXT_INVLPG_LOCAL = 7;
    public static final int MMUEXT_TLB_FLUSH_MULTI = 8;
    public static final int MMUEXT_INVLPG_MULTI = 9;
    public static final int MMUEXT_TLB_FLUSH_ALL = 10;
    public static final int MMUEXT_INVLPG_ALL = 11;
    public static final int MMUEXT_FLUSH_CACHE = 12;
    public static final int MMUEXT_SET_LDT = 13;
    public static final int UVMF_FLUSHTYPE_MASK = 3;
    public static final int UVMF_TLB_FLUSH = 1;
    public static final int UVMF_INVLPG = 2;

    // ---- memory_op ----
    public static final int XENMEM_INCREASE_RESERVATION = 0;
    public static final int XENMEM_DECREASE_RESERVATION = 1;
    public static final int XENMEM_MAXIMUM_RAM_PAGE = 2;
    public static final int XENMEM_CURRENT_RESERVATION = 3;
    public static final int XENMEM_MAXIMUM_RESERVATION = 4;
    public static final int XENMEM_POPULATE_PHYSMAP = 6;
    public static final int XENMEM_ADD_TO_PHYSMAP = 7;
    public static final int XENMEM_MEMORY_MAP = 9;
    public static final int XENMEM_MACHPHYS_MAPPING = 12;
    public static final int XENMAPSPACE_SHARED_INFO = 0;
    public static final int XENMAPSPACE_GRANT_TABLE = 1;

    // ---- vcpu_op ----
    public static final int VCPUOP_INITIALISE = 0;
    public static final int VCPUOP_UP = 1;
    public static final int VCPUOP_DOWN = 2;
    public static final int VCPUOP_IS_UP = 3;
    public static final int VCPUOP_SET_PERIODIC_TIMER = 6;
    public static final int VCPUOP_STOP_PERIODIC_TIMER = 7;
    public static final int VCPUOP_SET_SINGLESHOT_TIMER = 8;
    public static final int VCPUOP_STOP_SINGLESHOT_TIMER = 9;
    public static final int VCPUOP_REGISTER_VCPU_INFO = 10;
    public static final int VCPU_SSHOTTMR_FUTURE = 1;

    // ---- callback_op ----
    public static final int CALLBACKOP_REGISTER = 0;
    public static final int CALLBACKOP_UNREGISTER = 1;
    public static final int CALLBACKTYPE_EVENT = 0;
    public static final int CALLBACKTYPE_FAILSAFE = 1;
    public static final int CALLBACKTYPE_SYSENTER = 3;
    public static final int CALLBACKTYPE_NMI = 4;

    // ---- xen_version ----
    public static final int XENVER_VERSION = 0;
    public static final int XENVER_EXTRAVERSION = 1;
    public static final int XENVER_COMPILE_INFO = 2;
    public static final int XENVER_CAPABILITIES = 3;
    public static final int XENVER_CHANGESET = 4;
    public static final int XENVER_PLATFORM_PARAMETERS = 5;
    public static final int XENVER_GET_FEATURES = 6;
    public static final int XENVER_PAGESIZE = 7;
    public static final int XENVER_GUEST_HANDLE = 8;
    public static final int XENVER_COMMANDLINE = 9;
    /** We report Xen 4.17, the version whose public headers we follow. */
    public static final int XEN_MAJOR = 4;
    public static final int XEN_MINOR = 17;

    // ---- vm_assist ----
    public static final int VMASST_CMD_ENABLE = 0;
    public static final int VMASST_CMD_DISABLE = 1;
    public static final int VMASST_TYPE_4GB_SEGMENTS = 0;
    public static final int VMASST_TYPE_4GB_SEGMENTS_NOTIFY = 1;
    public static final int VMASST_TYPE_WRITABLE_PAGETABLES = 2;
    public static final int VMASST_TYPE_PAE_EXTENDED_CR3 = 3;

    // ---- physdev_op ----
    public static final int PHYSDEVOP_IRQ_STATUS_QUERY = 5;
    public static final int PHYSDEVOP_SET_IOPL = 6;
    public static final int PHYSDEVOP_SET_IOBITMAP = 7;

    // ---- hvm_op / params ----
    public static final int HVMOP_SET_PARAM = 0;
    public static final int HVMOP_GET_PARAM = 1;
    public static final int HVM_PARAM_CALLBACK_IRQ = 0;
    public static final int HVM_PARAM_STORE_PFN = 1;
    public static final int HVM_PARAM_STORE_EVTCHN = 2;
    public static final int HVM_PARAM_CONSOLE_PFN = 17;
    public static final int HVM_PARAM_CONSOLE_EVTCHN = 18;
    public static final int HVM_NR_PARAMS = 39;

    // ---- x86_32 PV layout ----
    public static final int FLAT_RING1_CS = 0xe019;
    public static final int FLAT_RING1_DS = 0xe021;
    public static final int FLAT_RING3_CS = 0xe02b;
    public static final int FLAT_RING3_DS = 0xe033;
    public static final int HYPERVISOR_VIRT_START = 0xF5800000;
    public static final int MACH2PHYS_VIRT_START = 0xF5800000;
    public static final int MACH2PHYS_VIRT_END = 0xF6800000;
    /** First GDT entry the hypervisor reserves (FIRST_RESERVED_GDT_PAGE 14 x 512 entries). */
    public static final int FIRST_RESERVED_GDT_ENTRY = 14 * 512;
    public static final int XEN_LEGACY_MAX_VCPUS = 32;
    public static final int SIF_PRIVILEGED = 1;
    public static final int SIF_INITDOMAIN = 2;
    public static final String START_INFO_MAGIC = "xen-3.0-x86_32p";

    // ---- feature flags (features.h) reported by XENVER_get_features ----
    public static final int XENFEAT_WRITABLE_PAGE_TABLES = 0;
    public static final int XENFEAT_WRITABLE_DESCRIPTOR_TABLES = 1;
    public static final int XENFEAT_AUTO_TRANSLATED_PHYSMAP = 2;
    public static final int XENFEAT_SUPERVISOR_MODE_KERNEL = 3;
    public static final int XENFEAT_PAE_PGDIR_ABOVE_4GB = 4;
    public static final int XENFEAT_HVM_CALLBACK_VECTOR = 8;
    public static final int XENFEAT_DOM0 = 11;

    /** Whether {@code domid} names a real domain rather than one of the DOMID_* specials. */
    public static boolean isRealDomid(int domid) {
        return domid >= 0 && domid < DOMID_FIRST_RESERVED;
    }
}
