package org.xenj.hvm.qemudm.internal.net;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import org.xenj.dom0.vswitch.api.Port;
import org.xenj.dom0.vswitch.api.VirtualSwitch;
import org.xenj.hypervisor.spi.GuestMemory;
import org.xenj.hypervisor.spi.HvmPlatform;
import org.xenj.hypervisor.spi.pci.PciDevice;
import org.xenj.hypervisor.spi.pci.PciSlot;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000;
import org.xenj.hvm.qemudm.internal.net.ne2000.Ne2000State;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139;
import org.xenj.hvm.qemudm.internal.net.rtl8139.Rtl8139State;

/**
 * One domain's emulated NICs, one per {@code vif} entry that asks for one (see {@link NicSpec}),
 * on PCI 00:04.0 upwards (00:02.0 is the VGA's place and 00:03.0 the Xen platform device's, as with
 * Xen's qemu), each joined to its bridge of the virtual switch as port {@code vif<domid>.<devid>-emu}.
 * The switch delivers frames on the domain's device executor; without a switch the NICs work but
 * their frames go nowhere (logged once).
 */
public final class Nics {

    static final int FIRST_SLOT = 4;

    private final HvmPlatform platform;
    private final List<Nic> nics = new ArrayList<>();

    /** One NIC: the device, its slot, its switch port. */
    private static final class Nic implements NicBus {
        final NicSpec spec;
        final GuestMemory memory;
        final Executor executor;
        PciDevice device;
        volatile PciSlot slot;
        volatile Port port;

        Nic(NicSpec spec, GuestMemory memory, Executor executor) {
            this.spec = spec;
            this.memory = memory;
            this.executor = executor;
        }

        @Override
        public GuestMemory memory() {
            return memory;
        }

        @Override
        public Executor executor() {
            return executor;
        }

        @Override
        public void setIntx(boolean asserted) {
            PciSlot s = slot;
            if (s != null) {
                s.setIntx(asserted);
            }
        }

        @Override
        public boolean busMaster() {
            PciSlot s = slot;
            return s != null && s.busMaster();
        }

        @Override
        public void unplugged() {
            Port p = port;
            if (p != null) {
                p.close(); // idempotent: detach() closes it again
            }
        }

        void receive(byte[] frame, int length) {
            if (device instanceof Rtl8139 r) {
                r.receive(frame, length);
            } else if (device instanceof Ne2000 n) {
                n.receive(frame, length);
            }
        }
    }

    private Nics(HvmPlatform platform) {
        this.platform = platform;
    }

    /** PCI base class of network controllers, as the Xen platform device's unplug reports it. */
    static final int PCI_CLASS_NETWORK = 0x02;

    /** The NICs the domain's vif entries ask for, plugged and connected; {@code vswitch} may be null. */
    public static Nics attach(HvmPlatform platform, VirtualSwitch vswitch) {
        Nics n = new Nics(platform);
        List<String> vifs = platform.config().vifs();
        if (platform.emulatedClassUnplugged(PCI_CLASS_NETWORK)) {
            // a hand-over after the PVHVM guest's unplug: its NICs are netback's vifs now
            if (!vifs.isEmpty()) {
                platform.log("qemu-dm: the guest unplugged its emulated NICs: none for " + vifs.size() + " vif(s)");
            }
            return n;
        }
        try {
            for (int devid = 0; devid < vifs.size(); devid++) {
                n.add(vifs.get(devid), devid, vswitch);
            }
        } catch (RuntimeException e) {
            n.detach();
            throw e;
        }
        if (!n.nics.isEmpty() && vswitch == null) {
            platform.log("qemu-dm: no virtual switch (org.xenj.dom0.vswitch) is running: the emulated NICs are not connected");
        }
        return n;
    }

    private void add(String vif, int devid, VirtualSwitch vswitch) {
        NicSpec spec;
        try {
            spec = NicSpec.parse(vif, platform.config().name(), devid);
        } catch (IllegalArgumentException e) {
            platform.log("qemu-dm: vif " + devid + " '" + vif + "' ignored: " + e.getMessage());
            return;
        }
        if (!spec.emulated()) {
            return;
        }
        Nic nic = new Nic(spec, platform.memory(), platform.deviceExecutor());
        FrameLink link;
        switch (spec.model()) {
            case NicSpec.RTL8139 -> nic.device = new Rtl8139(spec.mac(), nic);
            case NicSpec.NE2K_PCI -> nic.device = new Ne2000(spec.mac(), nic);
            default -> {
                platform.log("qemu-dm: vif " + devid + ": model=" + spec.model() + " is not emulated here (rtl8139, ne2k_pci)");
                return;
            }
        }
        nics.add(nic);
        nic.slot = plug(nic.device);
        if (vswitch != null) {
            Port port = vswitch.bridge(spec.bridge()).attach("vif" + platform.domid() + "." + devid + "-emu", nic.executor,
                    nic::receive);
            nic.port = port;
            link = port::send;
        } else {
            link = FrameLink.NONE;
        }
        if (nic.device instanceof Rtl8139 r) {
            r.connect(link);
        } else if (nic.device instanceof Ne2000 ne) {
            ne.connect(link);
        }
        int bdf = nic.slot.bdf();
        platform.log(String.format("qemu-dm: vif %d: %s %s at PCI 00:%02x.%d on %s", devid, spec.model(), format(spec.mac()),
                bdf >> 3, bdf & 7, vswitch == null ? "no switch" : spec.bridge()));
    }

