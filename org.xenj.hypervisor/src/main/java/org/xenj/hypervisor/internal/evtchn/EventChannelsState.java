package org.xenj.hypervisor.internal.evtchn;

import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_INTERDOMAIN;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_IPI;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_UNBOUND;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHNSTAT_VIRQ;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.EVTCHN_2L_PORTS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.NR_VIRQS;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_DEBUG;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.VIRQ_TIMER;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One domain's event channel table ({@link EventChannels#saveState}): every open port with what
 * it is bound to. Pending and mask bits are not here: they live in the domain's shared info page
 * (guest memory, saved with it). An interdomain port names its peer's domain and port as they
 * were; the peer's side is the peer's own record (a backend binds again after a restore, as after
 * a hand-over). Versioned bytes; {@link #fromBytes} refuses another version or a damaged record
 * with an {@link IOException}; the constructors refuse what no table could hold.
 *
 * @param vcpus the domain's vCPUs (ports notify one of them)
 * @param ports open ports, in port order
 */
public record EventChannelsState(int vcpus, List<Port> ports) {

    /** "XJEV". */
    public static final int MAGIC = 0x584a4556;
    public static final int VERSION = 1;
    static final int MAX_VCPUS = 128;

    public EventChannelsState {
        if (vcpus < 1 || vcpus > MAX_VCPUS || ports == null || ports.size() >= EVTCHN_2L_PORTS
                || ports.stream().anyMatch(Objects::isNull)) {
            throw new IllegalArgumentException("event channel state: " + vcpus + " vCPUs, "
                    + (ports == null ? "no" : ports.size()) + " ports");
        }
        ports = List.copyOf(ports);
        int last = 0;
        Set<Long> virqs = new HashSet<>();
        for (Port p : ports) {
            if (p.port <= last) {
                throw new IllegalArgumentException("event channel state: port " + p.port + " out of order or twice");
            }
            last = p.port;
            if (p.vcpu >= vcpus) {
                throw new IllegalArgumentException("event channel state: port " + p.port + " notifies vCPU " + p.vcpu + " of "
                        + vcpus);
            }
            if (p.status == EVTCHNSTAT_VIRQ && !virqs.add((long) p.vcpu << 32 | p.virq)) {
                throw new IllegalArgumentException("event channel state: VIRQ " + p.virq + " of vCPU " + p.vcpu + " bound twice");
            }
        }
    }

    /**
     * One open port.
     *
     * @param port       1..1023
     * @param status     Xen's EVTCHNSTAT_*: unbound, interdomain, VIRQ or IPI
     * @param vcpu       the vCPU it notifies
     * @param remoteDom  unbound and interdomain: the peer domain; else 0
     * @param remotePort interdomain: the peer's port; else 0
     * @param virq       VIRQ: which one; else 0
     */
    public record Port(int port, int status, int vcpu, int remoteDom, int remotePort, int virq) {

        public Port {
            if (port <= 0 || port >= EVTCHN_2L_PORTS || vcpu < 0) {
                throw new IllegalArgumentException("event channel port " + port + " (vCPU " + vcpu + ")");
            }
            boolean ok = switch (status) {
                case EVTCHNSTAT_UNBOUND -> remoteDom >= 0 && remoteDom <= 0x7fef && remotePort == 0 && virq == 0;
                case EVTCHNSTAT_INTERDOMAIN -> remoteDom >= 0 && remoteDom <= 0x7fef && remotePort > 0
                        && remotePort < EVTCHN_2L_PORTS && virq == 0;
                case EVTCHNSTAT_VIRQ -> remoteDom == 0 && remotePort == 0 && virq >= 0 && virq < NR_VIRQS
                        && (vcpu == 0 || virq == VIRQ_TIMER || virq == VIRQ_DEBUG);
                case EVTCHNSTAT_IPI -> remoteDom == 0 && remotePort == 0 && virq == 0;
                default -> false; // closed ports are not listed; PIRQs are not bound by this hypervisor
            };
            if (!ok) {
                throw new IllegalArgumentException("event channel port " + port + ": status " + status + " with peer d" + remoteDom
                        + ":" + remotePort + ", VIRQ " + virq + ", vCPU " + vcpu);
            }
        }
    }

    public byte[] toBytes() {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64 + ports.size() * 12);
        try (DataOutputStream out = new DataOutputStream(b)) {
            write(out);
        } catch (IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return b.toByteArray();
    }

    public static EventChannelsState fromBytes(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
        EventChannelsState s;
        try {
            s = read(in);
        } catch (EOFException e) {
            throw new IOException("event channel state record is too short (" + bytes.length + " bytes)", e);
        }
        if (in.read() != -1) {
            throw new IOException("event channel state record has trailing bytes");
        }
        return s;
    }

    public void write(DataOutput out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeShort(vcpus);
        out.writeShort(ports.size());
        for (Port p : ports) {
            out.writeShort(p.port);
            out.writeByte(p.status);
            out.writeShort(p.vcpu);
            out.writeShort(p.remoteDom);
            out.writeShort(p.remotePort);
            out.writeByte(p.virq);
        }
    }

    /** Reads one record (a stream may hold more after it); {@link IOException} for anything wrong. */
    public static EventChannelsState read(DataInput in) throws IOException {
        if (in.readInt() != MAGIC) {
            throw new IOException("not an event channel state record");
        }
        int version = in.readInt();
        if (version != VERSION) {
            throw new IOException("event channel state version " + version + " is not supported (this xenj reads " + VERSION + ")");
        }
        int vcpus = in.readUnsignedShort();
        int n = in.readUnsignedShort();
        if (n >= EVTCHN_2L_PORTS) {
            throw new IOException("event channel state record is damaged: " + n + " ports");
        }
        try {
            List<Port> ports = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                ports.add(new Port(in.readUnsignedShort(), in.readUnsignedByte(), in.readUnsignedShort(), in.readUnsignedShort(),
                        in.readUnsignedShort(), in.readUnsignedByte()));
            }
            return new EventChannelsState(vcpus, ports);
        } catch (IllegalArgumentException e) {
            throw new IOException("event channel state record is damaged: " + e.getMessage(), e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EventChannelsState s && Arrays.equals(toBytes(), s.toBytes());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(toBytes());
    }
}
