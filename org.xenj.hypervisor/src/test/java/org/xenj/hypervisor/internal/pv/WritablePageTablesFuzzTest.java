package org.xenj.hypervisor.internal.pv;

import static org.junit.jupiter.api.Assertions.*;
import static org.xenj.hypervisor.internal.xenabi.XenAbi.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

import org.junit.jupiter.api.Test;
import org.xenj.hypervisor.internal.exec.VCpuExecutor.RunExit;
import org.xenj.hypervisor.internal.mem.MachineFrames;
import org.xenj.hypervisor.internal.mem.MachineMemory;
import org.xenj.hypervisor.internal.mem.PvPageTables;

/**
 * A million random page-table stores by ring-1 code on the real CPU, with writable page tables on:
 * random store instructions (1-, 2-, 4-byte stores, both orders of the two halves, lock cmpxchg8b,
 * xchg, or, lock cmpxchg, lock bts, movsd, rep stosd, x87 fistp), random offsets (aligned,
 * misaligned, across the page end) into the domain's L1s, its L2 and L3 and a read-only data page,
 * random entry values naming its own data and page-table frames, another domain's, free and
 * hypervisor frames, with random flags and high halves. Refused stores fault to a guest handler
 * that counts them and goes on. After every batch the tables are walked: no present entry names a
 * frame the domain does not own, no writable entry names a typed frame, and every frame's mapping
 * and writable-mapping counts equal a recount. Prints the figures; 0 internal errors means the
 * vCPU never crashed and the hypervisor never threw.
 */
class WritablePageTablesFuzzTest {

    private static final int WRITES = 1_000_000;
    private static final int BATCH = 8192; // records of 16 bytes: scratch pages 1..32
    private static final int BASE = WritablePageTablesTest.BASE;

    /*
     * nasm, BITS 32, ORG 0xC0000000. ESI = first record, EBP = end; a record is {kind, address, lo, hi}.
     * loop: cmp esi, ebp / jae done / mov ecx,[esi] / mov edi,[esi+4] / mov eax,[esi+8] / mov edx,[esi+12]
     *       add esi, 16 / mov [0xC000CFF0], esi / and ecx, 15 / jmp [table + ecx*4]
     * 0 mov [edi],eax  1 mov [edi],ax  2 mov [edi],al  3 mov [edi+4],edx; mov [edi],eax
     * 4 mov [edi],eax; mov [edi+4],edx  5 push ebx; push ecx; mov ebx,eax; mov ecx,edx; mov eax,[edi];
     *   mov edx,[edi+4]; lock cmpxchg8b [edi]; pop ecx; pop ebx  6 xchg [edi],eax  7 or [edi],eax
     * 8 mov ecx,edx; and ecx,7; inc ecx; cld; rep stosd  9 fild dword [esi-8]; fistp qword [edi]
     * 10 mov ecx,eax; mov eax,[edi]; lock cmpxchg [edi],ecx  11 push esi; sub esi,8; movsd; pop esi
     * 12 mov [edi],dx  13 lock bts dword [edi],1  14 mov [edi+4],edx  15 mov [edi],eax  (each: jmp loop)
     * done: sched_op yield / jmp $      table: dd op0..op15
     * 0x400 (#PF handler): inc dword [0xC000CFF4]; mov esp,[0xC000CFF8]; mov esi,[0xC000CFF0]; jmp loop
     * (0xC000CFF0..: the last page below the records, scratch page 0)
     */
    private static final String[][] CODE = {
        {"000", "39ee0f83990000008b0e8b7e048b46088b560c83c6108935f0cf00c083e10fff248db00000c08907ebd6668907ebd18807ebcd89"
                + "57048907ebc68907895704ebbf535189c389d18b078b5704f00fc70f595bebac8707eba80907eba489d183e10741fcf3abeb99db"
                + "46f8df3feb9289c18b07f00fb10feb885683ee08a55eeb80668917e978fffffff00fba2f01e96effffff895704e966ffffff8907"
                + "e95fffffffb81d000000bb00000000cd82ebfe90260000c02a0000c02f0000c0330000c03a0000c0410000c0540000c0580000c0"
                + "5c0000c0670000c06e0000c0780000c0800000c0880000c0920000c09a0000c0"},
        {"400", "ff05f4cf00c08b25f8cf00c08b35f0cf00c0e9e9fbffff"},
    };

