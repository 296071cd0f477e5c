package org.xenj.hypervisor.internal.builder;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;

import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.X86Options;
import org.tukaani.xz.FilterOptions;
import org.tukaani.xz.XZOutputStream;
import org.xenj.hypervisor.internal.pv.ElfKernel;
import org.xenj.hypervisor.internal.pv.TestElf;

/** Small ELF32 PVH images and bzImage wrappers for the PVH loader tests. */
final class PvhImages {

    /** One PT_LOAD: physical and virtual address, file bytes, size in memory. */
    record Seg(long paddr, long vaddr, byte[] data, long memsz) {
        static Seg at(long paddr, byte[] data) {
            return new Seg(paddr, paddr, data, data.length);
        }
    }

    /**
     * Guest code entered at 0x100000: checks EBX points at the start_info magic, writes "pvh ok"
     * (or "pvh bad") to Xen's debug port 0xe9 and powers off with cli; hlt.
     */
    static byte[] checkingCode() {
        ByteArrayOutputStream c = new ByteArrayOutputStream();
        c.writeBytes(new byte[] {(byte) 0x81, 0x3b}); // cmp dword [ebx], imm32
        c.writeBytes(TestElf.u32(PvhBoot.START_INFO_MAGIC));
        byte[] ok = say("pvh ok\n");
        byte[] bad = say("pvh bad\n");
        c.writeBytes(new byte[] {0x75, (byte) (ok.length + 2)}); // jne bad
        c.writeBytes(ok);
        c.writeBytes(new byte[] {(byte) 0xeb, (byte) bad.length}); // jmp out
        c.writeBytes(bad);
        c.writeBytes(new byte[] {(byte) 0xfa, (byte) 0xf4}); // cli; hlt
        return c.toByteArray();
    }

    private static byte[] say(String s) {
        ByteArrayOutputStream c = new ByteArrayOutputStream();
        c.writeBytes(new byte[] {0x66, (byte) 0xba, (byte) 0xe9, 0}); // mov dx, 0xe9
        for (char ch : s.toCharArray()) {
            c.writeBytes(new byte[] {(byte) 0xb0, (byte) ch, (byte) 0xee}); // mov al, ch; out dx, al
        }
        return c.toByteArray();
    }

    static byte[] phys32(long entry) {
        return TestElf.note(ElfKernel.NOTE_PHYS32_ENTRY, TestElf.u32(entry));
    }

    static byte[] notes(byte[]... notes) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] n : notes) {
            b.writeBytes(n);
        }
        return b.toByteArray();
    }

    /** A working image: the checking code at 0x100000 (1 page in memory) with its PHYS32_ENTRY. */
    static byte[] good() {
        return elf(0x100000, notes(phys32(0x100000)), Seg.at(0x100000, pad(checkingCode(), 4096)));
    }

    static byte[] pad(byte[] b, int n) {
        byte[] out = new byte[Math.max(n, b.length)];
        System.arraycopy(b, 0, out, 0, b.length);
        return out;
    }

    /** An ELF32 i386 executable with {@code segs} and one PT_NOTE of {@code notes}. */
    static byte[] elf(long elfEntry, byte[] notes, Seg... segs) {
        int phnum = segs.length + 1;
        int dataOff = 4096;
        List<Integer> offs = new ArrayList<>();
        int off = dataOff;
        for (Seg s : segs) {
            offs.add(off);
            off += (s.data.length + 15) & ~15;
        }
        int notesOff = off;
        ByteBuffer b = ByteBuffer.allocate(notesOff + notes.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x464c457f).put((byte) 1).put((byte) 1).put((byte) 1);
        b.position(16);
        b.putShort((short) 2).putShort((short) 3).putInt(1).putInt((int) elfEntry).putInt(52).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) 32).putShort((short) phnum).putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.position(52);
        for (int i = 0; i < segs.length; i++) {
            Seg s = segs[i];
            b.putInt(1).putInt(offs.get(i)).putInt((int) s.vaddr).putInt((int) s.paddr).putInt(s.data.length).putInt((int) s.memsz)
                    .putInt(7).putInt(4096);
        }
        b.putInt(4).putInt(notesOff).putInt(0).putInt(0).putInt(notes.length).putInt(notes.length).putInt(4).putInt(4);
        for (int i = 0; i < segs.length; i++) {
            b.position(offs.get(i));
            b.put(segs[i].data);
        }
        b.position(notesOff);
        b.put(notes);
        return b.array();
    }

    /** {@code elf} compressed with xz (LZMA2 after the x86 BCJ filter, as Linux packs it). */
    static byte[] xz(byte[] elf) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (XZOutputStream x = new XZOutputStream(out, new FilterOptions[] {new X86Options(), small()})) {
            x.write(elf);
        }
        return out.toByteArray();
    }

    private static LZMA2Options small() throws Exception {
        LZMA2Options o = new LZMA2Options();
        o.setDictSize(LZMA2Options.DICT_SIZE_MIN); // test images are small; the decoder then allocates little
        return o;
    }

    static byte[] gzip(byte[] elf) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(out)) {
            g.write(elf);
        }
        return out.toByteArray();
    }

    /**
     * A bzImage (protocol 2.15, one setup sector) whose protected-mode part holds {@code payload}
     * at payload_offset 0x40, followed by Linux's four-byte size trailer {@code unpackedSize}.
     */
    static byte[] bzImage(byte[] payload, long unpackedSize) {
        int setupSects = 1;
        int pmStart = (setupSects + 1) * 512;
        int payloadOff = 0x40;
        int length = payload.length + 4;
        ByteBuffer b = ByteBuffer.allocate(pmStart + payloadOff + length + 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) setupSects);
        b.putShort(0x1fe, (short) 0xaa55);
        b.putInt(0x202, BzImage.HDRS_MAGIC);
        b.putShort(0x206, (short) 0x020f);
        b.putInt(0x248, payloadOff);
        b.putInt(0x24c, length);
        b.position(pmStart + payloadOff);
        b.put(payload);
        b.putInt((int) unpackedSize);
        return b.array();
    }
}
