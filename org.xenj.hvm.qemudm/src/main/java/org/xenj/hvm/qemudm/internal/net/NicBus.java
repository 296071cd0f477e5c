package org.xenj.hvm.qemudm.internal.net;

import java.util.concurrent.Executor;

import org.xenj.hypervisor.spi.GuestMemory;

/**
 * What an emulated NIC needs from its domain and PCI slot: guest RAM for bus-master DMA (bounds
 * checked by the platform: an address outside the domain's RAM throws), the executor its frame I/O
 * runs on (never a vCPU thread), its INTx# pin and whether the guest enabled bus mastering.
 */
public interface NicBus {

    GuestMemory memory();

    Executor executor();

    void setIntx(boolean asserted);

    boolean busMaster();

    /**
     * The guest unplugged the NIC (Xen's platform device): it will never send or receive again, so
     * the host side may give up its switch port rather than be flooded for nothing.
     */
    default void unplugged() {
    }
}
