package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.nio.charset.StandardCharsets;

/** xen_version, vm_assist, physdev_op (basic) and hvm_op get/set_param. */
final class InfoOps {

    private static final String EXTRAVERSION = ".0-xenj";
    private static final String CAPABILITIES = "xen-3.0-x86_32p";

    private InfoOps() {
    }

    private static void writeString(HypercallContext c, int va, String s, int size) {
        byte[] b = new byte[size];
        byte[] src = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(src, 0, b, 0, Math.min(src.length, size - 1));
        c.memory.write(va, b, 0, size);
    }

    static int xenVersion(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        switch (cmd) {
            case XENVER_VERSION -> {
                return XEN_MAJOR << 16 | XEN_MINOR;
            }
            case XENVER_EXTRAVERSION -> writeString(c, arg, EXTRAVERSION, 16);
            case XENVER_COMPILE_INFO -> {
                c.memory.checkWritable(arg, 144);
                writeString(c, arg, "javac 17", 64);
                writeString(c, arg + 64, "xenj", 16);
                writeString(c, arg + 80, "xenj.org", 32);
                writeString(c, arg + 112, "", 32);
            }
            case XENVER_CAPABILITIES -> writeString(c, arg, CAPABILITIES, 1024);
            case XENVER_CHANGESET -> writeString(c, arg, "xenj", 64);
            case XENVER_PLATFORM_PARAMETERS -> c.memory.write32(arg, HYPERVISOR_VIRT_START);
            case XENVER_GET_FEATURES -> {
                c.memory.checkWritable(arg, 8);
                int idx = c.memory.read32(arg);
                if (idx != 0) {
                    return -EINVAL; // XENFEAT_NR_SUBMAPS = 1, as Xen
                }
                c.memory.write32(arg + 4, XenFeatures.submap0(c.domain));
                return 0;
            }
            case XENVER_PAGESIZE -> {
                return 4096;
            }
            case XENVER_GUEST_HANDLE -> writeString(c, arg, "", 16);
            case XENVER_COMMANDLINE -> writeString(c, arg, "", 1024);
            default -> {
                return -ENOSYS;
            }
        }
        return 0;
    }

    static int vmAssist(HypercallContext c, int cmd, int type, int a3, int a4, int a5) {
        if (type < 0 || type >= 32) {
            return -EINVAL;
        }
        // 4 GiB segments (with and without notification), extended CR3 and, for PV, writable page
        // tables (stores into L1 tables emulated: PvPageTableWrites).
        if ((XenFeatures.vmAssistSupported(c.domain) & 1 << type) == 0) {
            return -EINVAL;
        }
        switch (cmd) {
            case VMASST_CMD_ENABLE -> c.domain.vmAssist |= 1 << type;
            case VMASST_CMD_DISABLE -> c.domain.vmAssist &= ~(1 << type);
            default -> {
                return -ENOSYS;
            }
        }
        return 0;
    }

    static int physdevOp(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        switch (cmd) {
            case PHYSDEVOP_SET_IOPL -> {
                int iopl = c.memory.read32(arg);
                return iopl < 0 || iopl > 3 ? -EINVAL : 0; // recorded nowhere: domUs have no ports to reach
            }
            case PHYSDEVOP_IRQ_STATUS_QUERY -> {
                c.memory.checkWritable(arg, 8);
                c.memory.write32(arg + 4, 0);
                return 0;
            }
            default -> {
                return -ENOSYS;
            }
        }
    }

    static int hvmOp(HypercallContext c, int cmd, int arg, int a3, int a4, int a5) {
        if (c.domain.pv) {
            return -EINVAL;
        }
        switch (cmd) {
            case HVMOP_SET_PARAM, HVMOP_GET_PARAM -> {
                c.memory.checkWritable(arg, 16);
                if (!XenHypercalls.isSelf(c, c.memory.read16(arg))) {
                    return -EPERM;
                }
                int index = c.memory.read32(arg + 4);
                if (index < 0 || index >= HVM_NR_PARAMS) {
                    return -EINVAL;
                }
                if (cmd == HVMOP_GET_PARAM) {
                    c.memory.write64(arg + 8, c.domain.hvmParams[index]);
                    return 0;
                }
                if (index != HVM_PARAM_CALLBACK_IRQ) {
                    return -EPERM; // store/console pfn and ports are the toolstack's to set
                }
                c.domain.hvmParams[index] = c.memory.read64(arg + 8);
                return 0;
            }
            default -> {
                return -ENOSYS;
            }
        }
    }
}