    private final PvFixture f = new PvFixture();

    @Test
    void aMillionRandomPageTableStores() {
        PvFixture.Dom a = f.pv(1, WritablePageTablesTest.kernel(CODE));
        PvFixture.Dom b = f.pv(2);
        a.ctx.discard = true;
        PvVcpu v = new PvVcpu(a.xen, 0, a.boot);
        var cpu = v.cpu();
        a.xen.vcpus[0].trapCs[14] = FLAT_RING1_CS;
        a.xen.vcpus[0].trapEip[14] = BASE + 0x400;
        assertEquals(0, a.call(HC_VM_ASSIST, VMASST_CMD_ENABLE, VMASST_TYPE_WRITABLE_PAGETABLES));
        assertEquals(4, a.boot.nrPtFrames(), "L3, L2 and two L1s");
        int stackTop = cpu.getReg32(4);
        assertEquals(0xC000C000, a.scratch(0), "the loop's state lives at the end of scratch page 0");
        a.hc.memory.write32(0xC000CFF8, stackTop);
        a.hc.memory.write32(0xC000CFF4, 0);

        int l3Va = a.boot.ptBaseVa(), l2Va = l3Va + 4096, l1aVa = l3Va + 2 * 4096, l1bVa = l3Va + 3 * 4096;
        int l3 = a.mfnOfVa(l3Va), l2 = a.mfnOfVa(l2Va), l1a = a.mfnOfVa(l1aVa), l1b = a.mfnOfVa(l1bVa);
        int roVa = a.scratch(40);
        int ro = a.mfnOfVa(roVa);
        assertEquals(0, a.call(HC_UPDATE_VA_MAPPING, roVa, ro << 12 | 0x61, 0, 0, 0));
        // the L1 #0 entries the loop never needs: those of scratch pages 100..300
        int safeL1aFirst = WritablePageTablesTest.l1eVa(a, a.scratch(100));
        assertTrue(a.scratch(300) < BASE + (2 << 20));

        List<Integer> foreign = new ArrayList<>(), free = new ArrayList<>(), xen = new ArrayList<>();
        for (int mfn = 0; mfn < f.machine.totalFrames(); mfn++) {
            int o = f.machine.owner(mfn);
            if (o == 2) {
                foreign.add(mfn);
            } else if (o == MachineMemory.FREE && free.size() < 64) {
                free.add(mfn);
            } else if (o != 1 && o != 2 && xen.size() < 64) {
                xen.add(mfn);
            }
        }
        int[] special = {l3, l2, l1a, l1b, ro, a.xen.sharedInfoMfn, a.mfnOfVa(BASE), a.mfnOfVa(a.scratch(1)),
            (int) (a.xen.consoleMfn), (int) (a.xen.storeMfn)};
        long hashB = hash(f.machine, 2);

        Random r = new Random(0x9e3779b9L);
        int records = a.scratch(1);
        long t0 = System.nanoTime();
        int done = 0;
        int batches = 0;
        while (done < WRITES) {
            int n = Math.min(BATCH, WRITES - done);
            for (int i = 0; i < n; i++) {
                int at = records + 16 * i;
                int target = switch (r.nextInt(20)) {
                    case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 -> l1bVa + offset(r);
                    case 11, 12, 13 -> safeL1aFirst + 8 * r.nextInt(200) + (offset(r) & 7);
                    // (the next page after the L2 is L1 #0, which maps the loop's code: stay 36 bytes clear of it)
                    case 14 -> l2Va + 4 * r.nextInt(1015);
                    case 15 -> l3Va + 4 * r.nextInt(1024);
                    case 16 -> roVa + r.nextInt(4096);
                    case 17 -> l1bVa + 0xff8 + r.nextInt(8);
                    default -> l1bVa + r.nextInt(4096);
                };
                int frame = switch (r.nextInt(20)) {
                    case 0, 1, 2, 3, 4, 5, 6 -> a.mfnOfPfn(100 + r.nextInt(PvFixture.PAGES - 100));
                    case 7, 8, 9 -> special[r.nextInt(special.length)];
                    case 10, 11 -> foreign.get(r.nextInt(foreign.size()));
                    case 12 -> free.isEmpty() ? r.nextInt(1 << 20) : free.get(r.nextInt(free.size()));
                    case 13 -> xen.isEmpty() ? r.nextInt(1 << 20) : xen.get(r.nextInt(xen.size()));
                    case 14, 15 -> r.nextInt(1 << 20);
                    default -> 0;
                };
                int[] sensible = {0x63, 0x61, 0x67, 0x65, 0x62, 0x00, 0x01, 0x03, 0xe3};
                int flags = r.nextBoolean() ? sensible[r.nextInt(sensible.length)] : r.nextInt(0x1000);
                int hi = switch (r.nextInt(10)) {
                    case 0 -> 0x80000000;
                    case 1 -> r.nextInt();
                    case 2 -> 1 + r.nextInt(15);
                    case 3 -> 0x7ff00000;
                    default -> 0;
                };
                a.hc.memory.write32(at, r.nextInt(16));
                a.hc.memory.write32(at + 4, target);
                a.hc.memory.write32(at + 8, frame << 12 | flags);
                a.hc.memory.write32(at + 12, hi);
            }
            for (int i = 0; i < 8; i++) {
                cpu.setReg32(i, 0);
            }
            cpu.setReg32(4, stackTop);
            cpu.setReg32(6, records);
            cpu.setReg32(5, records + 16 * n);
            cpu.setEip(BASE);
            RunExit exit = v.scheduled().run(System.nanoTime() + 120_000_000_000L);
            if (exit != RunExit.PREEMPTED) {
                var pvm = (org.xenj.hypervisor.internal.hypercall.PvVirtualMemory) a.hc.memory;
                for (int va : new int[] {BASE, 0xC000B000, 0xC000C000, records}) {
                    long pa = pvm.l1EntryAddress(va);
                    System.out.printf("after the crash: va %x pte@%x = %x%n", va, pa, pa < 0 ? 0 : MachineFrames.read64(f.machine, pa));
                }
                int fault = (cpu.getReg32(6) - records) / 16 - 1;
                for (int k = Math.max(0, fault - 3); k <= fault + 1; k++) {
                    int at = records + 16 * k;
                    System.out.printf("after the crash: record %d: kind %d addr %x lo %x hi %x%n", k, a.hc.memory.read32(at) & 15,
                            a.hc.memory.read32(at + 4), a.hc.memory.read32(at + 8), a.hc.memory.read32(at + 12));
                }
            }
            assertEquals(RunExit.PREEMPTED, exit, "batch " + batches + ": " + cpu.stateString() + "\nlog: " + a.ctx.log
                    + String.format("%nlayout: pt_base %x esp %x records %x", a.boot.ptBaseVa(), stackTop, records));
            assertEquals(records + 16 * n, cpu.getReg32(6), "the loop ran to its end: " + cpu.stateString());
            assertNull(a.ctx.shutdown, "the domain is alive");
            checkTables(a);
            done += n;
            batches++;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long faults = a.hc.memory.read32(0xC000CFF4) & 0xffffffffL;
        long[] counts = v.pageTableWriteCounts();
        System.out.printf("writable page tables fuzz: %d store instructions in %d batches, %.1f s: emulated %d, refused by the "
                + "emulation %d, #PF reflected to the guest %d; tables walked after every batch: 0 foreign frames mapped, "
                + "0 writable mappings of typed frames, counts consistent%n", done, batches, secs, counts[0], counts[1], faults);
        assertEquals(hashB, hash(f.machine, 2), "the other domain's memory is untouched");
        assertTrue(counts[0] > WRITES / 10, "a good share was emulated: " + counts[0]);
        assertTrue(faults > WRITES / 10, "a good share faulted: " + faults);
        assertTrue(a.ctx.log.stream().noneMatch(l -> l.contains("internal error") || l.contains("crashed")), a.ctx.log.toString());
    }

    private static int offset(Random r) {
        int slot = 8 * r.nextInt(512);
        return switch (r.nextInt(10)) {
            case 0, 1 -> slot + 4;
            case 2 -> slot + r.nextInt(8);
            default -> slot;
        };
    }

    /** Walks every table of {@code d}; checks ownership, no writable table frames, and the reference counts. */
    private void checkTables(PvFixture.Dom d) {
        PvPageTables pt = d.xen.pageTables;
        MachineMemory m = f.machine;
        int total = m.totalFrames();
        int[] maps = new int[total], writes = new int[total];
        for (int mfn = 0; mfn < total; mfn++) {
            if (m.owner(mfn) != 1) {
                continue;
            }
            int type = pt.typeOf(mfn);
            long base = (long) mfn << 12;
            if (type == PvPageTables.L1) {
                for (int i = 0; i < 512; i++) {
                    long e = MachineFrames.read64(m, base + 8L * i);
                    if ((e & 1) == 0) {
                        continue;
                    }
                    long target = (e & 0x000F_FFFF_FFFF_F000L) >>> 12;
                    assertTrue(target < total && m.owner(target) == 1, "L1 " + mfn + "[" + i + "] maps foreign frame " + target);
                    maps[(int) target]++;
                    if ((e & 2) != 0) {
                        assertEquals(PvPageTables.NONE, pt.typeOf((int) target), "writable mapping of a typed frame " + target);
                        writes[(int) target]++;
                    }
                }
            } else if (type == PvPageTables.L2) {
                for (int i = 0; i < 512; i++) {
                    long e = MachineFrames.read64(m, base + 8L * i);
                    if ((e & 1) != 0) {
                        int target = (int) ((e & 0x000F_FFFF_FFFF_F000L) >>> 12);
                        boolean own = m.owner(target) == 1 && pt.typeOf(target) == PvPageTables.L1;
                        boolean xenSlot = i >= PvPageTables.XEN_L2_FIRST_SLOT && pt.typeOf(target) == PvPageTables.XEN;
                        assertTrue(own || xenSlot || i >= PvPageTables.XEN_L2_FIRST_SLOT && m.owner(target) != 1,
                                "L2 " + mfn + "[" + i + "] -> " + target);
                    }
                }
            } else if (type == PvPageTables.L3) {
                for (int i = 0; i < 4; i++) {
                    long e = MachineFrames.read64(m, base + 8L * i);
                    if ((e & 1) != 0) {
                        assertEquals(PvPageTables.L2, pt.typeOf((int) (e >>> 12 & 0xFFFFFFFFL)));
                    }
                }
            }
        }
        for (int mfn = 0; mfn < total; mfn++) {
            if (maps[mfn] != pt.mappings(mfn) || writes[mfn] != pt.writableMappings(mfn)) {
                fail("frame " + mfn + ": " + maps[mfn] + "/" + writes[mfn] + " mappings counted, the type system says "
                        + pt.mappings(mfn) + "/" + pt.writableMappings(mfn));
            }
        }
    }

    private static long hash(MachineMemory m, int domid) {
        CRC32 crc = new CRC32();
        for (int mfn = 0; mfn < m.totalFrames(); mfn++) {
            if (m.owner(mfn) == domid) {
                crc.update(mfn);
                crc.update(m.chunk(mfn), MachineMemory.offset(mfn), MachineMemory.PAGE_SIZE);
            }
        }
        return crc.getValue();
    }
}
