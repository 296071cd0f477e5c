package org.xenj.hypervisor.internal.builder;

import java.util.ArrayList;
import java.util.List;

import org.xenj.hypervisor.internal.exec.Guest;
import org.xenj.hypervisor.internal.exec.VCpuExecutor;
import org.xenj.hypervisor.internal.platform.HvmPlatformImpl;
import org.xenj.hypervisor.spi.DeviceModel;
import org.xenj.hypervisor.spi.DeviceModelInstance;

/**
 * A built HVM guest: its platform, one device instance per serving device model, and its vCPUs.
 * A model's place can be vacated (its bundle stops: state taken, devices detached) and filled again
 * by a model of the same name with that state — the hand-over the domain core drives.
 */
final class HvmGuest implements Guest {

    private final HvmPlatformImpl platform;
    /** Per place: the serving model (null while vacant), its name, and its devices. */
    private final List<DeviceModel> models;
    private final List<String> names = new ArrayList<>();
    private final List<DeviceModelInstance> devices;
    private final VCpuExecutor[] executors;

    /** Set when restoreMachine begins: the warm-up must never put power-on state over a restored guest. */
    private boolean restored;
    /** Set, without the lock, when restoreMachine is called: a warm-up holding the lock stops at its next step. */
    private volatile boolean restoreWaiting;
    /** Where restoreMachine's time went, for the migration's log line. */
    private volatile String restoreBreakdown = "";

    /** The models of each place, vacant or not: what a migration re-attaches. */
    private final List<DeviceModel> placeModels;

    HvmGuest(HvmPlatformImpl platform, List<DeviceModel> models, List<DeviceModelInstance> devices, VCpuExecutor[] executors,
            boolean vacant) {
        this.platform = platform;
        this.models = new ArrayList<>(models);
        this.placeModels = List.copyOf(models);
        models.forEach(m -> names.add(m.name()));
        this.devices = new ArrayList<>(devices);
        this.executors = executors;
        if (vacant) {
            java.util.Collections.fill(this.models, null);
        }
    }

    @Override
    public synchronized java.util.Map<String, byte[]> detachDevicesForMigration() {
        for (int i = 0; i < devices.size(); i++) {
            if (devices.get(i) == null) {
                throw new org.xenj.hypervisor.api.HypervisorException("device model " + names.get(i) + " is being handed over: cannot migrate");
            }
        }
        // each record is taken once, in the pause, and looked at before its devices detach: a model that
        // keeps none (or fails to give it) is still attached when the ones detached before it go back
        // (taking every record first, to check, and again in the detach cost qemu-dm's record twice)
        java.util.Map<String, byte[]> states = new java.util.LinkedHashMap<>();
        try {
            for (int i = 0; i < devices.size(); i++) {
                DeviceModelInstance inst = devices.get(i);
                byte[] st = inst.saveState();
                if (st == null) {
                    throw new org.xenj.hypervisor.api.HypervisorException("device model " + names.get(i) + " keeps no state record: cannot migrate");
                }
                vacate(i, inst);
                states.put(names.get(i), st);
            }
        } catch (RuntimeException e) {
            reattachDevices(states);
            throw e;
        }
        return states;
    }

    @Override
    public synchronized void reattachDevices(java.util.Map<String, byte[]> states) {
        for (int i = 0; i < devices.size(); i++) {
            byte[] st = states.get(names.get(i));
            if (devices.get(i) == null && st != null) {
                attachDeviceModel(placeModels.get(i), st);
            }
        }
    }

    @Override
    public VCpuExecutor executor(int vcpu) {
        return executors[vcpu];
    }

    HvmPlatformImpl platform() {
        return platform;
    }

    @Override
    public synchronized boolean usesDeviceModel(DeviceModel model) {
        return models.contains(model);
    }

    @Override
    public synchronized byte[] detachDeviceModel(DeviceModel model) {
        int i = models.indexOf(model);
        if (i < 0) {
            throw new IllegalArgumentException(model.name() + " serves no device of this guest");
        }
        DeviceModelInstance d = devices.get(i);
        byte[] state;
        try {
            state = d.saveState();
        } finally {
            vacate(i, d);
        }
        return state;
    }

    /** Place {@code i} becomes vacant: its instance {@code d} detaches, its functions' headers are kept for the next one. */
    private void vacate(int i, DeviceModelInstance d) {
        models.set(i, null);
        devices.set(i, null);
        platform.pciBus().keepHeaders(); // the next instance's functions keep their BARs
        d.detach();
    }