    private PciSlot plug(PciDevice device) {
        for (int slot = FIRST_SLOT + nics.size() - 1; slot < 32; slot++) {
            try {
                return platform.plugPci(slot, 0, device);
            } catch (RuntimeException e) {
                // taken (another provider's device): the next one
            }
        }
        return platform.plugPci(-1, 0, device);
    }

    public int size() {
        return nics.size();
    }

    /** The device of NIC {@code i} (tests). */
    public PciDevice device(int i) {
        return nics.get(i).device;
    }

    public void reset() {
        for (Nic n : nics) {
            n.device.reset();
        }
    }

    /** Closes the ports and takes the NICs off the bus; their lines are left low. */
    public void detach() {
        for (Nic n : nics) {
            if (n.port != null) {
                n.port.close();
            }
            n.setIntx(false);
            if (n.slot != null) {
                platform.unplugPci(n.slot);
                n.slot = null;
            }
        }
    }

    /**
     * The guest runs here after a migration or restore: each connected NIC announces its MAC on its
     * bridge ({@link SelfAnnounce}). A guest that unplugged its NICs has none here: its netfront
     * sends its own gratuitous ARP when it reconnects to netback, so nothing is doubled.
     * {@code -Dxenj.qemudm.announce=false} turns it off (QEMU: announce-rounds=0), for measuring what it is worth.
     */
    public void announce() {
        if (!Boolean.parseBoolean(System.getProperty("xenj.qemudm.announce", "true"))) {
            if (!nics.isEmpty()) {
                platform.log("qemu-dm: not announcing the guest's MACs (xenj.qemudm.announce=false)");
            }
            return;
        }
        for (Nic n : nics) {
            Port p = n.port;
            if (p != null) {
                SelfAnnounce.start(p, n.spec.mac(), () -> platform.log("qemu-dm: vif " + n.spec.devid() + ": announcing "
                        + format(n.spec.mac()) + " on " + n.spec.bridge() + " (5 RARP frames over 0.8 s)"));
            }
        }
    }

    public NicsState saveState() {
        List<NicsState.Entry> list = new ArrayList<>();
        for (Nic n : nics) {
            byte[] s = n.device instanceof Rtl8139 r ? r.saveState().toBytes() : ((Ne2000) n.device).saveState().toBytes();
            list.add(new NicsState.Entry(n.spec.model(), s));
        }
        return new NicsState(list);
    }

    /** Restores each NIC from its entry; a record for other NICs than these leaves them at power-on, logged. */
    public void restoreState(NicsState s) {
        if (s.nics().size() != nics.size()) {
            if (nics.isEmpty() && platform.emulatedClassUnplugged(PCI_CLASS_NETWORK)) {
                return; // unplugged by the guest: nothing to restore them into
            }
            platform.log("qemu-dm: the emulated NICs changed across the hand-over; they start at power-on");
            return;
        }
        for (int i = 0; i < nics.size(); i++) {
            if (!s.nics().get(i).model().equals(nics.get(i).spec.model())) {
                platform.log("qemu-dm: NIC " + i + " changed model across the hand-over; the NICs start at power-on");
                return;
            }
        }
        for (int i = 0; i < nics.size(); i++) {
            Nic n = nics.get(i);
            byte[] b = s.nics().get(i).state();
            try {
                if (n.device instanceof Rtl8139 r) {
                    r.restoreState(Rtl8139State.fromBytes(b));
                } else {
                    ((Ne2000) n.device).restoreState(Ne2000State.fromBytes(b));
                }
            } catch (IOException e) {
                throw new IllegalStateException("NicsState.fromBytes validated this record", e);
            }
        }
    }

    /** Each NIC's registers and line, one per line, for a failure report. */
    public String debugState() {
        StringBuilder b = new StringBuilder();
        for (Nic n : nics) {
            b.append(n.device instanceof Rtl8139 r ? r.debugState() : ((Ne2000) n.device).debugState()).append('\n');
        }
        return b.toString();
    }

    /** {@code 00:16:3e:01:02:03}. */
    public static String format(byte[] mac) {
        StringBuilder b = new StringBuilder(17);
        for (int i = 0; i < mac.length; i++) {
            b.append(i == 0 ? "" : ":").append(String.format("%02x", mac[i] & 0xff));
        }
        return b.toString();
    }
}
