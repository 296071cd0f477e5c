package org.xenj.hypervisor.internal.hypercall;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

/** Fills the table with Xen's x86_32 hypercalls, grouped by the classes that implement them. */
final class XenHypercalls {

    private XenHypercalls() {
    }

    static void install(HypercallDispatcher d) {
        d.set(HC_CONSOLE_IO, SchedAndTimeOps::consoleIo);
        d.set(HC_SCHED_OP, SchedAndTimeOps::schedOp);
        d.set(HC_SET_TIMER_OP, SchedAndTimeOps::setTimerOp);
        d.set(HC_VCPU_OP, SchedAndTimeOps::vcpuOp);
        d.set(HC_EVENT_CHANNEL_OP, EventChannelOps::eventChannelOp);
        d.set(HC_GRANT_TABLE_OP, GrantTableOps::grantTableOp);
        d.set(HC_MMU_UPDATE, MmuOps::mmuUpdate);
        d.set(HC_MMUEXT_OP, MmuOps::mmuextOp);
        d.set(HC_UPDATE_VA_MAPPING, MmuOps::updateVaMapping);
        d.set(HC_MEMORY_OP, MemoryOps::memoryOp);
        d.set(HC_SET_TRAP_TABLE, CpuStateOps::setTrapTable);
        d.set(HC_SET_CALLBACKS, CpuStateOps::setCallbacks);
        d.set(HC_CALLBACK_OP, CpuStateOps::callbackOp);
        d.set(HC_STACK_SWITCH, CpuStateOps::stackSwitch);
        d.set(HC_SET_GDT, CpuStateOps::setGdt);
        d.set(HC_UPDATE_DESCRIPTOR, CpuStateOps::updateDescriptor);
        d.set(HC_IRET, CpuStateOps::iret);
        d.set(HC_FPU_TASKSWITCH, CpuStateOps::fpuTaskswitch);
        d.set(HC_XEN_VERSION, InfoOps::xenVersion);
        d.set(HC_VM_ASSIST, InfoOps::vmAssist);
        d.set(HC_PHYSDEV_OP, InfoOps::physdevOp);
        d.set(HC_HVM_OP, InfoOps::hvmOp);
        d.set(HC_MULTICALL, (c, a1, a2, a3, a4, a5) -> c.domain.host.dispatcher.multicall(c, a1, a2));
    }

    /** DOMID_SELF or the caller's own id. */
    static boolean isSelf(HypercallContext c, int dom) {
        dom &= 0xffff;
        return dom == DOMID_SELF || dom == c.domain.domid;
    }
}