    @Override
    public synchronized void attachDeviceModel(DeviceModel model, byte[] state) {
        for (int i = 0; i < models.size(); i++) {
            if (models.get(i) == null && names.get(i).equals(model.name())) {
                try {
                    devices.set(i, model.attach(platform, state));
                } finally {
                    platform.pciBus().dropKeptHeaders();
                }
                models.set(i, model);
                return;
            }
        }
        throw new IllegalArgumentException("no vacant place for device model " + model.name());
    }

    @Override
    public org.xenj.hypervisor.internal.save.MachineImage saveMachine() {
        return saveMachine(true);
    }

    @Override
    public org.xenj.hypervisor.internal.save.MachineImage saveMachineWithoutDevices() {
        return saveMachine(false);
    }

    private synchronized org.xenj.hypervisor.internal.save.MachineImage saveMachine(boolean withDevices) {
        org.xenj.hypervisor.internal.hypercall.HvmXenAbi abi = platform.xenAbi();
        String engaged = xenAbiInUse(abi);
        org.xenj.hypervisor.internal.save.PvhvmSuspendState pvhvm = null;
        if (engaged != null) {
            if (abi.domain().suspendVcpu < 0) {
                throw new org.xenj.hypervisor.api.HypervisorException("the guest uses Xen's PV interfaces (" + engaged
                        + ") and has not suspended itself: PVHVM guests are saved through Xen's suspend protocol only");
            }
            pvhvm = PvhvmSuspendFacts.of(abi);
        }
        java.util.List<org.xenj.hypervisor.internal.cpu.CpuState> cpus = new ArrayList<>();
        for (VCpuExecutor e : executors) {
            cpus.add(cpuOf(e).saveState());
        }
        java.util.Map<String, byte[]> states = new java.util.LinkedHashMap<>();
        for (int i = 0; withDevices && i < devices.size(); i++) {
            if (devices.get(i) == null) {
                throw new org.xenj.hypervisor.api.HypervisorException("device model " + names.get(i)
                        + " is being handed over; save again once it is back");
            }
            byte[] st = devices.get(i).saveState();
            if (st == null) {
                throw new org.xenj.hypervisor.api.HypervisorException("device model " + names.get(i) + " keeps no state record: cannot save");
            }
            states.put(names.get(i), st);
        }
        return new org.xenj.hypervisor.internal.save.MachineImage(cpus, platform.saveState(), platform.pciBus().saveHeaders(), states,
                java.util.Map.of(), abi == null ? null : abi.domain().evtchn.saveState(),
                abi == null ? null : abi.domain().gnttab.saveState(), java.util.Map.of(), pvhvm);
    }

    @Override
    public String saveRefusal() {
        String engaged = xenAbiInUse(platform.xenAbi());
        return engaged == null ? null : "the guest uses Xen's PV interfaces (" + engaged
                + "): PVHVM guests are saved, restored and live-migrated through Xen's suspend protocol (xen:save, xen:restore,"
                + " xen:migrate)";
    }

    @Override
    public boolean usesXenAbi() {
        return xenAbiInUse(platform.xenAbi()) != null;
    }

    @Override
    public boolean suspendedThroughXen() {
        org.xenj.hypervisor.internal.hypercall.HvmXenAbi abi = platform.xenAbi();
        return abi != null && abi.domain().suspendVcpu >= 0;
    }

    @Override
    public java.util.BitSet xenFrameGfns() {
        org.xenj.hypervisor.internal.hypercall.HvmXenAbi abi = platform.xenAbi();
        return abi == null ? new java.util.BitSet() : PvhvmSuspendFacts.xenFrames(abi);
    }

    @Override
    public synchronized void resumeFromSuspend(int result) {
        org.xenj.hypervisor.internal.hypercall.HvmXenAbi abi = platform.xenAbi();
        int v = abi == null ? -1 : abi.domain().suspendVcpu;
        if (v < 0) {
            throw new IllegalStateException("the guest is not suspended");
        }
        cpuOf(executors[v]).setReg32(0, result); // EAX: SCHEDOP_shutdown's result
        abi.domain().suspendVcpu = -1;
    }

    /** Why the guest counts as using Xen's ABI (a hypercall made, the hypercall page placed), or null. */
    private static String xenAbiInUse(org.xenj.hypervisor.internal.hypercall.HvmXenAbi abi) {
        if (abi == null) {
            return null;
        }
        if (abi.hypercallPageGpa() != -1) {
            return "hypercall page at 0x" + Long.toHexString(abi.hypercallPageGpa());
        }
        java.util.List<String> calls = abi.callSummary();
        return calls.isEmpty() ? null : calls.get(0);
    }

    private static org.xenj.hypervisor.internal.cpu.Cpu cpuOf(VCpuExecutor e) {
        if (e instanceof HaltAwareExecutor h) {
            return h.cpuExecutor().cpu();
        }
        throw new org.xenj.hypervisor.api.HypervisorException("vCPU executor " + e.getClass().getSimpleName() + " has no CPU state");
    }

    @Override
    public void restoreMachine(org.xenj.hypervisor.internal.save.MachineImage image) {
        restoreWaiting = true;
        restoreLocked(image);
    }

    private synchronized void restoreLocked(org.xenj.hypervisor.internal.save.MachineImage image) {
        restored = true; // from here on warmRestorePath() leaves this guest alone
        long t0 = System.nanoTime();
        if (image.vcpus().size() != executors.length) {
            throw new IllegalArgumentException("the image has " + image.vcpus().size() + " vCPUs, the domain " + executors.length);
        }
        if (image.pvhvm() != null) {
            PvhvmSuspendFacts.checkFits(platform.xenAbi(), image.pvhvm());
        }
        for (int i = 0; i < devices.size(); i++) {
            if (!image.deviceModels().containsKey(names.get(i))) {
                throw new IllegalArgumentException("the image has no state for device model " + names.get(i));
            }
        }
        for (String name : image.deviceModels().keySet()) {
            if (!names.contains(name)) {
                throw new IllegalArgumentException("the image has devices of model " + name + ", which does not serve this domain here");
            }
        }
        platform.checkFits(image.platform()); // refused before anything changes
        // the freshly built devices make way for ones in the saved state, as in a hand-over; the saved
        // ones attach after the controllers' record, so that the lines they drive win over the record's
        List<DeviceModel> incoming = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            DeviceModel m = models.get(i);
            if (m != null) {
                detachDeviceModel(m);
            } else {
                m = placeModels.get(i); // built for an incoming migration: the place is vacant
            }
            incoming.add(m);
        }
        long tChecked = System.nanoTime();
        long[] tAttach = new long[2];
        platform.restoreState(image.platform(), () -> {
            tAttach[0] = System.nanoTime();
            for (int i = 0; i < incoming.size(); i++) {
                platform.pciBus().keepHeaders(image.pciHeaders()); // functions plug as saved: bus master on for restarted DMA
                attachDeviceModel(incoming.get(i), image.deviceModels().get(names.get(i)));
            }
            tAttach[1] = System.nanoTime();
        });
        platform.pciBus().restoreHeaders(image.pciHeaders());
        platform.pciBus().driveInterruptLinks(); // PCI IRQs to what the restored devices assert, low ones too
        long tCpus = System.nanoTime();
        for (int i = 0; i < executors.length; i++) {
            cpuOf(executors[i]).restoreState(image.vcpus().get(i));
        }
        long tEnd = System.nanoTime();
        restoreBreakdown = String.format("checks and fresh devices off %.1f, platform %.1f, device models %.1f, PCI %.1f, vCPUs %.1f",
                (tChecked - t0) / 1e6, (tAttach[0] - tChecked) / 1e6, (tAttach[1] - tAttach[0]) / 1e6, (tCpus - tAttach[1]) / 1e6,
                (tEnd - tCpus) / 1e6);
        if (image.pvhvm() != null) {
            // SCHEDOP_shutdown(SHUTDOWN_suspend) returns 0: "resumed in a new domain"; the guest now
            // maps shared_info again, registers vcpu_info, re-binds its event channels and reconnects
            // its frontends to the backends this domain was created with
            cpuOf(executors[image.pvhvm().suspendVcpu()]).setReg32(0, 0);
            platform.xenAbi().restoredHypercallPage(image.pvhvm().hypercallPageGpa());
        }
    }

    @Override
    public String restoreBreakdown() {
        return restoreBreakdown;
    }

    /**
     * The restore's own paths, on this guest's power-on state, while an incoming migration's rounds
     * arrive: the vCPU and platform records taken, written and read back, and put back; and each
     * vacant place's device model (one that offers {@link org.xenj.hypervisor.spi.MigrationWarmUp})
     * attached once fresh and once from its own record on this platform as {@link WarmUpPlatform}
     * shows it (no disks, no display, no console), its record taken, and detached again. Everything it
     * sets, restoreMachine sets again from the real records; it never runs once that has begun
     * ({@code restored}, under this guest's lock), nor on a guest that ran (the caller's: a domain
     * built for an incoming migration, paused, its device places vacant), and once restoreMachine is
     * called it stops at its next step (the pause waits for this lock). A device model that fails
     * here is detached again and named in the exception, after the rest has run.
     */
    @Override
    public synchronized org.xenj.hypervisor.internal.save.MachineImage warmRestorePath() {
        if (restored) {
            return null;
        }
        RuntimeException failed = null;
        java.util.Map<Integer, byte[]> records = new java.util.LinkedHashMap<>();
        for (int i = 0; i < devices.size() && !restoreWaiting; i++) {
            if (devices.get(i) == null && models.get(i) == null && placeModels.get(i) instanceof org.xenj.hypervisor.spi.MigrationWarmUp) {
                try {
                    records.put(i, warmAttach(i, null));
                } catch (RuntimeException | LinkageError e) {
                    failed = warmFailure(failed, i, e);
                }
            }
        }
        if (restoreWaiting) { // the pause has begun and waits for this lock: the restore takes the rest cold
            if (failed != null) {
                throw failed;
            }
            return null;
        }
        org.xenj.hypervisor.internal.save.MachineImage m;
        try {
            m = saveMachine(false);
            org.xenj.hypervisor.internal.platform.PlatformState ps =
                    org.xenj.hypervisor.internal.platform.PlatformState.fromBytes(m.platform().toBytes());
            platform.checkFits(ps);
            RuntimeException[] inRestore = {null};
            platform.restoreState(ps, () -> {
                // as restoreMachine: the models attach from their records after the controllers' record
                for (java.util.Map.Entry<Integer, byte[]> r : records.entrySet()) {
                    if (restoreWaiting) {
                        break;
                    }
                    try {
                        platform.pciBus().keepHeaders(m.pciHeaders());
                        warmAttach(r.getKey(), r.getValue());
                    } catch (RuntimeException | LinkageError e) {
                        inRestore[0] = warmFailure(inRestore[0], r.getKey(), e);
                    }
                }
            });
            failed = failed != null ? failed : inRestore[0];
            platform.pciBus().restoreHeaders(m.pciHeaders());
            for (int i = 0; i < executors.length; i++) {
                cpuOf(executors[i]).restoreState(org.xenj.hypervisor.internal.cpu.CpuState.fromBytes(m.vcpus().get(i).toBytes()));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the power-on records did not read back: " + e.getMessage(), e);
        }
        if (failed != null) {
            throw failed;
        }
        return m;
    }

    /**
     * Place {@code i}'s model attached to the warm-up view of this platform (from {@code record}, or
     * fresh when null), its record taken, and detached again whatever happened: the place stays vacant.
     */
    private byte[] warmAttach(int i, byte[] record) {
        DeviceModel model = placeModels.get(i);
        WarmUpPlatform view = new WarmUpPlatform(platform);
        DeviceModelInstance inst = null;
        try {
            inst = record == null ? model.attach(view) : model.attach(view, record);
            byte[] st = inst.saveState();
            if (st == null) {
                throw new IllegalStateException("it kept no record");
            }
            return st;
        } finally {
            try {
                if (inst != null) {
                    inst.detach();
                }
            } finally {
                platform.pciBus().dropKeptHeaders();
            }
        }
    }

    private RuntimeException warmFailure(RuntimeException first, int i, Throwable e) {
        if (first != null) {
            first.addSuppressed(e);
            return first;
        }
        return new IllegalStateException("device model " + names.get(i) + " failed its warm-up attach: " + e, e);
    }

    @Override
    public boolean newGenerationId() {
        return platform.newGenerationId();
    }

    @Override
    public boolean hasGenerationId() {
        return platform.acpiPm() != null && platform.acpiPm().generationIdAddress() != 0;
    }

    @Override
    public void resumedHere() {
        List<DeviceModelInstance> live;
        synchronized (this) {
            live = new ArrayList<>(devices);
        }
        for (int i = 0; i < live.size(); i++) {
            DeviceModelInstance d = live.get(i);
            if (d != null) {
                try {
                    d.resumedHere();
                } catch (RuntimeException e) {
                    // an announce is a courtesy to the network: the guest runs here either way
                    platform.log("device model " + names.get(i) + " failed to announce the guest: " + e);
                }
            }
        }
    }

    @Override
    public String debugState() {
        return platform.debugState();
    }

    @Override
    public void destroy() {
        platform.destroy();
        List<DeviceModelInstance> live;
        synchronized (this) {
            live = new ArrayList<>(devices);
        }
        live.stream().filter(d -> d != null).forEach(DeviceModelInstance::detach);
    }
}
